"""Reads of payments."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, QuerySet

from billing.selectors import payment_providers_of
from shop.core.selectors import shop_context
from shop.customers.models import Member
from shop.payments.errors import MismatchNotFoundError, PaymentNotFoundError
from shop.payments.models import (
    Gateway,
    Payment,
    ReconciliationMismatch,
    ReconciliationRun,
    Refund,
)
from tenants.selectors.tenancy import shop_host_for


def notify_url_for(*, gateway: str) -> str:
    """The shop host's endpoint for the gateway's notifications (ARCHITECTURE §6)."""
    port = f":{settings.PLATFORM_PORT}" if settings.PLATFORM_PORT else ""
    host = shop_host_for(shop_context().slug)
    return f"{settings.PLATFORM_SCHEME}://{host}{port}/api/v1/payments/notify/{gateway}"


def member_payment_get(*, member: Member, out_trade_no: str) -> Payment:
    """A payment attempt of one of the member's orders, with its order; PaymentNotFoundError
    for any other (another member's attempts look like missing ones)."""
    payment = (
        Payment.objects.select_related("order")
        .filter(out_trade_no=out_trade_no, order__member=member)
        .first()
    )
    if payment is None:
        raise PaymentNotFoundError()
    return payment


def order_payments(*, order_id: int) -> QuerySet[Payment]:
    return Payment.objects.filter(order_id=order_id).order_by("created_at", "id")


def order_paying_payment(*, order_id: int) -> Payment | None:
    """The attempt that paid the order (None before payment)."""
    return Payment.objects.filter(order_id=order_id, paid_order=True).first()


def reconciliation_runs(*, limit: int = 30) -> QuerySet[ReconciliationRun]:
    return ReconciliationRun.objects.order_by("-bill_date", "gateway")[:limit]


def reconciliation_mismatches(
    *, unresolved_only: bool = True, kind: str | None = None
) -> QuerySet[ReconciliationMismatch]:
    """Mismatches, latest day first, with their run; of one kind when `kind` is given."""
    items = ReconciliationMismatch.objects.select_related("run").order_by("-run__bill_date", "id")
    if kind:
        items = items.filter(kind=kind)
    return items.filter(resolved_at__isnull=True) if unresolved_only else items


def reconciliation_mismatches_resolved(*, limit: int = 20) -> list[ReconciliationMismatch]:
    """The latest mismatches marked as explained, latest first, with their run."""
    return list(
        ReconciliationMismatch.objects.filter(resolved_at__isnull=False)
        .select_related("run")
        .order_by("-resolved_at", "-id")[:limit]
    )


def reconciliation_mismatch_counts() -> dict[str, int]:
    """Unresolved mismatches of each kind (every kind, 0 included); one query."""
    counts = dict(
        ReconciliationMismatch.objects.filter(resolved_at__isnull=True)
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {kind: counts.get(kind, 0) for kind in ReconciliationMismatch.Kind.values}


def reconciliation_mismatch_get(*, mismatch_id: int) -> ReconciliationMismatch:
    """One mismatch (resolved or not); MismatchNotFoundError when there is none."""
    mismatch = ReconciliationMismatch.objects.filter(pk=mismatch_id).first()
    if mismatch is None:
        raise MismatchNotFoundError()
    return mismatch


def order_refunds(*, order_id: int) -> QuerySet[Refund]:
    """The refunds of an order, oldest first."""
    return Refund.objects.filter(order_id=order_id).order_by("created_at", "id")


def payment_get(*, order_id: int, payment_id: int) -> Payment:
    """One payment of an order; PaymentNotFoundError when the order has no such payment."""
    payment = Payment.objects.filter(order_id=order_id, pk=payment_id).first()
    if payment is None:
        raise PaymentNotFoundError()
    return payment


def reconcilable_gateways() -> list[str]:
    """The gateways whose bills the shop can reconcile: its providers, and the sandbox where
    it is on (the demo's payments)."""
    gateways = payment_providers_of(tenant_id=shop_context().tenant_id)
    if settings.SANDBOX_PAYMENTS:
        gateways.append(Gateway.SANDBOX)
    return gateways
