"""Products' list cards: what the storefront list shows of a product, but its stock, in one row.

A card (Product.card, JSONB) is derived from the product's rows and rewritten by the catalog
services in the transaction of every change to them:

    {"title": "红色连衣裙", "subtitle": "夏季新款",
     "price": {"min_minor": 19900, "max_minor": 25900},    # over the active SKUs; null: none
     "thumbnail": "catalog/products/7/<name>-thumb.webp",  # storage name of the cover's
                                                           # thumbnail (first image); null: none
     "skus": [{"id": 31, "price_minor": 19900,             # the active SKUs, by id
               "option_values": [{"option": "颜色", "value": "红"}, ...]}, ...]}

Money is in minor units of the shop's currency; it is formatted when read, in the shop's
currency and language. Stock is not in the card: orders change it all the time (flash sales
make those rows hot), so the list merges the SKUs' live stock in when it reads the cards
(shop.catalog.selectors.products.product_list_page) and stock changes never rewrite a card.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import connection

from shop.catalog.cache import catalog_changed
from shop.catalog.lock_objects import products_lock
from shop.catalog.models import (
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    Sku,
    SkuOptionValue,
)

# Option values in the order of the options, then of the values' ids (as the detail shows them).
_CARD = f"""
UPDATE "{Product._meta.db_table}" AS product SET card = jsonb_build_object(
    'title', product.title,
    'subtitle', product.subtitle,
    'price', (
        SELECT CASE WHEN count(*) > 0 THEN jsonb_build_object(
            'min_minor', min(sku.price_minor), 'max_minor', max(sku.price_minor)
        ) END
        FROM "{Sku._meta.db_table}" AS sku
        WHERE sku.product_id = product.id AND sku.is_active
    ),
    'thumbnail', (
        SELECT image.thumbnail FROM "{ProductImage._meta.db_table}" AS image
        WHERE image.product_id = product.id
        ORDER BY image.position, image.id
        LIMIT 1
    ),
    'skus', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
            'id', sku.id,
            'price_minor', sku.price_minor,
            'option_values', coalesce((
                SELECT jsonb_agg(
                    jsonb_build_object('option', product_option.name, 'value', option_value.value)
                    ORDER BY product_option.position, product_option.id, option_value.id
                )
                FROM "{SkuOptionValue._meta.db_table}" AS chosen
                JOIN "{ProductOptionValue._meta.db_table}" AS option_value
                    ON option_value.id = chosen.value_id
                JOIN "{ProductOption._meta.db_table}" AS product_option
                    ON product_option.id = option_value.option_id
                WHERE chosen.sku_id = sku.id
            ), '[]'::jsonb)
        ) ORDER BY sku.id)
        FROM "{Sku._meta.db_table}" AS sku
        WHERE sku.product_id = product.id AND sku.is_active
    ), '[]'::jsonb)
)
WHERE product.id = ANY(%s)
"""


def product_cards_refresh(*, product_ids: Collection[int]) -> int:
    """Recompute the list cards of these products from their rows; how many were written.

    Every service that changes what a card holds (title, subtitle, options and their values,
    SKUs and their prices or activity, images) calls it in its transaction, after the change.
    """
    if not product_ids:
        return 0
    # Locked first, so that the card is computed by a statement that starts after every other
    # transaction refreshing these cards has committed, and sees that one's changes too.
    ids = products_lock(product_ids=product_ids)
    with connection.cursor() as cursor:
        cursor.execute(_CARD, [ids])
        written = int(cursor.rowcount)
    catalog_changed()  # after the write: outside a transaction the bump runs at once
    return written
