"""Stripe through Connect: PaymentIntents on the shop's connected account, refunds, webhooks.

The platform's key acts on the shop's Express account (billing.MerchantPaymentAccount, provider
"stripe") with the `Stripe-Account` header; our references travel in metadata (`out_trade_no`,
`out_refund_no`, `tenant`) and are the idempotency keys. Stripe's webhooks reach the platform
host (billing.api.webhooks), which finds the shop by the event's connected account and hands the
raw body to `notification_receive`; `notification_verify` checks the signature again, and that
the event belongs to the active shop.

Amounts: ours are minor units of infra.money (ISO exponents, VND and IDR in whole units);
Stripe's are "the smallest currency unit" by its own table: zero-decimal currencies (JPY, KRW,
VND, …) in whole units, three-decimal ones (KWD, …) in thousandths whose last digit must be 0,
and ISK and IDR as two-decimal (whole amounts times 100). `amount_to_stripe` and
`amount_from_stripe` convert exactly or refuse; nothing is rounded.

Refund completion comes from refund.updated / refund.failed (or refund.created when Stripe
settles at once), never from charge.refunded, which Stripe sends while the refund is pending.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import stripe
from django.conf import settings

from billing.gateways.stripe_connect import (
    ConnectEventRejected,
    StripeConnectError,
    connect_event_verify,
    stripe_client,
    stripe_error,
)
from billing.selectors import payment_account_of
from infra.money import currency_exponent
from shop.core.selectors import shop_context
from shop.payments.gateways.base import (
    BillRow,
    GatewayError,
    NotificationRejected,
    PaymentRequest,
    PaymentStart,
    PaymentState,
    PaymentStatus,
    RefundRequest,
    RefundState,
    RefundStatus,
    VerifiedNotification,
)
from shop.payments.models import Payment, Refund

logger = logging.getLogger(__name__)

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal.
STRIPE_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
     "XAF", "XOF", "XPF"}
)  # fmt: skip
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

PAYMENT_EVENTS: dict[str, PaymentStatus] = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "closed",
}
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed"})
_REFUND_STATUS: dict[str, RefundStatus] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
    "pending": "pending",
    "requires_action": "pending",
}
# How far before our attempt's creation to look for its PaymentIntent when we lack its id.
_LOOKUP_MARGIN = timedelta(minutes=10)


def stripe_exponent(currency: str) -> int:
    """Digits of the unit Stripe counts `currency` in (0 for JPY, 3 for KWD, 2 for ISK)."""
    if currency in STRIPE_ZERO_DECIMAL:
        return 0
    if currency in STRIPE_THREE_DECIMAL:
        return 3
    return 2


def amount_to_stripe(amount_minor: int, currency: str) -> int:
    """Our minor units as Stripe's `amount`; ValueError when Stripe cannot take it exactly."""
    shift = stripe_exponent(currency) - currency_exponent(currency)
    factor: int = 10 ** abs(shift)
    if shift >= 0:
        amount = amount_minor * factor
    else:
        amount, rest = divmod(amount_minor, factor)
        if rest:
            raise ValueError(f"{amount_minor} minor units of {currency} are not whole for Stripe")
    if currency in STRIPE_THREE_DECIMAL and amount % 10:
        # Stripe's partners need the last digit of three-decimal amounts to be 0.
        raise ValueError(f"Stripe needs {currency} amounts in multiples of 10 (not {amount})")
    return amount


def amount_from_stripe(amount: int, currency: str) -> int:
    """Stripe's `amount` in our minor units; ValueError when it has no exact equivalent."""
    shift = currency_exponent(currency) - stripe_exponent(currency)
    factor: int = 10 ** abs(shift)
    if shift >= 0:
        return amount * factor
    whole, rest = divmod(amount, factor)
    if rest:
        raise ValueError(f"Stripe amount {amount} {currency} is not whole in our minor units")
    return whole


@contextmanager
def _stripe_calls() -> Iterator[None]:
    """Stripe's and our connection's errors as GatewayError (retryable when they may pass)."""
    try:
        yield
    except stripe.StripeError as error:
        failure = stripe_error(error)
        raise GatewayError(str(failure), code=failure.code, retryable=failure.retryable) from error
    except StripeConnectError as error:
        raise GatewayError(str(error), code=error.code, retryable=error.retryable) from error


def _options(account_id: str, idempotency_key: str | None = None) -> stripe.RequestOptions:
    options: stripe.RequestOptions = {"stripe_account": account_id}
    if idempotency_key is not None:
        options["idempotency_key"] = idempotency_key
    return options


def _moment(seconds: Any) -> datetime | None:
    return datetime.fromtimestamp(int(seconds), tz=UTC) if seconds else None


