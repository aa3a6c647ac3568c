"""Stock per SKU, changed only by conditional UPDATEs: never read, check, then write.

`UPDATE … SET stock = stock + delta WHERE id = … AND stock + delta >= 0` is atomic in
PostgreSQL: concurrent buyers of the last unit queue on the row and each re-evaluates the
condition on the latest version, so stock never goes below zero (the CHECK constraint would
refuse it anyway).
"""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext as _

from infra.errors import ValidationFailed
from shop.catalog.cache import catalog_changed
from shop.catalog.errors import OutOfStockError, SkuNotFoundError
from shop.catalog.models import Sku

_TABLE = Sku._meta.db_table


def _stock_add(*, sku_id: int, delta: int, active_only: bool = False) -> int | None:
    """Add `delta` when the result stays >= 0; the new stock, or None when refused."""
    condition = " AND is_active" if active_only else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{_TABLE}" SET stock = stock + %s, updated_at = now() '
            f"WHERE id = %s AND stock + %s >= 0{condition} RETURNING stock",
            [delta, sku_id, delta],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    catalog_changed()  # after the UPDATE: outside a transaction the bump runs at once
    return int(row[0])


def sku_stock_set(*, sku: Sku, stock: int) -> Sku:
    """Set a SKU's stock to a counted figure (an inventory count, an import)."""
    if stock < 0:
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={"stock": [{"code": "min_value", "message": _("Use a stock of at least 0.")}]},
        )
    if Sku.objects.filter(pk=sku.pk).update(stock=stock) == 0:
        raise SkuNotFoundError()
    catalog_changed()
    sku.stock = stock
    return sku


def sku_stock_adjust(*, sku: Sku, delta: int) -> Sku:
    """Add `delta` units (negative: remove); OutOfStockError when fewer than -delta are left."""
    stock = _stock_add(sku_id=sku.pk, delta=delta)
    if stock is None:
        if not Sku.objects.filter(pk=sku.pk).exists():
            raise SkuNotFoundError()
        raise OutOfStockError(_("Sold out: not enough stock left."))
    sku.stock = stock
    return sku


def sku_stock_reserve(*, sku_id: int, quantity: int) -> bool:
    """Take `quantity` units of an active SKU for an order; False when not enough are left."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    return _stock_add(sku_id=sku_id, delta=-quantity, active_only=True) is not None


def sku_stock_release(*, sku_id: int, quantity: int) -> None:
    """Give back `quantity` reserved units (order cancelled, refunded, returned)."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    if _stock_add(sku_id=sku_id, delta=quantity) is None:
        raise SkuNotFoundError()
