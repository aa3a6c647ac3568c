"""The shop's design services: editing the draft's sections and settings (each edit names the
draft revision it started from), publishing, rolling back, discarding, installing another
version of the theme or another theme, and the images of image settings.

The shop runs the test theme of tests/themes/packages/minimal/ (installed here, published), so the
draft's content is known exactly; section ids are generated, so they are read from the draft.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image

from infra.errors import ValidationFailed
from tenants.models import Tenant
from themes.manifest import ThemeBundle, package_files_from_directory, package_validate
from themes.storefront.errors import (
    DraftChangedError,
    PageTypeUnknownError,
    SectionLimitError,
    SectionNotFoundError,
    SectionTypeNotAllowedError,
    VersionNotFoundError,
)
from themes.storefront.models import StorefrontDraft, StorefrontVersion, ThemeInstall
from themes.storefront.selectors import storefront_draft_get
from themes.storefront.services.design import (
    storefront_draft_discard,
    storefront_publish,
    storefront_rollback,
    storefront_section_add,
    storefront_section_move,
    storefront_section_remove,
    storefront_section_update,
    storefront_settings_update,
)
from themes.storefront.services.images import ThemeImageInvalidError, theme_image_upload
from themes.storefront.services.install import storefront_theme_install

MINIMAL = Path(__file__).resolve().parent / "packages" / "minimal"
# Package and version ids of the control plane, as a shop's install records them.
PACKAGE_ID = 910_001
OTHER_PACKAGE_ID = 910_002
ACTOR = "account:1"
SECTION_FILES = ("sections/banner.liquid", "sections/products.liquid")

MINIMAL_SETTINGS = {
    "color_primary": "#e4393c",
    "font_body": "system",
    "show_search": True,
    "logo": None,
}
BANNER_DEFAULTS = {"title": "Welcome", "link": "/search", "height": 300, "align": "center"}


# The manifest these tests rely on (the templates come from the minimal theme's folder).
MANIFEST: dict[str, Any] = {
    "name": {"en": "Minimal", "zh-Hans": "极简"},
    "handle": "minimal",
    "version": "1.0.0",
    "author": "Tests",
    "description": {"en": "A small theme for tests.", "zh-Hans": "测试用的小主题。"},
    "settings": [
        {
            "id": "color_primary",
            "type": "color",
            "label": {"en": "Primary colour", "zh-Hans": "主色"},
            "default": "#E4393C",
        },
        {"id": "font_body", "type": "font", "label": "Body font", "default": "system"},
        {"id": "show_search", "type": "checkbox", "label": "Show search", "default": True},
        {"id": "logo", "type": "image", "label": "Logo"},
    ],
    "sections": {
        "banner": {
            "name": {"en": "Banner", "zh-Hans": "横幅"},
            "pages": ["home"],
            "limit": 2,
            "settings": [
                {"id": "title", "type": "text", "label": "Title", "default": "Welcome"},
                {"id": "link", "type": "url", "label": "Link", "default": "/search"},
                {
                    "id": "height",
                    "type": "range",
                    "label": "Height",
                    "min": 100,
                    "max": 500,
                    "step": 50,
                    "default": 300,
                },
                {
                    "id": "align",
                    "type": "select",
                    "label": "Align",
                    "options": [
                        {"value": "left", "label": "Left"},
                        {"value": "center", "label": "Centre"},
                    ],
                    "default": "center",
                },
            ],
        },
        "products": {
            "name": "Products",
            "settings": [
                {"id": "category", "type": "category", "label": "Category"},
                {"id": "picked", "type": "products", "label": "Products"},
                {
                    "id": "count",
                    "type": "range",
                    "label": "How many",
                    "min": 1,
                    "max": 12,
                    "default": 4,
                },
            ],
        },
    },
    "pages": {
        "home": [
            {"type": "banner", "settings": {"title": "Hello"}},
            {"type": "products", "settings": {"count": 8}},
        ],
        "product": [],
    },
}


def theme_files(
    *,
    handle: str = "minimal",
    version: str = "1.0.0",
    change: Callable[[dict[str, Any]], None] | None = None,
    drop: tuple[str, ...] = (),
) -> dict[str, bytes]:
    """The files of the minimal test theme with MANIFEST, another handle or version, changed as
    asked, without the files in `drop`."""
    files = {
        path: content
        for path, content in package_files_from_directory(MINIMAL).items()
        if path not in drop and (path.startswith("sections/") is False or path in SECTION_FILES)
    }
    manifest = copy.deepcopy(MANIFEST)
    manifest["handle"] = handle
    manifest["version"] = version
    if change is not None:
        change(manifest)
    files["manifest.json"] = json.dumps(manifest).encode()
    return files


def theme_bundle(**kwargs: Any) -> ThemeBundle:
    """The minimal test theme as a validated bundle (see theme_files)."""
    return package_validate(theme_files(**kwargs))


def theme_folder(root: Path, **kwargs: Any) -> Path:
    """The minimal test theme written as a built-in theme folder under `root` (for syncing)."""
    files = theme_files(**kwargs)
    folder = root / json.loads(files["manifest.json"])["handle"]
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return root


def minimal_v2(manifest: dict[str, Any]) -> None:
    """Version 1.1.0: no "show_search", a new "color_accent", no "products" section type, and
    the banner's height range narrowed (100 to 400)."""
    manifest["settings"] = [
        setting for setting in manifest["settings"] if setting["id"] != "show_search"
    ] + [{"id": "color_accent", "type": "color", "label": "Accent", "default": "#112233"}]
    del manifest["sections"]["products"]
    manifest["pages"]["home"] = [{"type": "banner", "settings": {"title": "Hello"}}]
    for setting in manifest["sections"]["banner"]["settings"]:
        if setting["id"] == "height":
            setting["max"] = 400


