"""The transactional outbox (ARCHITECTURE §3).

A service that changes something records its event with `event_record` inside its own
transaction; once that commits, Celery delivers the event to every subscriber of its topic.
Each delivery runs the subscriber in a transaction together with its `OutboxDelivery` row, so a
subscriber's effects happen exactly once per event however often delivery is tried; a crash
between the commit and the task loses nothing, because the sweep (`outbox_unsettled_deliver`)
delivers what is still unsettled.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from shop.events.models import OutboxDelivery, OutboxEvent
from shop.events.selectors import outbox_subscribers_of, outbox_unsettled

logger = logging.getLogger(__name__)


class OutboxDeliveryFailedError(RuntimeError):
    """Some subscribers failed; their deliveries are retried."""


def event_record(*, topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record a domain event in the current transaction (required: it commits with the change)."""
    if not connection.in_atomic_block:
        raise RuntimeError("event_record must run inside the transaction of the change")
    event = OutboxEvent.objects.create(topic=topic, payload=payload)
    event_id = str(event.id)
    transaction.on_commit(lambda: _deliver_later(event_id))
    return event


def _deliver_later(event_id: str) -> None:
    from shop.events.tasks import outbox_event_deliver_task

    try:
        outbox_event_deliver_task.apply_async(args=[event_id], retry=False)
    except Exception:  # the sweep delivers it; never fail the committed change
        logger.warning("could not enqueue delivery of event %s", event_id, exc_info=True)


def event_deliver(*, event_id: uuid.UUID | str) -> list[str]:
    """Deliver one event to each subscriber that has not handled it; the names delivered now.

    Raises OutboxDeliveryFailedError (after recording each failure) when a subscriber failed.
    """
    event = OutboxEvent.objects.filter(pk=event_id).first()
    if event is None or event.settled_at is not None:
        return []
    subscribers = outbox_subscribers_of(event.topic)
    OutboxDelivery.objects.bulk_create(
        [OutboxDelivery(event=event, subscriber=subscriber.name) for subscriber in subscribers],
        ignore_conflicts=True,
    )
    delivered: list[str] = []
    failures: list[str] = []
    for subscriber in subscribers:
        try:
            with transaction.atomic():
                # Another worker delivering the same event skips the row it holds.
                delivery = (
                    OutboxDelivery.objects.select_for_update(skip_locked=True)
                    .filter(event=event, subscriber=subscriber.name, delivered_at__isnull=True)
                    .first()
                )
                if delivery is None:
                    continue
                subscriber.handle(event)
                OutboxDelivery.objects.filter(pk=delivery.pk).update(
                    delivered_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
                )
            delivered.append(subscriber.name)
        except Exception as error:
            logger.exception("outbox subscriber %s failed on %s", subscriber.name, event.id)
            OutboxDelivery.objects.filter(event=event, subscriber=subscriber.name).update(
                attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
            )
            failures.append(subscriber.name)
    if failures:
        raise OutboxDeliveryFailedError(f"event {event.id}: {', '.join(failures)} failed")
    # A delivery never becomes undelivered again, so checking first is safe. Deliveries to a
    # subscriber that no longer exists (removed in a release) do not keep the event open.
    if not OutboxDelivery.objects.filter(
        event=event,
        delivered_at__isnull=True,
        subscriber__in=[subscriber.name for subscriber in subscribers],
    ).exists():
        OutboxEvent.objects.filter(pk=event.pk, settled_at__isnull=True).update(
            settled_at=timezone.now()
        )
    return delivered


def outbox_unsettled_deliver(*, older_than_s: float = 60, limit: int = 500) -> int:
    """Deliver events still unsettled after `older_than_s` (a lost task, a failed subscriber)."""
    settled = 0
    for event_id in outbox_unsettled(older_than_s=older_than_s).values_list("id", flat=True)[
        :limit
    ]:
        try:
            event_deliver(event_id=event_id)
        except OutboxDeliveryFailedError:
            continue
        settled += 1
    return settled