def _intent_status(intent: dict[str, Any]) -> PaymentStatus:
    if intent["status"] == "succeeded":
        return "succeeded"
    if intent["status"] == "canceled":
        return "closed"
    if intent["status"] == "requires_payment_method" and intent.get("last_payment_error"):
        # Declined: the payer may still try another card on the same intent; a later success
        # is applied over "failed" (payment_apply_state), never the other way round.
        return "failed"
    return "pending"


def _payment_state(
    intent: dict[str, Any], *, status: PaymentStatus | None = None, paid_at: datetime | None = None
) -> PaymentState:
    """Our view of a PaymentIntent (or of the status its event stands for)."""
    currency = str(intent["currency"]).upper()
    metadata = intent.get("metadata") or {}
    status = status or _intent_status(intent)
    received = intent.get("amount_received") or 0
    amount = received if status == "succeeded" and received else intent["amount"]
    return PaymentState(
        out_trade_no=str(metadata.get("out_trade_no", "")),
        status=status,
        amount_minor=amount_from_stripe(int(amount), currency),
        currency=currency,
        provider_ref=str(intent["id"]),
        paid_at=paid_at if status == "succeeded" else None,
    )


def _refund_state(refund: dict[str, Any]) -> RefundState:
    metadata = refund.get("metadata") or {}
    return RefundState(
        out_refund_no=str(metadata.get("out_refund_no", "")),
        status=_REFUND_STATUS.get(str(refund["status"]), "pending"),
        amount_minor=amount_from_stripe(int(refund["amount"]), str(refund["currency"]).upper()),
        provider_ref=str(refund["id"]),
        failure=str(refund.get("failure_reason") or ""),
    )


