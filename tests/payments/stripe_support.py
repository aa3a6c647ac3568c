"""Helpers of the Stripe tests: the fake Stripe wired into settings, connected shops, and
Connect webhooks signed (or forged, stale, tampered) and posted to the platform host."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.test import Client, override_settings

from billing.models import MerchantPaymentAccount
from tenants.models import Tenant
from tests.fakes.stripe_server import FakeStripe

WEBHOOK_SECRET = "whsec_test_connect"
WEBHOOK_PATH = "/webhooks/stripe/connect"
PUBLISHABLE_KEY = "pk_test_platform"


@contextmanager
def stripe_faked() -> Iterator[FakeStripe]:
    """The fake Stripe, running; the platform's Stripe settings are its."""
    with (
        FakeStripe(webhook_secret=WEBHOOK_SECRET) as fake,
        override_settings(
            STRIPE_API_BASE_URL=fake.url,
            STRIPE_SECRET_KEY=fake.api_key,
            STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
            STRIPE_CONNECT_WEBHOOK_SECRET=WEBHOOK_SECRET,
        ),
    ):
        yield fake


def stripe_account_connect(
    tenant: Tenant, fake: FakeStripe, *, onboarded: bool = True
) -> MerchantPaymentAccount:
    """The shop's connected account at the fake, recorded as the platform records it."""
    remote = fake.create_account(onboarded=onboarded)
    return MerchantPaymentAccount.objects.create(
        tenant=tenant,
        provider="stripe",
        account_id=remote["id"],
        status=MerchantPaymentAccount.Status.ACTIVE if onboarded else "pending",
        charges_enabled=onboarded,
    )


def signed(
    fake: FakeStripe,
    event: dict[str, Any],
    *,
    stale_by_s: int = 0,
    secret: str | None = None,
    tampered: bool = False,
) -> tuple[bytes, str]:
    """The body and Stripe-Signature of `event` as Stripe sends it (or spoiled on demand)."""
    payload = json.dumps(event, indent=2, ensure_ascii=False)
    signature = fake.sign(payload, timestamp=int(time.time()) - stale_by_s, secret=secret)
    if tampered:
        altered = json.loads(payload)
        altered["data"]["object"]["amount_received"] = 1
        payload = json.dumps(altered, indent=2, ensure_ascii=False)
    return payload.encode(), signature


def webhook_post(
    client: Client,
    fake: FakeStripe,
    event: dict[str, Any],
    **spoil: Any,
) -> Any:
    """POST `event` to the platform's Connect webhook as Stripe does."""
    body, signature = signed(fake, event, **spoil)
    return client.post(
        WEBHOOK_PATH,
        data=body,
        content_type="application/json; charset=utf-8",
        headers={"Stripe-Signature": signature},
    )