@pytest.fixture
def design(shop: Tenant) -> StorefrontDraft:
    """The shop on the minimal theme 1.0.0, published; its draft."""
    storefront_theme_install(
        bundle=theme_bundle(),
        package_id=PACKAGE_ID,
        version_id=PACKAGE_ID * 10,
        source="builtin",
        actor=ACTOR,
        publish=True,
    )
    draft = storefront_draft_get()
    assert draft is not None
    return draft


def _draft() -> StorefrontDraft:
    return StorefrontDraft.objects.select_related("install").get()


def _state() -> dict[str, Any]:
    draft = _draft()
    return {
        "revision": draft.revision,
        "install": draft.install_id,
        "settings": draft.settings,
        "pages": draft.pages,
        "versions": list(StorefrontVersion.objects.values_list("number", "is_live")),
    }


def _home_ids(draft: StorefrontDraft) -> list[str]:
    return [section["id"] for section in draft.pages["home"]]


def _top_number() -> int:
    return max(StorefrontVersion.objects.values_list("number", flat=True))


# --- The installed theme's starting point


def test_installing_a_theme_starts_the_draft_from_its_defaults_and_publishes_it(
    design: StorefrontDraft,
) -> None:
    # then
    home = design.pages["home"]
    assert design.settings == MINIMAL_SETTINGS
    assert [(section["type"], section["settings"]) for section in home] == [
        ("banner", {**BANNER_DEFAULTS, "title": "Hello"}),
        ("products", {"category": None, "picked": [], "count": 8}),
    ]
    assert {page: sections for page, sections in design.pages.items() if page != "home"} == {
        page: []
        for page in (
            "category",
            "search",
            "product",
            "cart",
            "checkout",
            "orders",
            "order",
            "account",
            "distribution",
            "login",
        )
    }
    live = StorefrontVersion.objects.get(is_live=True)
    assert (live.install_id, live.settings, live.pages) == (
        design.install_id,
        design.settings,
        design.pages,
    )
    assert live.note == "minimal 1.0.0"
    assert (design.install.handle, design.install.version) == ("minimal", "1.0.0")


# --- Sections


