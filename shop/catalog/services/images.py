"""Product images: checked with Pillow, stored through the shop's storage, thumbnailed at upload."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from typing import IO

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from infra.db import schema_connection, tenant_schema
from infra.errors import ValidationFailed
from infra.images import image_checked
from shop.catalog.cache import catalog_changed
from shop.catalog.errors import ImageInvalidError
from shop.catalog.lock_objects import product_lock
from shop.catalog.models import Product, ProductImage
from shop.catalog.services.cards import product_cards_refresh

IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
THUMBNAIL_SIZE = 400
ALT_MAX_LENGTH = 200


def _invalid() -> ImageInvalidError:
    return ImageInvalidError(_("Upload a JPEG, PNG, WebP or GIF image of at most 10 MB."))


def _read_checked(file: IO[bytes]) -> tuple[bytes, str, tuple[int, int]]:
    """The bytes, extension and pixel size, or ImageInvalidError (too big, format, damage)."""
    checked = image_checked(
        file, max_bytes=IMAGE_MAX_BYTES, max_pixels=IMAGE_MAX_PIXELS, formats=IMAGE_FORMATS
    )
    if checked is None:
        raise _invalid()
    return checked.content, checked.extension, (checked.width, checked.height)


def _thumbnail(content: bytes) -> bytes:
    """A WebP of at most THUMBNAIL_SIZE px on its longer side, turned upright by its EXIF."""
    with Image.open(io.BytesIO(content)) as opened:
        image = ImageOps.exif_transpose(opened)
        image = image.convert("RGBA" if image.mode in {"RGBA", "LA", "P"} else "RGB")
        image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        output = io.BytesIO()
        image.save(output, format="WEBP", quality=80)
    return output.getvalue()


@transaction.atomic
def product_image_add(
    *, product: Product, file: IO[bytes], alt: str = "", position: int | None = None
) -> ProductImage:
    """Store an uploaded image (JPEG, PNG, WebP, GIF; at most 10 MB) and its 400 px thumbnail.

    Positions default to after the last image; the first image is the product's cover.
    """
    catalog_changed()
    alt = alt.strip()[:ALT_MAX_LENGTH]
    content, extension, (width, height) = _read_checked(file)
    try:
        thumbnail = _thumbnail(content)
    except (OSError, ValueError) as error:
        raise _invalid() from error
    if position is None:
        last = ProductImage.objects.filter(product=product).aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    name = uuid.uuid4().hex
    image = ProductImage(product=product, alt=alt, position=position, width=width, height=height)
    image.image.save(f"{name}.{extension}", ContentFile(content), save=False)
    image.thumbnail.save(f"{name}-thumb.webp", ContentFile(thumbnail), save=False)
    image.save()
    product_cards_refresh(product_ids=[product.pk])
    return image


@transaction.atomic
def product_image_delete(*, image: ProductImage) -> None:
    """Delete an image row now and its files once the deletion has committed."""
    catalog_changed()
    names = [image.image.name, image.thumbnail.name]
    storage = image.image.storage
    tenant = schema_connection().tenant
    product_id = image.product_id
    image.delete()
    product_cards_refresh(product_ids=[product_id])

    def _delete_files() -> None:
        # Storage paths follow the current schema: delete under the shop that owned the files.
        with tenant_schema(tenant):
            for name in names:
                storage.delete(name)

    transaction.on_commit(_delete_files)


@transaction.atomic
def product_images_reorder(*, product: Product, image_ids: Sequence[int]) -> list[ProductImage]:
    """Put the product's images in the listed order; the first is the cover.

    The ids must be exactly the product's images, each once: an order read before an image was
    added or deleted is refused rather than applied to a different set.
    """
    catalog_changed()
    product_lock(product_id=product.pk)
    images = {image.pk: image for image in ProductImage.objects.filter(product=product)}
    if len(image_ids) != len(set(image_ids)) or set(image_ids) != set(images):
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={
                "image_ids": [
                    {
                        "code": "stale",
                        "message": _("The pictures changed meanwhile: reload and try again."),
                    }
                ]
            },
        )
    changed = []
    for position, image_id in enumerate(image_ids):
        image = images[image_id]
        if image.position != position:
            image.position = position
            changed.append(image)
    ProductImage.objects.bulk_update(changed, ["position"])
    product_cards_refresh(product_ids=[product.pk])
    return [images[image_id] for image_id in image_ids]
