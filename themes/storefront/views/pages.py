"""The storefront's public pages: home, category, search, product (cached for visitors)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shop.catalog.errors import ProductNotFoundError
from shop.catalog.selectors.categories import category_tree
from shop.catalog.selectors.products import (
    ProductSort,
    product_detail_data,
    product_list_page,
)
from themes.storefront.http import PageState, page_response, storefront_headers, storefront_page
from themes.storefront.objects import (
    category_find,
    category_object,
    list_item_card,
    pagination_object,
    product_object,
)
from themes.storefront.rendering import PageMeta

PER_PAGE = 20
PAGE_MAX = 500
QUERY_MAX_LENGTH = 100


def not_found(request: HttpRequest, message: str) -> HttpResponse:
    """The platform's 404 page on the shop host (with the storefront's headers)."""
    response = render(
        request,
        "storefront/not_found.html",
        {"shop": request.tenant, "message": message},  # type: ignore[attr-defined]
        status=404,
    )
    storefront_headers(response, preview=False)
    return response


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), PAGE_MAX))
    except ValueError:
        return 1


def _sort(request: HttpRequest, default: str) -> str:
    sort = request.GET.get("sort", "")
    return sort if sort in ProductSort.values else default


def _sort_labels() -> dict[str, str]:
    return {
        ProductSort.RELEVANCE: pgettext("product sort", "Relevance"),
        ProductSort.NEWEST: pgettext("product sort", "Newest"),
        ProductSort.PRICE_ASC: pgettext("product sort", "Price: low to high"),
        ProductSort.PRICE_DESC: pgettext("product sort", "Price: high to low"),
    }


def _url(path: str, **params: Any) -> str:
    kept = {key: value for key, value in params.items() if value not in (None, "")}
    if kept.get("page") == 1:
        del kept["page"]
    return path + (f"?{urlencode(kept)}" if kept else "")


def _listing(
    request: HttpRequest, *, query: str, category_id: int | None, sort: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    tenant = request.tenant  # type: ignore[attr-defined]
    page = _page_number(request)
    result = product_list_page(
        query=query,
        category_id=category_id,
        sort=sort,
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
        currency=str(tenant.currency),
        language=str(tenant.language),
    )
    products = [list_item_card(item) for item in json.loads(result.results_json)]
    pagination = pagination_object(
        page=page,
        per_page=PER_PAGE,
        count=result.count,
        url_for=lambda number: _url(request.path, q=query or None, sort=sort, page=number),
    )
    return products, pagination


def _sorts(request: HttpRequest, current: str, *, query: str, with_relevance: bool) -> list[Any]:
    labels = _sort_labels()
    return [
        {
            "value": value,
            "label": labels[value],
            "url": _url(request.path, q=query or None, sort=value),
            "current": value == current,
        }
        for value in ProductSort.values
        if with_relevance or value != ProductSort.RELEVANCE
    ]


@storefront_page(cacheable=True)
def storefront_home(request: HttpRequest, state: PageState) -> HttpResponse:
    """The home page: the sections of the shop's home layout."""
    tenant = request.tenant  # type: ignore[attr-defined]
    return page_response(request, state, PageMeta(type="home", title=str(tenant.name)), {})


@storefront_page(cacheable=True)
def storefront_category(request: HttpRequest, state: PageState, category_id: int) -> HttpResponse:
    """A category's products (with those of its subcategories), sorted and paginated."""
    node = category_find(category_tree(), category_id)
    if node is None:
        return not_found(request, _("This category does not exist."))
    sort = _sort(request, ProductSort.NEWEST)
    products, pagination = _listing(request, query="", category_id=category_id, sort=sort)
    collection = category_object(node)
    collection.update(
        products=products,
        sort=sort,
        sorts=_sorts(request, sort, query="", with_relevance=False),
        pagination=pagination,
    )
    meta = PageMeta(type="category", title=node.category.name)
    return page_response(request, state, meta, {"collection": collection})


@storefront_page(cacheable=True)
def storefront_search(request: HttpRequest, state: PageState) -> HttpResponse:
    """Products matching the words searched (all products without any)."""
    query = request.GET.get("q", "").strip()[:QUERY_MAX_LENGTH]
    sort = _sort(request, ProductSort.RELEVANCE if query else ProductSort.NEWEST)
    products, pagination = _listing(request, query=query, category_id=None, sort=sort)
    search = {
        "query": query,
        "products": products,
        "count": pagination["count"],
        "pagination": pagination,
        "sort": sort,
        "sorts": _sorts(request, sort, query=query, with_relevance=bool(query)),
    }
    title = _("Search: %(query)s") % {"query": query} if query else _("All products")
    meta = PageMeta(type="search", title=title, canonical_path=_url(request.path, q=query or None))
    return page_response(request, state, meta, {"search": search})


@storefront_page(cacheable=True)
def storefront_product(request: HttpRequest, state: PageState, product_id: int) -> HttpResponse:
    """A product with its pictures, options and variants; the add-to-cart form."""
    tenant = request.tenant  # type: ignore[attr-defined]
    try:
        detail = product_detail_data(
            product_id=product_id, currency=str(tenant.currency), language=str(tenant.language)
        )
    except ProductNotFoundError:
        return not_found(request, _("This product does not exist or is not for sale."))
    product = product_object(detail)
    referral = request.GET.get("ref", "").strip()[:64]
    if referral:
        # A share link's referral travels with the form (no session for visitors).
        product["add_action"] = _url(product["add_action"], ref=referral)
    image = product["image"]
    meta = PageMeta(
        type="product",
        title=product["title"],
        description=(product["subtitle"] or product["description"])[:160],
        image=request.build_absolute_uri(image["src"]) if image else None,
    )
    return page_response(request, state, meta, {"product": product})