def test_adding_a_section_appends_it_with_its_defaults(design: StorefrontDraft) -> None:
    # when
    draft, section_id = storefront_section_add(
        revision=design.revision, page="home", section_type="banner", actor="account:7"
    )
    # then
    stored = _draft()
    assert stored.revision == design.revision + 1
    assert stored.updated_by == "account:7"
    assert stored.pages["home"] == [
        *design.pages["home"],
        {"id": section_id, "type": "banner", "settings": BANNER_DEFAULTS},
    ]
    assert section_id not in _home_ids(design)
    assert draft.revision == stored.revision


def test_a_section_goes_on_any_page_its_type_allows(design: StorefrontDraft) -> None:
    # when
    _draft_row, section_id = storefront_section_add(
        revision=design.revision, page="product", section_type="products", actor=ACTOR
    )
    # then
    assert _draft().pages["product"] == [
        {
            "id": section_id,
            "type": "products",
            "settings": {"category": None, "picked": [], "count": 4},
        }
    ]


def test_a_section_type_not_allowed_on_the_page_is_refused_and_nothing_changes(
    design: StorefrontDraft,
) -> None:
    # given
    before = _state()
    # when / then: the banner is for the home page only
    with pytest.raises(SectionTypeNotAllowedError) as refused:
        storefront_section_add(
            revision=design.revision, page="product", section_type="banner", actor=ACTOR
        )
    assert refused.value.code == "storefront_section_not_allowed"
    with pytest.raises(SectionTypeNotAllowedError):
        storefront_section_add(
            revision=design.revision, page="home", section_type="carousel", actor=ACTOR
        )
    with pytest.raises(PageTypeUnknownError):
        storefront_section_add(
            revision=design.revision, page="blog", section_type="products", actor=ACTOR
        )
    assert _state() == before


def test_a_section_over_its_limit_on_a_page_is_refused_and_nothing_changes(
    design: StorefrontDraft,
) -> None:
    # given: the banner may appear twice on a page; home has one
    draft, _section_id = storefront_section_add(
        revision=design.revision, page="home", section_type="banner", actor=ACTOR
    )
    before = _state()
    # when / then
    with pytest.raises(SectionLimitError) as refused:
        storefront_section_add(
            revision=draft.revision, page="home", section_type="banner", actor=ACTOR
        )
    assert refused.value.code == "storefront_section_limit"
    assert _state() == before


def test_a_page_holds_at_most_30_sections(design: StorefrontDraft) -> None:
    # given
    revision = design.revision
    for _count in range(28):
        draft, _section_id = storefront_section_add(
            revision=revision, page="home", section_type="products", actor=ACTOR
        )
        revision = draft.revision
    before = _state()
    assert len(before["pages"]["home"]) == 30
    # when / then
    with pytest.raises(SectionLimitError):
        storefront_section_add(revision=revision, page="home", section_type="products", actor=ACTOR)
    assert _state() == before


def test_updating_a_section_changes_the_given_settings_only(design: StorefrontDraft) -> None:
    # given
    banner_id, products_id = _home_ids(design)
    # when
    storefront_section_update(
        revision=design.revision,
        page="home",
        section_id=banner_id,
        values={"title": "Summer sale", "height": "400", "unknown": "ignored"},
        actor=ACTOR,
    )
    # then
    stored = _draft()
    assert stored.revision == design.revision + 1
    assert stored.pages["home"] == [
        {
            "id": banner_id,
            "type": "banner",
            "settings": {**BANNER_DEFAULTS, "title": "Summer sale", "height": 400},
        },
        design.pages["home"][1],
    ]
    assert stored.pages["home"][1]["id"] == products_id


