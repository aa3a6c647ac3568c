"""The shop's profile: one row per schema."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ShopProfile(models.Model):
    """Settings of the shop that live with its data (the control plane keeps name and slug)."""

    singleton = models.BooleanField(default=True, unique=True)
    description = models.TextField(blank=True, default="")
    contact_email = models.EmailField(blank=True, default="")
    contact_phone = models.CharField(max_length=32, blank=True, default="")
    # Minutes after which an unpaid order is cancelled (used by the commerce issue).
    unpaid_order_timeout_minutes = models.PositiveIntegerField(default=30)
    # Days after shipment when a shipped order counts as received, in the shop's time zone.
    auto_receive_days = models.PositiveIntegerField(default=10)
    # Days after receipt during which members may ask for an after-sale; then it completes.
    after_sale_days = models.PositiveIntegerField(default=7)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="shop_profile_singleton"),
        ]

    def __str__(self) -> str:
        return "Shop profile"


class IdempotencyRecord(models.Model):
    """The first result of a request sent with an `Idempotency-Key` (ARCHITECTURE §3).

    Written in the transaction of the change itself, so a key is taken exactly when its effects
    commit; a concurrent repeat waits on the unique index and then replays the stored response.
    """

    scope = models.CharField(max_length=32)
    # Who sent it ("member:12", "account:3"): a key is private to its sender.
    owner = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    # SHA-256 of what the request asked for: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "owner", "key"], name="shop_core_idempotency_unique"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="shop_core_idempotency_age_idx")]

    def __str__(self) -> str:
        return f"{self.scope} {self.owner} {self.key}"
