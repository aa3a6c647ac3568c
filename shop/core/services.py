"""Write services of the shop profile."""

from __future__ import annotations

from shop.core.models import ShopProfile


def shop_profile_seed() -> ShopProfile:
    """Create the profile row of a new shop (idempotent)."""
    profile, _ = ShopProfile.objects.get_or_create(singleton=True)
    return profile