def test_a_bad_section_setting_is_refused_with_its_field_and_nothing_changes(
    design: StorefrontDraft,
) -> None:
    # given
    banner_id, products_id = _home_ids(design)
    before = _state()
    # when / then: 333 is off the range's steps, "right" not an option, the link not a URL
    with pytest.raises(ValidationFailed) as refused:
        storefront_section_update(
            revision=design.revision,
            page="home",
            section_id=banner_id,
            values={"title": "Fine", "height": 333, "align": "right", "link": "javascript:x"},
            actor=ACTOR,
        )
    assert refused.value.code == "validation_failed"
    assert {
        field: [item["code"] for item in items] for field, items in refused.value.fields.items()
    } == {
        "height": ["range_invalid"],
        "align": ["select_invalid"],
        "link": ["url_invalid"],
    }
    with pytest.raises(ValidationFailed) as products_refused:
        storefront_section_update(
            revision=design.revision,
            page="home",
            section_id=products_id,
            values={"picked": ["a"], "category": -1},
            actor=ACTOR,
        )
    assert set(products_refused.value.fields) == {"picked", "category"}
    assert _state() == before


def test_updating_products_and_category_settings_stores_their_ids(
    design: StorefrontDraft,
) -> None:
    # given
    _banner_id, products_id = _home_ids(design)
    # when
    storefront_section_update(
        revision=design.revision,
        page="home",
        section_id=products_id,
        values={"picked": [12, "7", 12], "category": "3", "count": 6},
        actor=ACTOR,
    )
    # then
    assert _draft().pages["home"][1]["settings"] == {"category": 3, "picked": [12, 7], "count": 6}


def test_removing_a_section_takes_it_off_its_page(design: StorefrontDraft) -> None:
    # given
    banner_id, products_id = _home_ids(design)
    # when
    storefront_section_remove(
        revision=design.revision, page="home", section_id=banner_id, actor=ACTOR
    )
    # then
    stored = _draft()
    assert stored.pages["home"] == [design.pages["home"][1]]
    assert _home_ids(stored) == [products_id]
    assert stored.revision == design.revision + 1


def test_a_section_not_on_the_page_is_refused_and_nothing_changes(
    design: StorefrontDraft,
) -> None:
    # given
    banner_id, _products_id = _home_ids(design)
    before = _state()
    # when / then: it is on home, not on search
    with pytest.raises(SectionNotFoundError):
        storefront_section_remove(
            revision=design.revision, page="search", section_id=banner_id, actor=ACTOR
        )
    with pytest.raises(SectionNotFoundError):
        storefront_section_move(
            revision=design.revision, page="home", section_id="s-gone", position=0, actor=ACTOR
        )
    assert _state() == before


def test_moving_a_section_puts_it_at_the_position_clamped_to_the_page(
    design: StorefrontDraft,
) -> None:
    # given
    draft, third_id = storefront_section_add(
        revision=design.revision, page="home", section_type="products", actor=ACTOR
    )
    banner_id, products_id = _home_ids(design)
    # when
    draft = storefront_section_move(
        revision=draft.revision, page="home", section_id=third_id, position=0, actor=ACTOR
    )
    # then
    assert _home_ids(_draft()) == [third_id, banner_id, products_id]
    # when: past the end goes last
    storefront_section_move(
        revision=draft.revision, page="home", section_id=third_id, position=99, actor=ACTOR
    )
    # then
    stored = _draft()
    assert _home_ids(stored) == [banner_id, products_id, third_id]
    assert stored.revision == design.revision + 3


def test_every_edit_with_a_stale_revision_is_refused_and_nothing_changes(
    design: StorefrontDraft,
) -> None:
    # given: someone saved after this editor loaded revision `stale`
    stale = design.revision
    storefront_settings_update(revision=stale, values={"show_search": False}, actor="account:2")
    banner_id, _products_id = _home_ids(design)
    before = _state()
    attempts: list[Callable[[], object]] = [
        lambda: storefront_settings_update(
            revision=stale, values={"color_primary": "#000000"}, actor=ACTOR
        ),
        lambda: storefront_section_add(
            revision=stale, page="home", section_type="products", actor=ACTOR
        ),
        lambda: storefront_section_update(
            revision=stale, page="home", section_id=banner_id, values={"title": "x"}, actor=ACTOR
        ),
        lambda: storefront_section_remove(
            revision=stale, page="home", section_id=banner_id, actor=ACTOR
        ),
        lambda: storefront_section_move(
            revision=stale, page="home", section_id=banner_id, position=1, actor=ACTOR
        ),
        lambda: storefront_publish(revision=stale, actor=ACTOR, note="stale"),
    ]
    # when / then
    for attempt in attempts:
        with pytest.raises(DraftChangedError) as refused:
            attempt()
        assert refused.value.code == "storefront_draft_changed"
    assert _state() == before


