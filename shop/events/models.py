"""Outbox rows: an event, and each subscriber's delivery of it."""

from __future__ import annotations

import uuid

from django.db import models


class OutboxEvent(models.Model):
    """A domain event, written in the transaction of the change it describes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set once every subscriber of the topic has handled the event.
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_unsettled_idx",
                condition=models.Q(settled_at__isnull=True),
            ),
            models.Index(fields=["topic", "created_at"], name="outbox_topic_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.id}"


class OutboxDelivery(models.Model):
    """One subscriber's handling of one event: its effects commit together with this row."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=100)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="outbox_delivery_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} <- {self.event_id}"
