"""The objects theme templates see, built from the shop's services as plain data.

Every shape here is documented in themes/THEME-FORMAT.md; a theme can rely on nothing else.
Money stays in minor units (templates format it with the `money` filter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.urls import reverse

from shop.catalog.selectors.categories import CategoryNode
from shop.catalog.selectors.products import ProductCard
from shop.catalog.selectors.skus import catalog_file_url

URLCONF = "infra.urls_tenant"


def route(name: str, *args: Any) -> str:
    """A path of the shop host (the storefront's URLs)."""
    return reverse(name, urlconf=URLCONF, args=args)


def routes_object() -> dict[str, str]:
    return {
        "home": route("storefront-home"),
        "search": route("storefront-search"),
        "cart": route("storefront-cart"),
        "cart_add": route("storefront-cart-add"),
        "cart_update": route("storefront-cart-update"),
        "checkout": route("storefront-checkout"),
        "orders": route("storefront-orders"),
        "account": route("storefront-account"),
        "distribution": route("storefront-distribution"),
        "login": route("storefront-login"),
        "login_code": route("storefront-login-code"),
        "logout": route("storefront-logout"),
    }


def image_object(
    *,
    src: str | None,
    thumbnail: str | None = None,
    width: int | None = None,
    height: int | None = None,
    alt: str = "",
) -> dict[str, Any] | None:
    """An image from storage names (None without an original)."""
    src_url = catalog_file_url(src or "")
    if src_url is None:
        return None
    return {
        "src": src_url,
        "thumbnail": catalog_file_url(thumbnail or ""),
        "width": width,
        "height": height,
        "alt": alt,
    }


def product_url(product_id: int) -> str:
    return route("storefront-product", product_id)


def category_url(category_id: int) -> str:
    return route("storefront-category", category_id)


def card_object(card: ProductCard) -> dict[str, Any]:
    """A product card from the catalog's card (thumbnail only: lists show small images)."""
    image = image_object(src=card.thumbnail, thumbnail=card.thumbnail, width=400, alt=card.title)
    return {
        "id": card.id,
        "title": card.title,
        "subtitle": card.subtitle,
        "url": product_url(card.id),
        "price_min": card.price_min_minor,
        "price_max": card.price_max_minor,
        "available": card.stock > 0,
        "image": image,
    }


def list_item_card(item: dict[str, Any]) -> dict[str, Any]:
    """A product card from an item of the catalog list's JSON (product_list_page)."""
    price = item.get("price") or {}
    thumbnail_url = item.get("thumbnail_url")
    return {
        "id": item["id"],
        "title": item["title"],
        "subtitle": item.get("subtitle", ""),
        "url": product_url(item["id"]),
        "price_min": price.get("min_minor"),
        "price_max": price.get("max_minor"),
        "available": int(item.get("stock") or 0) > 0,
        "image": None
        if thumbnail_url is None
        else {
            "src": thumbnail_url,
            "thumbnail": thumbnail_url,
            "width": 400,
            "height": None,
            "alt": item["title"],
        },
    }


def category_object(node: CategoryNode, *, depth: int = 2) -> dict[str, Any]:
    category = node.category
    return {
        "id": category.pk,
        "name": category.name,
        "url": category_url(category.pk),
        "image": None,
        "children": [category_object(child, depth=depth - 1) for child in node.children]
        if depth > 1
        else [],
    }


def category_find(nodes: Iterable[CategoryNode], category_id: int) -> CategoryNode | None:
    for node in nodes:
        if node.category.pk == category_id:
            return node
        found = category_find(node.children, category_id)
        if found is not None:
            return found
    return None


def variant_title(option_values: Sequence[dict[str, Any]]) -> str:
    return " / ".join(str(value["value"]) for value in option_values)


def product_object(detail: dict[str, Any]) -> dict[str, Any]:
    """A product from the catalog's detail data (product_detail_data)."""
    images = [
        {
            "src": image["url"],
            "thumbnail": image["thumbnail_url"],
            "width": image["width"],
            "height": image["height"],
            "alt": image["alt"] or detail["title"],
        }
        for image in detail["images"]
    ]
    variants = [
        {
            "id": sku["id"],
            "title": variant_title(sku["option_values"]) or detail["title"],
            "options": [str(value["value"]) for value in sku["option_values"]],
            "price": sku["price_minor"],
            "stock": sku["stock"],
            "available": sku["stock"] > 0,
        }
        for sku in detail["skus"]
    ]
    price = detail["price"] or {}
    category = detail["category"]
    return {
        "id": detail["id"],
        "title": detail["title"],
        "subtitle": detail["subtitle"],
        "description": detail["description"],
        "url": product_url(detail["id"]),
        "price_min": price.get("min_minor"),
        "price_max": price.get("max_minor"),
        "available": any(variant["available"] for variant in variants),
        "stock": detail["stock"],
        "image": images[0] if images else None,
        "images": images,
        "options": [
            {"name": option["name"], "values": [value["value"] for value in option["values"]]}
            for option in detail["options"]
        ],
        "variants": variants,
        "category": None
        if category is None
        else {
            "id": category["id"],
            "name": category["name"],
            "url": category_url(category["id"]),
            "image": None,
            "children": [],
        },
        "add_action": route("storefront-cart-add"),
    }


def pagination_object(
    *, page: int, per_page: int, count: int, url_for: Callable[[int], str]
) -> dict[str, Any]:
    pages = max(1, (count + per_page - 1) // per_page)
    return {
        "page": page,
        "pages": pages,
        "count": count,
        "previous_url": url_for(page - 1) if page > 1 else None,
        "next_url": url_for(page + 1) if page < pages else None,
    }
