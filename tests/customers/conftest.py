"""Fixtures of the members' tests: SMS kept in memory, a logged-in member on the alpha shop."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from infra.messaging import sms_outbox
from shop.customers.phones import phone_index
from shop.customers.services.login import login_code_resend_key
from tenants.models import Tenant

PHONE = "+8613800138000"
POLICY = "2026-01"


@pytest.fixture(autouse=True)
def sms_locmem() -> Iterator[None]:
    sms_outbox.clear()
    with override_settings(SMS_BACKEND="locmem"):
        yield
    sms_outbox.clear()


@pytest.fixture
def api(shop: Tenant) -> Client:
    """A client on the alpha shop's host (alpha's schema is active for assertions too)."""
    return Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="203.0.113.7")


def code_request(client: Client, phone: str = PHONE, **extra: Any) -> Any:
    return client.post(
        "/api/v1/auth/login-code", {"phone": phone}, content_type="application/json", **extra
    )


def last_code() -> str:
    return sms_outbox[-1].params[0]


def minute_passes(phone: str = PHONE) -> None:
    """The one-code-a-minute window of `phone` ends (as if a minute went by)."""
    cache.delete(login_code_resend_key(phone_index=phone_index(phone)))


def phone_login(
    client: Client, code: str, phone: str = PHONE, policy_version: str | None = POLICY, **extra: Any
) -> Any:
    body: dict[str, Any] = {
        "phone": phone,
        "code": code,
        "channel": "miniprogram",
        "device_id": "device-1",
    }
    if policy_version is not None:
        body["policy_version"] = policy_version
    return client.post(
        "/api/v1/auth/phone-login",
        body,
        content_type="application/json",
        HTTP_USER_AGENT="MicroMessenger/8.0",
        **extra,
    )


@dataclass
class LoggedIn:
    token: str
    member_id: int
    headers: dict[str, Any]


def log_in(client: Client, phone: str = PHONE) -> LoggedIn:
    """Ask for a code and log in with it through the API."""
    assert code_request(client, phone).status_code == 204
    response = phone_login(client, last_code(), phone)
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    return LoggedIn(
        token=token,
        member_id=response.json()["member"]["id"],
        headers={"HTTP_AUTHORIZATION": f"Bearer {token}"},
    )


@pytest.fixture
def member(api: Client) -> LoggedIn:
    return log_in(api)
