"""PostgreSQL backend: django-tenants' schema switching, issuing `SET search_path` at most once.

`schema_connection()` is the default connection typed as this backend, so that code which
switches schemas (`set_tenant`, `set_schema_to_public`, `schema_name`) is type-checked;
`tenant_schema(tenant)` runs a block in a shop's schema and restores the previous one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from django.db import connection

if TYPE_CHECKING:
    from infra.db.base import DatabaseWrapper


def schema_connection() -> DatabaseWrapper:
    """The current thread's default connection, with its schema-switching methods."""
    return cast("DatabaseWrapper", connection)


@contextmanager
def tenant_schema(tenant: Any) -> Iterator[None]:
    """Run the block in `tenant`'s schema (a Tenant, or anything with schema_name)."""
    database = schema_connection()
    previous = database.tenant
    database.set_tenant(tenant)
    try:
        yield
    finally:
        database.set_tenant(previous)
