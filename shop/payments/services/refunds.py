"""Refunds: asked once per purpose (the reference is derived from it), applied once when done.

`refund_create` records the refund in the caller's transaction and sends it to the provider
after the commit (a Celery task; the sweep retries what is still unsent). The provider's answer
(at once for the sandbox and offline, by notification or query for WeChat Pay and Stripe) is
applied by `refund_apply_state`: the payment's refunded amount grows once, and an after-sale's
refund is booked on the order (shop.orders).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from shop.core.selectors import shop_context
from shop.orders.services.after_sales import after_sale_refunded
from shop.payments.errors import RefundNotAllowedError
from shop.payments.gateways import gateway_get
from shop.payments.gateways.base import GatewayError, RefundRequest, RefundState
from shop.payments.lock_objects import refund_lock
from shop.payments.models import Payment, Refund

logger = logging.getLogger(__name__)


def refund_notify_url() -> str:
    """Where providers post refund notifications (same endpoint as payments)."""
    from shop.payments.selectors import notify_url_for

    return notify_url_for(gateway="wechatpay")


def refund_create(
    *,
    payment: Payment,
    amount_minor: int,
    reason: str,
    out_refund_no: str,
    requested_by: str,
    after_sale_id: int | None = None,
) -> Refund:
    """Record a refund of `amount_minor` on a succeeded payment; the same reference is the same
    refund (returned as it is). RefundNotAllowedError beyond what is left to refund."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("refund_create runs inside the transaction of its cause")
    existing = Refund.objects.filter(out_refund_no=out_refund_no).first()
    if existing is not None:
        return existing
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    committed = (
        Refund.objects.filter(payment=locked)
        .exclude(status=Refund.Status.FAILED)
        .aggregate(total=Sum("amount_minor"))["total"]
        or 0
    )
    if (
        locked.status != Payment.Status.SUCCEEDED
        or amount_minor <= 0
        or committed + amount_minor > locked.amount_minor
    ):
        raise RefundNotAllowedError()
    refund = Refund.objects.create(
        payment=locked,
        order_id=locked.order_id,
        after_sale_id=after_sale_id,
        out_refund_no=out_refund_no,
        amount_minor=amount_minor,
        currency=locked.currency,
        reason=reason,
        requested_by=requested_by,
    )
    refund_id = refund.pk
    transaction.on_commit(lambda: _submit_later(refund_id))
    return refund


def _submit_later(refund_id: int) -> None:
    from shop.payments.tasks import refund_submit_task

    try:
        refund_submit_task.apply_async(args=[refund_id], retry=False)
    except Exception:  # the sweep sends it
        logger.warning("could not enqueue refund %s", refund_id, exc_info=True)


def refund_submit(*, refund_id: int) -> RefundState | None:
    """Ask the provider for a pending refund (idempotent there: same out_refund_no)."""
    refund = Refund.objects.select_related("payment").filter(pk=refund_id).first()
    if refund is None or refund.status != Refund.Status.PENDING:
        return None
    payment = refund.payment
    request = RefundRequest(
        tenant_id=shop_context().tenant_id,
        out_refund_no=refund.out_refund_no,
        out_trade_no=payment.out_trade_no,
        payment_provider_ref=payment.provider_ref,
        amount_minor=refund.amount_minor,
        payment_amount_minor=payment.amount_minor,
        currency=refund.currency,
        reason=refund.get_reason_display(),
        notify_url=refund_notify_url(),
    )
    try:
        state = gateway_get(payment.gateway).refund_start(request)
    except GatewayError as error:
        if not error.retryable:
            Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
                status=Refund.Status.FAILED, failure=str(error)[:500], updated_at=timezone.now()
            )
            return None
        raise
    refund_apply_state(state=state, source="submit")
    return state


@transaction.atomic
def refund_apply_state(*, state: RefundState, source: str) -> str:
    """Apply the provider's view of a refund once: "applied", "ignored" or "rejected"."""
    refund = refund_lock(out_refund_no=state.out_refund_no)
    if refund is None:
        logger.warning("%s: unknown refund %s", source, state.out_refund_no)
        return "rejected"
    if refund.status != Refund.Status.PENDING:
        return "ignored"
    if state.status == "pending":
        if state.provider_ref and not refund.provider_ref:
            Refund.objects.filter(pk=refund.pk).update(provider_ref=state.provider_ref)
        return "ignored"
    if state.status == "failed":
        refund.status = Refund.Status.FAILED
        refund.failure = state.failure[:500]
        refund.save(update_fields=["status", "failure", "updated_at"])
        return "applied"
    if state.amount_minor != refund.amount_minor:
        logger.error(
            "%s: refund %s amount %s ≠ %s",
            source,
            refund.out_refund_no,
            state.amount_minor,
            refund.amount_minor,
        )
        return "rejected"
    refund.status = Refund.Status.SUCCEEDED
    refund.succeeded_at = timezone.now()
    refund.provider_ref = state.provider_ref or refund.provider_ref
    refund.save(update_fields=["status", "succeeded_at", "provider_ref", "updated_at"])
    Payment.objects.filter(pk=refund.payment_id).update(
        refunded_minor=F("refunded_minor") + refund.amount_minor
    )
    if refund.after_sale_id is not None:
        after_sale_refunded(after_sale_id=refund.after_sale_id, actor=f"refund:{refund.pk}")
    return "applied"


def refunds_pending_resolve(*, older_than: datetime, limit: int = 200) -> int:
    """Refunds still pending: send the unsent again, ask the provider about the others."""
    changed = 0
    tenant_id = shop_context().tenant_id
    for refund in (
        Refund.objects.filter(status=Refund.Status.PENDING, created_at__lte=older_than)
        .select_related("payment")
        .order_by("created_at")[:limit]
    ):
        try:
            if not refund.provider_ref:
                state = refund_submit(refund_id=refund.pk)
                changed += state is not None and state.status != "pending"
                continue
            state = gateway_get(refund.payment.gateway).refund_query(
                tenant_id=tenant_id, out_refund_no=refund.out_refund_no
            )
        except (GatewayError, NotImplementedError):
            logger.warning("refund %s still pending", refund.out_refund_no, exc_info=True)
            continue
        if refund_apply_state(state=state, source="query") == "applied":
            changed += 1
    return changed
