"""Reads of the shop profile."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from infra.db import schema_connection
from shop.core.models import ShopProfile


def shop_profile_get() -> ShopProfile:
    """The current shop's profile (created on first read if seeding was skipped)."""
    profile, _ = ShopProfile.objects.get_or_create(singleton=True)
    return profile


@dataclass(frozen=True)
class ShopContext:
    """What the tenant plane needs to know of its shop's control-plane row."""

    tenant_id: int
    slug: str
    currency: str
    time_zone: ZoneInfo


def shop_context() -> ShopContext:
    """The shop whose schema is active (request, task or test); fails outside a shop."""
    tenant = getattr(schema_connection(), "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public" or not tenant.pk:
        raise RuntimeError("no shop schema is active")
    return ShopContext(
        tenant_id=int(tenant.pk),
        slug=str(tenant.slug),
        currency=str(tenant.currency),
        time_zone=ZoneInfo(str(tenant.time_zone)),
    )
