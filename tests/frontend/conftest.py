"""Fixtures of the page tests: accounts with shops, clients in English, compiled catalogs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import mail
from django.test import Client

from infra.messaging import sms_outbox
from tenants.models import Account, Membership, Role, Tenant
from tests.frontend.catalogs import catalogs_compile

PASSWORD = "right-password-123"


@pytest.fixture(scope="session", autouse=True)
def _catalogs() -> None:
    """Pages are checked in both languages: make sure the .mo files match the .po files."""
    catalogs_compile()


@pytest.fixture
def outboxes() -> Iterator[None]:
    mail.outbox.clear()
    sms_outbox.clear()
    yield
    sms_outbox.clear()


@pytest.fixture
def owner(shops: dict[str, Tenant], public: None) -> Account:
    """The owner of `alpha` (and of nothing else)."""
    account = Account.objects.create_user(
        email="owner@example.com", phone="+8613900000001", password=PASSWORD
    )
    Membership.objects.create(account=account, tenant=shops["alpha"], role=Role.OWNER)
    return account


@pytest.fixture
def client_en() -> Client:
    """A visitor whose browser asks for English."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def owner_client(owner: Account) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(owner)
    return client
