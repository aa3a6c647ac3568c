"""Reads of the outbox: who subscribes to what, and what is still undelivered."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from infra.planes import OutboxSubscriber, tenant_app_configs
from shop.events.models import OutboxEvent


def outbox_subscribers() -> dict[str, OutboxSubscriber]:
    """Every subscriber the tenant-plane apps register, by name (names are unique)."""
    found: dict[str, OutboxSubscriber] = {}
    for config in tenant_app_configs():
        for subscriber in config.outbox_subscribers():
            if subscriber.name in found:
                raise RuntimeError(f"two outbox subscribers are named {subscriber.name!r}")
            found[subscriber.name] = subscriber
    return found


def outbox_subscribers_of(topic: str) -> list[OutboxSubscriber]:
    """The subscribers of one topic, in a stable order."""
    return sorted(
        (subscriber for subscriber in outbox_subscribers().values() if topic in subscriber.topics),
        key=lambda subscriber: subscriber.name,
    )


def outbox_unsettled(*, older_than_s: float) -> QuerySet[OutboxEvent]:
    """Events some subscriber has not handled yet, recorded more than `older_than_s` ago."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    return OutboxEvent.objects.filter(settled_at__isnull=True, created_at__lt=cutoff).order_by(
        "created_at"
    )
