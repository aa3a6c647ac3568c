"""Reads of shipping templates for the console: the list, one template, its products."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from shop.catalog.errors import ShippingTemplateNotFoundError
from shop.catalog.models import Product, ShippingRegionRule, ShippingTemplate

PRODUCT_SEARCH_LIMIT = 50


def shipping_templates_for_console() -> QuerySet[ShippingTemplate]:
    """Every template, the default first, with its rules and `product_count` (products not
    deleted that name it); two queries."""
    return (
        ShippingTemplate.objects.annotate(
            product_count=Count("products", filter=Q(products__deleted_at__isnull=True))
        )
        .prefetch_related(
            Prefetch("rules", queryset=ShippingRegionRule.objects.order_by("position", "id"))
        )
        .order_by("-is_default", "name", "id")
    )


def shipping_template_choices() -> list[tuple[int, str]]:
    """(id, name) of every template, the default first (for a product's choice)."""
    return list(
        ShippingTemplate.objects.order_by("-is_default", "name", "id").values_list("id", "name")
    )


def shipping_template_get(*, template_id: int) -> ShippingTemplate:
    """One template with its rules; ShippingTemplateNotFoundError when there is none."""
    template = (
        ShippingTemplate.objects.prefetch_related(
            Prefetch("rules", queryset=ShippingRegionRule.objects.order_by("position", "id"))
        )
        .filter(pk=template_id)
        .first()
    )
    if template is None:
        raise ShippingTemplateNotFoundError()
    return template


def shipping_template_products(*, template: ShippingTemplate) -> QuerySet[Product]:
    """The products (not deleted) charged by `template`, by title."""
    return (
        Product.objects.filter(shipping_template=template, deleted_at__isnull=True)
        .only("id", "title", "on_shelf", "shipping_template_id")
        .order_by("title", "id")
    )


def products_for_shipping_choice(*, query: str, limit: int = PRODUCT_SEARCH_LIMIT) -> list[Product]:
    """Products (not deleted) whose title contains `query`, with their current template; one
    query. Nothing for a blank query."""
    query = query.strip()
    if not query:
        return []
    return list(
        Product.objects.filter(title__icontains=query, deleted_at__isnull=True)
        .select_related("shipping_template")
        .only("id", "title", "on_shelf", "shipping_template__id", "shipping_template__name")
        .order_by("title", "id")[:limit]
    )
