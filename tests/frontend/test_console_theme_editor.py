"""The console's theme section: the editor (a page's sections, their settings, theme settings,
publish, discard, roll back, the preview iframe on the shop's host) and the theme library
(install another theme, update to a newer version). Who may change what, stale forms, and the
query budget of the editor page.

The shop runs the minimal test theme (tests/themes/packages/minimal/), stored as a built-in
theme and installed through the control plane's service, so the draft's JSON is known exactly.
"""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image
from pytest_django import DjangoAssertNumQueries

from infra.db import schema_connection
from shop.catalog.services.categories import category_create
from tenants.models import Account, Agency, AgencyMembership, Role, Tenant
from tenants.selectors.tenancy import tenant_routing_forget
from tenants.services.audit import AuditContext
from tests.support.commerce import product_make
from tests.support.console import console_client, console_login
from tests.themes.test_design_services import (
    BANNER_DEFAULTS,
    minimal_v2,
    theme_files,
    theme_folder,
)
from themes.packages.models import ThemeVersion
from themes.packages.services import theme_agency_upload, theme_builtin_sync, theme_install
from themes.storefront.http import PREVIEW_MAX_AGE_S, PREVIEW_SALT
from themes.storefront.models import StorefrontDraft, StorefrontVersion
from themes.storefront.services.design import storefront_section_add

URL = "/console/alpha/theme/"
LIBRARY = "/console/alpha/theme/library/"
MINIMAL_SETTINGS = {
    "color_primary": "#e4393c",
    "font_body": "system",
    "show_search": True,
    "logo": None,
}
# The editor page's queries: session, account, membership, the shop switcher's shops, the
# draft with its theme, the published versions, the names of who published them.
EDITOR_PAGE_BUDGET = 7


@pytest.fixture
def theme(shop: Tenant, tmp_path: Path) -> ThemeVersion:
    """The minimal test theme 1.0.0, a built-in theme, installed in the shop and published."""
    (version,) = theme_builtin_sync(root=theme_folder(tmp_path / "v1"))
    theme_install(tenant=shop, version_id=version.pk, actor="account:0", publish=True)
    return version


@pytest.fixture
def owner_in_shop(shop: Tenant, theme: ThemeVersion) -> Client:
    return console_client(shop, Role.OWNER, "theme-owner@example.com")


@pytest.fixture
def staff_in_shop(shop: Tenant, theme: ThemeVersion) -> Client:
    return console_client(shop, Role.STAFF, "theme-staff@example.com")


def _draft(shop: Tenant) -> StorefrontDraft:
    schema_connection().set_tenant(shop)
    return StorefrontDraft.objects.select_related("install").get()


def _state(shop: Tenant) -> dict[str, Any]:
    draft = _draft(shop)
    return {
        "revision": draft.revision,
        "install": draft.install_id,
        "settings": draft.settings,
        "pages": draft.pages,
        "versions": list(StorefrontVersion.objects.values_list("number", "is_live")),
    }


def _home_ids(shop: Tenant) -> list[str]:
    return [section["id"] for section in _draft(shop).pages["home"]]


def _block(html: str, marker: str, end: str) -> str:
    start = html.index(marker)
    return html[start : html.index(end, start)]


def _preview_src(html: str) -> str:
    match = re.search(r'<iframe id="theme-preview" src="([^"]+)"', html)
    assert match is not None
    return unescape(match.group(1))


def _token_tenant(src: str) -> Any:
    token = parse_qs(urlsplit(src).query)["preview"][0]
    return signing.loads(token, salt=PREVIEW_SALT, max_age=PREVIEW_MAX_AGE_S)["tenant"]


def _field_errors(html: str, field: str) -> list[str]:
    match = re.search(
        rf'data-field="{re.escape(field)}">.*?<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S
    )
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def _png() -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (8, 4), (200, 10, 10)).save(data, format="PNG")
    data.seek(0)
    data.name = "logo.png"
    return data


