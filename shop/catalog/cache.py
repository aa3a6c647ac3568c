"""The catalog's cache version: every storefront read is cached under it, every write bumps it.

ARCHITECTURE §6: storefront pages and API reads are cached per tenant and invalidated on write.
One number per shop, in the default cache (whose keys carry the shop's schema), names the current
state of the catalog; cached reads are keyed by it, so bumping it makes every one of them
unreachable at once (they expire on their own). The bump runs when the writing transaction
commits, at most once per transaction: a reader that took the old number before the commit
stores what it read under that old, unreachable number. An evicted or lost number restarts at
the current time in nanoseconds, above every number used before.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from django.db import transaction

from infra.db import schema_connection, tenant_schema

# Public: readers that batch their cache reads (the storefront's page cache) read it directly.
CATALOG_VERSION_KEY = "catalog:version"
_VERSION_KEY = CATALOG_VERSION_KEY


def catalog_version() -> int:
    """The shop's current catalog version (the shop of the active schema)."""
    version = cache.get(_VERSION_KEY)
    if version is None:
        cache.add(_VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(_VERSION_KEY)
    return int(version)


def catalog_version_bump() -> None:
    """Make the shop's cached reads stale now (writes use catalog_changed, which waits)."""
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:  # never read, or evicted: any fresh number will do
        cache.add(_VERSION_KEY, time.time_ns(), timeout=None)


class _Bump:
    """The on-commit callback of one transaction's catalog writes in one shop."""

    def __init__(self, tenant: Any, schema: str) -> None:
        self.tenant = tenant
        self.schema = schema
        self.done = False

    def __call__(self) -> None:
        self.done = True
        with tenant_schema(self.tenant):
            catalog_version_bump()


def catalog_changed() -> None:
    """Called by every catalog write: the shop's cached reads go stale when this commits."""
    database = schema_connection()
    schema = str(database.schema_name)
    pending = getattr(database, "run_on_commit", [])
    if database.in_atomic_block and any(
        isinstance(entry[1], _Bump) and entry[1].schema == schema and not entry[1].done
        for entry in pending
    ):
        return
    transaction.on_commit(_Bump(database.tenant, schema))
