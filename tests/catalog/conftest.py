"""Fixtures of the catalog tests: media under a temporary folder, images made by Pillow."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import translation
from PIL import Image


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Services' messages are asserted in English; outside a request the default is zh-hans."""
    with translation.override("en"):
        yield


@pytest.fixture
def media_root(tmp_path: Path) -> Iterator[Path]:
    with override_settings(
        MEDIA_ROOT=tmp_path,
        MEDIA_URL="/media/",
        STORAGES={
            "default": {"BACKEND": "infra.storage.TenantFileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        yield tmp_path


def image_bytes(size: tuple[int, int] = (1200, 800), image_format: str = "JPEG") -> bytes:
    """A real image of `size` in `image_format`."""
    output = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(output, format=image_format)
    return output.getvalue()
