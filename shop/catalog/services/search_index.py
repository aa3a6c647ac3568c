"""Keeping products' search text and vector current (the services call it after each change)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.postgres.search import SearchVector
from django.db.models import Prefetch, QuerySet, Value

from shop.catalog.cache import catalog_changed
from shop.catalog.models import Product, ProductOption, ProductOptionValue
from shop.catalog.search import search_document


def _indexed(products: QuerySet[Product]) -> QuerySet[Product]:
    return products.select_related("category").prefetch_related(
        Prefetch(
            "options",
            queryset=ProductOption.objects.prefetch_related(
                Prefetch("values", queryset=ProductOptionValue.objects.filter(is_active=True))
            ),
        )
    )


def _product_index(product: Product) -> None:
    values = [value.value for option in product.options.all() for value in option.values.all()]
    category = product.category.name if product.category is not None else ""
    rest = [product.subtitle, *values, category]
    # Title tokens weigh A, the rest D: a title match ranks first.
    Product.objects.filter(pk=product.pk).update(
        search_text=" ".join(part for part in [product.title, *rest] if part),
        search_vector=SearchVector(
            Value(search_document([product.title])), config="simple", weight="A"
        )
        + SearchVector(Value(search_document(rest)), config="simple", weight="D"),
    )


def products_search_index_update(*, products: QuerySet[Product] | Iterable[Product]) -> int:
    """Recompute search_text and search_vector of these products; how many were indexed."""
    if not isinstance(products, QuerySet):
        products = Product.objects.filter(pk__in=[product.pk for product in products])
    count = 0
    for product in _indexed(products):
        _product_index(product)
        count += 1
    if count:
        catalog_changed()  # after the writes: outside a transaction the bump runs at once
    return count


def product_search_index_update(*, product: Product) -> None:
    """Recompute one product's search text and vector (after its words changed)."""
    products_search_index_update(products=Product.objects.filter(pk=product.pk))
