"""Reads of the merchant console's catalog pages: every product that is not deleted, on the shelf
or off it, with the figures a merchant works by (price range, stock, SKU count, cover).

The list searches with the storefront's selector (products_matching: bigram search, category
subtree, price sorts) and adds the console's own filters and sorts. A page of it costs the same
number of queries whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.core.files.storage import Storage
from django.db import models
from django.db.models import (
    Count,
    Exists,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextChoices,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from infra.money import Money
from shop.catalog.errors import ProductNotFoundError
from shop.catalog.models import (
    Category,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    Sku,
)
from shop.catalog.selectors.categories import CategoryNode, category_tree
from shop.catalog.selectors.products import ProductSort, products_matching

# A SKU with this many units or fewer (and at least one) is running low.
LOW_STOCK_THRESHOLD = 5


class ShelfFilter(TextChoices):
    ON = "on", _("On the shelf")
    OFF = "off", _("Off the shelf")


class StockFilter(TextChoices):
    IN_STOCK = "in_stock", _("In stock")
    LOW = "low", _("Running low (a SKU with 5 or fewer)")
    OUT = "out", _("Sold out (a SKU with none)")


class ConsoleSort(TextChoices):
    RELEVANCE = "relevance", _("Best match")
    NEWEST = "newest", _("Newest first")
    UPDATED = "updated", _("Recently changed")
    TITLE = "title", _("Title")
    PRICE_ASC = "price_asc", _("Price, low to high")
    PRICE_DESC = "price_desc", _("Price, high to low")
    STOCK_ASC = "stock_asc", _("Stock, lowest first")


# id, title, subtitle, on_shelf, category name, updated_at
ConsoleRow = tuple[int, str, str, bool, str | None, datetime]
ConsoleRows = QuerySet[Product, ConsoleRow]


def _active_skus() -> QuerySet[Sku]:
    return Sku.objects.filter(product=OuterRef("pk"), is_active=True)


def product_console_rows(
    *,
    query: str = "",
    category_id: int | None = None,
    shelf: str = "",
    stock: str = "",
    sort: str = "",
) -> ConsoleRows:
    """Products that are not deleted, searched, filtered and sorted, as rows to page through.

    `query` finds Chinese (bigrams) and Latin words as the storefront does; `category_id`
    includes its descendants; `shelf` is a ShelfFilter, `stock` a StockFilter, `sort` a
    ConsoleSort (default: best match with a query, else newest); unknown values are ignored.
    """
    storefront_sort = sort if sort in (ProductSort.PRICE_ASC, ProductSort.PRICE_DESC) else ""
    if sort and sort != ConsoleSort.RELEVANCE and not storefront_sort:
        storefront_sort = ProductSort.NEWEST
    products = products_matching(
        query=query,
        category_id=category_id,
        in_stock=stock == StockFilter.IN_STOCK,
        sort=storefront_sort,
        storefront=False,
    )
    if shelf == ShelfFilter.ON:
        products = products.filter(on_shelf=True)
    elif shelf == ShelfFilter.OFF:
        products = products.filter(on_shelf=False)
    if stock == StockFilter.LOW:
        products = products.filter(
            Exists(_active_skus().filter(stock__gt=0, stock__lte=LOW_STOCK_THRESHOLD))
        )
    elif stock == StockFilter.OUT:
        products = products.filter(Exists(_active_skus().filter(stock=0)))
    if sort == ConsoleSort.UPDATED:
        products = products.order_by("-updated_at", "-id")
    elif sort == ConsoleSort.TITLE:
        products = products.order_by("title", "id")
    elif sort == ConsoleSort.STOCK_ASC:
        total = (
            _active_skus().order_by().values("product").annotate(total=Sum("stock")).values("total")
        )
        products = products.annotate(stock_total=Coalesce(Subquery(total), 0)).order_by(
            "stock_total", "-id"
        )
    return products.values_list(
        "id", "title", "subtitle", "on_shelf", "category__name", "updated_at"
    )


@dataclass(frozen=True)
class ConsoleProductItem:
    """One line of the console's product list."""

    id: int
    title: str
    subtitle: str
    on_shelf: bool
    category_name: str | None
    updated_at: datetime
    sku_count: int
    stock: int
    # SKUs with LOW_STOCK_THRESHOLD units or fewer, sold out included.
    low_stock_skus: int
    price_min: str | None
    price_max: str | None
    thumbnail_url: str | None


def _storage() -> Storage:
    return cast(models.FileField, ProductImage._meta.get_field("thumbnail")).storage


