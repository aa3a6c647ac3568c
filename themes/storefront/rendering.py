"""Rendering a storefront page: the design's sections, the page template, the layout.

A page is rendered in three steps, all in the theme's sandbox: each section of the page's
layout (`sections/<type>.liquid`, with its settings resolved to objects), then the page's
template (`templates/<page>.liquid`, with `content_for_sections`), then the layout
(`layout/theme.liquid`, with `content_for_layout`). The whole page has one deadline; each step
gets what is left of it.

A section that fails does not take the page down: the live storefront leaves it out (and logs
it); the editor's preview shows the error in its place. A failing template or layout is a
ThemeRenderError for the view, which answers the error page.

Section settings are resolved by type, batched for the page: every `products` setting of the
page is read in one query, each `category` setting in one query (its first products), so the
queries of a page depend on its sections, never on the number of products.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.html import escape
from liquid import Markup

from shop.catalog.selectors.categories import category_tree
from shop.catalog.selectors.products import product_cards_for, product_list_page
from shop.core.selectors import shop_profile_get
from themes.manifest import FONT_STACKS
from themes.storefront.cache import Design
from themes.storefront.objects import (
    card_object,
    category_find,
    category_object,
    image_object,
    list_item_card,
    route,
    routes_object,
)
from themes.storefront.sandbox import RenderOptions, ThemeLimits, ThemeRenderError, ThemeSandbox

logger = logging.getLogger(__name__)

PAGE_DEADLINE_S = 1.0
CATEGORY_PRODUCTS_DEFAULT = 8
CATEGORY_PRODUCTS_MAX = 50


@dataclass(frozen=True, slots=True)
class Theme:
    """A parsed theme version: its sandbox and its strings by language."""

    sandbox: ThemeSandbox
    locales: dict[str, dict[str, Any]]


_themes: OrderedDict[str, Theme] = OrderedDict()
_themes_lock = threading.Lock()
_THEMES_KEPT = 16


def theme_for(design: Design) -> Theme:
    """The parsed theme of a design; parsed once per process and theme version (by checksum)."""
    with _themes_lock:
        theme = _themes.get(design.checksum)
        if theme is not None:
            _themes.move_to_end(design.checksum)
            return theme
    # The theme's files live in the control plane, shared by every shop using them.
    from themes.packages.selectors import theme_version_bundle

    bundle = theme_version_bundle(version_id=design.version_id, with_assets=False)
    theme = Theme(
        sandbox=ThemeSandbox(templates=bundle.templates, limits=ThemeLimits()),
        locales=dict(bundle.locales),
    )
    with _themes_lock:
        _themes[design.checksum] = theme
        while len(_themes) > _THEMES_KEPT:
            _themes.popitem(last=False)
    return theme


def asset_base_url(design: Design) -> str:
    return route("storefront-theme-asset", design.version_id, design.checksum[:16], "x")[:-1]


def theme_language(language: str) -> str:
    """A shop's language (Django's code, "zh-hans") as themes name it ("zh-Hans")."""
    main, _, script = language.partition("-")
    return f"{main}-{script.title()}" if script else main


def render_options(request: HttpRequest, design: Design, theme: Theme) -> RenderOptions:
    tenant = request.tenant  # type: ignore[attr-defined]
    language = theme_language(str(tenant.language))
    return RenderOptions(
        currency=str(tenant.currency),
        locale=language.replace("-", "_"),
        media_base_url="/media/",
        asset_base_url=asset_base_url(design),
        translations=theme.locales.get(language) or theme.locales.get("en") or {},
    )


# --- settings resolution ---------------------------------------------------------------------


def _setting_specs(design: Design, section_type: str | None) -> list[dict[str, Any]]:
    if section_type is None:
        return list(design.manifest.get("settings", []))
    spec = design.manifest.get("sections", {}).get(section_type) or {}
    return list(spec.get("settings", []))


class _Resolver:
    """Resolves the settings of a page's theme settings and sections, batching the reads."""

    def __init__(self, request: HttpRequest) -> None:
        tenant = request.tenant  # type: ignore[attr-defined]
        self.currency = str(tenant.currency)
        self.language = str(tenant.language)
        self.product_ids: list[int] = []
        self.cards: dict[int, dict[str, Any]] = {}
        self.category_products: dict[tuple[int, int], list[dict[str, Any]]] = {}
        self.tree: list[Any] | None = None

    def collect(self, specs: list[dict[str, Any]], values: dict[str, Any]) -> None:
        for spec in specs:
            if spec.get("type") == "products":
                self.product_ids.extend(int(pk) for pk in values.get(spec["id"]) or [])

    def fetch(self) -> None:
        if self.product_ids:
            self.cards = {
                card.id: card_object(card)
                for card in product_cards_for(product_ids=self.product_ids)
            }

    def categories(self) -> list[Any]:
        if self.tree is None:
            self.tree = category_tree()
        return self.tree

    def _products_of(self, category_id: int | None, limit: int) -> list[dict[str, Any]]:
        key = (category_id or 0, limit)
        if key not in self.category_products:
            page = product_list_page(
                category_id=category_id,
                sort="newest",
                limit=limit,
                currency=self.currency,
                language=self.language,
            )
            self.category_products[key] = [
                list_item_card(item) for item in json.loads(page.results_json)
            ]
        return self.category_products[key]

    def _category(self, category_id: int | None, limit: int) -> dict[str, Any] | None:
        if category_id is None:
            # Left empty: the whole catalog, newest first (a new shop's grids show something).
            return {
                "id": None,
                "name": "",
                "url": route("storefront-search"),
                "image": None,
                "children": [],
                "products": self._products_of(None, limit),
            }
        node = category_find(self.categories(), category_id)
        if node is None:
            return None
        category = category_object(node)
        category["products"] = self._products_of(category_id, limit)
        return category

    def resolve(self, specs: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        limit = CATEGORY_PRODUCTS_DEFAULT
        for spec in specs:
            if spec.get("type") == "range" and spec["id"] == "count":
                limit = max(1, min(int(values.get("count") or limit), CATEGORY_PRODUCTS_MAX))
        for spec in specs:
            key = spec["id"]
            value = values.get(key)
            kind = spec.get("type")
            if kind == "image":
                resolved[key] = image_object(src=value) if value else None
            elif kind == "font":
                name = str(value or "system")
                resolved[key] = {"family": name, "stack": FONT_STACKS.get(name, "")}
            elif kind == "category":
                resolved[key] = self._category(int(value) if value else None, limit)
            elif kind == "products":
                resolved[key] = [self.cards[int(pk)] for pk in value or [] if int(pk) in self.cards]
            else:
                resolved[key] = value
        return resolved


def _page_sections(
    request: HttpRequest, design: Design, page_type: str
) -> tuple[list[dict[str, Any]], _Resolver]:
    """The page's sections the theme still has, and a resolver that read what they name."""
    sections = [
        section
        for section in design.pages.get(page_type, [])
        if section.get("type") in design.manifest.get("sections", {})
    ]
    resolver = _Resolver(request)
    resolver.collect(_setting_specs(design, None), design.settings)
    for section in sections:
        resolver.collect(_setting_specs(design, section["type"]), section.get("settings") or {})
    resolver.fetch()
    return sections, resolver


# --- the page ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What the page says of itself for SEO and shares."""

    type: str
    title: str
    description: str = ""
    image: str | None = None  # absolute URL for Open Graph
    canonical_path: str | None = None  # defaults to the request's path, without a query


def _shop_object(request: HttpRequest) -> dict[str, Any]:
    tenant = request.tenant  # type: ignore[attr-defined]
    profile = shop_profile_get()
    return {
        "name": str(tenant.name),
        "description": profile.description,
        "currency": str(tenant.currency),
        "language": theme_language(str(tenant.language)),
        "url": request.build_absolute_uri("/"),
        "contact_email": profile.contact_email,
        "contact_phone": profile.contact_phone,
    }


def _section_error_html(error: ThemeRenderError, section: dict[str, Any]) -> str:
    where = f"{error.template}:{error.line}" if error.template and error.line else ""
    return (
        '<div class="theme-section-error" role="alert" '
        'style="border:2px dashed #d33;padding:12px;margin:8px;color:#a00;font:14px sans-serif">'
        f"{escape(section.get('type', ''))}: {escape(error.code)} {escape(where)}<br>"
        f"{escape(error.message)}</div>"
    )


def page_render(
    request: HttpRequest,
    *,
    design: Design,
    meta: PageMeta,
    objects: dict[str, Any],
    customer: dict[str, Any] | None,
    csrf_token: str,
    preview: bool,
    notices: list[dict[str, str]] | None = None,
) -> str:
    """The page's HTML; ThemeRenderError when its template or the layout fails."""
    started = time.monotonic()
    theme = theme_for(design)
    options = render_options(request, design, theme)
    sections, resolver = _page_sections(request, design, meta.type)

    shop = _shop_object(request)
    canonical = request.build_absolute_uri(meta.canonical_path or request.path)
    title = meta.title if meta.type == "home" else f"{meta.title} - {shop['name']}"
    base: dict[str, Any] = {
        "shop": shop,
        "settings": resolver.resolve(_setting_specs(design, None), design.settings),
        "page": {
            "type": meta.type,
            "title": title,
            "description": meta.description or shop["description"][:160],
            "url": canonical,
            "image": meta.image,
            "path": request.path,
        },
        "routes": routes_object(),
        "categories": [category_object(node) for node in resolver.categories()],
        "customer": customer,
        "notices": notices or [],
        "csrf_token": csrf_token,
        "request": {
            "path": request.path,
            "language": shop["language"],
            "preview": preview,
        },
        **objects,
    }

    def remaining() -> float:
        return max(PAGE_DEADLINE_S - (time.monotonic() - started), 0.001)

    rendered: list[str] = []
    for section in sections:
        context = {
            **base,
            "section": {
                "id": section["id"],
                "type": section["type"],
                "settings": resolver.resolve(
                    _setting_specs(design, section["type"]), section.get("settings") or {}
                ),
            },
        }
        try:
            rendered.append(
                theme.sandbox.render(
                    f"sections/{section['type']}.liquid",
                    context=context,
                    options=options,
                    deadline_s=remaining(),
                )
            )
        except ThemeRenderError as error:
            logger.warning("theme section %s failed: %s", section["type"], error)
            if preview:
                rendered.append(_section_error_html(error, section))
    content = theme.sandbox.render(
        f"templates/{meta.type}.liquid",
        context={**base, "content_for_sections": Markup("".join(rendered))},
        options=options,
        deadline_s=remaining(),
    )
    return theme.sandbox.render(
        "layout/theme.liquid",
        context={**base, "content_for_layout": Markup(content)},
        options=options,
        deadline_s=remaining(),
    )


def layout_data(request: HttpRequest, *, design: Design, page_type: str) -> dict[str, Any]:
    """A page's layout as data, for clients that draw it themselves (the mini-program).

    The same design and the same resolution as the H5 page: theme settings and each section's
    settings with images, categories and products resolved to the documented objects.
    """
    sections, resolver = _page_sections(request, design, page_type)
    return {
        "page": page_type,
        "design_version": design.number,
        "theme": {"handle": design.handle, "version": design.version},
        "settings": resolver.resolve(_setting_specs(design, None), design.settings),
        "sections": [
            {
                "id": section["id"],
                "type": section["type"],
                "settings": resolver.resolve(
                    _setting_specs(design, section["type"]), section.get("settings") or {}
                ),
            }
            for section in sections
        ],
    }
