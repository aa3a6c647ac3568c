"""Order tasks (tenant plane: each runs in the schema of the shop it was sent from)."""

from __future__ import annotations

from infra.celery import TenantPlaneTask, app


@app.task(base=TenantPlaneTask, name="shop.orders.tasks.orders_unpaid_cancel_task")
def orders_unpaid_cancel_task() -> int:
    """Cancel the orders whose payment deadline passed and put their stock back."""
    from shop.orders.services.orders import orders_unpaid_cancel

    return orders_unpaid_cancel()


@app.task(base=TenantPlaneTask, name="shop.orders.tasks.orders_progress_task")
def orders_progress_task() -> list[int]:
    """Receive shipped orders and complete received ones whose days have passed."""
    from shop.core.idempotency import idempotency_records_prune
    from shop.orders.services.orders import orders_progress

    received, completed = orders_progress()
    idempotency_records_prune()
    return [received, completed]
