"""Posters drawn with Pillow from the shop's poster template: a PNG of the poster size with
Chinese text drawn in a real CJK font, the product's picture, title and price and the code;
stored once per hash of what made them (the same inputs are not drawn again; a changed title,
price or template gives a new file); the template's validation and the missing-font error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import Image, ImageChops

from distribution.errors import PosterFontMissingError, PosterImageInvalidError
from distribution.models import PosterTemplate, ShareImage
from distribution.services import share
from distribution.services.bindings import distributor_make
from distribution.services.share import (
    POSTER_SIZE,
    poster_background_set,
    poster_content_for,
    poster_font_path,
    poster_template_get,
    poster_template_update,
    share_image_bytes,
    share_poster_image,
    share_qr_image,
)
from infra.errors import ValidationFailed
from shop.catalog.models import Product
from shop.catalog.selectors.products import product_get
from shop.catalog.services.images import product_image_add
from shop.catalog.services.products import product_update, sku_update
from tenants.models import Tenant
from tests.support.commerce import member_make, product_make, sku_of

pytestmark = pytest.mark.django_db

RED = (220, 20, 30)
# The classic layout: the headline's band, the product picture's square.
HEADLINE_BOX = (0, 40, 750, 110)
PICTURE_CENTER = (375, 120 + 335)


@pytest.fixture(autouse=True)
def _media(settings: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]


def _png(color: tuple[int, int, int], size: tuple[int, int] = (600, 600)) -> io.BytesIO:
    output = io.BytesIO()
    Image.new("RGB", size, color).save(output, format="PNG")
    output.seek(0)
    return output


def _product(title: str = "西湖龙井 明前特级", price_minor: int = 12800) -> Product:
    product = product_make(title=title, price_minor=price_minor)
    product_image_add(product=product, file=_png(RED))
    return product_get(product_id=product.pk)


def _poster(product: Product | None, nickname: str = "小明") -> ShareImage:
    member = member_make(nickname=nickname)
    distributor_make(member=member)
    code = share_qr_image(link="http://alpha.localhost:8000/?ref=ABCDEFGH")
    content = poster_content_for(product=product, member=member, code=code)
    return share_poster_image(template=poster_template_get(), content=content, code=code)


def _image(poster: ShareImage) -> Image.Image:
    return Image.open(io.BytesIO(share_image_bytes(poster))).convert("RGB")


def _region_is_plain(image: Image.Image, box: tuple[int, int, int, int], color: str) -> bool:
    region = image.crop(box)
    plain = Image.new("RGB", region.size, color)
    return ImageChops.difference(region, plain).getbbox() is None


def test_a_poster_is_a_png_of_the_poster_size_with_the_picture_and_chinese_text(
    shop: Tenant,
) -> None:
    # given: three templates that differ only in the headline: none, and two Chinese texts of
    # the same length (a font without Chinese glyphs would draw both as the same empty boxes)
    product = _product()
    poster_template_update(changes={"headline": ""})
    blank = _image(_poster(product))
    poster_template_update(changes={"headline": "好物推荐"})
    first = _image(_poster(product))
    poster_template_update(changes={"headline": "限时特价"})
    second = _image(_poster(product))
    # then
    stored = ShareImage.objects.filter(kind="poster").order_by("id").last()
    assert stored is not None
    assert (stored.width, stored.height) == POSTER_SIZE
    assert first.size == POSTER_SIZE
    assert _region_is_plain(blank, HEADLINE_BOX, "#FFFFFF")
    assert not _region_is_plain(first, HEADLINE_BOX, "#FFFFFF")
    assert ImageChops.difference(first.crop(HEADLINE_BOX), second.crop(HEADLINE_BOX)).getbbox()
    # the headline is drawn in the accent colour; the product's red picture fills its square
    colors = first.crop(HEADLINE_BOX).getcolors(10**6)
    assert colors is not None
    assert (228, 57, 60) in {color for _count, color in colors}
    red, green, blue = first.getpixel(PICTURE_CENTER)  # type: ignore[misc]
    assert red > 200
    assert green < 40
    assert blue < 50


def test_the_same_inputs_find_the_stored_poster_without_drawing_it_again(shop: Tenant) -> None:
    # given: a poster, whose stored file we then mark
    product = _product()
    member = member_make(nickname="小红")
    distributor_make(member=member)
    code = share_qr_image(link="http://alpha.localhost:8000/?ref=XYZ")
    content = poster_content_for(product=product, member=member, code=code)
    first = share_poster_image(template=poster_template_get(), content=content, code=code)
    with default_storage.open(first.file, "wb") as stored:
        stored.write(b"marker: drawn once")
    # when: the same template, product, nickname and code again
    again = share_poster_image(
        template=poster_template_get(),
        content=poster_content_for(
            product=product_get(product_id=product.pk), member=member, code=code
        ),
        code=code,
    )
    # then: the stored row and file, not a new drawing
    assert again.pk == first.pk
    assert share_image_bytes(again) == b"marker: drawn once"
    assert ShareImage.objects.filter(kind="poster").count() == 1


def test_a_changed_title_price_or_template_gives_a_new_poster(shop: Tenant) -> None:
    # given
    product = _product(title="碧螺春", price_minor=9900)
    original = _poster(product, nickname="阿强")
    # when: the title changes, then the price, then the template
    product_update(product=product, title="碧螺春 新茶")
    retitled = _poster(product_get(product_id=product.pk), nickname="阿强")
    sku_update(sku=sku_of(product), price_minor=8800)
    repriced = _poster(product_get(product_id=product.pk), nickname="阿强")
    poster_template_update(changes={"accent_color": "#0066cc"})
    restyled = _poster(product_get(product_id=product.pk), nickname="阿强")
    # then: four posters, four files, the first one still there
    posters = [original, retitled, repriced, restyled]
    assert len({poster.pk for poster in posters}) == 4
    assert len({poster.file for poster in posters}) == 4
    assert all(default_storage.exists(poster.file) for poster in posters)
    assert _image(original).tobytes() != _image(retitled).tobytes()


def test_the_card_layout_and_a_background_picture_are_drawn(shop: Tenant) -> None:
    # given: a green background picture, the classic layout, no product
    poster_background_set(file=_png((0, 160, 60), (300, 500)))
    poster_template_update(changes={"headline": ""})
    classic = _image(_poster(None))
    # when
    poster_template_update(changes={"layout": "card"})
    card = _image(_poster(None))
    # then: the background shows in the classic poster's corner; the card layout differs
    red, green, blue = classic.getpixel((5, 5))  # type: ignore[misc]
    assert green > 140
    assert red < 20
    assert blue < 80
    assert classic.tobytes() != card.tobytes()
    assert card.getpixel((375, 1334 - 60)) == (255, 255, 255)  # the white card at the bottom


def test_invalid_template_changes_are_field_errors_and_change_nothing(shop: Tenant) -> None:
    # given
    before = poster_template_get()
    # when
    with pytest.raises(ValidationFailed) as raised:
        poster_template_update(
            changes={"background_color": "red", "layout": "spiral", "headline": "好" * 41}
        )
    # then
    assert {name: [e["code"] for e in errors] for name, errors in raised.value.fields.items()} == {
        "background_color": ["invalid"],
        "layout": ["invalid_choice"],
        "headline": ["max_length"],
    }
    after = PosterTemplate.objects.get(pk=before.pk)
    assert (after.background_color, after.layout, after.headline) == (
        before.background_color,
        before.layout,
        before.headline,
    )


def test_a_background_that_is_not_a_picture_is_refused(shop: Tenant) -> None:
    # when
    with pytest.raises(PosterImageInvalidError) as raised:
        poster_background_set(file=io.BytesIO(b"not a picture"))
    # then
    assert raised.value.code == "poster_image_invalid"
    assert poster_template_get().background_image == ""


def test_without_a_chinese_font_posters_fail_with_a_clear_error(
    shop: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a machine with none of the known fonts and no fontconfig
    monkeypatch.setattr(share, "FONT_CANDIDATES", ("/nonexistent/font.ttc",))
    monkeypatch.setenv("PATH", "/nonexistent")
    poster_font_path.cache_clear()
    share._font.cache_clear()
    try:
        # when
        with pytest.raises(PosterFontMissingError) as raised:
            _poster(None)
    finally:
        poster_font_path.cache_clear()
        share._font.cache_clear()
    # then
    assert raised.value.code == "poster_font_missing"
    assert "fonts-noto-cjk" in raised.value.message
    assert not ShareImage.objects.filter(kind="poster").exists()
