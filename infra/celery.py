"""Celery, tenant-aware (tenant-schemas-celery): a task carries the schema it was sent from.

Tenant-plane tasks derive from `TenantPlaneTask` and refuse to run without a shop schema;
control-plane tasks (fan-out "for every tenant", provisioning) derive from `ControlPlaneTask`.
"""

from __future__ import annotations

import os
from typing import Any, cast

from celery import Celery
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

from infra.db import schema_connection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infra.settings")


class TenantSchemaRequiredError(RuntimeError):
    """A tenant-plane task arrived without a shop schema."""


class TenantPlaneTask(TenantTask):  # type: ignore[misc]
    """Runs in the schema it was sent from; fails closed in the public schema."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if schema_connection().schema_name == "public":
            raise TenantSchemaRequiredError(
                f"{self.name} is a tenant-plane task and was sent without a shop schema"
            )
        return super().__call__(*args, **kwargs)


class ControlPlaneTask(TenantTask):  # type: ignore[misc]
    """Runs in the public schema, whatever schema it was sent from."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        schema_connection().set_schema_to_public()
        return super().__call__(*args, **kwargs)


# tenant-schemas-celery's CeleryApp is untyped; to the type checker it is the Celery it extends.
app = cast(Celery, CeleryApp("platform"))
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
