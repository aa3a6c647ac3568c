"""Paying an order: start an attempt at a gateway, apply what the provider says, exactly once.

`payment_apply_state` is the only place where a payment's outcome changes anything: it is
reached from notifications, from the query fallback, from the sandbox's click and from staff
confirming an offline payment. Under the payment's row lock it applies a success once; the
order moves to paid only if it is still pending (a conditional transition), otherwise the money
is refunded at once (paid after cancellation, or a second successful attempt), never kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db import transaction
from django.utils import timezone

from infra.errors import DomainError
from shop.core.selectors import shop_context
from shop.orders.lock_objects import order_lock
from shop.orders.models import Order, OrderStatus
from shop.orders.services.orders import order_mark_paid
from shop.payments.errors import (
    GatewayUnavailableError,
    OrderNotPayableError,
    PaymentNotFoundError,
    PaymentProviderError,
)
from shop.payments.gateways import gateway_get
from shop.payments.gateways.base import GatewayError, PaymentRequest, PaymentState
from shop.payments.lock_objects import payment_lock
from shop.payments.models import Gateway, Payment, Refund

logger = logging.getLogger(__name__)

# Which gateway serves which method.
METHOD_GATEWAY: dict[str, str] = {
    Payment.Method.WECHAT_MINIPROGRAM: Gateway.WECHATPAY,
    Payment.Method.WECHAT_JSAPI: Gateway.WECHATPAY,
    Payment.Method.WECHAT_H5: Gateway.WECHATPAY,
    Payment.Method.WECHAT_NATIVE: Gateway.WECHATPAY,
    Payment.Method.STRIPE_CARD: Gateway.STRIPE,
    Payment.Method.CASH_ON_PICKUP: Gateway.OFFLINE,
    Payment.Method.BANK_TRANSFER: Gateway.OFFLINE,
    Payment.Method.SANDBOX: Gateway.SANDBOX,
    Payment.Method.STORE_BALANCE: Gateway.BALANCE,
}

# Gateways that move the money as the payment starts (no provider to wait for): the move and
# its outcome (payment_apply_state) happen in one transaction.
SETTLED_AT_START = frozenset({Gateway.BALANCE})

Outcome = Literal["applied", "ignored", "rejected"]
# Gateway refusals that mean "this shop cannot pay this way" (no account, another currency).
UNAVAILABLE_CODES = frozenset({"not_configured", "currency_unsupported", "method_invalid"})


@dataclass(frozen=True)
class PaymentStarted:
    payment: Payment
    client_params: dict[str, Any]


def _out_trade_no(order: Order) -> str:
    attempt = Payment.objects.filter(order=order).count() + 1
    return f"{order.number}P{attempt:02d}"


def payment_start(
    *,
    order: Order,
    method: str,
    notify_url: str,
    client_ip: str = "",
    payer_ref: str = "",
    return_url: str = "",
) -> PaymentStarted:
    """Open a payment attempt for the order's total; what the client needs to pay it.

    The attempt is committed before the provider is called (a crash in between leaves a
    pending attempt that the query fallback resolves), and the provider's answer after. The
    store balance pays the order's member in full at once: the debit and the success apply in
    one transaction, or nothing does (insufficient_store_balance leaves the attempt failed).
    """
    gateway_name = METHOD_GATEWAY.get(method)
    if gateway_name is None:
        raise GatewayUnavailableError()
    gateway = gateway_get(gateway_name)
    if gateway_name == Gateway.BALANCE:
        # The payer is whoever owns the order: only their own balance can pay it.
        payer_ref = str(order.member_id)
    with transaction.atomic():
        order = order_lock(order_id=order.pk)
        if order.status != OrderStatus.PENDING_PAYMENT or order.pay_deadline <= timezone.now():
            raise OrderNotPayableError()
        payment = Payment.objects.create(
            order=order,
            gateway=gateway_name,
            method=method,
            out_trade_no=_out_trade_no(order),
            amount_minor=order.total_minor,
            currency=order.currency,
            payer_ref=payer_ref,
        )
    request = PaymentRequest(
        tenant_id=shop_context().tenant_id,
        out_trade_no=payment.out_trade_no,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        description=_order_description(order),
        method=method,
        expires_at=order.pay_deadline,
        notify_url=notify_url,
        client_ip=client_ip,
        payer_ref=payer_ref,
        return_url=return_url,
    )
    try:
        if gateway_name in SETTLED_AT_START:
            with transaction.atomic():
                started = gateway.payment_start(request)
                if started.state is None:
                    raise GatewayError(f"{gateway_name} did not settle at start")
                payment_apply_state(state=started.state, source=gateway_name)
            payment.refresh_from_db()
            return PaymentStarted(payment=payment, client_params=started.client_params)
        started = gateway.payment_start(request)
    except (GatewayError, DomainError) as error:
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING).update(
            status=Payment.Status.FAILED, updated_at=timezone.now()
        )
        logger.warning("payment %s refused by %s: %s", payment.out_trade_no, gateway_name, error)
        if isinstance(error, DomainError):
            raise  # the member's own problem (insufficient_store_balance), as it is
        if error.code in UNAVAILABLE_CODES:
            raise GatewayUnavailableError() from error
        raise PaymentProviderError() from error
    if started.provider_ref:
        Payment.objects.filter(pk=payment.pk).update(provider_ref=started.provider_ref)
        payment.provider_ref = started.provider_ref
    return PaymentStarted(payment=payment, client_params=started.client_params)


def _order_description(order: Order) -> str:
    titles = list(order.lines.values_list("title", flat=True)[:2])
    more = order.lines.count() - len(titles)
    text = "、".join(titles) + (f" +{more}" if more > 0 else "")
    return text[:120] or order.number


@transaction.atomic
def payment_apply_state(*, state: PaymentState, source: str) -> Outcome:
    """Apply the provider's view of a payment; what it did ("applied", "ignored", "rejected").

    Rejected: unknown reference, or amount/currency not those of the attempt (nothing changes).
    """
    payment = payment_lock(out_trade_no=state.out_trade_no)
    if payment is None:
        logger.warning("%s: unknown payment %s", source, state.out_trade_no)
        return "rejected"
    if state.status == "succeeded":
        if state.amount_minor != payment.amount_minor or state.currency != payment.currency:
            logger.error(
                "%s: payment %s amount %s %s does not match %s %s",
                source,
                payment.out_trade_no,
                state.amount_minor,
                state.currency,
                payment.amount_minor,
                payment.currency,
            )
            return "rejected"
        if payment.status == Payment.Status.SUCCEEDED:
            return "ignored"
        paid_at = state.paid_at or timezone.now()
        payment.status = Payment.Status.SUCCEEDED
        payment.succeeded_at = paid_at
        payment.provider_ref = state.provider_ref or payment.provider_ref
        payment.payer_ref = state.payer_ref or payment.payer_ref
        order = order_lock(order_id=payment.order_id)
        payment.paid_order = order_mark_paid(
            order=order, paid_at=paid_at, payment_ref=payment.out_trade_no
        )
        payment.save(
            update_fields=[
                "status",
                "succeeded_at",
                "provider_ref",
                "payer_ref",
                "paid_order",
                "updated_at",
            ]
        )
        if not payment.paid_order:
            # Paid after cancellation, or a second attempt that succeeded too: give it back.
            from shop.payments.services.refunds import refund_create

            reason = (
                Refund.Reason.LATE_PAYMENT
                if order.status == OrderStatus.CANCELLED
                else Refund.Reason.DUPLICATE_PAYMENT
            )
            refund_create(
                payment=payment,
                amount_minor=payment.amount_minor,
                reason=reason,
                out_refund_no=f"{payment.out_trade_no}R",
                requested_by="system",
            )
        return "applied"
    if state.status in ("failed", "closed") and payment.status == Payment.Status.PENDING:
        payment.status = (
            Payment.Status.FAILED if state.status == "failed" else Payment.Status.CLOSED
        )
        payment.save(update_fields=["status", "updated_at"])
        return "applied"
    return "ignored"


def payment_sandbox_confirm(*, order: Order, out_trade_no: str) -> Outcome:
    """The sandbox's "pay" button: the attempt succeeds as a provider would say it did."""
    payment = Payment.objects.filter(
        order=order, out_trade_no=out_trade_no, gateway=Gateway.SANDBOX
    ).first()
    if payment is None:
        raise PaymentNotFoundError()
    gateway_get(Gateway.SANDBOX)  # refused where the sandbox is off (production)
    return payment_apply_state(
        state=PaymentState(
            out_trade_no=payment.out_trade_no,
            status="succeeded",
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            provider_ref=payment.provider_ref,
            paid_at=timezone.now(),
        ),
        source="sandbox",
    )


