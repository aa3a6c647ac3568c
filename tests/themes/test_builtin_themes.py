"""The built-in themes (daily, fresh, boutique): every page renders, forms post where they must.

Each page is rendered the way the storefront renders it: every section of the theme's default
layout for the page (`sections/<type>.liquid` with `section` set), then the page's template
with `content_for_sections`, then the layout with `content_for_layout`, in the sandbox with
strict variables (a template that reads an object the page does not have fails).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from liquid import Markup

import themes
from tests.themes.samples import (
    HOSTILE_TITLE,
    PRODUCT_PATH,
    SOLD_OUT_SKU,
    sample_context,
    sample_section,
)
from themes.manifest import (
    PAGE_TYPES,
    package_files_from_directory,
    package_validate,
)
from themes.storefront.sandbox import RenderOptions, ThemeSandbox

BUILTIN = Path(themes.__file__).parent / "packages" / "builtin"
THEMES = ("daily", "fresh", "boutique")
LANGUAGES = ("en", "zh-Hans")
ASSET_BASE = "/theme-assets/7/abc123/"
ESCAPED_HOSTILE = "&lt;script&gt;alert(1)&lt;/script&gt;"
CSS_BUDGET_BYTES = 25 * 1024
# `'a.b' | t` in a template: the keys a theme needs in its locale files.
T_KEY = re.compile(r"""['"]([A-Za-z0-9_.\-]+)['"]\s*\|\s*t\b""")


@dataclass(frozen=True)
class Theme:
    handle: str
    root: Path
    manifest: dict[str, Any]
    templates: dict[str, str]
    locales: dict[str, dict[str, Any]]
    sandbox: ThemeSandbox


@functools.cache
def _theme(handle: str) -> Theme:
    root = BUILTIN / handle
    templates = {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*.liquid"))
    }
    return Theme(
        handle=handle,
        root=root,
        manifest=json.loads((root / "manifest.json").read_text(encoding="utf-8")),
        templates=templates,
        locales={
            language: json.loads((root / "locales" / f"{language}.json").read_text("utf-8"))
            for language in LANGUAGES
        },
        sandbox=ThemeSandbox(templates=templates, strict_variables=True),
    )


def _options(theme: Theme, language: str = "zh-Hans") -> RenderOptions:
    return RenderOptions(
        translations=theme.locales[language],
        currency="CNY",
        locale="zh_CN" if language == "zh-Hans" else "en_US",
        asset_base_url=ASSET_BASE,
    )


def _render(
    theme: Theme,
    page_type: str,
    context: dict[str, Any],
    *,
    full: bool,
    language: str = "zh-Hans",
) -> str:
    """The page's HTML: its sections, its template, the layout (as the storefront renders)."""
    options = _options(theme, language)
    sections = []
    for index, placed in enumerate(theme.manifest["pages"].get(page_type, [])):
        section = sample_section(
            theme.manifest,
            placed["type"],
            placed.get("settings"),
            full=full,
            section_id=f"s{index}",
        )
        sections.append(
            theme.sandbox.render(
                f"sections/{placed['type']}.liquid",
                context={**context, "section": section},
                options=options,
            )
        )
    content = theme.sandbox.render(
        f"templates/{page_type}.liquid",
        context={**context, "content_for_sections": Markup("".join(sections))},
        options=options,
    )
    return theme.sandbox.render(
        "layout/theme.liquid",
        context={**context, "content_for_layout": Markup(content)},
        options=options,
    )


def _page(handle: str, page_type: str, *, full: bool, **changes: Any) -> str:
    theme = _theme(handle)
    context = sample_context(page_type, full=full, manifest=theme.manifest)
    context.update(changes)
    return _render(theme, page_type, context, full=full)


