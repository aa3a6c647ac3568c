"""Finding a shop from a host name or a console slug, cached and invalidated on change."""

from __future__ import annotations

from typing import Final

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db.models import QuerySet

from tenants.models import Domain, Tenant

ROUTING_TTL_S: Final = 300
# Unknown hosts are remembered briefly so that a flood of them does not reach the database.
UNKNOWN_TTL_S: Final = 30
_UNKNOWN: Final = "unknown"


def _routing_cache() -> BaseCache:
    return caches["platform"]


def host_key(host: str) -> str:
    return f"tenant-host:{host}"


def slug_key(slug: str) -> str:
    return f"tenant-slug:{slug}"


def normalize_host(raw_host: str) -> str:
    """Lower-case host name without port or trailing dot."""
    host = raw_host.strip().lower()
    if host.startswith("["):
        return host
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


def host_is_platform(host: str) -> bool:
    """Whether a host name reaches the platform site rather than a shop."""
    return host == settings.PLATFORM_DOMAIN or host in settings.PLATFORM_EXTRA_HOSTS


def shop_host_for(slug: str) -> str:
    """The platform subdomain of a shop."""
    return f"{slug}.{settings.PLATFORM_DOMAIN}"


def tenant_get_by_host(*, host: str) -> Tenant | None:
    """The shop served on a host: its subdomain or a verified custom domain; None if unknown."""
    cache = _routing_cache()
    cached = cache.get(host_key(host))
    if cached == _UNKNOWN:
        return None
    if isinstance(cached, Tenant):
        return cached
    domain = Domain.objects.select_related("tenant").filter(domain=host, is_verified=True).first()
    if domain is None:
        cache.set(host_key(host), _UNKNOWN, UNKNOWN_TTL_S)
        return None
    tenant: Tenant = domain.tenant
    cache.set(host_key(host), tenant, ROUTING_TTL_S)
    return tenant


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    """The shop with this slug (console URLs); None if unknown."""
    cache = _routing_cache()
    cached = cache.get(slug_key(slug))
    if cached == _UNKNOWN:
        return None
    if isinstance(cached, Tenant):
        return cached
    tenant = Tenant.objects.filter(slug=slug).first()
    cache.set(slug_key(slug), tenant if tenant is not None else _UNKNOWN, ROUTING_TTL_S)
    return tenant


def tenant_routing_forget(*, tenant: Tenant | None = None, hosts: list[str] | None = None) -> None:
    """Drop cached lookups of a shop (after it or its domains changed)."""
    keys = [host_key(host) for host in hosts or []]
    if tenant is not None:
        keys.append(slug_key(tenant.slug))
        keys.extend(
            host_key(domain)
            for domain in Domain.objects.filter(tenant=tenant).values_list("domain", flat=True)
        )
    if keys:
        _routing_cache().delete_many(keys)


def domain_list_for_tenant(*, tenant: Tenant) -> QuerySet[Domain]:
    """A shop's host names: its platform subdomain first, then custom domains by name."""
    return Domain.objects.filter(tenant=tenant).order_by("-is_primary", "domain")