def product_console_items(
    rows: Sequence[ConsoleRow], *, currency: str, language: str
) -> list[ConsoleProductItem]:
    """A page of product_console_rows() with SKU figures and cover thumbnails.

    Two queries whatever the page size (the active SKUs' figures, the covers); none when empty.
    Prices are formatted for `language` from minor units of `currency`.
    """
    ids = [row[0] for row in rows]
    if not ids:
        return []
    figures = {
        entry["product_id"]: entry
        for entry in Sku.objects.filter(product_id__in=ids, is_active=True)
        .order_by()
        .values("product_id")
        .annotate(
            count=Count("id"),
            low=Count("id", filter=Q(stock__lte=LOW_STOCK_THRESHOLD)),
            stock_total=Sum("stock"),
            low_price=Min("price_minor"),
            high_price=Max("price_minor"),
        )
    }
    storage = _storage()
    covers = {
        product_id: storage.url(thumbnail)
        for product_id, thumbnail in ProductImage.objects.filter(product_id__in=ids)
        .order_by("product_id", "position", "id")
        .distinct("product_id")
        .values_list("product_id", "thumbnail")
    }
    items = []
    for product_id, title, subtitle, on_shelf, category_name, updated_at in rows:
        entry = figures.get(product_id)
        items.append(
            ConsoleProductItem(
                id=product_id,
                title=title,
                subtitle=subtitle,
                on_shelf=on_shelf,
                category_name=category_name,
                updated_at=updated_at,
                sku_count=entry["count"] if entry else 0,
                stock=entry["stock_total"] if entry else 0,
                low_stock_skus=entry["low"] if entry else 0,
                price_min=Money(entry["low_price"], currency).format(language) if entry else None,
                price_max=Money(entry["high_price"], currency).format(language) if entry else None,
                thumbnail_url=covers.get(product_id),
            )
        )
    return items


def product_console_get(*, product_id: int) -> Product:
    """A product that is not deleted (on the shelf or off), with its category, options and
    their active values, every SKU with its option values, and images; else ProductNotFoundError.
    """
    product = (
        Product.objects.filter(pk=product_id, deleted_at__isnull=True)
        .defer("search_text", "search_vector")
        .select_related("category")
        .prefetch_related(
            Prefetch(
                "options",
                queryset=ProductOption.objects.order_by("position", "id").prefetch_related(
                    Prefetch(
                        "values",
                        queryset=ProductOptionValue.objects.filter(is_active=True).order_by(
                            "position", "id"
                        ),
                    )
                ),
            ),
            Prefetch(
                "skus",
                queryset=Sku.objects.order_by("id").prefetch_related(
                    Prefetch(
                        "option_values",
                        queryset=ProductOptionValue.objects.select_related("option").order_by(
                            "option__position", "option__id"
                        ),
                    )
                ),
            ),
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")),
        )
        .first()
    )
    if product is None:
        raise ProductNotFoundError()
    return product


def product_console_skus(product: Product) -> list[Sku]:
    """The SKUs of the product's current combinations, active or switched off by the merchant.

    SKUs whose combination the options no longer have stay in the database for the orders that
    reference them, but are not the merchant's to edit. Reads what product_console_get fetched.
    """
    return [
        sku
        for sku in product.skus.all()
        if all(value.is_active for value in sku.option_values.all())
    ]


def product_option_specs(product: Product) -> list[tuple[str, list[str]]]:
    """The product's options and their active values, in order (from product_console_get)."""
    specs = []
    for option in product.options.all():
        values = [value.value for value in option.values.all()]
        if values:
            specs.append((option.name, values))
    return specs


@dataclass(frozen=True)
class CategoryEntry:
    """A category in tree order, with its depth (0 at the top) and its path of names."""

    category: Category
    depth: int
    path: str
    product_count: int


def category_entries() -> list[CategoryEntry]:
    """Every category, active or not, in tree order (depth first, by position), with the number
    of its own products that are not deleted. Two queries."""
    counts = dict(
        Product.objects.filter(deleted_at__isnull=True, category__isnull=False)
        .order_by()
        .values("category_id")
        .annotate(count=Count("id"))
        .values_list("category_id", "count")
    )
    entries: list[CategoryEntry] = []

    def _walk(nodes: list[CategoryNode], depth: int, prefix: str) -> None:
        for node in nodes:
            category = node.category
            path = f"{prefix}{category.name}"
            entries.append(CategoryEntry(category, depth, path, counts.get(category.pk, 0)))
            _walk(node.children, depth + 1, f"{path} / ")

    _walk(category_tree(active_only=False), 0, "")
    return entries


def category_choices() -> list[tuple[int, str]]:
    """(id, path of names) of every category, in tree order, from one query."""
    choices: list[tuple[int, str]] = []

    def _walk(nodes: list[CategoryNode], prefix: str) -> None:
        for node in nodes:
            choices.append((node.category.pk, f"{prefix}{node.category.name}"))
            _walk(node.children, f"{prefix}{node.category.name} / ")

    _walk(category_tree(active_only=False), "")
    return choices


def category_next_position(*, parent: Category | None) -> int:
    """The position after the last child of `parent` (None: the top level)."""
    last = Category.objects.filter(parent=parent).aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1
