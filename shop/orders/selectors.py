"""Reads of carts and orders; a member only ever sees their own."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from shop.catalog.selectors.skus import SaleSku, skus_for_sale
from shop.customers.models import Member
from shop.orders.errors import AfterSaleNotFoundError, OrderNotFoundError
from shop.orders.models import AfterSale, CartItem, Order, OrderStatus


def cart_items(*, member: Member) -> list[tuple[CartItem, SaleSku | None]]:
    """The member's cart lines with their SKUs as for sale now (None: the SKU is gone)."""
    items = list(CartItem.objects.filter(member=member).order_by("-added_at", "-id"))
    skus = skus_for_sale(sku_ids=[item.sku_id for item in items])
    return [(item, skus.get(item.sku_id)) for item in items]


def member_orders(*, member: Member, status: str | None = None) -> QuerySet[Order]:
    orders = Order.objects.filter(member=member).prefetch_related("lines")
    return orders.filter(status=status) if status else orders


def member_order_get(*, member: Member, number: str) -> Order:
    order = Order.objects.filter(member=member, number=number).first()
    if order is None:
        raise OrderNotFoundError()
    return order


def member_after_sale_get(*, member: Member, after_sale_id: int) -> AfterSale:
    after_sale = AfterSale.objects.filter(pk=after_sale_id, order__member=member).first()
    if after_sale is None:
        raise AfterSaleNotFoundError()
    return after_sale


def orders_for_console(
    *,
    status: str | None = None,
    query: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
) -> QuerySet[Order]:
    """Orders for the merchant's list: by status, number or recipient, creation dates."""
    orders = Order.objects.all()
    if status:
        orders = orders.filter(status=status)
    query = query.strip()
    if query:
        orders = orders.filter(
            Q(number__startswith=query) | Q(recipient_name=query) | Q(tracking_number=query)
        )
    if created_from:
        orders = orders.filter(created_at__date__gte=created_from)
    if created_to:
        orders = orders.filter(created_at__date__lte=created_to)
    return orders.order_by("-created_at", "-id")


def order_get(*, order_id: int) -> Order:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise OrderNotFoundError()
    return order


def order_status_counts() -> dict[str, int]:
    from django.db.models import Count

    counts = dict(Order.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in OrderStatus.values}


def after_sales_open() -> QuerySet[AfterSale]:
    return AfterSale.objects.filter(
        status__in=[AfterSale.Status.REQUESTED, AfterSale.Status.RETURN_SHIPPED]
    ).select_related("order")
