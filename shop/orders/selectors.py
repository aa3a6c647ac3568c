"""Reads of carts and orders; a member only ever sees their own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from shop.catalog.selectors.skus import SaleSku, skus_for_sale
from shop.core.selectors import shop_context
from shop.customers.models import Member
from shop.orders.errors import AfterSaleNotFoundError, OrderNotFoundError
from shop.orders.models import (
    OPEN_AFTER_SALE,
    AfterSale,
    AfterSaleLine,
    CartItem,
    Order,
    OrderLine,
    OrderStatus,
    OrderTransition,
)


def cart_items(*, member: Member) -> list[tuple[CartItem, SaleSku | None]]:
    """The member's cart lines with their SKUs as for sale now (None: the SKU is gone)."""
    items = list(CartItem.objects.filter(member=member).order_by("-added_at", "-id"))
    skus = skus_for_sale(sku_ids=[item.sku_id for item in items])
    return [(item, skus.get(item.sku_id)) for item in items]


def cart_item_buyable(item: CartItem, sku: SaleSku | None) -> bool:
    """Whether a cart line can be bought now: its SKU is for sale with the units in stock."""
    return sku is not None and sku.for_sale and sku.stock >= item.quantity


def cart_units(*, member: Member) -> int:
    """How many units the member's cart holds (one query)."""
    total = CartItem.objects.filter(member=member).aggregate(units=Sum("quantity"))["units"]
    return int(total or 0)


def order_status_counts_of(*, member: Member) -> dict[str, int]:
    """How many orders the member has in each status (one query)."""
    rows = Order.objects.filter(member=member).values("status").annotate(count=Count("id"))
    return {row["status"]: row["count"] for row in rows.order_by()}


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
    """Orders for the merchant's list, newest first, lines prefetched (one query per page):
    by status, by number (its start), recipient or tracking number, by creation day (from and
    to, both included, in the shop's time zone)."""
    orders = Order.objects.all()
    if status:
        orders = orders.filter(status=status)
    query = query.strip()
    if query:
        orders = orders.filter(
            Q(number__startswith=query) | Q(recipient_name=query) | Q(tracking_number=query)
        )
    zone = shop_context().time_zone
    if created_from:
        orders = orders.filter(created_at__gte=datetime.combine(created_from, time.min, zone))
    if created_to:
        next_day = datetime.combine(created_to + timedelta(days=1), time.min, zone)
        orders = orders.filter(created_at__lt=next_day)
    return orders.prefetch_related("lines").order_by("-created_at", "-id")


def order_get(*, order_id: int) -> Order:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise OrderNotFoundError()
    return order


def order_status_counts() -> dict[str, int]:
    """How many orders are in each status (every status, 0 included); one query."""
    counts = dict(Order.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in OrderStatus.values}


def after_sales_open() -> QuerySet[AfterSale]:
    return AfterSale.objects.filter(
        status__in=[AfterSale.Status.REQUESTED, AfterSale.Status.RETURN_SHIPPED]
    ).select_related("order")


def order_console_get(*, order_id: int) -> Order:
    """One order for the merchant's page with its lines, its status changes and its after-sale
    requests (with their lines) prefetched; OrderNotFoundError when there is none."""
    order = (
        Order.objects.filter(pk=order_id)
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("id")),
            Prefetch("transitions", queryset=OrderTransition.objects.order_by("id")),
            Prefetch(
                "after_sales",
                queryset=AfterSale.objects.order_by("-created_at", "-id").prefetch_related(
                    Prefetch(
                        "lines",
                        queryset=AfterSaleLine.objects.select_related("order_line").order_by("id"),
                    )
                ),
            ),
        )
        .first()
    )
    if order is None:
        raise OrderNotFoundError()
    return order


def after_sale_pending(*, order: Order) -> dict[int, tuple[int, int]]:
    """(units, amount) of each line held by the order's open after-sale requests; one query."""
    return {
        line_id: (quantity, amount)
        for line_id, quantity, amount in AfterSaleLine.objects.filter(
            after_sale__order=order, after_sale__status__in=OPEN_AFTER_SALE
        )
        .values("order_line_id")
        .annotate(quantity=Sum("quantity"), amount=Sum("amount_minor"))
        .values_list("order_line_id", "quantity", "amount")
    }


def order_lines_refundable(*, order: Order) -> dict[int, int]:
    """Units of each line that may still be refunded: bought, less refunded, less those of open
    after-sale requests (by line id); one query. Lines must be prefetched or are read."""
    pending = after_sale_pending(order=order)
    return {
        line.pk: max(line.quantity - line.refunded_quantity - pending.get(line.pk, (0, 0))[0], 0)
        for line in order.lines.all()
    }


def after_sales_for_console(*, statuses: Sequence[str]) -> QuerySet[AfterSale]:
    """After-sale requests in `statuses`, oldest first (first come, first served), with their
    order and their lines prefetched: two queries a page."""
    return (
        AfterSale.objects.filter(status__in=list(statuses))
        .select_related("order")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=AfterSaleLine.objects.select_related("order_line").order_by("id"),
            )
        )
        .order_by("created_at", "id")
    )


def after_sale_counts() -> dict[str, int]:
    """How many after-sale requests are in each status (every status, 0 included); one query."""
    counts = dict(AfterSale.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in AfterSale.Status.values}


def after_sale_get(*, after_sale_id: int) -> AfterSale:
    """One after-sale request; AfterSaleNotFoundError when there is none."""
    after_sale = AfterSale.objects.filter(pk=after_sale_id).first()
    if after_sale is None:
        raise AfterSaleNotFoundError()
    return after_sale
