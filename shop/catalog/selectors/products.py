"""Reads of products: storefront lists with search, filters and sorts; detail.

Price range and total stock are derived from the active SKUs, never stored: the list prefetches
the active SKUs (into `active_skus`), and the helpers below read them without more queries.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import (
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
)

from shop.catalog.errors import ProductNotFoundError
from shop.catalog.models import (
    Category,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    Sku,
)
from shop.catalog.search import search_query_text

Ordering = Callable[[QuerySet[Product]], QuerySet[Product]]


class ProductSort(TextChoices):
    RELEVANCE = "relevance", "Relevance"
    NEWEST = "newest", "Newest"
    PRICE_ASC = "price_asc", "Price, low to high"
    PRICE_DESC = "price_desc", "Price, high to low"


# Sorts other apps add later (orders will register "sales"), by name.
_registered_sorts: dict[str, Ordering] = {}


def product_sort_register(*, name: str, ordering: Ordering) -> None:
    """Add a sort (the hook for "sales", once orders exist): `ordering` orders a queryset."""
    _registered_sorts[name] = ordering


def product_sort_names() -> list[str]:
    """Every sort a list accepts."""
    return [*ProductSort.values, *_registered_sorts]


def _newest(products: QuerySet[Product]) -> QuerySet[Product]:
    return products.order_by("-created_at", "-id")


def _price(products: QuerySet[Product], *, descending: bool) -> QuerySet[Product]:
    lowest = (
        Sku.objects.filter(product=OuterRef("pk"), is_active=True)
        .order_by("price_minor")
        .values("price_minor")[:1]
    )
    price = F("price_min_minor")
    order = price.desc(nulls_last=True) if descending else price.asc(nulls_last=True)
    return products.annotate(price_min_minor=Subquery(lowest)).order_by(order, "-created_at", "-id")


def products_storefront(products: QuerySet[Product]) -> QuerySet[Product]:
    """Only what shoppers may see: on the shelf, not deleted, no inactive category above it."""
    hiding = (
        Category.objects.filter(is_active=False)
        .annotate(
            product_path=ExpressionWrapper(OuterRef("category__path"), output_field=CharField())
        )
        .filter(product_path__startswith=F("path"))
    )
    return products.filter(on_shelf=True, deleted_at__isnull=True).filter(
        Q(category__isnull=True) | ~Exists(hiding)
    )


def products_with_offer(products: QuerySet[Product]) -> QuerySet[Product]:
    """Prefetch what a list item shows: active SKUs with option values, images."""
    return products.prefetch_related(
        Prefetch(
            "skus",
            queryset=Sku.objects.filter(is_active=True)
            .order_by("id")
            .prefetch_related(
                Prefetch(
                    "option_values",
                    queryset=ProductOptionValue.objects.select_related("option").order_by(
                        "option__position", "option__id"
                    ),
                )
            ),
            to_attr="active_skus",
        ),
        Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")),
    )


def product_list(
    *,
    query: str = "",
    category_id: int | None = None,
    min_price_minor: int | None = None,
    max_price_minor: int | None = None,
    in_stock: bool = False,
    sort: str = "",
    storefront: bool = True,
) -> QuerySet[Product]:
    """Products matching a search and filters, sorted, with their offer prefetched.

    `query` finds Chinese (bigrams) and Latin words, all of them; `category_id` includes its
    descendants; the price bounds (minor units, inclusive) keep products with an active SKU in
    range; `sort` is one of product_sort_names() (default: relevance with a query, else newest).
    """
    # A list shows neither the description nor the search columns: do not fetch them.
    products = Product.objects.filter(deleted_at__isnull=True).defer(
        "description", "search_text", "search_vector"
    )
    if storefront:
        products = products_storefront(products)
    search: SearchQuery | None = None
    if query.strip():
        search = SearchQuery(search_query_text(query), config="simple", search_type="plain")
        products = products.filter(search_vector=search)
    if category_id is not None:
        path = Category.objects.filter(pk=category_id).values("path")[:1]
        products = products.filter(category__path__startswith=Subquery(path))
    if min_price_minor is not None or max_price_minor is not None:
        priced = Sku.objects.filter(product=OuterRef("pk"), is_active=True)
        if min_price_minor is not None:
            priced = priced.filter(price_minor__gte=min_price_minor)
        if max_price_minor is not None:
            priced = priced.filter(price_minor__lte=max_price_minor)
        products = products.filter(Exists(priced))
    if in_stock:
        products = products.filter(
            Exists(Sku.objects.filter(product=OuterRef("pk"), is_active=True, stock__gt=0))
        )
    if sort in _registered_sorts:
        products = _registered_sorts[sort](products)
    elif sort == ProductSort.PRICE_ASC:
        products = _price(products, descending=False)
    elif sort == ProductSort.PRICE_DESC:
        products = _price(products, descending=True)
    elif search is not None and sort in ("", ProductSort.RELEVANCE):
        products = products.annotate(rank=SearchRank(F("search_vector"), search)).order_by(
            "-rank", "-created_at", "-id"
        )
    else:
        products = _newest(products)
    return products_with_offer(products)


def product_get(*, product_id: int, storefront: bool = True) -> Product:
    """A product with its options, active SKUs and images; ProductNotFoundError otherwise.

    On the storefront a product off the shelf, deleted or in an inactive category is not found.
    """
    products = Product.objects.filter(pk=product_id, deleted_at__isnull=True).defer(
        "search_text", "search_vector"
    )
    if storefront:
        products = products_storefront(products)
    product = (
        products_with_offer(products)
        .select_related("category")
        .prefetch_related(
            Prefetch(
                "options",
                queryset=ProductOption.objects.order_by("position", "id").prefetch_related(
                    Prefetch("values", queryset=ProductOptionValue.objects.filter(is_active=True))
                ),
            )
        )
        .first()
    )
    if product is None:
        raise ProductNotFoundError()
    return product


def product_active_skus(product: Product) -> list[Sku]:
    """The product's active SKUs (prefetched by the selectors above, else one query)."""
    skus: list[Sku] | None = getattr(product, "active_skus", None)
    if skus is None:
        skus = list(Sku.objects.filter(product=product, is_active=True).order_by("id"))
    return skus


def product_price_range(product: Product) -> tuple[int, int] | None:
    """(lowest, highest) price in minor units over the active SKUs; None without any."""
    prices = [sku.price_minor for sku in product_active_skus(product)]
    return (min(prices), max(prices)) if prices else None


def product_stock_total(product: Product) -> int:
    """Units in stock over the active SKUs."""
    return sum(sku.stock for sku in product_active_skus(product))
