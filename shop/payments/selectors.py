"""Reads of payments."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from shop.core.selectors import shop_context
from shop.payments.models import Payment, ReconciliationMismatch, ReconciliationRun
from tenants.selectors.tenancy import shop_host_for


def notify_url_for(*, gateway: str) -> str:
    """The shop host's endpoint for the gateway's notifications (ARCHITECTURE §6)."""
    port = f":{settings.PLATFORM_PORT}" if settings.PLATFORM_PORT else ""
    host = shop_host_for(shop_context().slug)
    return f"{settings.PLATFORM_SCHEME}://{host}{port}/api/v1/payments/notify/{gateway}"


def order_payments(*, order_id: int) -> QuerySet[Payment]:
    return Payment.objects.filter(order_id=order_id).order_by("created_at", "id")


def order_paying_payment(*, order_id: int) -> Payment | None:
    """The attempt that paid the order (None before payment)."""
    return Payment.objects.filter(order_id=order_id, paid_order=True).first()


def reconciliation_runs(*, limit: int = 30) -> QuerySet[ReconciliationRun]:
    return ReconciliationRun.objects.order_by("-bill_date", "gateway")[:limit]


def reconciliation_mismatches(*, unresolved_only: bool = True) -> QuerySet[ReconciliationMismatch]:
    items = ReconciliationMismatch.objects.select_related("run").order_by("-run__bill_date", "id")
    return items.filter(resolved_at__isnull=True) if unresolved_only else items
