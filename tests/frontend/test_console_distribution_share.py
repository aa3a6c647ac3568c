"""The console's poster template editor: the page and its tab, saving the layout, colours and
texts (a tampered value is refused and changes nothing), the background picture, the preview
drawn by the posters' own code, and who may change it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from distribution.services.share import poster_template_get
from infra.db import schema_connection
from tenants.models import Role, Tenant
from tests.support.console import console_client

URL = "/console/alpha/distribution/posters/"
SAVE = "/console/alpha/distribution/posters/save/"
BACKGROUND = "/console/alpha/distribution/posters/background/"
PREVIEW = "/console/alpha/distribution/posters/preview.png"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.OWNER, "poster-owner@example.com")


@pytest.fixture
def staff_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.STAFF, "poster-staff@example.com")


def _form(**overrides: str) -> dict[str, str]:
    return {
        "layout": "card",
        "background_color": "#fff8e1",
        "text_color": "#333333",
        "accent_color": "#d81e06",
        "headline": "店长推荐",
        "footer": "扫码查看详情",
        **overrides,
    }


def _png(color: tuple[int, int, int]) -> SimpleUploadedFile:
    output = io.BytesIO()
    Image.new("RGB", (200, 300), color).save(output, format="PNG")
    return SimpleUploadedFile("bg.png", output.getvalue(), content_type="image/png")


def test_the_page_shows_the_template_its_tab_and_a_preview(owner_in_shop: Client) -> None:
    # when
    response = owner_in_shop.get(URL)
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="poster-template-form"' in html
    assert f'href="{URL}" aria-current="page"' in html
    assert 'href="/console/alpha/distribution/"' in html  # the settings tab
    assert PREVIEW in html
    assert 'value="好物推荐"' in html  # the seeded default headline


def test_the_preview_is_the_poster_drawn_from_the_saved_template(owner_in_shop: Client) -> None:
    # when
    response = owner_in_shop.get(PREVIEW)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as preview:
        assert (preview.format, preview.size) == ("PNG", (750, 1334))


def test_the_owner_saves_the_template(owner_in_shop: Client) -> None:
    # when
    response = owner_in_shop.post(SAVE, _form())
    # then
    assert response.status_code == 302
    assert response["Location"] == URL
    template = poster_template_get()
    assert (template.layout, template.background_color, template.headline, template.footer) == (
        "card",
        "#FFF8E1",
        "店长推荐",
        "扫码查看详情",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("background_color", "red"), ("layout", "spiral"), ("headline", "好" * 41)],
)
def test_a_tampered_value_is_a_field_error_and_changes_nothing(
    owner_in_shop: Client, field: str, value: str
) -> None:
    # given
    before = poster_template_get()
    # when
    response = owner_in_shop.post(SAVE, _form(**{field: value}))
    # then
    assert response.status_code == 400
    assert f'data-field="{field}"' in response.content.decode()
    assert 'class="field has-error" data-field="' + field in response.content.decode()
    after = poster_template_get()
    assert (after.layout, after.background_color, after.headline) == (
        before.layout,
        before.background_color,
        before.headline,
    )


def test_a_background_picture_is_stored_and_can_be_removed(owner_in_shop: Client) -> None:
    # when
    uploaded = owner_in_shop.post(BACKGROUND, {"background": _png((10, 120, 200))})
    name = poster_template_get().background_image
    removed = owner_in_shop.post(BACKGROUND, {"remove": "on"})
    # then
    assert uploaded.status_code == removed.status_code == 302
    assert name.startswith("distribution/posters/backgrounds/")
    assert default_storage.exists(name)
    assert poster_template_get().background_image == ""


def test_a_background_that_is_not_a_picture_is_refused(owner_in_shop: Client) -> None:
    # when
    response = owner_in_shop.post(
        BACKGROUND,
        {"background": SimpleUploadedFile("bg.png", b"not a picture", "image/png")},
        follow=True,
    )
    # then
    assert "Upload a JPEG, PNG or WebP picture of at most 5 MB." in response.content.decode()
    assert poster_template_get().background_image == ""


def test_staff_may_look_but_not_change(staff_in_shop: Client) -> None:
    # given
    before = poster_template_get()
    # when
    page = staff_in_shop.get(URL)
    saved = staff_in_shop.post(SAVE, _form())
    background = staff_in_shop.post(BACKGROUND, {"background": _png((0, 0, 0))})
    # then
    assert page.status_code == 200
    assert 'id="read-only-note"' in page.content.decode()
    assert 'id="poster-background-form"' not in page.content.decode()
    assert (saved.status_code, background.status_code) == (403, 403)
    after = poster_template_get()
    assert (after.layout, after.headline, after.background_image) == (
        before.layout,
        before.headline,
        before.background_image,
    )


def test_a_member_of_another_shop_cannot_open_the_editor(shop: Tenant, other_shop: Tenant) -> None:
    # given
    stranger = console_client(other_shop, Role.OWNER, "poster-stranger@example.com")
    # when
    responses = [stranger.get(URL), stranger.get(PREVIEW), stranger.post(SAVE, _form())]
    # then
    assert all(response.status_code in {403, 404} for response in responses)
    schema_connection().set_tenant(shop)
    assert poster_template_get().headline == "好物推荐"
