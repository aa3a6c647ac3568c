"""Reads of products: storefront lists with search, filters and sorts; detail.

Price range and total stock are derived from the active SKUs. The model helpers read SKUs
prefetched into `active_skus` without more queries; the storefront's list reads the products'
cards (the price range and SKUs as of the last catalog write, shop.catalog.services.cards) and
adds the SKUs' live stock.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import EmptyResultSet
from django.core.files.storage import Storage
from django.db import connection, models
from django.db.models import (
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    TextChoices,
)

from infra.money import Money
from shop.catalog.errors import ProductNotFoundError
from shop.catalog.models import (
    Category,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    Sku,
    SkuOptionValue,
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


def categories_hidden() -> QuerySet[Category, int]:
    """Ids of the categories shoppers may not see: inactive, or under an inactive one.

    Uncorrelated with the products it filters, so PostgreSQL evaluates it once per query (a
    hashed subplan over the few categories), not once per product.
    """
    inactive_above = (
        Category.objects.filter(is_active=False)
        .annotate(below=ExpressionWrapper(OuterRef("path"), output_field=CharField()))
        .filter(below__startswith=F("path"))
    )
    return Category.objects.filter(Exists(inactive_above)).values_list("pk", flat=True)


def products_storefront(products: QuerySet[Product]) -> QuerySet[Product]:
    """Only what shoppers may see: on the shelf, not deleted, no inactive category above it."""
    return products.filter(on_shelf=True, deleted_at__isnull=True).exclude(
        category__in=categories_hidden()
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


def products_matching(
    *,
    query: str = "",
    category_id: int | None = None,
    min_price_minor: int | None = None,
    max_price_minor: int | None = None,
    in_stock: bool = False,
    sort: str = "",
    storefront: bool = True,
) -> QuerySet[Product]:
    """Products matching a search and filters, sorted (nothing prefetched).

    `query` finds Chinese (bigrams) and Latin words, all of them; `category_id` includes its
    descendants; the price bounds (minor units, inclusive) keep products with an active SKU in
    range; `sort` is one of product_sort_names() (default: relevance with a query, else newest).
    """
    # Model instances of a list need neither the description, the search columns nor the card
    # (the storefront's list reads cards in SQL): do not fetch them.
    products = Product.objects.filter(deleted_at__isnull=True).defer(
        "description", "search_text", "search_vector", "card"
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
    return products


def product_get(*, product_id: int, storefront: bool = True) -> Product:
    """A product with its options, active SKUs and images; ProductNotFoundError otherwise.

    On the storefront a product off the shelf, deleted or in an inactive category is not found.
    """
    products = Product.objects.filter(pk=product_id, deleted_at__isnull=True).defer(
        "search_text", "search_vector", "card"
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


# --- The storefront's reads as plain data: the API's JSON, without model instances or
# serializers (the list is the busiest read of a shop: it reads the products' cards, and its
# JSON is built as text). Fields are in the order of the API's documented serializers
# (shop.catalog.api.views), so the JSON is the same.


def _storage() -> Storage:
    """The storage of product images (the field's own, as FieldFile.url uses)."""
    return cast(models.FileField, ProductImage._meta.get_field("image")).storage


def _price_range_data(prices: list[int], currency: str, language: str) -> dict[str, Any] | None:
    if not prices:
        return None
    low, high = Money(min(prices), currency), Money(max(prices), currency)
    return {
        "currency": currency,
        "min_minor": low.minor,
        "max_minor": high.minor,
        "min_formatted": low.format(language),
        "max_formatted": high.format(language),
    }


def _skus_data(product_ids: list[int], *, detail: bool) -> dict[int, list[dict[str, Any]]]:
    """Active SKUs by product id, each with its option values (two queries; none without ids)."""
    if not product_ids:
        return {}
    extra = ("code", "list_price_minor", "weight_grams") if detail else ()
    skus = list(
        Sku.objects.filter(product_id__in=product_ids, is_active=True)
        .order_by("id")
        .values_list("id", "product_id", "price_minor", "stock", *extra)
    )
    if not skus:
        return {}
    values: dict[int, list[dict[str, Any]]] = {}
    for sku_id, option, value in (
        SkuOptionValue.objects.filter(sku_id__in=[row[0] for row in skus])
        .order_by("value__option__position", "value__option_id", "value_id")
        .values_list("sku_id", "value__option__name", "value__value")
    ):
        values.setdefault(sku_id, []).append({"option": option, "value": value})
    by_product: dict[int, list[dict[str, Any]]] = {}
    for row in skus:
        item: dict[str, Any] = {
            "id": row[0],
            "option_values": values.get(row[0], []),
            "price_minor": row[2],
            "stock": row[3],
        }
        if detail:
            item.update(code=row[4], list_price_minor=row[5], weight_grams=row[6])
        by_product.setdefault(row[1], []).append(item)
    return by_product


@dataclass(frozen=True)
class ProductPage:
    """A page of the storefront's product list: how many products match, the page's items."""

    count: int
    # The items as one JSON array, in the shape of the API's documented list item
    # (shop.catalog.api.views.ProductListApi.OutputSerializer).
    results_json: str


# One statement for a page of the list: how many products match, and the cards of the page's
# products, in the page's order, each with its SKUs' live stock merged in (cards never hold
# stock: shop.catalog.services.cards). Between the parts go the query of the matching products'
# ids (unordered, for the count) and the ordered one, then LIMIT and OFFSET; WITH ORDINALITY
# keeps the page's order. A page past the end is one row with the count and no product. The
# SKUs' JSON is built here, as text.
_PAGE_HEAD = """
SELECT matching.count, item.id, item.title, item.subtitle, item.price_min_minor,
       item.price_max_minor, item.thumbnail, item.stock, item.skus
FROM (SELECT count(*) FROM (
"""
_PAGE_MIDDLE = """
) AS matching_ids) AS matching (count)
LEFT JOIN LATERAL (
    SELECT page.position,
           product.id,
           (product.card -> 'title')::text,
           (product.card -> 'subtitle')::text,
           (product.card #>> '{price,min_minor}')::bigint,
           (product.card #>> '{price,max_minor}')::bigint,
           product.card ->> 'thumbnail',
           skus.stock,
           skus.items
    FROM unnest(ARRAY(
"""
_PAGE_TAIL = f"""
        LIMIT %s OFFSET %s
    )) WITH ORDINALITY AS page (id, position)
    JOIN "{Product._meta.db_table}" AS product ON product.id = page.id
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(sku.stock), 0),
               '[' || coalesce(string_agg(
                   '{{"id":' || sku.id
                   || ',"option_values":' || (card_sku.item -> 'option_values')::text
                   || ',"price_minor":' || (card_sku.item -> 'price_minor')::text
                   || ',"stock":' || sku.stock || '}}',
                   ',' ORDER BY card_sku.position
               ), '') || ']'
        FROM jsonb_array_elements(product.card -> 'skus')
            WITH ORDINALITY AS card_sku (item, position)
        JOIN "{Sku._meta.db_table}" AS sku
            ON sku.product_id = product.id AND sku.id = (card_sku.item ->> 'id')::bigint
    ) AS skus (stock, items)
) AS item (position, id, title, subtitle, price_min_minor, price_max_minor, thumbnail, stock, skus)
    ON true
ORDER BY item.position
"""


def _page_statement(
    query: str,
    category_id: int | None,
    min_price_minor: int | None,
    max_price_minor: int | None,
    in_stock: bool,
    sort: str,
) -> tuple[str, tuple[Any, ...]]:
    """The SQL of a page of products_matching() and its parameters (LIMIT and OFFSET to add)."""
    products = products_matching(
        query=query,
        category_id=category_id,
        min_price_minor=min_price_minor,
        max_price_minor=max_price_minor,
        in_stock=in_stock,
        sort=sort,
    )
    matching, matching_params = products.order_by().values_list("id").query.sql_with_params()
    ordered, ordered_params = products.values_list("id").query.sql_with_params()
    sql = _PAGE_HEAD + matching + _PAGE_MIDDLE + ordered + _PAGE_TAIL
    return sql, (*matching_params, *ordered_params)


# Building and compiling the queryset costs more than running the statement: the statements of
# the last searches and filters are kept, by their arguments. They hold no tenant (tables are
# found on the search path) and no time. Sorts that other apps register may (sales of the last
# days): those are built each time.
_page_statement_cached = functools.lru_cache(maxsize=256)(_page_statement)


def _prepared_rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of a statement that PostgreSQL keeps prepared on this connection.

    Parsing and planning the list's statement costs the database more than running it, on every
    request. Django turns psycopg's prepared statements off (its cursors bind parameters on the
    client, which never prepares); this one statement goes through a server-side binding cursor
    that prepares it, with preparing enabled only while it runs. Django's cursor wrapper stays
    around it (query logging and counting, error translation, execute wrappers). A prepared
    statement is parsed again when the search path changes, so a worker serving several shops
    reads each shop's tables; psycopg keeps at most prepared_max (100) of them per connection.
    """
    with connection.cursor() as cursor:  # connected, on this shop's search path
        database: psycopg.Connection[Any] = cursor.db.connection
        threshold = database.prepare_threshold
        database.prepare_threshold = 0
        try:
            with type(cursor)(psycopg.Cursor(database), cursor.db) as prepared:
                prepared.execute(sql, params)
                rows: list[tuple[Any, ...]] = prepared.fetchall()
                return rows
        finally:
            database.prepare_threshold = threshold


_OFFSET_MAX = 2**62


def _json(value: object) -> str:
    # As the API's JSON renderer writes it (compact, UTF-8).
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@functools.lru_cache(maxsize=4096)
def _price_range_json(low: int, high: int, currency: str, language: str) -> str:
    # Formatting with babel is the costly part of a list item; shops repeat their prices.
    return _json(_price_range_data([low, high], currency, language))


def product_list_page(
    *,
    query: str = "",
    category_id: int | None = None,
    min_price_minor: int | None = None,
    max_price_minor: int | None = None,
    in_stock: bool = False,
    sort: str = "",
    offset: int = 0,
    limit: int = 20,
    currency: str,
    language: str,
) -> ProductPage:
    """The storefront's products_matching() from `offset`, at most `limit` of them, as JSON.

    One query whatever the page size (none when a filter can match nothing, as an id beyond
    the column's range). Prices are formatted in `currency` and `language`.
    """
    statement = _page_statement if sort in _registered_sorts else _page_statement_cached
    try:
        sql, params = statement(
            query, category_id, min_price_minor, max_price_minor, in_stock, sort
        )
    except EmptyResultSet:
        return ProductPage(count=0, results_json="[]")
    # Past any catalog's end, every offset gives the same empty page (and fits the column type).
    rows = _prepared_rows(sql, [*params, limit, min(offset, _OFFSET_MAX)])
    storage = _storage()
    items = [
        f'{{"id":{product_id},"title":{title},"subtitle":{subtitle},'
        f'"price":{"null" if low is None else _price_range_json(low, high, currency, language)},'
        f'"stock":{stock},'
        f'"thumbnail_url":{"null" if thumbnail is None else _json(storage.url(thumbnail))},'
        f'"skus":{skus}}}'
        for _count, product_id, title, subtitle, low, high, thumbnail, stock, skus in rows
        if product_id is not None
    ]
    return ProductPage(count=rows[0][0], results_json=f"[{','.join(items)}]")


def product_detail_data(*, product_id: int, currency: str, language: str) -> dict[str, Any]:
    """A storefront product as the API shows it; ProductNotFoundError when shoppers may not see it.

    Six queries: product with category, SKUs, their option values, images, options, values.
    """
    row = (
        products_storefront(Product.objects.filter(pk=product_id))
        .values_list(
            "id",
            "title",
            "subtitle",
            "description",
            "category_id",
            "category__name",
            "category__slug",
        )
        .first()
    )
    if row is None:
        raise ProductNotFoundError()
    skus = _skus_data([product_id], detail=True).get(product_id, [])
    storage = _storage()
    images = [
        {
            "id": image_id,
            "url": storage.url(image),
            "thumbnail_url": storage.url(thumbnail),
            "width": width,
            "height": height,
            "alt": alt,
        }
        for image_id, image, thumbnail, width, height, alt in ProductImage.objects.filter(
            product_id=product_id
        )
        .order_by("position", "id")
        .values_list("id", "image", "thumbnail", "width", "height", "alt")
    ]
    option_rows = list(
        ProductOption.objects.filter(product_id=product_id)
        .order_by("position", "id")
        .values_list("id", "name")
    )
    values: dict[int, list[dict[str, Any]]] = {option_id: [] for option_id, _name in option_rows}
    if option_rows:
        for option_id, value_id, value in (
            ProductOptionValue.objects.filter(option_id__in=list(values), is_active=True)
            .order_by("position", "id")
            .values_list("option_id", "id", "value")
        ):
            values[option_id].append({"id": value_id, "value": value})
    options = [
        {"id": option_id, "name": name, "values": values[option_id]}
        for option_id, name in option_rows
    ]
    category_id = row[4]
    return {
        "id": row[0],
        "title": row[1],
        "subtitle": row[2],
        "description": row[3],
        "category": None
        if category_id is None
        else {"id": category_id, "name": row[5], "slug": row[6]},
        "price": _price_range_data([sku["price_minor"] for sku in skus], currency, language),
        "stock": sum(sku["stock"] for sku in skus),
        "images": images,
        "options": options,
        "skus": skus,
    }


@dataclass(frozen=True)
class ProductCard:
    """What a list shows of a product: its card (title, price range, thumbnail) and live stock."""

    id: int
    title: str
    subtitle: str
    price_min_minor: int | None
    price_max_minor: int | None
    thumbnail: str | None  # storage name
    stock: int


def product_cards_for(*, product_ids: Sequence[int]) -> list[ProductCard]:
    """The cards of the given products shoppers may see, in the order given (one query)."""
    wanted = list(dict.fromkeys(int(pk) for pk in product_ids))
    if not wanted:
        return []
    stock = (
        Sku.objects.filter(product=OuterRef("pk"), is_active=True)
        .order_by()
        .values("product")
        .annotate(total=models.Sum("stock"))
        .values("total")
    )
    rows = {
        row[0]: row
        for row in products_storefront(Product.objects.filter(pk__in=wanted))
        .annotate(stock_total=Subquery(stock))
        .values_list("id", "card", "stock_total")
    }
    cards = []
    for pk in wanted:
        if pk not in rows:
            continue
        _pk, card, stock_total = rows[pk]
        card = card or {}
        price = card.get("price") or {}
        cards.append(
            ProductCard(
                id=pk,
                title=str(card.get("title", "")),
                subtitle=str(card.get("subtitle", "")),
                price_min_minor=price.get("min_minor"),
                price_max_minor=price.get("max_minor"),
                thumbnail=card.get("thumbnail"),
                stock=int(stock_total or 0),
            )
        )
    return cards
