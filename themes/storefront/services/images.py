"""Images of theme settings (a logo, a banner): checked with Pillow, stored in the shop's storage.

The theme editor uploads the file first and then saves the setting with the returned storage
name (`themes/<uuid>.<ext>`; the storage puts it under the shop's schema), so a setting only ever
names a file that was checked. Files are kept when a setting changes: published versions and
rollbacks may still use them.
"""

from __future__ import annotations

import uuid
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from infra.errors import DomainError
from infra.images import image_checked

IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_PIXELS = 25_000_000
IMAGE_FOLDER = "themes"


class ThemeImageInvalidError(DomainError):
    code = "theme_image_invalid"
    status_code = 400
    default_message = "Upload a JPEG, PNG, WebP or GIF image of at most 5 MB."


def _checked(file: IO[bytes]) -> tuple[bytes, str]:
    """The bytes and extension of a valid image, or ThemeImageInvalidError."""
    checked = image_checked(file, max_bytes=IMAGE_MAX_BYTES, max_pixels=IMAGE_MAX_PIXELS)
    if checked is None:
        raise ThemeImageInvalidError()
    return checked.content, checked.extension


def theme_image_upload(*, file: IO[bytes]) -> str:
    """Store an image for a theme setting (JPEG, PNG, WebP, GIF; ≤ 5 MB); its storage name."""
    content, extension = _checked(file)
    return default_storage.save(
        f"{IMAGE_FOLDER}/{uuid.uuid4().hex}.{extension}", ContentFile(content)
    )


def theme_image_url(name: str | None) -> str | None:
    """The URL of a stored theme image (for the editor's thumbnails); None for none."""
    if not name:
        return None
    return str(default_storage.url(name))
