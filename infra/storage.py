"""File storage under the current shop's schema name (ARCHITECTURE §1: paths carry the tenant)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from infra.db import schema_connection


def tenant_prefix() -> str:
    """The folder of the current schema (`public` for control-plane files)."""
    return str(schema_connection().schema_name)


class TenantFileSystemStorage(FileSystemStorage):
    """MEDIA_ROOT/<schema>/… in development and tests."""

    @property
    def base_location(self) -> str:
        return os.path.join(str(settings.MEDIA_ROOT), tenant_prefix())

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> str:
        return f"{settings.MEDIA_URL}{tenant_prefix()}/"


class TenantS3Storage(S3Storage):  # type: ignore[misc]  # django-storages is untyped
    """<bucket>/<schema>/… in production; the location follows the current schema."""

    @property
    def location(self) -> str:
        return tenant_prefix()

    @location.setter
    def location(self, value: Any) -> None:
        # S3Storage assigns its configured location in __init__; the schema decides instead.
        pass
