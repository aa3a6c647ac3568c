"""Reads of the shop profile."""

from __future__ import annotations

from shop.core.models import ShopProfile


def shop_profile_get() -> ShopProfile:
    """The current shop's profile (created on first read if seeding was skipped)."""
    profile, _ = ShopProfile.objects.get_or_create(singleton=True)
    return profile