# --- Theme settings


def test_updating_theme_settings_changes_the_given_ones_only(design: StorefrontDraft) -> None:
    # when
    storefront_settings_update(
        revision=design.revision,
        values={"color_primary": "#00AA11", "show_search": False, "logo": "themes/a1.png"},
        actor=ACTOR,
    )
    # then
    stored = _draft()
    assert stored.settings == {
        "color_primary": "#00aa11",
        "font_body": "system",
        "show_search": False,
        "logo": "themes/a1.png",
    }
    assert stored.revision == design.revision + 1
    assert stored.pages == design.pages


def test_a_bad_theme_setting_is_refused_with_its_field_and_nothing_changes(
    design: StorefrontDraft,
) -> None:
    # given
    before = _state()
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        storefront_settings_update(
            revision=design.revision,
            values={
                "color_primary": "red",
                "font_body": "comic",
                "show_search": "yes",
                "logo": "../secret.png",
            },
            actor=ACTOR,
        )
    assert {
        field: [item["code"] for item in items] for field, items in refused.value.fields.items()
    } == {
        "color_primary": ["color_invalid"],
        "font_body": ["font_invalid"],
        "show_search": ["checkbox_invalid"],
        "logo": ["image_invalid"],
    }
    assert _state() == before


# --- Publish, roll back, discard


def test_publishing_makes_a_new_live_version_of_the_draft(design: StorefrontDraft) -> None:
    # given
    first = _top_number()
    draft = storefront_settings_update(
        revision=design.revision, values={"color_primary": "#123456"}, actor=ACTOR
    )
    # when
    version = storefront_publish(revision=draft.revision, actor="account:9", note="  New colour")
    # then
    assert version.number == first + 1
    assert list(StorefrontVersion.objects.filter(is_live=True).values_list("number")) == [
        (first + 1,)
    ]
    stored = StorefrontVersion.objects.get(number=first + 1)
    assert (stored.settings, stored.pages, stored.install_id) == (
        draft.settings,
        draft.pages,
        draft.install_id,
    )
    assert stored.settings["color_primary"] == "#123456"
    assert (stored.published_by, stored.note, stored.restored_from) == (
        "account:9",
        "  New colour",
        None,
    )
    assert _draft().revision == draft.revision  # publishing does not edit the draft


def test_rolling_back_publishes_a_copy_of_the_old_version_and_resets_the_draft(
    design: StorefrontDraft,
) -> None:
    # given: version `first` is the theme's defaults; `first + 1` has another colour
    first = _top_number()
    draft = storefront_settings_update(
        revision=design.revision, values={"color_primary": "#123456"}, actor=ACTOR
    )
    storefront_publish(revision=draft.revision, actor=ACTOR, note="blue")
    draft = storefront_section_remove(
        revision=draft.revision, page="home", section_id=_home_ids(design)[0], actor=ACTOR
    )
    # when
    version = storefront_rollback(number=first, actor="account:5")
    # then: a new number, restored from `first`, live; the draft is `first`'s content
    assert version.number == first + 2
    assert list(
        StorefrontVersion.objects.filter(number__gte=first).values_list(
            "number", "is_live", "restored_from"
        )
    ) == [(first + 2, True, first), (first + 1, False, None), (first, False, None)]
    old = StorefrontVersion.objects.get(number=first)
    assert (version.settings, version.pages, version.install_id, version.note) == (
        old.settings,
        old.pages,
        old.install_id,
        old.note,
    )
    stored = _draft()
    assert (stored.settings, stored.pages) == (old.settings, old.pages)
    assert stored.revision == draft.revision + 1
    assert version.published_by == "account:5"