def payment_offline_confirm(*, payment: Payment, actor: str) -> Outcome:
    """Staff confirm that an offline payment's money arrived."""
    if payment.gateway != Gateway.OFFLINE:
        raise PaymentNotFoundError()
    with transaction.atomic():
        outcome = payment_apply_state(
            state=PaymentState(
                out_trade_no=payment.out_trade_no,
                status="succeeded",
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                paid_at=timezone.now(),
            ),
            source="offline",
        )
        if outcome == "applied":
            Payment.objects.filter(pk=payment.pk).update(confirmed_by=actor)
    return outcome


def payments_pending_resolve(*, older_than: datetime, limit: int = 200) -> int:
    """The query fallback: ask the provider about attempts still pending; how many changed."""
    changed = 0
    tenant_id = shop_context().tenant_id
    for payment in Payment.objects.filter(
        status=Payment.Status.PENDING,
        gateway__in=[Gateway.WECHATPAY, Gateway.STRIPE],
        created_at__lte=older_than,
    ).order_by("created_at")[:limit]:
        try:
            state = gateway_get(payment.gateway).payment_query(
                tenant_id=tenant_id, out_trade_no=payment.out_trade_no
            )
        except GatewayError:
            logger.warning("query of payment %s failed", payment.out_trade_no, exc_info=True)
            continue
        if payment_apply_state(state=state, source="query") == "applied":
            changed += 1
    return changed