class StripeGateway:
    name = "stripe"

    # -- the shop's connected account ------------------------------------------------------

    def _account_id(self, tenant_id: int, *, for_charges: bool = False) -> str:
        account = payment_account_of(tenant_id=tenant_id, provider="stripe")
        if account is None or not account.account_id:
            raise GatewayError("the shop has no Stripe account", code="not_configured")
        if for_charges and not (account.status == "active" and account.charges_enabled):
            raise GatewayError(
                "the shop's Stripe account cannot take payments yet", code="not_configured"
            )
        return account.account_id

    # -- payments --------------------------------------------------------------------------

    def payment_start(self, request: PaymentRequest) -> PaymentStart:
        """A PaymentIntent for the amount (minor units, converted exactly to Stripe's unit) on
        the shop's account; the client confirms it with Stripe.js and the client_secret."""
        if request.method != "stripe_card":
            raise GatewayError(f"Stripe does not serve {request.method}", code="method_invalid")
        account_id = self._account_id(request.tenant_id, for_charges=True)
        try:
            amount = amount_to_stripe(request.amount_minor, request.currency)
        except ValueError as error:
            raise GatewayError(str(error), code="amount_not_supported") from error
        with _stripe_calls():
            intent = stripe_client().v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": request.currency.lower(),
                    # Cards, and the wallets (Apple Pay, Google Pay, Link) the account enables.
                    "automatic_payment_methods": {"enabled": True},
                    "description": request.description[:500],
                    "metadata": {
                        "out_trade_no": request.out_trade_no,
                        "tenant": str(request.tenant_id),
                    },
                },
                options=_options(account_id, request.out_trade_no),
            )
        return PaymentStart(
            client_params={
                "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
                "stripe_account": account_id,
                "client_secret": intent.client_secret,
                "payment_intent": intent.id,
                "amount": intent.amount,
                "currency": intent.currency,
            },
            provider_ref=intent.id,
        )

    def _intent_find(self, account_id: str, out_trade_no: str) -> dict[str, Any] | None:
        """The attempt's PaymentIntent (with its latest charge): by the id we stored, else
        among the account's intents made since the attempt (its id is lost when we crashed
        before storing it)."""
        payment = (
            Payment.objects.filter(out_trade_no=out_trade_no)
            .values("provider_ref", "created_at")
            .first()
        )
        if payment is None:
            return None
        client = stripe_client()
        if payment["provider_ref"]:
            intent = client.v1.payment_intents.retrieve(
                payment["provider_ref"],
                params={"expand": ["latest_charge"]},
                options=_options(account_id),
            )
            return intent.to_dict()
        since = int((payment["created_at"] - _LOOKUP_MARGIN).timestamp())
        listed = client.v1.payment_intents.list(
            params={"created": {"gte": since}, "limit": 100}, options=_options(account_id)
        )
        for item in listed.auto_paging_iter():
            found = item.to_dict()
            if (found.get("metadata") or {}).get("out_trade_no") == out_trade_no:
                return found
        return None

    def payment_query(self, *, tenant_id: int, out_trade_no: str) -> PaymentState:
        """The attempt's state at Stripe; "closed" when no PaymentIntent was ever made for it."""
        account_id = self._account_id(tenant_id)
        with _stripe_calls():
            intent = self._intent_find(account_id, out_trade_no)
        if intent is None:
            payment = Payment.objects.filter(out_trade_no=out_trade_no).first()
            if payment is None:
                raise GatewayError(f"unknown payment {out_trade_no}", code="payment_not_found")
            return PaymentState(
                out_trade_no=out_trade_no,
                status="closed",
                amount_minor=payment.amount_minor,
                currency=payment.currency,
            )
        charge = intent.get("latest_charge")
        paid_at = _moment(charge.get("created")) if isinstance(charge, dict) else None
        try:
            return _payment_state(intent, paid_at=paid_at)
        except ValueError as error:
            raise GatewayError(str(error), code="amount_not_supported") from error

    def payment_close(self, *, tenant_id: int, out_trade_no: str) -> None:
        """Cancel the attempt's PaymentIntent; one canceled already, or never made, needs
        nothing. GatewayError(code="already_paid") when it was paid meanwhile (the caller
        applies the success: a late payment is refunded, never kept)."""
        account_id = self._account_id(tenant_id)
        with _stripe_calls():
            intent = self._intent_find(account_id, out_trade_no)
            if intent is not None and intent["status"] not in ("succeeded", "canceled"):
                try:
                    stripe_client().v1.payment_intents.cancel(
                        intent["id"],
                        params={"cancellation_reason": "abandoned"},
                        options=_options(account_id),
                    )
                    return
                except stripe.InvalidRequestError as error:
                    if error.code != "payment_intent_unexpected_state":
                        raise
                    # It succeeded or was canceled between our look and the cancel.
                    intent = self._intent_find(account_id, out_trade_no)
        if intent is not None and intent["status"] == "succeeded":
            raise GatewayError(f"Stripe: {out_trade_no} is paid", code="already_paid")

    # -- refunds ---------------------------------------------------------------------------

    def _refund_find(
        self, account_id: str, intent_id: str, out_refund_no: str
    ) -> dict[str, Any] | None:
        listed = stripe_client().v1.refunds.list(
            params={"payment_intent": intent_id, "limit": 100}, options=_options(account_id)
        )
        for item in listed.auto_paging_iter():
            refund = item.to_dict()
            if (refund.get("metadata") or {}).get("out_refund_no") == out_refund_no:
                return refund
        return None

    def refund_start(self, request: RefundRequest) -> RefundState:
        """Refund `amount_minor` (converted exactly) of the payment's PaymentIntent.

        A refund already made under this reference is returned as it is: Stripe forgets
        idempotency keys after 24 hours, and a refund must never be made twice.
        """
        account_id = self._account_id(request.tenant_id)
        try:
            amount = amount_to_stripe(request.amount_minor, request.currency)
        except ValueError as error:
            raise GatewayError(str(error), code="amount_not_supported") from error
        with _stripe_calls():
            intent_id = request.payment_provider_ref
            if not intent_id:
                intent = self._intent_find(account_id, request.out_trade_no)
                if intent is None:
                    raise GatewayError(
                        f"no PaymentIntent for {request.out_trade_no}", code="payment_not_found"
                    )
                intent_id = str(intent["id"])
            existing = self._refund_find(account_id, intent_id, request.out_refund_no)
            if existing is None:
                existing = (
                    stripe_client()
                    .v1.refunds.create(
                        params={
                            "payment_intent": intent_id,
                            "amount": amount,
                            "metadata": {
                                "out_refund_no": request.out_refund_no,
                                "out_trade_no": request.out_trade_no,
                                "tenant": str(request.tenant_id),
                            },
                        },
                        options=_options(account_id, request.out_refund_no),
                    )
                    .to_dict()
                )
        return _refund_state(existing)

    def refund_query(self, *, tenant_id: int, out_refund_no: str) -> RefundState:
        """The refund's state at Stripe, by the id we stored (or among the payment's refunds)."""
        account_id = self._account_id(tenant_id)
        row = (
            Refund.objects.filter(out_refund_no=out_refund_no)
            .values("provider_ref", "payment__provider_ref", "payment__out_trade_no")
            .first()
        )
        if row is None:
            raise GatewayError(f"unknown refund {out_refund_no}", code="refund_not_found")
        with _stripe_calls():
            if row["provider_ref"]:
                found: dict[str, Any] | None = (
                    stripe_client()
                    .v1.refunds.retrieve(row["provider_ref"], options=_options(account_id))
                    .to_dict()
                )
            else:
                intent_id = row["payment__provider_ref"]
                if not intent_id:
                    intent = self._intent_find(account_id, row["payment__out_trade_no"])
                    intent_id = str(intent["id"]) if intent else ""
                found = (
                    self._refund_find(account_id, intent_id, out_refund_no) if intent_id else None
                )
        if found is None:
            raise GatewayError(f"Stripe has no refund {out_refund_no}", code="refund_not_found")
        return _refund_state(found)

    # -- notifications ---------------------------------------------------------------------

    def notification_verify(self, *, headers: dict[str, str], body: bytes) -> VerifiedNotification:
        """A Connect event, verified on the raw body (signature with
        STRIPE_CONNECT_WEBHOOK_SECRET, age under PAYMENT_NOTIFICATION_MAX_AGE_S), for the active
        shop's connected account; payment and refund events carry their state."""
        signature = next(
            (value for name, value in headers.items() if name.lower() == "stripe-signature"), ""
        )
        try:
            event = connect_event_verify(
                body=body, signature=signature, max_age_s=settings.PAYMENT_NOTIFICATION_MAX_AGE_S
            )
        except ConnectEventRejected as error:
            raise NotificationRejected(str(error), code=error.code) from error
        obj = event.get("data", {}).get("object") or {}
        if not isinstance(obj, dict):
            raise NotificationRejected("the event has no object", code="notification_malformed")
        tenant_id = shop_context().tenant_id
        account = payment_account_of(tenant_id=tenant_id, provider="stripe")
        if account is None or event.get("account") != account.account_id:
            raise NotificationRejected(
                f"event of account {event.get('account')} is not this shop's",
                code="notification_wrong_shop",
            )
        metadata = obj.get("metadata") or {}
        ours = "out_trade_no" in metadata or "out_refund_no" in metadata
        if ours and metadata.get("tenant") != str(tenant_id):
            raise NotificationRejected(
                f"event for tenant {metadata.get('tenant')} reached tenant {tenant_id}",
                code="notification_wrong_shop",
            )
        event_type = str(event["type"])
        payment: PaymentState | None = None
        refund: RefundState | None = None
        try:
            if event_type in PAYMENT_EVENTS and obj.get("object") == "payment_intent" and ours:
                payment = _payment_state(
                    obj, status=PAYMENT_EVENTS[event_type], paid_at=_moment(event.get("created"))
                )
            elif event_type in REFUND_EVENTS and obj.get("object") == "refund" and ours:
                refund = _refund_state(obj)
        except (KeyError, TypeError, ValueError) as error:
            raise NotificationRejected(str(error), code="notification_malformed") from error
        return VerifiedNotification(
            event_id=str(event["id"]),
            event_type=event_type,
            resource=event,
            payment=payment,
            refund=refund,
        )

    # -- reconciliation --------------------------------------------------------------------

    def bill_rows(self, *, tenant_id: int, bill_date: date) -> list[BillRow]:
        """The day's (the shop's time zone) succeeded charges and refunds of the account."""
        account_id = self._account_id(tenant_id)
        start = datetime.combine(bill_date, time.min, tzinfo=shop_context().time_zone)
        since, until = int(start.timestamp()), int((start + timedelta(days=1)).timestamp())
        rows: list[BillRow] = []
        with _stripe_calls():
            client = stripe_client()
            charges = client.v1.charges.list(
                params={"created": {"gte": since, "lt": until}, "limit": 100},
                options=_options(account_id),
            )
            for charge in charges.auto_paging_iter():
                if charge.status != "succeeded":
                    continue  # declined and pending attempts moved no money
                rows.append(self._bill_row("payment", charge.to_dict()))
            refunds = client.v1.refunds.list(
                params={"created": {"gte": since, "lt": until}, "limit": 100},
                options=_options(account_id),
            )
            for refund in refunds.auto_paging_iter():
                if refund.status != "succeeded":
                    continue
                rows.append(self._bill_row("refund", refund.to_dict()))
        return rows

    def _bill_row(self, kind: Literal["payment", "refund"], obj: dict[str, Any]) -> BillRow:
        metadata = obj.get("metadata") or {}
        currency = str(obj["currency"]).upper()
        try:
            amount = amount_from_stripe(int(obj["amount"]), currency)
        except ValueError as error:
            raise GatewayError(str(error), code="amount_not_supported") from error
        if kind == "payment":
            intent_id = str(obj.get("payment_intent") or obj["id"])
            return BillRow(
                record_type="payment",
                # A charge we did not make (no reference of ours) shows as missing here.
                out_trade_no=str(metadata.get("out_trade_no") or intent_id),
                provider_ref=intent_id,
                amount_minor=amount,
                status="succeeded",
                extra={"charge": obj["id"], "currency": currency},
            )
        return BillRow(
            record_type="refund",
            out_trade_no=str(metadata.get("out_trade_no", "")),
            provider_ref=str(obj["id"]),
            amount_minor=amount,
            status="succeeded",
            out_refund_no=str(metadata.get("out_refund_no") or obj["id"]),
            extra={"payment_intent": obj.get("payment_intent"), "currency": currency},
        )