def _settings_form(revision: int, **overrides: Any) -> dict[str, Any]:
    """The theme settings form as the editor posts it (the minimal theme's defaults)."""
    data: dict[str, Any] = {
        "revision": revision,
        "page": "home",
        "setting-color_primary": "#e4393c",
        "setting-font_body": "system",
        "setting-show_search": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _banner_form(revision: int, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "revision": revision,
        "page": "home",
        "setting-title": "Hello",
        "setting-link": "/search",
        "setting-height": "300",
        "setting-align": "center",
    }
    data.update(overrides)
    return data


# --- The editor page


def test_the_editor_shows_the_page_sections_settings_history_and_preview(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # when
    response = owner_in_shop.get(URL)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Theme</h1>" in html
    assert "Editing Minimal 1.0.0." in html
    picker = _block(html, '<ul class="page-picker">', "</ul>")
    assert re.findall(r'data-page="([a-z]+)"[^>]*>([^<]+)</a>', picker) == [
        ("home", "Home"),
        ("category", "Category"),
        ("search", "Search results"),
        ("product", "Product"),
        ("cart", "Cart"),
        ("checkout", "Checkout"),
        ("orders", "My orders"),
        ("order", "Order details"),
        ("account", "Member centre"),
        ("distribution", "Distributor centre"),
        ("login", "Log in"),
    ]
    assert 'data-page="home" aria-current="page"' in picker
    banner_id, products_id = _home_ids(shop)
    assert re.findall(r'data-section="(s[0-9a-f]+)" data-type="([a-z_]+)"', html) == [
        (banner_id, "banner"),
        (products_id, "products"),
    ]
    assert re.findall(r'class="section-name" href="[^"]+">([^<]+)</a>', html) == [
        "Banner",
        "Products",
    ]
    add = _block(html, '<select name="section_type"', "</select>")
    assert re.findall(r'<option value="([a-z_]+)"( disabled)?>([^<]+)</option>', add) == [
        ("banner", "", "Banner"),
        ("products", "", "Products"),
    ]
    settings = _block(html, 'id="settings-form"', "</form>")
    assert re.findall(r'name="(setting-[a-z_]+)"', settings) == [
        "setting-color_primary",
        "setting-font_body",
        "setting-show_search",
        "setting-logo",
    ]
    assert '<input type="color" name="setting-color_primary" value="#e4393c"' in settings
    assert 'id="section-settings"' not in html  # no section is being configured
    versions = re.findall(r'<tr data-version="(\d+)">', html)
    live = StorefrontVersion.objects.get(is_live=True)
    assert versions[0] == str(live.number)
    assert "data-live>live</span>" in _block(html, f'<tr data-version="{live.number}">', "</tr>")
    assert 'id="publish-form"' in html
    assert 'id="read-only-note"' not in html


def test_the_preview_is_an_iframe_on_the_shop_host_with_a_preview_token(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # when
    html = owner_in_shop.get(URL).content.decode()
    # then: a phone-sized, sandboxed frame of the shop's own host; the token is the shop's
    src = _preview_src(html)
    parts = urlsplit(src)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "alpha.localhost", "/")
    assert list(parse_qs(parts.query)) == ["preview"]
    assert _token_tenant(src) == shop.pk
    frame = _block(html, '<iframe id="theme-preview"', ">")
    assert 'width="375" height="740"' in frame
    assert 'sandbox="allow-scripts allow-same-origin allow-forms"' in frame
    # theme output is never rendered on the platform origin
    assert 'class="banner banner-' not in html


def test_the_preview_token_makes_the_shop_host_render_the_draft(
    owner_in_shop: Client, shop: Tenant, shop_client: Client
) -> None:
    # given: an unpublished banner title
    revision = _draft(shop).revision
    owner_in_shop.post(
        f"{URL}sections/{_home_ids(shop)[0]}/",
        _banner_form(revision, **{"setting-title": "Draft only"}),
    )
    src = _preview_src(owner_in_shop.get(URL).content.decode())
    parts = urlsplit(src)
    # when
    preview = shop_client.get(f"{parts.path}?{parts.query}")
    live = shop_client.get("/")
    # then
    assert preview.status_code == 200
    assert "Draft only" in preview.content.decode()
    assert "frame-ancestors http://localhost" in preview["Content-Security-Policy"]
    assert "Draft only" not in live.content.decode()


def test_each_page_previews_its_own_storefront_address(owner_in_shop: Client, shop: Tenant) -> None:
    # given
    category = category_create(name="Tea")
    product = product_make(title="Green tea")
    expected = {
        "home": "/",
        "category": f"/categories/{category.pk}",
        "search": "/search",
        "product": f"/products/{product.pk}",
        "cart": "/cart",
        "checkout": "/checkout",
        "orders": "/orders",
        "account": "/account",
        "distribution": "/distribution",
        "login": "/login",
        "order": "/",  # no order yet: the home page
    }
    for page, path in expected.items():
        # when
        html = owner_in_shop.get(URL, {"page": page}).content.decode()
        # then
        src = urlsplit(_preview_src(html))
        assert (src.netloc, src.path) == ("alpha.localhost", path), page


def test_another_page_lists_its_sections_and_only_the_types_allowed_there(
    owner_in_shop: Client,
) -> None:
    # when
    html = owner_in_shop.get(URL, {"page": "product"}).content.decode()
    # then: the banner is for the home page only
    assert 'id="no-sections"' in html
    add = _block(html, '<select name="section_type"', "</select>")
    assert re.findall(r'<option value="([a-z_]+)"', add) == ["products"]
    assert "Sections of “Product”" in html


def test_configuring_a_section_shows_its_settings_form(owner_in_shop: Client, shop: Tenant) -> None:
    # given
    banner_id, _products_id = _home_ids(shop)
    # when
    html = owner_in_shop.get(URL, {"page": "home", "section": banner_id}).content.decode()
    # then
    form = _block(html, 'id="section-form"', "</form>")
    assert f'action="/console/alpha/theme/sections/{banner_id}/"' in html
    assert re.findall(r'name="(setting-[a-z_]+)"', form) == [
        "setting-title",
        "setting-link",
        "setting-height",
        "setting-align",
    ]
    assert 'name="setting-title" value="Hello"' in form
    assert 'type="number" name="setting-height" value="300" min="100" max="500" step="50"' in form
    assert "Settings of “Banner”" in html


# --- Editing sections


def test_adding_a_section_appends_it_and_opens_its_settings(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given
    before = _draft(shop)
    # when
    response = owner_in_shop.post(
        f"{URL}sections/add/",
        {"revision": before.revision, "page": "search", "section_type": "products"},
    )
    # then
    after = _draft(shop)
    (added,) = after.pages["search"]
    assert added == {
        "id": added["id"],
        "type": "products",
        "settings": {"category": None, "picked": [], "count": 4},
    }
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?page=search&section={added['id']}"
    assert after.revision == before.revision + 1
    assert after.updated_by.startswith("account:")
    assert {page: after.pages[page] for page in after.pages if page != "search"} == {
        page: before.pages[page] for page in before.pages if page != "search"
    }


def test_a_section_over_its_limit_is_refused_and_nothing_changes(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given: the banner may appear twice on a page
    draft = _draft(shop)
    storefront_section_add(
        revision=draft.revision, page="home", section_type="banner", actor="account:0"
    )
    before = _state(shop)
    html = owner_in_shop.get(URL).content.decode()
    assert '<option value="banner" disabled>Banner (limit reached)</option>' in html
    # when
    response = owner_in_shop.post(
        f"{URL}sections/add/",
        {"revision": before["revision"], "page": "home", "section_type": "banner"},
    )
    # then
    assert response.status_code == 400
    assert 'data-error-code="storefront_section_limit"' in response.content.decode()
    assert _state(shop) == before


def test_a_section_type_not_allowed_on_the_page_is_refused(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given
    before = _state(shop)
    # when
    response = owner_in_shop.post(
        f"{URL}sections/add/",
        {"revision": before["revision"], "page": "cart", "section_type": "banner"},
    )
    # then
    assert response.status_code == 400
    assert 'data-error-code="storefront_section_not_allowed"' in response.content.decode()
    assert _state(shop) == before


def test_saving_a_section_changes_its_settings(owner_in_shop: Client, shop: Tenant) -> None:
    # given
    banner_id, _products_id = _home_ids(shop)
    before = _draft(shop)
    # when
    response = owner_in_shop.post(
        f"{URL}sections/{banner_id}/",
        _banner_form(
            before.revision,
            **{"setting-title": "Summer sale", "setting-height": "450", "setting-align": "left"},
        ),
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?page=home&section={banner_id}"
    after = _draft(shop)
    assert after.pages["home"] == [
        {
            "id": banner_id,
            "type": "banner",
            "settings": {"title": "Summer sale", "link": "/search", "height": 450, "align": "left"},
        },
        before.pages["home"][1],
    ]
    assert after.revision == before.revision + 1


def test_a_bad_section_value_shows_its_error_and_changes_nothing(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given
    banner_id, _products_id = _home_ids(shop)
    before = _state(shop)
    # when: 333 is off the steps of 50; a javascript: link is refused by the theme's rules
    response = owner_in_shop.post(
        f"{URL}sections/{banner_id}/",
        _banner_form(before["revision"], **{"setting-height": "333"}),
    )
    bad_link = owner_in_shop.post(
        f"{URL}sections/{banner_id}/",
        _banner_form(before["revision"], **{"setting-link": "javascript:alert(1)"}),
    )
    # then
    assert response.status_code == 400
    assert len(_field_errors(response.content.decode(), "setting-height")) == 1
    assert bad_link.status_code == 400
    assert len(_field_errors(bad_link.content.decode(), "setting-link")) == 1
    assert _state(shop) == before


def test_a_products_setting_takes_product_numbers_and_lists_them(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given
    tea = product_make(title="Green tea")
    cup = product_make(title="Tea cup")
    category = category_create(name="Tea")
    _banner_id, products_id = _home_ids(shop)
    revision = _draft(shop).revision
    # when
    response = owner_in_shop.post(
        f"{URL}sections/{products_id}/",
        {
            "revision": revision,
            "page": "home",
            "setting-category": str(category.pk),
            "setting-picked": f"{cup.pk}, {tea.pk}，{cup.pk}",
            "setting-count": "6",
        },
    )
    # then
    assert response.status_code == 302
    assert _draft(shop).pages["home"][1]["settings"] == {
        "category": category.pk,
        "picked": [cup.pk, tea.pk],
        "count": 6,
    }
    html = owner_in_shop.get(
        URL, {"page": "home", "section": products_id, "product_q": "tea"}
    ).content.decode()
    chosen = _block(html, 'id="products-chosen"', "</ol>")
    assert re.findall(r'data-product="(\d+)">#\d+ ([^<]+)</li>', chosen) == [
        (str(cup.pk), "Tea cup"),
        (str(tea.pk), "Green tea"),
    ]
    found = _block(html, 'id="products-found"', "</ul>")
    assert sorted(re.findall(r'data-product-add="(\d+)"', found)) == sorted(
        [str(tea.pk), str(cup.pk)]
    )
    category_select = _block(html, 'name="setting-category"', "</select>")
    assert f'<option value="{category.pk}" selected>Tea</option>' in category_select


def test_moving_sections_up_and_down_and_removing_one(owner_in_shop: Client, shop: Tenant) -> None:
    # given
    banner_id, products_id = _home_ids(shop)
    revision = _draft(shop).revision
    # when: the products section goes up
    response = owner_in_shop.post(
        f"{URL}sections/{products_id}/move/", {"revision": revision, "page": "home", "position": 0}
    )
    # then
    assert response.status_code == 302
    assert _home_ids(shop) == [products_id, banner_id]
    html = owner_in_shop.get(URL).content.decode()
    first = _block(html, f'data-section="{products_id}"', "</li>")
    assert 'data-move="up"' not in first
    assert 'name="position" value="1"' in first
    # when: it goes down again, then the banner is removed
    owner_in_shop.post(
        f"{URL}sections/{products_id}/move/",
        {"revision": revision + 1, "page": "home", "position": 1},
    )
    owner_in_shop.post(
        f"{URL}sections/{banner_id}/remove/", {"revision": revision + 2, "page": "home"}
    )
    # then
    draft = _draft(shop)
    assert _home_ids(shop) == [products_id]
    assert draft.revision == revision + 3


# --- Theme settings


def test_saving_theme_settings_with_a_logo_and_removing_it(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given
    before = _draft(shop)
    # when
    response = owner_in_shop.post(
        f"{URL}settings/",
        _settings_form(
            before.revision,
            **{
                "setting-color_primary": "#00AA11",
                "setting-font_body": "serif",
                "setting-show_search": None,
                "setting-logo": _png(),
            },
        ),
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?page=home"
    after = _draft(shop)
    logo = after.settings["logo"]
    assert re.fullmatch(r"themes/[0-9a-f]{32}\.png", logo)
    assert after.settings == {
        "color_primary": "#00aa11",
        "font_body": "serif",
        "show_search": False,
        "logo": logo,
    }
    assert default_storage.exists(logo)
    assert after.pages == before.pages
    html = owner_in_shop.get(URL).content.decode()
    assert f'data-current-image="{logo}"' in html
    # when: the logo is removed
    owner_in_shop.post(
        f"{URL}settings/",
        _settings_form(after.revision, **{"setting-logo-remove": "on"}),
    )
    # then
    assert _draft(shop).settings == MINIMAL_SETTINGS
    default_storage.delete(logo)


def test_an_image_that_is_not_an_image_is_refused_and_nothing_changes(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given
    before = _state(shop)
    fake = io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    fake.name = "logo.png"
    # when
    response = owner_in_shop.post(
        f"{URL}settings/", _settings_form(before["revision"], **{"setting-logo": fake})
    )
    # then
    assert response.status_code == 400
    assert _field_errors(response.content.decode(), "setting-logo") == [
        "Upload a JPEG, PNG, WebP or GIF image of at most 5 MB."
    ]
    assert _state(shop) == before


def test_a_bad_colour_shows_its_error_and_changes_nothing(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given
    before = _state(shop)
    # when
    response = owner_in_shop.post(
        f"{URL}settings/", _settings_form(before["revision"], **{"setting-color_primary": "red"})
    )
    # then
    assert response.status_code == 400
    assert len(_field_errors(response.content.decode(), "setting-color_primary")) == 1
    assert _state(shop) == before


# --- Stale forms


def test_every_form_of_a_stale_revision_is_refused_and_nothing_changes(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given: the page was loaded at `stale`, then someone else saved
    stale = _draft(shop).revision
    banner_id, _products_id = _home_ids(shop)
    first = StorefrontVersion.objects.get(is_live=True).number
    owner_in_shop.post(f"{URL}publish/", {"revision": stale, "page": "home", "note": ""})
    owner_in_shop.post(
        f"{URL}settings/", _settings_form(stale, **{"setting-color_primary": "#111111"})
    )
    before = _state(shop)
    assert before["revision"] == stale + 1
    posts = [
        (f"{URL}settings/", _settings_form(stale, **{"setting-color_primary": "#222222"})),
        (f"{URL}sections/add/", {"revision": stale, "page": "home", "section_type": "products"}),
        (f"{URL}sections/{banner_id}/", _banner_form(stale, **{"setting-title": "Stale"})),
        (f"{URL}sections/{banner_id}/move/", {"revision": stale, "page": "home", "position": 1}),
        (f"{URL}sections/{banner_id}/remove/", {"revision": stale, "page": "home"}),
        (f"{URL}publish/", {"revision": stale, "page": "home", "note": "stale"}),
        (f"{URL}discard/", {"revision": stale, "page": "home"}),
        (f"{URL}versions/{first}/rollback/", {"revision": stale, "page": "home"}),
    ]
    for url, data in posts:
        # when
        response = owner_in_shop.post(url, data)
        # then
        assert response.status_code == 409, url
        html = response.content.decode()
        assert 'data-error-code="storefront_draft_changed"' in html, url
        assert f'name="revision" value="{stale + 1}"' in html, url  # the fresh draft
    assert _state(shop) == before


# --- Publish, discard, roll back


def test_publishing_with_a_note_makes_a_new_live_version(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given
    first = StorefrontVersion.objects.get(is_live=True).number
    owner_in_shop.post(
        f"{URL}settings/",
        _settings_form(_draft(shop).revision, **{"setting-color_primary": "#123456"}),
    )
    draft = _draft(shop)
    # when
    response = owner_in_shop.post(
        f"{URL}publish/", {"revision": draft.revision, "page": "home", "note": " New colour "}
    )
    # then
    assert response.status_code == 302
    live = StorefrontVersion.objects.get(is_live=True)
    assert (live.number, live.note, live.restored_from) == (first + 1, "New colour", None)
    assert (live.settings, live.pages) == (draft.settings, draft.pages)
    html = owner_in_shop.get(URL).content.decode()
    assert re.findall(r'<tr data-version="(\d+)">', html)[:2] == [str(first + 1), str(first)]
    row = _block(html, f'<tr data-version="{first + 1}">', "</tr>")
    assert "New colour" in row
    assert "theme-owner@example.com" in row
    assert "data-live" in row
    assert "Roll back to this" not in row
    assert "Roll back to this" in _block(html, f'<tr data-version="{first}">', "</tr>")


def test_rolling_back_publishes_a_copy_and_resets_the_draft(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given: version `first` has the defaults, `first + 1` another colour
    first = StorefrontVersion.objects.get(is_live=True).number
    owner_in_shop.post(
        f"{URL}settings/",
        _settings_form(_draft(shop).revision, **{"setting-color_primary": "#123456"}),
    )
    revision = _draft(shop).revision
    owner_in_shop.post(f"{URL}publish/", {"revision": revision, "page": "home", "note": "blue"})
    # when
    response = owner_in_shop.post(
        f"{URL}versions/{first}/rollback/", {"revision": revision, "page": "home"}
    )
    # then
    assert response.status_code == 302
    live = StorefrontVersion.objects.get(is_live=True)
    assert (live.number, live.restored_from) == (first + 2, first)
    assert live.settings == MINIMAL_SETTINGS
    assert _draft(shop).settings == MINIMAL_SETTINGS
    html = owner_in_shop.get(URL).content.decode()
    assert f'data-restored-from="{first}">restored from v{first}</span>' in _block(
        html, f'<tr data-version="{first + 2}">', "</tr>"
    )


def test_discarding_puts_the_draft_back_to_the_live_version(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given
    owner_in_shop.post(
        f"{URL}settings/",
        _settings_form(_draft(shop).revision, **{"setting-color_primary": "#123456"}),
    )
    draft = _draft(shop)
    versions = list(StorefrontVersion.objects.values_list("number", "is_live"))
    # when
    response = owner_in_shop.post(f"{URL}discard/", {"revision": draft.revision, "page": "home"})
    # then
    assert response.status_code == 302
    after = _draft(shop)
    assert after.settings == MINIMAL_SETTINGS
    assert after.revision == draft.revision + 1
    assert list(StorefrontVersion.objects.values_list("number", "is_live")) == versions


# --- Who may change things


def test_staff_see_the_editor_read_only_and_may_not_post(
    staff_in_shop: Client, shop: Tenant
) -> None:
    # given
    banner_id, _products_id = _home_ids(shop)
    before = _state(shop)
    first = StorefrontVersion.objects.get(is_live=True).number
    # when
    html = staff_in_shop.get(URL, {"page": "home", "section": banner_id}).content.decode()
    # then: everything shows, nothing can be sent
    assert 'id="read-only-note"' in html
    assert 'method="post"' not in _block(html, '<ol class="section-list">', "</ol>")
    assert 'id="section-add-form"' not in html
    assert 'id="publish-form"' not in html
    assert "Roll back to this" not in html
    assert "Save the theme settings" not in html
    assert re.search(r'name="setting-title" value="Hello"[^>]* disabled', html)
    assert urlsplit(_preview_src(html)).netloc == "alpha.localhost"
    posts = [
        (f"{URL}settings/", _settings_form(before["revision"])),
        (
            f"{URL}sections/add/",
            {"revision": before["revision"], "page": "home", "section_type": "products"},
        ),
        (f"{URL}sections/{banner_id}/", _banner_form(before["revision"])),
        (
            f"{URL}sections/{banner_id}/move/",
            {"revision": before["revision"], "page": "home", "position": 1},
        ),
        (f"{URL}sections/{banner_id}/remove/", {"revision": before["revision"], "page": "home"}),
        (f"{URL}publish/", {"revision": before["revision"], "page": "home"}),
        (f"{URL}discard/", {"revision": before["revision"], "page": "home"}),
        (f"{URL}versions/{first}/rollback/", {"revision": before["revision"], "page": "home"}),
        (f"{LIBRARY}install/", {"version_id": 1}),
    ]
    for url, data in posts:
        # when
        response = staff_in_shop.post(url, data)
        # then
        assert response.status_code == 403, url
    assert _state(shop) == before


# --- Query budget


@pytest.mark.parametrize(("page", "budget"), [("home", EDITOR_PAGE_BUDGET), ("product", 8)])
def test_the_editor_page_has_a_query_budget_whatever_the_number_of_sections(
    owner_in_shop: Client,
    shop: Tenant,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    page: str,
    budget: int,
) -> None:
    # given: the product page also reads the product its preview shows
    product_make(title="Green tea")
    owner_in_shop.get(URL)  # the session's first request
    with django_assert_max_num_queries(budget):
        owner_in_shop.get(URL, {"page": page})
    revision = _draft(shop).revision
    for _count in range(20):
        draft, _section_id = storefront_section_add(
            revision=revision, page=page, section_type="products", actor="account:0"
        )
        revision = draft.revision
    # when / then
    with django_assert_max_num_queries(budget):
        response = owner_in_shop.get(URL, {"page": page})
    html = response.content.decode()
    assert len(re.findall(r'<li class="section-item', html)) == (22 if page == "home" else 20)


def test_configuring_a_products_section_has_a_query_budget(
    owner_in_shop: Client, shop: Tenant, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    # given: picked products are listed by title, found ones too; categories fill a select
    picked = [product_make(title=f"Tea {number}").pk for number in range(10)]
    _banner_id, products_id = _home_ids(shop)
    owner_in_shop.post(
        f"{URL}sections/{products_id}/",
        {
            "revision": _draft(shop).revision,
            "page": "home",
            "setting-picked": ", ".join(str(pk) for pk in picked),
            "setting-count": "4",
        },
    )
    # when / then: the editor's 7, the categories, the picked products' titles, the search
    with django_assert_max_num_queries(EDITOR_PAGE_BUDGET + 3):
        response = owner_in_shop.get(
            URL, {"page": "home", "section": products_id, "product_q": "tea"}
        )
    html = response.content.decode()
    chosen = _block(html, 'id="products-chosen"', "</ol>")
    assert re.findall(r'<li data-product="(\d+)">', chosen) == [str(pk) for pk in picked]
    assert len(re.findall(r"data-product-add=", html)) == 10


# --- The theme library


def test_the_library_shows_the_installed_theme_and_the_available_ones(
    owner_in_shop: Client,
    shop: Tenant,
    theme: ThemeVersion,
    tmp_path: Path,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    # given: another built-in theme
    (other,) = theme_builtin_sync(root=theme_folder(tmp_path / "other", handle="other"))
    owner_in_shop.get(LIBRARY)  # the session's first request
    # when: session, account, membership, shops, draft, live version, available themes
    with django_assert_max_num_queries(7):
        response = owner_in_shop.get(LIBRARY)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="installed-theme" data-handle="minimal" data-version="1.0.0"' in html
    minimal = _block(html, 'data-theme="minimal"', "</li>")
    assert "Minimal" in minimal
    assert "A small theme for tests." in minimal
    assert '<span class="badge muted">Platform</span>' in minimal
    assert "data-installed" in minimal
    assert "<form" not in minimal
    assert "data-update" not in minimal
    other_row = _block(html, 'data-theme="other"', "</li>")
    assert f'name="version_id" value="{other.pk}"' in other_row
    assert 'data-action="install">Install</button>' in other_row


def test_a_newer_version_of_the_installed_theme_offers_an_update(
    owner_in_shop: Client, shop: Tenant, theme: ThemeVersion, tmp_path: Path
) -> None:
    # given: the merchant's own colour, and version 1.1.0 shipped
    owner_in_shop.post(
        f"{URL}settings/",
        _settings_form(_draft(shop).revision, **{"setting-color_primary": "#123456"}),
    )
    (newer,) = theme_builtin_sync(
        root=theme_folder(
            tmp_path / "v2", version="1.1.0", change=minimal_v2, drop=("sections/products.liquid",)
        )
    )
    banner_id, _products_id = _home_ids(shop)
    versions = list(StorefrontVersion.objects.values_list("number", "is_live"))
    # when
    html = owner_in_shop.get(LIBRARY).content.decode()
    # then
    row = _block(html, 'data-theme="minimal"', "</li>")
    assert "Update available: 1.0.0 → 1.1.0" in row
    assert f'name="version_id" value="{newer.pk}"' in row
    assert 'data-action="update">Update to 1.1.0</button>' in row
    # when: the update is installed
    response = owner_in_shop.post(f"{LIBRARY}install/", {"version_id": newer.pk})
    # then: the draft runs 1.1.0 with the merchant's settings kept; nothing is published
    assert response.status_code == 302
    assert response["Location"] == URL
    draft = _draft(shop)
    assert (draft.install.version, draft.install.version_id) == ("1.1.0", newer.pk)
    assert draft.settings == {
        "color_primary": "#123456",
        "font_body": "system",
        "logo": None,
        "color_accent": "#112233",
    }
    assert draft.pages["home"] == [
        {"id": banner_id, "type": "banner", "settings": {**BANNER_DEFAULTS, "title": "Hello"}}
    ]
    assert list(StorefrontVersion.objects.values_list("number", "is_live")) == versions
    html = owner_in_shop.get(LIBRARY).content.decode()
    assert "Update available" not in html
    assert 'id="live-theme"' in html  # shoppers still see 1.0.0 until it is published


def test_installing_another_theme_starts_the_draft_from_its_defaults(
    owner_in_shop: Client, shop: Tenant, tmp_path: Path
) -> None:
    # given
    def other(manifest: dict[str, Any]) -> None:
        manifest["settings"][0]["default"] = "#0000ff"
        manifest["pages"] = {"home": [{"type": "products", "settings": {"count": 2}}]}

    owner_in_shop.post(
        f"{URL}settings/",
        _settings_form(_draft(shop).revision, **{"setting-color_primary": "#123456"}),
    )
    (version,) = theme_builtin_sync(
        root=theme_folder(tmp_path / "other", handle="other", change=other)
    )
    # when
    response = owner_in_shop.post(f"{LIBRARY}install/", {"version_id": version.pk})
    # then
    assert response.status_code == 302
    draft = _draft(shop)
    assert draft.install.handle == "other"
    assert draft.settings == {**MINIMAL_SETTINGS, "color_primary": "#0000ff"}
    assert [(section["type"], section["settings"]) for section in draft.pages["home"]] == [
        ("products", {"category": None, "picked": [], "count": 2})
    ]


def test_installing_an_unknown_version_is_refused_and_nothing_changes(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given
    before = _state(shop)
    # when
    response = owner_in_shop.post(f"{LIBRARY}install/", {"version_id": 987654321})
    # then
    assert response.status_code == 302
    assert response["Location"] == LIBRARY
    html = owner_in_shop.get(LIBRARY).content.decode()
    assert "This theme is not available to this shop." in html
    assert _state(shop) == before


def _zip(files: dict[str, bytes]) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return data.getvalue()


def test_the_library_offers_the_shops_agency_themes_only_and_its_staff_install_them(
    shop: Tenant, theme: ThemeVersion, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    # given: the shop's agency and another agency each uploaded a theme
    studio, rival = Agency.objects.create(name="Acme Studio"), Agency.objects.create(name="Rival")
    Tenant.objects.filter(pk=shop.pk).update(agency=studio)
    tenant_routing_forget(tenant=shop)
    uploaded = {}
    for agency, handle in ((studio, "studio"), (rival, "rival")):
        author = Account.objects.create_user(email=f"{handle}@example.com", password="x" * 12)
        AgencyMembership.objects.create(account=author, agency=agency)
        uploaded[handle] = theme_agency_upload(
            agency_id=agency.pk,
            account_id=author.pk,
            data=_zip(theme_files(handle=handle)),
            context=AuditContext.system(),
        )
    agency_client = console_client(shop, Role.AGENCY, "theme-agency@example.com")
    agency_client.get(LIBRARY)  # the session's first request
    # when: the library's 7 queries and the agency's name
    with django_assert_max_num_queries(8):
        html = agency_client.get(LIBRARY).content.decode()
    # then
    assert re.findall(r'data-theme="([a-z-]+)"', html)[-2:] == ["minimal", "studio"]
    assert 'data-theme="rival"' not in html
    row = _block(html, 'data-theme="studio"', "</li>")
    assert '<span class="badge muted">Acme Studio</span>' in row
    # when: the agency installs its theme; another agency's is refused
    response = agency_client.post(f"{LIBRARY}install/", {"version_id": uploaded["studio"].pk})
    refused = agency_client.post(f"{LIBRARY}install/", {"version_id": uploaded["rival"].pk})
    # then
    assert response.status_code == 302
    assert refused.status_code == 302
    assert refused["Location"] == LIBRARY
    draft = _draft(shop)
    assert (draft.install.handle, draft.install.source) == ("studio", "agency")
    assert draft.install.version_id == uploaded["studio"].pk


def test_theme_names_and_labels_follow_the_console_language(
    shop: Tenant, theme: ThemeVersion
) -> None:
    # given: a browser that asks for nothing gets the console in Chinese
    client = Client()
    client.force_login(console_login(shop, Role.OWNER, "theme-zh@example.com")[1])
    banner_id, _products_id = _home_ids(shop)
    # when
    html = client.get(URL, {"section": banner_id}).content.decode()
    # then: the manifest's {"en", "zh-Hans"} names and labels in Chinese, plain strings as given
    assert re.findall(r'class="section-name" href="[^"]+"[^>]*>([^<]+)</a>', html) == [
        "横幅",
        "Products",
    ]
    assert '<label for="theme_setting-color_primary">主色</label>' in html
    assert '<label for="theme_setting-font_body">Body font</label>' in html


def test_a_shop_without_a_theme_gets_the_default_one_when_the_editor_opens(
    owner_in_shop: Client, shop: Tenant
) -> None:
    # given a shop that never had a theme
    schema_connection().set_tenant(shop)
    StorefrontDraft.objects.all().delete()
    StorefrontVersion.objects.all().delete()
    # when its owner opens the editor
    editor = owner_in_shop.get(URL)
    # then the platform's default theme is installed and published, and the editor shows it
    assert editor.status_code == 200
    assert _draft(shop).install.handle == "daily"
    assert list(StorefrontVersion.objects.values_list("number", "is_live")) == [(1, True)]
    assert "theme-preview" in editor.content.decode()


def test_the_editor_opens_every_page_and_section_of_the_built_in_themes(shop: Tenant) -> None:
    # given
    owner = console_client(shop, Role.OWNER, "theme-builtin@example.com")
    for version in theme_builtin_sync():
        theme_install(tenant=shop, version_id=version.pk, actor="account:0")
        draft = _draft(shop)
        for page, sections in draft.pages.items():
            # when
            response = owner.get(URL, {"page": page})
            # then
            assert response.status_code == 200, (version.package.handle, page)
            for section in sections:
                configured = owner.get(URL, {"page": page, "section": section["id"]})
                assert configured.status_code == 200, (version.package.handle, section["type"])
                assert 'id="section-form"' in configured.content.decode()
        html = owner.get(URL).content.decode()
        assert re.findall(
            r'name="(setting-[a-z0-9_]+)"', _block(html, 'id="settings-form"', "</form>")
        )
