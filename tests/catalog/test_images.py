"""Product images: checked, stored under the shop's folder, thumbnailed at upload."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.db import transaction
from PIL import Image

from shop.catalog.errors import ImageInvalidError
from shop.catalog.models import ProductImage
from shop.catalog.services.images import (
    IMAGE_MAX_BYTES,
    product_image_add,
    product_image_delete,
)
from shop.catalog.services.products import product_create
from tenants.models import Tenant
from tests.catalog.conftest import image_bytes


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_upload_stores_the_image_and_a_400px_webp_thumbnail_under_the_shop(
    shop: Tenant, media_root: Path
) -> None:
    # given
    product = product_create(title="Dress")
    # when
    image = product_image_add(product=product, file=io.BytesIO(image_bytes()), alt="正面")
    # then
    folder = f"shop_alpha/catalog/products/{product.pk}"
    assert _files(media_root) == sorted(
        [f"{folder}/{Path(image.image.name).name}", f"{folder}/{Path(image.thumbnail.name).name}"]
    )
    assert image.image.name.endswith(".jpg")
    assert (image.width, image.height, image.alt, image.position) == (1200, 800, "正面", 0)
    with Image.open(media_root / "shop_alpha" / image.thumbnail.name) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("WEBP", (400, 267))
    assert image.thumbnail.url == f"/media/shop_alpha/{image.thumbnail.name}"


def test_next_image_goes_after_the_last(shop: Tenant, media_root: Path) -> None:
    # given
    product = product_create(title="Dress")
    product_image_add(product=product, file=io.BytesIO(image_bytes(image_format="PNG")))
    # when
    second = product_image_add(product=product, file=io.BytesIO(image_bytes(image_format="WEBP")))
    # then
    assert second.position == 1
    assert second.image.name.endswith(".webp")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not an image at all",
        image_bytes()[:200],  # truncated
        image_bytes(image_format="BMP"),  # a format we do not take
    ],
    ids=["empty", "text", "truncated", "bmp"],
)
def test_invalid_upload_is_refused_and_nothing_is_stored(
    shop: Tenant, media_root: Path, content: bytes
) -> None:
    # given
    product = product_create(title="Dress")
    # when
    with pytest.raises(ImageInvalidError) as raised:
        product_image_add(product=product, file=io.BytesIO(content))
    # then
    assert raised.value.code == "image_invalid"
    assert ProductImage.objects.count() == 0
    assert _files(media_root) == []


def test_oversized_upload_is_refused(shop: Tenant, media_root: Path) -> None:
    # given
    product = product_create(title="Dress")
    content = image_bytes() + b"\0" * IMAGE_MAX_BYTES
    # when
    with pytest.raises(ImageInvalidError):
        product_image_add(product=product, file=io.BytesIO(content))
    # then
    assert ProductImage.objects.count() == 0


def test_deleting_an_image_removes_its_files_after_commit(
    shop: Tenant, media_root: Path, django_capture_on_commit_callbacks: object
) -> None:
    # given
    product = product_create(title="Dress")
    image = product_image_add(product=product, file=io.BytesIO(image_bytes()))
    # when
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():  # type: ignore[operator]
        product_image_delete(image=image)
    # then
    assert ProductImage.objects.count() == 0
    assert _files(media_root) == []
