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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="shop_profile_singleton"),
        ]

    def __str__(self) -> str:
        return "Shop profile"