def test_rolling_back_to_a_missing_version_is_refused_and_nothing_changes(
    design: StorefrontDraft,
) -> None:
    # given
    before = _state()
    # when / then
    with pytest.raises(VersionNotFoundError):
        storefront_rollback(number=_top_number() + 5, actor=ACTOR)
    assert _state() == before


def test_discarding_puts_the_draft_back_to_the_live_version(design: StorefrontDraft) -> None:
    # given
    draft = storefront_settings_update(
        revision=design.revision, values={"color_primary": "#123456"}, actor=ACTOR
    )
    draft, _section_id = storefront_section_add(
        revision=draft.revision, page="search", section_type="products", actor=ACTOR
    )
    versions = list(StorefrontVersion.objects.values_list("number", "is_live"))
    # when
    storefront_draft_discard(actor="account:3")
    # then
    stored = _draft()
    live = StorefrontVersion.objects.get(is_live=True)
    assert (stored.install_id, stored.settings, stored.pages) == (
        live.install_id,
        live.settings,
        live.pages,
    )
    assert stored.settings == MINIMAL_SETTINGS
    assert stored.pages["search"] == []
    assert (stored.revision, stored.updated_by) == (draft.revision + 1, "account:3")
    assert list(StorefrontVersion.objects.values_list("number", "is_live")) == versions


# --- Installing other versions and themes


def _customised(design: StorefrontDraft, *, height: int) -> StorefrontDraft:
    """The merchant's own colour and banner (of `height`) on the design."""
    draft = storefront_settings_update(
        revision=design.revision,
        values={"color_primary": "#123456", "show_search": False},
        actor=ACTOR,
    )
    return storefront_section_update(
        revision=draft.revision,
        page="home",
        section_id=_home_ids(design)[0],
        values={"title": "Mine", "height": height, "align": "left"},
        actor=ACTOR,
    )


def _install_v2() -> ThemeInstall:
    return storefront_theme_install(
        bundle=theme_bundle(version="1.1.0", change=minimal_v2, drop=("sections/products.liquid",)),
        package_id=PACKAGE_ID,
        version_id=PACKAGE_ID * 10 + 1,
        source="builtin",
        actor="account:4",
    )


def test_installing_another_version_of_the_theme_keeps_the_design_fitted_to_it(
    design: StorefrontDraft,
) -> None:
    # given
    banner_id, _products_id = _home_ids(design)
    draft = _customised(design, height=400)
    versions = list(StorefrontVersion.objects.values_list("number", "is_live"))
    # when: 1.1.0 drops show_search and the products section, adds color_accent, and allows
    # banner heights up to 400 only
    install = _install_v2()
    # then: what 1.1.0 still has is kept, what it lacks goes, what it adds gets its default
    stored = _draft()
    assert stored.install_id == install.pk
    assert (install.handle, install.version, install.version_id) == (
        "minimal",
        "1.1.0",
        PACKAGE_ID * 10 + 1,
    )
    assert stored.settings == {
        "color_primary": "#123456",
        "font_body": "system",
        "logo": None,
        "color_accent": "#112233",
    }
    assert stored.pages["home"] == [
        {
            "id": banner_id,
            "type": "banner",
            "settings": {"title": "Mine", "link": "/search", "height": 400, "align": "left"},
        }
    ]
    assert stored.revision == draft.revision + 1
    # not published: the live version stays until the merchant publishes
    assert list(StorefrontVersion.objects.values_list("number", "is_live")) == versions


def test_a_section_value_the_new_version_refuses_falls_back_to_its_default_alone(
    design: StorefrontDraft,
) -> None:
    # given: a banner 500 high, which 1.1.0 no longer allows
    banner_id, _products_id = _home_ids(design)
    _customised(design, height=500)
    # when
    _install_v2()
    # then
    assert _draft().pages["home"] == [
        {
            "id": banner_id,
            "type": "banner",
            "settings": {"title": "Mine", "link": "/search", "height": 300, "align": "left"},
        }
    ]


