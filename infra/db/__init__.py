"""PostgreSQL backend: django-tenants' schema switching, issuing `SET search_path` at most once.

`schema_connection()` is the default connection typed as this backend, so that code which
switches schemas (`set_tenant`, `set_schema_to_public`, `schema_name`) is type-checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.db import connection

if TYPE_CHECKING:
    from infra.db.base import DatabaseWrapper


def schema_connection() -> DatabaseWrapper:
    """The current thread's default connection, with its schema-switching methods."""
    return cast("DatabaseWrapper", connection)
