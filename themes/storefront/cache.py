"""The storefront's caches: the live design, and whole pages for visitors.

The live design (theme version, settings, layouts) is read on every page; it is cached per shop
(the default cache's keys carry the schema) and replaced when a publish, rollback or install
commits: writers `set` it on commit, readers only `add` what they read from the database, so a
reader that read before the commit never puts the old design back.

Pages for visitors (no member session, GET, no preview) are cached whole, keyed by the live
design's number, the catalog version (shop.catalog.cache: every catalog, stock and profile write
bumps it), the shop's name, currency and language, and the absolute URL. A publish makes a new
number, a catalog write a new version: older entries become unreachable at once and expire on
their own. Personal pages (cart, checkout, orders, account, distribution, login) are never
cached.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from infra.db import schema_connection, tenant_schema
from shop.catalog.cache import catalog_version

_DESIGN_KEY = "storefront:design"
DESIGN_TIMEOUT_S = 24 * 3600
PAGE_TIMEOUT_S = 600  # below the lifetime of presigned media URLs printed in the pages


@dataclass(frozen=True, slots=True)
class Design:
    """A design to render: a published version (`number`) or the draft (`number` None)."""

    number: int | None
    revision: int | None
    install_id: int
    version_id: int
    checksum: str
    handle: str
    version: str
    manifest: dict[str, Any]
    settings: dict[str, Any]
    pages: dict[str, list[dict[str, Any]]]


def design_cached() -> Design | None:
    """The live design from the cache (None when it is not there)."""
    data = cache.get(_DESIGN_KEY)
    return None if data is None else Design(**data)


def design_cache_fill(design: Design) -> None:
    """Keep a live design read from the database, unless a newer one was set meanwhile."""
    cache.add(_DESIGN_KEY, asdict(design), timeout=DESIGN_TIMEOUT_S)


class _Replace:
    def __init__(self, tenant: Any) -> None:
        self.tenant = tenant

    def __call__(self) -> None:
        # Imported here: the selector reads the models, which the cache module must not need.
        from themes.storefront.selectors import storefront_live_design_read

        with tenant_schema(self.tenant):
            design = storefront_live_design_read()
            if design is None:
                cache.delete(_DESIGN_KEY)
            else:
                cache.set(_DESIGN_KEY, asdict(design), timeout=DESIGN_TIMEOUT_S)


def design_changed() -> None:
    """Called by every write of the live design: the cached one is replaced when it commits."""
    transaction.on_commit(_Replace(schema_connection().tenant))


# The query parameters the public pages read; others (tracking tags …) do not change a page.
PAGE_PARAMETERS = ("q", "sort", "page", "ref")


def page_cache_key(request: Any, design: Design) -> str:
    """The cache key of a visitor's page: design number, catalog version, shop, URL."""
    tenant = request.tenant
    query = urlencode(
        sorted((name, request.GET[name]) for name in PAGE_PARAMETERS if name in request.GET)
    )
    identity = "\n".join(
        [
            str(tenant.name),
            str(tenant.currency),
            str(tenant.language),
            request.build_absolute_uri(request.path),
            query,
        ]
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()
    return f"storefront:page:{design.number}:{catalog_version()}:{digest}"


def page_cache_enabled() -> bool:
    return bool(settings.STOREFRONT_PAGE_CACHE)