def test_installing_another_theme_starts_from_its_defaults(design: StorefrontDraft) -> None:
    # given
    draft = storefront_settings_update(
        revision=design.revision, values={"color_primary": "#123456"}, actor=ACTOR
    )

    def other(manifest: dict[str, Any]) -> None:
        manifest["settings"][0]["default"] = "#0000ff"
        manifest["pages"] = {"home": [{"type": "products", "settings": {"count": 2}}]}

    # when
    install = storefront_theme_install(
        bundle=theme_bundle(handle="other", change=other),
        package_id=OTHER_PACKAGE_ID,
        version_id=OTHER_PACKAGE_ID * 10,
        source="agency",
        actor=ACTOR,
    )
    # then
    stored = _draft()
    assert stored.install_id == install.pk
    assert ThemeInstall.objects.get(pk=install.pk).source == "agency"
    assert stored.settings == {**MINIMAL_SETTINGS, "color_primary": "#0000ff"}
    home = stored.pages["home"]
    assert [(section["type"], section["settings"]) for section in home] == [
        ("products", {"category": None, "picked": [], "count": 2})
    ]
    assert home[0]["id"] not in _home_ids(design)
    assert stored.revision == draft.revision + 1


def test_installing_with_publish_makes_it_live(design: StorefrontDraft) -> None:
    # given
    first = _top_number()
    # when
    storefront_theme_install(
        bundle=theme_bundle(handle="other"),
        package_id=OTHER_PACKAGE_ID,
        version_id=OTHER_PACKAGE_ID * 10,
        source="builtin",
        actor=ACTOR,
        publish=True,
    )
    # then
    live = StorefrontVersion.objects.select_related("install").get(is_live=True)
    assert (live.number, live.install.handle, live.note) == (first + 1, "other", "other 1.0.0")
    assert (live.settings, live.pages) == (_draft().settings, _draft().pages)


# --- Images of image settings


def _image(kind: str, size: tuple[int, int] = (8, 4)) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(data, format=kind)
    data.seek(0)
    return data


def test_an_uploaded_image_is_stored_under_themes_in_the_shops_storage(shop: Tenant) -> None:
    # when
    names = [theme_image_upload(file=_image(kind)) for kind in ("PNG", "JPEG", "WEBP", "GIF")]
    # then
    try:
        assert [name.rsplit(".", 1)[1] for name in names] == ["png", "jpg", "webp", "gif"]
        for name in names:
            assert re.fullmatch(r"themes/[0-9a-f]{32}\.(png|jpg|webp|gif)", name)
            assert default_storage.exists(name)
            assert default_storage.path(name).startswith(
                str(Path(settings.MEDIA_ROOT) / shop.schema_name / "themes")
            )
    finally:
        for name in names:
            default_storage.delete(name)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
        b"\x89PNG\r\n\x1a\n broken",
        b"\0" * (5 * 1024 * 1024 + 1),
    ],
    ids=["empty", "svg", "broken", "too-large"],
)
def test_a_file_that_is_no_small_image_is_refused_and_nothing_is_stored(
    shop: Tenant, content: bytes
) -> None:
    # given
    folder = Path(settings.MEDIA_ROOT) / shop.schema_name / "themes"
    before = sorted(folder.iterdir()) if folder.exists() else []
    # when / then
    with pytest.raises(ThemeImageInvalidError) as refused:
        theme_image_upload(file=io.BytesIO(content))
    assert refused.value.code == "theme_image_invalid"
    assert (sorted(folder.iterdir()) if folder.exists() else []) == before


def test_an_image_of_too_many_pixels_is_refused(shop: Tenant) -> None:
    # when / then: 6000 x 5000 is 30 megapixels, above the 25 allowed (a small PNG file)
    with pytest.raises(ThemeImageInvalidError):
        theme_image_upload(file=_image("PNG", (6000, 5000)))
