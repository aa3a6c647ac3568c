"""Checkout: one transaction creates the order, its line snapshots and reserves the stock.

Stock is taken with conditional UPDATEs (shop.catalog.services.stock) after the order rows are
written, SKUs in id order (two checkouts of the same SKUs never deadlock), so each SKU's row lock
is held only for the end of the transaction. A SKU that lacks stock fails the whole checkout with
`sold_out` and rolls everything back: nothing is reserved, no order exists.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.catalog.selectors.skus import SaleSku, skus_for_sale
from shop.catalog.services.stock import sku_stock_reserve
from shop.core.selectors import shop_context, shop_profile_get
from shop.customers.models import Member
from shop.customers.selectors.addresses import address_get
from shop.events.services import event_record
from shop.orders.errors import (
    CartEmptyError,
    QuantityInvalidError,
    SkuNotForSaleError,
    SoldOutError,
)
from shop.orders.models import (
    CartItem,
    Order,
    OrderLine,
    OrderStatus,
    OrderTransition,
    OrderType,
)
from shop.orders.pricing import PricingContext, Quote, QuoteLine, quote_compute
from shop.orders.services.transitions import order_event_payload

MAX_QUANTITY = 999
MAX_LINES = 100


@dataclass(frozen=True)
class CheckoutItem:
    sku_id: int
    quantity: int
    referral_code: str = ""
    referral_link: str = ""


@dataclass(frozen=True)
class Client:
    """Where the request came from (risk control keeps it on the order)."""

    channel: str = "h5"
    device_id: str = ""
    ip: str | None = None
    user_agent: str = ""


def quote_lines(items: list[CheckoutItem]) -> list[QuoteLine]:
    """The items as priced lines; sku_not_for_sale / quantity_invalid when some cannot be bought."""
    if not items:
        raise CartEmptyError()
    if len(items) > MAX_LINES:
        raise QuantityInvalidError(_("An order holds at most 100 different items."))
    merged: dict[int, CheckoutItem] = {}
    for item in items:
        if not 1 <= item.quantity <= MAX_QUANTITY:
            raise QuantityInvalidError()
        if item.sku_id in merged:
            first = merged[item.sku_id]
            item = CheckoutItem(
                item.sku_id,
                first.quantity + item.quantity,
                first.referral_code or item.referral_code,
                first.referral_link or item.referral_link,
            )
            if item.quantity > MAX_QUANTITY:
                raise QuantityInvalidError()
        merged[item.sku_id] = item
    skus = skus_for_sale(sku_ids=merged)
    unavailable = [sku_id for sku_id in merged if sku_id not in skus or not skus[sku_id].for_sale]
    if unavailable:
        raise SkuNotForSaleError(
            fields={
                "sku_ids": [
                    {"code": "sku_not_for_sale", "message": ", ".join(str(i) for i in unavailable)}
                ]
            }
        )
    return [
        QuoteLine(
            sku=skus[item.sku_id],
            quantity=item.quantity,
            referral_code=item.referral_code[:64],
            referral_link=item.referral_link[:500],
        )
        for item in merged.values()
    ]


def order_quote(
    *,
    member: Member | None,
    items: list[CheckoutItem],
    province: str | None,
    requests: dict[str, Any] | None = None,
) -> Quote:
    """The price of `items` for `member` shipped to `province` (None: shipping not yet known)."""
    context = PricingContext(
        member_id=member.pk if member else None,
        currency=shop_context().currency,
        province=province,
        requests=requests or {},
    )
    return quote_compute(lines=quote_lines(items), context=context)


def _order_number() -> str:
    """YYYYMMDD (shop's date) and 10 random digits: not guessable, not counting orders."""
    today = timezone.localtime(timezone.now(), shop_context().time_zone).date()
    return f"{today:%Y%m%d}{secrets.randbelow(10**10):010d}"


def _sold_out(sku: SaleSku) -> SoldOutError:
    return SoldOutError(
        _("Sold out: not enough stock left of %(title)s.") % {"title": sku.title},
        fields={"sku_ids": [{"code": "sold_out", "message": str(sku.id)}]},
    )


@transaction.atomic
def order_checkout(
    *,
    member: Member,
    items: list[CheckoutItem],
    address_id: int,
    buyer_note: str = "",
    client: Client | None = None,
    requests: dict[str, Any] | None = None,
    from_cart: bool = False,
    referral_code: str = "",
) -> Order:
    """Create the member's order for `items` to the address, reserving stock; pending payment.

    `referral_code`: a distributor's code the buyer typed (推荐码), kept on the order and in its
    events; whether it names a distributor is the distribution's business, not checkout's.
    """
    client = client or Client()
    address = address_get(member=member, address_id=address_id)
    quote = order_quote(member=member, items=items, province=address.province, requests=requests)
    now = timezone.now()
    profile = shop_profile_get()
    fields = {
        "member": member,
        "order_type": OrderType.NORMAL,
        "currency": quote.currency,
        "items_minor": quote.items_minor,
        "discount_minor": quote.discount_minor,
        "shipping_minor": quote.shipping_minor,
        "total_minor": quote.total_minor,
        "recipient_name": address.recipient_name,
        "recipient_phone_encrypted": address.phone_encrypted,
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "address_detail": address.detail,
        "postal_code": address.postal_code,
        "buyer_note": buyer_note.strip()[:200],
        "referral_code": referral_code.strip()[:64],
        "channel": client.channel[:16],
        "device_id": client.device_id[:128],
        "ip": client.ip,
        "user_agent": client.user_agent[:512],
        "pay_deadline": now + timedelta(minutes=profile.unpaid_order_timeout_minutes),
    }
    for attempt in range(5):
        try:
            with transaction.atomic():
                order = Order.objects.create(number=_order_number(), **fields)
            break
        except IntegrityError:
            if attempt == 4:
                raise
    lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                sku_id=line.sku.id,
                product_id=line.sku.product_id,
                sku_code=line.sku.code,
                title=line.sku.title,
                options=line.sku.options,
                image=line.sku.image,
                unit_price_minor=line.sku.price_minor,
                quantity=line.quantity,
                discount_minor=line.discount_minor,
                paid_minor=line.paid_minor,
                weight_grams=line.sku.weight_grams,
                shipping_template_id=line.sku.shipping_template_id,
                referral_code=line.referral_code,
                referral_link=line.referral_link,
            )
            for line in quote.lines
        ]
    )
    OrderTransition.objects.create(
        order=order,
        from_status="",
        to_status=OrderStatus.PENDING_PAYMENT,
        actor=f"member:{member.pk}",
    )
    payload = order_event_payload(order, lines)
    payload["adjustments"] = [
        {"code": a.code, "ref": a.ref, "amount_minor": a.amount_minor} for a in quote.adjustments
    ]
    event_record(topic="order.created", payload=payload)
    if from_cart:
        CartItem.objects.filter(
            member=member, sku_id__in=[line.sku.id for line in quote.lines]
        ).delete()
    # Last: the SKU rows stay locked from here to the commit only.
    for line in sorted(quote.lines, key=lambda line: line.sku.id):
        if not sku_stock_reserve(sku_id=line.sku.id, quantity=line.quantity):
            raise _sold_out(line.sku)
    return order
