"""Row and advisory locks of the catalog (ARCHITECTURE §2: select_for_update lives here)."""

from __future__ import annotations

import zlib
from collections.abc import Collection

from django.db import connection

from infra.db import schema_connection
from shop.catalog.models import Product


def category_tree_lock() -> None:
    """Serialize changes of the tree's shape in this shop until the transaction ends.

    Moves are rare; holding one lock per shop is what makes the cycle check safe when two moves
    of unrelated categories would otherwise close a loop together.
    """
    key = zlib.crc32(f"catalog.category_tree:{schema_connection().schema_name}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7501, key - 2**31])


def product_lock(*, product_id: int) -> Product:
    """The product row, locked: its options and SKUs change under this lock."""
    return Product.objects.select_for_update().get(pk=product_id)


def products_lock(*, product_ids: Collection[int]) -> list[int]:
    """The ids of these products that exist, their rows locked (in id order: no deadlock)."""
    return list(
        Product.objects.select_for_update()
        .filter(pk__in=list(product_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def shipping_default_lock() -> None:
    """Serialize changes of the shop's default shipping template until the transaction ends
    (clearing the old default and setting the new one must not interleave with another's)."""
    key = zlib.crc32(f"catalog.shipping_default:{schema_connection().schema_name}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7502, key - 2**31])
