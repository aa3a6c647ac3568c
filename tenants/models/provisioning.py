"""Spare schemas: pre-migrated, waiting for a signup to claim them with a rename."""

from __future__ import annotations

from django.db import models


class SpareSchema(models.Model):
    """A schema migrated to `migration_state` (a digest of the tenant migrations applied)."""

    schema_name = models.CharField(max_length=63, unique=True)
    migration_state = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.schema_name
