"""Payment tasks (tenant plane: each runs in the schema of the shop it was sent from)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from infra.celery import TenantPlaneTask, app
from shop.payments.gateways.base import GatewayError


@app.task(base=TenantPlaneTask, name="shop.payments.tasks.payment_notification_process_task")
def payment_notification_process_task(notification_id: int) -> str | None:
    from shop.payments.services.notifications import notification_process

    return notification_process(notification_id=notification_id)


@app.task(
    base=TenantPlaneTask,
    name="shop.payments.tasks.refund_submit_task",
    autoretry_for=(GatewayError,),
    retry_backoff=10,
    retry_backoff_max=900,
    max_retries=10,
)
def refund_submit_task(refund_id: int) -> str | None:
    from shop.payments.services.refunds import refund_submit

    state = refund_submit(refund_id=refund_id)
    return state.status if state else None


@app.task(base=TenantPlaneTask, name="shop.payments.tasks.payments_sweep_task")
def payments_sweep_task() -> dict[str, int]:
    """Notifications left unprocessed, refunds left unsent, payments still pending (query)."""
    from shop.payments.services.notifications import notifications_unprocessed_process
    from shop.payments.services.payments import payments_pending_resolve
    from shop.payments.services.refunds import refunds_pending_resolve

    return {
        "notifications": notifications_unprocessed_process(),
        "refunds": refunds_pending_resolve(older_than=timezone.now() - timedelta(minutes=5)),
        "payments": payments_pending_resolve(older_than=timezone.now() - timedelta(minutes=5)),
    }


@app.task(base=TenantPlaneTask, name="shop.payments.tasks.payments_reconcile_task")
def payments_reconcile_task(bill_date: str | None = None) -> dict[str, int]:
    """Match yesterday's bills (the shop's yesterday) of each provider to our payments."""
    from shop.payments.services.reconciliation import reconcile_day

    return reconcile_day(bill_date=bill_date)
