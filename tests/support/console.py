"""Console clients: a browser asking for English, logged in as an account with a role in a shop."""

from __future__ import annotations

from django.test import Client

from tenants.models import Account, Membership, Tenant
from tests.frontend.conftest import PASSWORD


def logged_in(account: Account) -> Client:
    """A client whose browser asks for English, logged in as `account`."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(account)
    return client


def console_login(tenant: Tenant, role: str, email: str) -> tuple[Client, Account]:
    """A new account (`email`, the page tests' password) with `role` in `tenant`, logged in."""
    account = Account.objects.create_user(email=email, password=PASSWORD)
    Membership.objects.create(account=account, tenant=tenant, role=role)
    return logged_in(account), account


def console_client(tenant: Tenant, role: str, email: str) -> Client:
    """The client of a new account with `role` in `tenant` (see `console_login`)."""
    return console_login(tenant, role, email)[0]
