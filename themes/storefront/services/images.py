"""Images of theme settings (a logo, a banner): checked with Pillow, stored in the shop's storage.

The theme editor uploads the file first and then saves the setting with the returned storage
name (`themes/<uuid>.<ext>`; the storage puts it under the shop's schema), so a setting only ever
names a file that was checked. Files are kept when a setting changes: published versions and
rollbacks may still use them.
"""

from __future__ import annotations

import io
import uuid
import warnings
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

from infra.errors import DomainError

IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_PIXELS = 25_000_000
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
IMAGE_FOLDER = "themes"


class ThemeImageInvalidError(DomainError):
    code = "theme_image_invalid"
    status_code = 400
    default_message = "Upload a JPEG, PNG, WebP or GIF image of at most 5 MB."


def _checked(file: IO[bytes]) -> tuple[bytes, str]:
    """The bytes and extension of a valid image, or ThemeImageInvalidError."""
    content = file.read(IMAGE_MAX_BYTES + 1)
    if not content or len(content) > IMAGE_MAX_BYTES:
        raise ThemeImageInvalidError()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                if image.format not in IMAGE_FORMATS:
                    raise ThemeImageInvalidError()
                width, height = image.size
                if width * height > IMAGE_MAX_PIXELS:
                    raise ThemeImageInvalidError()
                image.verify()
                extension = IMAGE_FORMATS[image.format]
    except ThemeImageInvalidError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise ThemeImageInvalidError() from error
    return content, extension


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
