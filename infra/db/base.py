"""django-tenants' backend, changed so that selecting the schema already in force costs nothing.

django-tenants forgets the applied search_path on every `set_tenant`, so a persistent
connection re-issues `SET search_path` on each request even when the schema did not change. We
keep it when the new search path equals the one the session already has, and count the SETs
actually sent so that tests can hold the "at most one per request" rule. The schema-switching
methods are re-declared with types (django-tenants has none).
"""

from __future__ import annotations

from typing import Any

from django_tenants.postgresql_backend import base as tenants_base


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    search_path_set_count = 0
    search_path_set_schemas: list[str] | None
    schema_name: str
    tenant: Any

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        applied = self.search_path_set_schemas
        super().set_tenant(tenant, include_public)
        if applied is not None and self.connection is not None:
            wanted = self._get_cursor_search_paths()
            if wanted == applied:
                self.search_path_set_schemas = applied

    def set_schema(
        self, schema_name: str, include_public: bool = True, tenant_type: str | None = None
    ) -> None:
        super().set_schema(schema_name, include_public, tenant_type)

    def set_schema_to_public(self) -> None:
        super().set_schema_to_public()

    def _handle_search_path(self, cursor: Any = None) -> None:
        before = self.search_path_set_schemas
        super()._handle_search_path(cursor)
        if before is None and self.search_path_set_schemas is not None:
            self.search_path_set_count += 1