def _flat_keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in tree.items():
        if isinstance(value, dict):
            keys |= _flat_keys(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def _text(theme: Theme, key: str, language: str = "zh-Hans") -> str:
    """The theme's string at a dotted key (themes word some things their own way)."""
    node: Any = theme.locales[language]
    for part in key.split("."):
        node = node[part]
    assert isinstance(node, str)
    return node


def _untranslated(theme: Theme, html: str) -> list[str]:
    """Locale keys printed as such (the `t` filter prints the key of a string it lacks)."""
    keys = _flat_keys(theme.locales["zh-Hans"]) | {
        key for source in theme.templates.values() for key in T_KEY.findall(source)
    }
    return sorted(key for key in keys if key in html)


# --- the packages ---------------------------------------------------------------------------


@pytest.mark.parametrize("handle", THEMES)
def test_package_is_valid(handle: str) -> None:
    # given the theme's folder as shipped
    files = package_files_from_directory(BUILTIN / handle)
    # when the package is validated as an upload would be
    bundle = package_validate(files)
    # then it is a valid 1.0.0 theme by the platform, with both languages
    assert bundle.handle == handle
    assert bundle.version == "1.0.0"
    assert bundle.author == "Platform"
    assert set(bundle.name) == {"en", "zh-Hans"}
    assert set(bundle.description) == {"en", "zh-Hans"}
    assert set(bundle.locales) == {"en", "zh-Hans"}
    assert set(bundle.assets) == {"theme.css"}


@pytest.mark.parametrize("handle", THEMES)
def test_every_template_parses(handle: str) -> None:
    # given the theme's templates
    theme = _theme(handle)
    # when the sandbox checks them, then none fails
    theme.sandbox.check()
    assert "layout/theme.liquid" in theme.templates
    assert {f"templates/{page}.liquid" for page in PAGE_TYPES} <= set(theme.templates)


@pytest.mark.parametrize("handle", THEMES)
def test_manifest_has_the_platform_settings_sections_and_layouts(handle: str) -> None:
    # given the theme's manifest
    theme = _theme(handle)
    manifest = theme.manifest
    settings = {setting["id"]: setting for setting in manifest["settings"]}
    sections = manifest["sections"]
    # then the settings every built-in theme has are there, with their types
    expected_settings = {
        "color_primary": "color",
        "color_accent": "color",
        "color_background": "color",
        "font_heading": "font",
        "font_body": "font",
        "logo": "image",
        "show_search": "checkbox",
        "announcement": "text",
    }
    assert {key: settings[key]["type"] for key in expected_settings} == expected_settings
    assert len(settings) > len(expected_settings)  # and theme-specific ones
    # and the common section types, each with its template, plus a theme-specific one
    common = {
        "banner",
        "product_grid",
        "category_nav",
        "rich_text",
        "image_with_text",
        "distributor_recruitment",
    }
    assert common < set(sections)
    for section_type in sections:
        assert f"sections/{section_type}.liquid" in theme.templates
    grid = {setting["id"]: setting for setting in sections["product_grid"]["settings"]}
    assert (grid["count"]["type"], grid["count"]["min"], grid["count"]["max"]) == ("range", 2, 24)
    assert [option["value"] for option in grid["columns"]["options"]] == ["2", "3"]
    assert {grid["category"]["type"], grid["products"]["type"]} == {"category", "products"}
    position = {setting["id"]: setting for setting in sections["image_with_text"]["settings"]}[
        "image_position"
    ]
    assert [option["value"] for option in position["options"]] == ["left", "right"]
    # and a designed home page, and "you may also like" products on the product page
    assert 4 <= len(manifest["pages"]["home"]) <= 7
    assert "product_grid" in [section["type"] for section in manifest["pages"]["product"]]
    assert set(manifest["pages"]) == set(PAGE_TYPES)


@pytest.mark.parametrize("handle", THEMES)
def test_templates_print_their_sections_and_the_layout_its_content(handle: str) -> None:
    # given the theme's templates
    theme = _theme(handle)
    # then every page template prints its sections and the layout prints the page
    for page in PAGE_TYPES:
        assert "{{ content_for_sections }}" in theme.templates[f"templates/{page}.liquid"], page
    assert "{{ content_for_layout }}" in theme.templates["layout/theme.liquid"]


@pytest.mark.parametrize("handle", THEMES)
def test_every_translated_key_exists_in_both_languages(handle: str) -> None:
    # given the keys the templates translate
    theme = _theme(handle)
    used = {key for source in theme.templates.values() for key in T_KEY.findall(source)}
    # then both locale files have each of them, and the same keys as each other
    assert used
    for language in LANGUAGES:
        missing = sorted(used - _flat_keys(theme.locales[language]))
        assert missing == [], (language, missing)
    assert _flat_keys(theme.locales["en"]) == _flat_keys(theme.locales["zh-Hans"])


@pytest.mark.parametrize("handle", THEMES)
def test_templates_carry_no_script_and_print_no_raw_data(handle: str) -> None:
    # given the theme's templates (the storefront's CSP blocks scripts; autoescape is on)
    theme = _theme(handle)
    for name, source in theme.templates.items():
        # then none has a script, an inline event handler, or a filter that skips escaping
        assert "<script" not in source.lower(), name
        assert re.search(r"\son[a-z]+\s*=", source) is None, name
        assert re.search(r"\|\s*(raw|safe)\b", source) is None, name
        assert "javascript:" not in source.lower(), name


@pytest.mark.parametrize("handle", THEMES)
def test_stylesheet_is_small_and_self_contained(handle: str) -> None:
    # given the theme's stylesheet
    css = (BUILTIN / handle / "assets" / "theme.css").read_bytes()
    text = css.decode("utf-8")
    # then it is hand-sized, loads nothing from elsewhere and no web font
    assert len(css) <= CSS_BUDGET_BYTES, len(css)
    assert "@import" not in text
    assert re.search(r"url\(\s*['\"]?(https?:)?//", text) is None
    assert "@font-face" not in text
    assert "@media (min-width" in text  # mobile first


# --- every page ----------------------------------------------------------------------------


@pytest.mark.parametrize("full", [False, True], ids=["empty", "full"])
@pytest.mark.parametrize("page_type", PAGE_TYPES)
@pytest.mark.parametrize("handle", THEMES)
def test_every_page_renders(handle: str, page_type: str, full: bool) -> None:
    # given a new shop (empty) or a shop with a catalog, a cart, orders and a distributor
    theme = _theme(handle)
    context = sample_context(page_type, full=full, manifest=theme.manifest)
    page = context["page"]
    # when the page renders
    html = _render(theme, page_type, context, full=full)
    # then the document has its head: language, title, description, canonical, Open Graph
    assert html.startswith("<!doctype html>")
    assert '<html lang="zh-Hans"' in html
    assert f"<title>{page['title']}</title>" in html
    assert f'<meta name="description" content="{page["description"]}">' in html
    assert f'<link rel="canonical" href="{page["url"]}">' in html
    assert f'<meta property="og:title" content="{page["title"]}">' in html
    assert f'<meta property="og:url" content="{page["url"]}">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1' in html
    assert f'<link rel="stylesheet" href="{ASSET_BASE}theme.css">' in html
    assert ("og:image" in html) is (page["image"] is not None)
    # and the tab bar, and every string translated, and nothing of Liquid left
    assert f'href="{context["routes"]["cart"]}"' in html
    assert _untranslated(theme, html) == []
    assert "{{" not in html
    assert "{%" not in html
    assert "<script" not in html
    # and every POST form sends the CSRF token first
    for form in re.findall(r"<form[^>]*>.*?</form>", html, flags=re.S):
        if 'method="post"' in form:
            assert re.search(r'<form[^>]*>\s*<input type="hidden" name="csrfmiddlewaretoken"', form)


def _section_types() -> list[tuple[str, str]]:
    return [(handle, kind) for handle in THEMES for kind in _theme(handle).manifest["sections"]]


@pytest.mark.parametrize("full", [False, True], ids=["empty", "full"])
@pytest.mark.parametrize(("handle", "section_type"), _section_types())
def test_every_section_type_renders_on_its_own(handle: str, section_type: str, full: bool) -> None:
    # given a section of each type with its default settings (full: with pictures set)
    theme = _theme(handle)
    context = sample_context("home", full=full, manifest=theme.manifest)
    context["section"] = sample_section(theme.manifest, section_type, full=full)
    # when it renders
    html = theme.sandbox.render(
        f"sections/{section_type}.liquid", context=context, options=_options(theme)
    )
    # then it renders with every string found, and every picture has a text alternative
    assert _untranslated(theme, html) == []
    for img in re.findall(r"<img[^>]*>", html):
        assert re.search(r' src="https://media\.example/[^"]+"', img), img
        assert " alt=" in img, img


@pytest.mark.parametrize("handle", THEMES)
def test_product_grid_shows_the_products_chosen_before_the_category(handle: str) -> None:
    # given a product grid with two products chosen, three columns, and a category
    theme = _theme(handle)
    context = sample_context("home", full=True, manifest=theme.manifest)
    section = sample_section(
        theme.manifest, "product_grid", {"title": "店长推荐", "count": 2, "columns": "3"}, full=True
    )
    cards = sample_context("category", full=True)["collection"]["products"]
    section["settings"]["products"] = [cards[4], cards[1], cards[0]]
    # when it renders
    html = theme.sandbox.render(
        "sections/product_grid.liquid",
        context={**context, "section": section},
        options=_options(theme),
    )
    # then the first two chosen products show, in their order, three to a row
    assert "店长推荐" in html
    assert "product-grid--3" in html
    assert html.index("散养土鸡蛋 30枚") < html.index("明前龙井 特级 250g")
    assert "有机圣女果 500g" not in html


@pytest.mark.parametrize("handle", THEMES)
def test_recruitment_invites_members_but_not_distributors(handle: str) -> None:
    # given the distributor recruitment section
    theme = _theme(handle)
    section = sample_section(theme.manifest, "distributor_recruitment", full=True)

    def render(customer: dict[str, Any] | None) -> str:
        context = sample_context("home", full=True, manifest=theme.manifest)
        context.update(customer=customer, section=section)
        return theme.sandbox.render(
            "sections/distributor_recruitment.liquid", context=context, options=_options(theme)
        )

    distributor = sample_context("account", full=True)["customer"]
    # then a visitor is invited to the distributor center; a distributor sees nothing
    assert 'href="/distribution"' in render(None)
    assert distributor["is_distributor"] is True
    assert render(distributor).strip() == ""


@pytest.mark.parametrize("handle", THEMES)
def test_head_has_the_product_image_for_shares(handle: str) -> None:
    # given a product page with a picture
    html = _page(handle, "product", full=True)
    # then Open Graph names the image and the product type
    assert (
        '<meta property="og:image" content="https://media.example/alpha/catalog/tomato.jpg">'
        in (html)
    )
    assert '<meta property="og:type" content="product">' in html


@pytest.mark.parametrize("handle", THEMES)
def test_layout_uses_theme_settings(handle: str) -> None:
    # given a member with items in the cart, the default settings and an announcement
    html = _page(handle, "home", full=True)
    theme = _theme(handle)
    defaults = {setting["id"]: setting.get("default") for setting in theme.manifest["settings"]}
    # then colours and fonts come from the settings, the search and the announcement show
    assert f"--primary: {defaults['color_primary']};" in html
    assert "--font-heading: " in html
    assert 'action="/search" method="get" role="search"' in html
    assert "双 11 全场满 99 减 20，下单即送鲜果券" in html
    assert re.search(r'class="[^"]*(count-badge|tabbar__badge)[^"]*">5<', html)


@pytest.mark.parametrize("handle", THEMES)
def test_layout_hides_search_when_the_setting_is_off(handle: str) -> None:
    # given the show_search setting turned off
    theme = _theme(handle)
    context = sample_context("home", full=True, manifest=theme.manifest)
    context["settings"]["show_search"] = False
    # when the home page renders
    html = _render(theme, "home", context, full=True)
    # then the header has no search form
    assert 'role="search"' not in html


@pytest.mark.parametrize("handle", THEMES)
def test_product_page_offers_variants_as_radios_with_the_sold_out_one_disabled(
    handle: str,
) -> None:
    # given a member on a product page with three variants, the last sold out
    html = _page(handle, "product", full=True)
    # then the title and the price show, and the add-to-cart form posts the variant chosen
    assert "有机圣女果 500g" in html
    assert "¥12.50" in html
    assert re.search(
        r'<form class="[^"]*product-form[^"]*" action="/cart/add" method="post">', html
    )
    assert 'name="quantity" value="1" min="1"' in html
    assert re.search(r'type="radio" name="sku_id" id="[^"]+" value="9001" checked required>', html)
    assert re.search(r'type="radio" name="sku_id" id="[^"]+" value="9002" required>', html)
    assert re.search(
        rf'type="radio" name="sku_id" id="[^"]+" value="{SOLD_OUT_SKU}" disabled required>', html
    )
    # and the description is escaped
    assert "&lt;b&gt;不打蜡、不催熟&lt;/b&gt;" in html
    # and the pictures are responsive, lazy below the first
    assert (
        'srcset="https://media.example/alpha/catalog/thumbs/tomato-2.jpg 400w, '
        'https://media.example/alpha/catalog/tomato-2.jpg 1200w"'
    ) in html
    assert re.search(
        r'<img[^>]*tomato-2\.jpg"[^>]*width="1200" height="900"[^>]*loading="lazy"', html
    )


@pytest.mark.parametrize("handle", THEMES)
def test_visitor_sees_a_login_link_instead_of_the_add_to_cart_form(handle: str) -> None:
    # given a visitor (no customer) on a product page
    theme = _theme(handle)
    context = sample_context("product", full=True, manifest=theme.manifest)
    context.update(customer=None, csrf_token="")
    # when the page renders
    html = _render(theme, "product", context, full=True)
    # then there is a link to log in and come back, and no form that posts
    assert f'href="/login?next={PRODUCT_PATH.replace("/", "%2F")}"' in html
    assert 'action="/cart/add"' not in html
    assert 'method="post"' not in html


@pytest.mark.parametrize("handle", THEMES)
def test_sold_out_product_cannot_be_added(handle: str) -> None:
    # given a member on the page of a product with nothing in stock
    html = _page(
        handle, "product", full=False, customer=sample_context("cart", full=False)["customer"]
    )
    # then the button is disabled and says so
    assert re.search(r"<button[^>]*disabled[^>]*>\s*已售罄\s*</button>", html)


@pytest.mark.parametrize("page_type", ["category", "search", "cart", "orders", "home"])
@pytest.mark.parametrize("handle", THEMES)
def test_hostile_product_titles_come_out_escaped(handle: str, page_type: str) -> None:
    # given pages listing a product titled with a script
    html = _page(handle, page_type, full=True)
    # then the title is printed escaped, never as markup
    assert ESCAPED_HOSTILE in html
    assert HOSTILE_TITLE not in html
    assert "<img src=x" not in html


@pytest.mark.parametrize("handle", THEMES)
def test_category_page_lists_sorts_products_and_pages(handle: str) -> None:
    # given page 2 of a category with subcategories
    html = _page(handle, "category", full=True)
    # then the subcategories, the sorts (the current one marked) and both page links show
    assert '<a class="chip" href="/categories/11">进口水果</a>' in html
    assert 'href="/categories/1?sort=newest" aria-current="true">新品</a>' in html
    assert 'href="/categories/1?sort=price_asc">价格从低到高</a>' in html
    assert 'href="/categories/1" rel="prev"' in html
    assert 'href="/categories/1?page=3" rel="next"' in html
    assert "第 2 / 3 页" in html
    assert "¥12.50" in html
    assert "暂无报价" in html


@pytest.mark.parametrize("handle", THEMES)
def test_empty_pages_say_so(handle: str) -> None:
    # given a new shop
    theme = _theme(handle)
    # then each list says it is empty
    assert "该分类下暂无商品" in _page(handle, "category", full=False)
    assert _text(theme, "cart.empty") in _page(handle, "cart", full=False)
    assert "暂无相关订单" in _page(handle, "orders", full=False)
    assert "店铺暂无在售商品" in _page(handle, "search", full=False)
    # and the empty cart leads back to the shop
    assert re.search(r'<a class="button[^"]*" href="/">', _page(handle, "cart", full=False))


@pytest.mark.parametrize("handle", THEMES)
def test_search_page_shows_the_query_results_and_sorts(handle: str) -> None:
    # given a search for 番茄 with three results
    html = _page(handle, "search", full=True)
    # then the query is kept in the box, the count and the sorts show
    assert 'name="q" value="番茄"' in html
    assert "找到 3 件相关商品" in html
    assert 'href="/search?q=番茄&amp;sort=price_desc"' in html


@pytest.mark.parametrize("handle", THEMES)
def test_search_page_without_a_query_browses_categories(handle: str) -> None:
    # given the search page without words, in a shop with categories
    theme = _theme(handle)
    context = sample_context("search", full=True, manifest=theme.manifest)
    context["search"]["query"] = ""
    # when it renders
    html = _render(theme, "search", context, full=True)
    # then every category and subcategory links to its page
    for path in ("/categories/1", "/categories/11", "/categories/2", "/categories/41"):
        assert f'href="{path}"' in html


@pytest.mark.parametrize("handle", THEMES)
def test_cart_updates_quantities_and_removes_by_posting_quantities(handle: str) -> None:
    # given a cart with three available items and one unavailable
    html = _page(handle, "cart", full=True)
    # then each item has forms to /cart/update: one fewer, the number typed, one more, zero
    forms = re.findall(r'<form[^>]*action="/cart/update" method="post">(.*?)</form>', html, re.S)
    sent = [
        dict(re.findall(r'<input[^>]*name="(sku_id|quantity)"[^>]*value="(\d+)"', form))
        for form in forms
    ]
    assert {"sku_id": "9001", "quantity": "1"} in sent
    assert {"sku_id": "9001", "quantity": "2"} in sent
    assert {"sku_id": "9001", "quantity": "3"} in sent
    assert {"sku_id": "9001", "quantity": "0"} in sent
    assert {"sku_id": "8001", "quantity": "0"} in sent  # the unavailable item can be removed
    assert {"sku_id": "8001", "quantity": "2"} not in sent
    # and the stock caps the "more" button, the unavailable item is marked, the total shows
    assert re.search(r'name="quantity" value="2">\s*<button[^>]*disabled', html)
    assert "已失效" in html
    assert "¥162.90" in html
    assert 'href="/checkout"' in html


@pytest.mark.parametrize("handle", THEMES)
def test_checkout_form_posts_the_choices_with_the_idempotency_key(handle: str) -> None:
    # given a checkout with two addresses (the second chosen), two methods and an error
    html = _page(handle, "checkout", full=True)
    form = re.search(r'<form[^>]*action="/checkout" method="post">(.*?)</form>', html, re.S)
    # then one form posts the address, the method, the note, the code and the key
    assert form is not None
    body = form.group(1)
    assert '<input type="hidden" name="idempotency_key" value="k3y-5f0c1d2e">' in body
    assert re.search(r'name="address_id" id="[^"]+" value="502" checked required>', body)
    assert re.search(r'name="address_id" id="[^"]+" value="501" required>', body)
    assert re.search(r'name="payment_method" id="[^"]+" value="sandbox" checked required>', body)
    assert re.search(r'name="payment_method" id="[^"]+" value="store_balance" required>', body)
    assert 'name="buyer_note"' in body
    assert ">请尽量上午送达</textarea>" in body
    assert 'name="referral_code" value="LXM8K2"' in body
    # and the errors and the totals show
    assert "“明前龙井 特级 250g”库存不足" in html
    assert "¥162.90" in html
    assert "¥8.00" in html
    assert "¥170.90" in html
    assert re.search(r'<button type="submit"[^>]*>\s*提交订单', html)


@pytest.mark.parametrize("handle", THEMES)
def test_checkout_without_an_address_links_to_the_account(handle: str) -> None:
    # given a member without addresses
    html = _page(handle, "checkout", full=False)
    # then the page says so and links to where addresses are added; the order cannot be placed
    assert "您还没有收货地址。" in html
    assert 'href="/account?next=%2Fcheckout#addresses"' in html
    assert re.search(r"<button type=\"submit\"[^>]*disabled>\s*提交订单", html)


@pytest.mark.parametrize("handle", THEMES)
def test_orders_page_has_status_tabs_actions_and_pages(handle: str) -> None:
    # given orders to pay, to receive, completed and cancelled
    html = _page(handle, "orders", full=True)
    # then the status tabs link to their filters (the current one marked)
    assert 'href="/orders" aria-current="page">全部' in html
    assert 'href="/orders?status=pending_payment">待付款' in html
    # and each order shows, with what can be done to it
    for number in ("20251120000123", "20251118000456", "20251101000789", "20251030000999"):
        assert number in html
    assert 'action="/orders/20251120000123/cancel" method="post"' in html
    assert 'href="/orders/20251120000123">立即付款' in html
    assert 'action="/orders/20251118000456/receive" method="post"' in html
    assert "/orders/20251101000789/cancel" not in html
    assert 'href="/orders?page=2" rel="next"' in html


@pytest.mark.parametrize("handle", THEMES)
def test_unpaid_order_page_pays_with_a_chosen_method_or_cancels(handle: str) -> None:
    # given an unpaid order
    html = _page(handle, "order", full=True)
    # then it can be paid with one of its methods, or cancelled; not received
    pay = re.search(
        r'<form[^>]*action="/orders/20251120000123/pay" method="post">(.*?)</form>', html, re.S
    )
    assert pay is not None
    assert re.search(
        r'name="payment_method" id="[^"]+" value="sandbox" checked required>', pay.group(1)
    )
    assert 'action="/orders/20251120000123/cancel" method="post"' in html
    assert "/receive" not in html
    assert "2025-11-20 15:00" in html  # the deadline to pay
    assert "待付款" in html
    assert "¥33.00" in html
    assert "李小萌" in html
    assert "文三路 90 号" in html


@pytest.mark.parametrize("handle", THEMES)
def test_shipped_order_page_shows_tracking_and_confirms_receipt(handle: str) -> None:
    # given a shipped order
    theme = _theme(handle)
    context = sample_context("order", full=True, manifest=theme.manifest)
    context["order"] = sample_context("orders", full=True)["orders"][1]
    # when its page renders
    html = _render(theme, "order", context, full=True)
    # then the carrier and number show, and receipt can be confirmed; nothing else
    assert "顺丰速运" in html
    assert "SF1234567890" in html
    assert 'action="/orders/20251118000456/receive" method="post"' in html
    assert "/pay" not in html
    assert "/cancel" not in html


@pytest.mark.parametrize("handle", THEMES)
def test_account_page_has_balance_shortcuts_addresses_and_logout(handle: str) -> None:
    # given a member who is a distributor
    html = _page(handle, "account", full=True)
    # then the balance, the order shortcuts with counts and the address form show
    assert "李小萌" in html
    assert "138****8000" in html
    assert "¥120.50" in html
    assert 'href="/orders?status=pending_payment"' in html
    assert 'href="/distribution"' in html
    address = re.search(r'<form action="/account" method="post">(.*?)</form>', html, re.S)
    assert address is not None
    for field in (
        "recipient_name",
        "phone",
        "province",
        "city",
        "district",
        "detail",
        "postal_code",
    ):
        assert f'name="{field}"' in address.group(1)
    # and a member sent here by checkout goes back there after saving the address
    assert '<input type="hidden" name="next" value="/checkout">' in address.group(1)
    # and logging out is a POST
    assert re.search(r'<form[^>]*action="/logout" method="post">', html)


@pytest.mark.parametrize("handle", THEMES)
def test_distribution_center_shows_balances_team_share_link_and_commissions(handle: str) -> None:
    # given an active distributor
    html = _page(handle, "distribution", full=True)
    # then the balances, the team, the share link and the recent commissions show
    assert "¥258.80" in html
    assert "¥45.60" in html
    assert "¥1,000.00" in html
    assert ">47<" in html or "47 人" in html
    assert 'value="https://xianguo.shop.example/?ref=LXM8K2" readonly' in html
    assert "20251120000123" in html
    assert "待结算" in html
    assert 'action="/distribution"' not in html


@pytest.mark.parametrize("handle", THEMES)
def test_member_can_apply_to_become_a_distributor(handle: str) -> None:
    # given a member who is not a distributor
    html = _page(handle, "distribution", full=False)
    form = re.search(r'<form[^>]*action="/distribution" method="post">(.*?)</form>', html, re.S)
    # then the apply form posts a name, a phone and a reason
    assert form is not None
    for field in ('name="name"', 'name="phone"', 'name="reason"'):
        assert field in form.group(1)


@pytest.mark.parametrize("handle", THEMES)
def test_pending_application_shows_its_status_and_no_form(handle: str) -> None:
    # given a member whose application waits for review
    theme = _theme(handle)
    context = sample_context("distribution", full=False, manifest=theme.manifest)
    context["distributor"].update(
        can_apply=False, application={"status": "submitted", "note": "<b>资料审核中</b>"}
    )
    # when the distribution page renders
    html = _render(theme, "distribution", context, full=False)
    # then the status and the note show (escaped), and there is nothing to post
    assert "您的申请正在审核中" in html
    assert "&lt;b&gt;资料审核中&lt;/b&gt;" in html
    assert 'action="/distribution"' not in html


@pytest.mark.parametrize("handle", THEMES)
def test_login_page_asks_for_the_phone_first(handle: str) -> None:
    # given a visitor on the login page
    html = _page(handle, "login", full=False)
    form = re.search(r'<form[^>]*action="/login/code" method="post">(.*?)</form>', html, re.S)
    # then the one form sends a code to the phone typed, keeping where to go next
    assert form is not None
    assert re.search(r'<label[^>]*for="login-phone"', form.group(1))
    assert 'type="tel" name="phone"' in form.group(1)
    assert '<input type="hidden" name="next" value="/account">' in form.group(1)
    assert 'name="code"' not in html


@pytest.mark.parametrize("handle", THEMES)
def test_login_page_takes_the_code_once_sent(handle: str) -> None:
    # given a code sent, a wrong code typed and a new shopper who must accept the policy
    html = _page(handle, "login", full=True)
    form = re.search(r'<form[^>]*action="/login" method="post">(.*?)</form>', html, re.S)
    # then the form posts the phone, the code, the consent and where to go next
    assert form is not None
    body = form.group(1)
    assert 'name="phone" value="13800138000"' in body
    assert 'name="code"' in body
    assert 'autocomplete="one-time-code"' in body
    assert 'name="accept_policy" value="1" required' in body
    assert '<input type="hidden" name="next" value="/products/102">' in body
    # and the error shows, and the code can be sent again
    assert "验证码错误，请重新输入" in html
    assert 'action="/login/code" method="post"' in html


@pytest.mark.parametrize("handle", THEMES)
def test_pages_render_in_english(handle: str) -> None:
    # given an English shop
    theme = _theme(handle)
    for page_type in ("home", "product", "cart", "checkout", "account", "login"):
        context = sample_context(page_type, full=True, manifest=theme.manifest)
        context["shop"]["language"] = "en"
        # when the page renders with the English strings
        html = _render(theme, page_type, context, full=True, language="en")
        # then it is an English page with every string found
        assert '<html lang="en"' in html
        assert _untranslated(theme, html) == [], page_type
    assert _text(theme, "product.add_to_cart", "en") in _render(
        theme,
        "product",
        sample_context("product", full=True, manifest=theme.manifest),
        full=True,
        language="en",
    )


@pytest.mark.parametrize("handle", THEMES)
def test_the_layout_shows_the_notices_of_the_last_action_escaped(handle: str) -> None:
    # given a member's page with a notice (the sample's refused cart change)
    html = _page(handle, "cart", full=True)
    # then it shows, as an error, escaped
    assert '<p class="notice notice--error">&lt;b&gt;库存不足&lt;/b&gt;</p>' in html
