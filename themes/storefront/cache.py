"""The storefront's caches: the live design, and whole pages for visitors.

The live design (theme version, settings, layouts) is read on every page; it is cached per shop
(the default cache's keys carry the schema) and replaced when a publish, rollback or install
commits: writers `set` it on commit, readers only `add` what they read from the database, so a
reader that read before the commit never puts the old design back.

Pages for visitors (no member session, GET, no preview) are cached whole, keyed by the shop's
name, currency and language and the URL (with only the parameters the pages read), and stamped
with the live design's number and the catalog version (shop.catalog.cache: every catalog, stock
and profile write bumps it) they were rendered from. A hit is one round trip: the page, the
design and the catalog version are read together and the page is served only while its stamps
are the current ones, so a publish or a catalog write makes every older page stale at once (they
expire on their own). Personal pages (cart, checkout, orders, account, distribution, login) are
never cached.
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
from shop.catalog.cache import CATALOG_VERSION_KEY, catalog_version

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


def _page_key(request: Any) -> str:
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
    return f"storefront:page:{hashlib.sha256(identity.encode()).hexdigest()}"


@dataclass(slots=True)
class PageLookup:
    """One read of the page cache: the page's key, the live design and the catalog version as
    the cache has them (None: not there), and the page when it is still current."""

    key: str
    design: Design | None
    catalog_version: int
    body: bytes | None


def page_cache_lookup(request: Any) -> PageLookup:
    """A visitor's page from the cache, in one round trip with what makes it current (a second
    one starts the catalog version when the cache has none).

    The entry is stamped with the design number and catalog version it was rendered with;
    it is served only while both are still the current ones.
    """
    key = _page_key(request)
    found = cache.get_many([_DESIGN_KEY, CATALOG_VERSION_KEY, key])
    data = found.get(_DESIGN_KEY)
    design = None if data is None else Design(**data)
    version = found.get(CATALOG_VERSION_KEY)
    if version is None:  # never read, or evicted: start one now, before the page is rendered
        version = catalog_version()
    entry = found.get(key)
    body = None
    if (
        design is not None
        and version is not None
        and entry is not None
        and entry[0] == design.number
        and entry[1] == version
    ):
        body = entry[2]
    return PageLookup(key=key, design=design, catalog_version=version, body=body)


def page_cache_store(lookup: PageLookup, *, design: Design, body: bytes) -> None:
    """Keep a page rendered after `lookup` missed, stamped with what it was rendered from.

    Both stamps were read before rendering: a write or a publish committing meanwhile changed
    them, so the entry is stale from the start and never served.
    """
    cache.set(lookup.key, (design.number, lookup.catalog_version, body), timeout=PAGE_TIMEOUT_S)


def page_cache_enabled() -> bool:
    return bool(settings.STOREFRONT_PAGE_CACHE)
