"""Stripe Connect, as the platform reaches it: connected accounts, onboarding links, webhooks.

Shops are Express accounts connected to the platform's Stripe account (settings.STRIPE_SECRET_KEY)
and charged through the platform's key with the `Stripe-Account` header (see
shop.payments.gateways.stripe). The API's base URL comes from settings.STRIPE_API_BASE_URL, so
that tests reach tests/fakes/stripe_server.py with the real SDK.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)

# Seconds to wait for Stripe: a console click or a webhook should not hang on it.
TIMEOUT_S = 15.0
# Retries of network errors and 409/429/5xx answers; the SDK sends an idempotency key with every
# POST, so a retried creation is the same object at Stripe.
NETWORK_RETRIES = 2


class StripeConnectError(Exception):
    """Stripe refused or could not be reached; `retryable` when trying again may work."""

    def __init__(self, message: str, *, code: str = "stripe_error", retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class ConnectEventRejected(Exception):
    """A webhook that is not Stripe's (bad signature), too old, or not an event."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ConnectedAccount:
    """What the platform needs to know of a connected account."""

    account_id: str
    country: str
    default_currency: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool


@functools.lru_cache(maxsize=4)
def _client(api_key: str, base_url: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base_url, "connect": base_url, "files": base_url},
        max_network_retries=NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_S),
    )


def stripe_client() -> stripe.StripeClient:
    """The platform's Stripe client (one per key and base URL, shared by threads)."""
    if not settings.STRIPE_SECRET_KEY:
        raise StripeConnectError("STRIPE_SECRET_KEY is not set", code="stripe_not_configured")
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE_URL)


def stripe_error(error: stripe.StripeError) -> StripeConnectError:
    """Our error for one of the SDK's: 4xx are final (except 409/429), the rest retryable."""
    status = error.http_status or 0
    retryable = (
        isinstance(error, stripe.APIConnectionError) or status in (409, 429) or status >= 500
    )
    return StripeConnectError(
        error.user_message or str(error) or type(error).__name__,
        code=str(error.code or "stripe_error"),
        retryable=retryable,
    )


def _account(account: stripe.Account) -> ConnectedAccount:
    raw = account.to_dict()
    return ConnectedAccount(
        account_id=str(raw["id"]),
        country=str(raw.get("country") or ""),
        default_currency=str(raw.get("default_currency") or "").upper(),
        charges_enabled=bool(raw.get("charges_enabled")),
        payouts_enabled=bool(raw.get("payouts_enabled")),
        details_submitted=bool(raw.get("details_submitted")),
    )


def connect_account_create(*, tenant_id: int, slug: str, country: str) -> ConnectedAccount:
    """Create the shop's Express account (idempotent per shop and country for Stripe's 24 h)."""
    try:
        raw = stripe_client().v1.accounts.create(
            params={
                "type": "express",
                "country": country,
                "capabilities": {
                    "card_payments": {"requested": True},
                    "transfers": {"requested": True},
                },
                "metadata": {"tenant": str(tenant_id), "slug": slug},
            },
            options={"idempotency_key": f"connect-account-{tenant_id}-{country}"},
        )
    except stripe.StripeError as error:
        raise stripe_error(error) from error
    return _account(raw)


def connect_account_get(*, account_id: str) -> ConnectedAccount:
    """The account as Stripe sees it now."""
    try:
        raw = stripe_client().v1.accounts.retrieve(account_id)
    except stripe.StripeError as error:
        raise stripe_error(error) from error
    return _account(raw)


def connect_onboarding_link_create(*, account_id: str, refresh_url: str, return_url: str) -> str:
    """A single-use link to Stripe's hosted onboarding of the account (valid a few minutes)."""
    try:
        link = stripe_client().v1.account_links.create(
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            }
        )
    except stripe.StripeError as error:
        raise stripe_error(error) from error
    return str(link.url)


def connect_event_verify(*, body: bytes, signature: str, max_age_s: int) -> dict[str, Any]:
    """The event of a Connect webhook, its signature checked on the raw body and its age.

    ConnectEventRejected codes: "notification_signature_invalid" (not signed with our secret,
    altered, or not an event) and "notification_stale" (signed more than `max_age_s` ago).
    """
    secret = settings.STRIPE_CONNECT_WEBHOOK_SECRET
    try:
        event = stripe.Webhook.construct_event(body, signature, secret, tolerance=max_age_s)
    except stripe.SignatureVerificationError as error:
        if _signed_by_us(body, signature, secret):
            raise ConnectEventRejected(str(error), code="notification_stale") from error
        raise ConnectEventRejected(str(error), code="notification_signature_invalid") from error
    except ValueError as error:  # not UTF-8, not JSON, not an event
        raise ConnectEventRejected(str(error), code="notification_signature_invalid") from error
    data: dict[str, Any] = event.to_dict()
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise ConnectEventRejected("not a Stripe event", code="notification_signature_invalid")
    return data


def _signed_by_us(body: bytes, signature: str, secret: str) -> bool:
    """Whether the signature is genuine, whatever its age (to tell stale from forged)."""
    try:
        stripe.WebhookSignature.verify_header(body, signature, secret, tolerance=None)
    except (stripe.SignatureVerificationError, ValueError):
        return False
    return True
