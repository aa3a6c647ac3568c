"""Outbox delivery tasks (tenant plane: they run in the shop's schema)."""

from __future__ import annotations

from infra.celery import TenantPlaneTask, app
from shop.events.services import (
    OutboxDeliveryFailedError,
    event_deliver,
    outbox_unsettled_deliver,
)


@app.task(
    base=TenantPlaneTask,
    name="shop.events.tasks.outbox_event_deliver_task",
    autoretry_for=(OutboxDeliveryFailedError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def outbox_event_deliver_task(event_id: str) -> list[str]:
    """Deliver one event to its subscribers."""
    return event_deliver(event_id=event_id)


@app.task(base=TenantPlaneTask, name="shop.events.tasks.outbox_unsettled_deliver_task")
def outbox_unsettled_deliver_task() -> int:
    """Deliver what is still unsettled in this shop (scheduled for every shop by the sweep)."""
    return outbox_unsettled_deliver()
