"""Row locks of orders (ARCHITECTURE §2: select_for_update lives here)."""

from __future__ import annotations

from shop.orders.errors import AfterSaleNotFoundError, OrderNotFoundError
from shop.orders.models import AfterSale, Order


def order_lock(*, order_id: int) -> Order:
    """The order row, locked until the transaction ends (after-sales and refunds queue on it)."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise OrderNotFoundError()
    return order


def after_sale_lock(*, after_sale_id: int) -> AfterSale:
    after_sale = AfterSale.objects.select_for_update().filter(pk=after_sale_id).first()
    if after_sale is None:
        raise AfterSaleNotFoundError()
    return after_sale
