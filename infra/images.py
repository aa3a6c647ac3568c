"""Checking uploaded pictures with Pillow before anything is stored: size, format, pixels, damage.

Every upload (product pictures, poster backgrounds, theme images) goes through `image_checked`;
each caller raises its own error (with its own limits in the message) when it answers None.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

from PIL import Image, UnidentifiedImageError

# Pillow's format name -> the extension files are stored with.
WEB_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


@dataclass(frozen=True, slots=True)
class CheckedImage:
    content: bytes
    extension: str
    width: int
    height: int


def image_checked(
    file: IO[bytes],
    *,
    max_bytes: int,
    max_pixels: int,
    formats: Mapping[str, str] = WEB_IMAGE_FORMATS,
) -> CheckedImage | None:
    """The upload's bytes, extension and size when it is a sound picture within the limits;
    None when it is too big, of another format, a decompression bomb or damaged."""
    content = file.read(max_bytes + 1)
    if not content or len(content) > max_bytes:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                extension = formats.get(image.format or "")
                if extension is None:
                    return None
                width, height = image.size
                if width * height > max_pixels:
                    return None
                image.verify()
                return CheckedImage(content, extension, width, height)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None
