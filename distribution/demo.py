"""Demo distribution for `make dev`: a chain four levels deep, commissions, the depth cap and a
refund that reverses commissions — all made by the real services and order events."""

from __future__ import annotations

from itertools import pairwise

from django.db import transaction

from distribution.models import Commission
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.settings import distribution_settings_update
from shop.catalog.models import Sku
from shop.customers.models import Member
from shop.customers.phones import phone_encrypt, phone_index
from shop.customers.services.addresses import AddressFields, address_create
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.services.after_sales import AfterSaleItem, after_sale_approve, after_sale_request
from shop.orders.services.checkout import CheckoutItem, Client, order_checkout
from shop.payments.models import Refund
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from shop.payments.services.refunds import refund_submit

# Top of the chain first; the last one buys. Five levels: the top one is beyond the cap of 3.
CHAIN = (
    ("+8613900139001", "总代 Top"),
    ("+8613900139002", "区域 Region"),
    ("+8613900139003", "店长 Lead"),
    ("+8613900139004", "分享 Sharer"),
    ("+8613900139005", "买家 Buyer"),
)


def _member(phone: str, nickname: str) -> Member:
    member, created = Member.objects.get_or_create(
        phone_index=phone_index(phone),
        defaults={"phone_encrypted": phone_encrypt(phone), "nickname": nickname},
    )
    if created:
        address_create(
            member=member,
            fields=AddressFields(
                recipient_name=nickname,
                phone=phone,
                province="浙江省",
                city="杭州市",
                district="西湖区",
                detail="文三路 90 号",
                postal_code="",
            ),
            is_default=True,
        )
    return member


def _deliver() -> None:
    for event_id in OutboxEvent.objects.filter(settled_at__isnull=True).values_list(
        "pk", flat=True
    ):
        event_deliver(event_id=event_id)


def distribution_demo_seed() -> int:
    """Turn distribution on (3 levels) and make the chain and its orders once; commissions."""
    if Commission.objects.exists():
        return 0
    sku = Sku.objects.filter(is_active=True, stock__gte=5).order_by("id").first()
    if sku is None:
        return 0
    with transaction.atomic():
        distribution_settings_update(
            changes={
                "enabled": True,
                "depth": 3,
                "level_rates": [1000, 500, 200],
                "overwrite": "always",
            },
            actor="demo",
        )
        members = [_member(phone, name) for phone, name in CHAIN]
        for upline, member in pairwise(members):
            referral_bind(
                member=member, code=distributor_make(member=upline).code, trigger="first_visit"
            )
        buyer = members[-1]
        orders = []
        for quantity in (2, 1):
            order = order_checkout(
                member=buyer,
                items=[CheckoutItem(sku_id=sku.pk, quantity=quantity)],
                address_id=buyer.addresses.get(is_default=True).pk,
                client=Client(channel="miniprogram", device_id="demo-chain", ip="127.0.0.1"),
            )
            started = payment_start(order=order, method="sandbox", notify_url="http://demo/")
            payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
            orders.append(order)
    _deliver()  # commissions booked from order.paid
    # One unit of the first order is refunded: its commissions are reversed pro rata.
    refunded = orders[0]
    after_sale = after_sale_request(
        order=refunded,
        kind="refund_only",
        reason="演示退款 / Demo refund",
        items=[AfterSaleItem(refunded.lines.get().pk, 1)],
        actor=f"member:{buyer.pk}",
    )
    after_sale_approve(after_sale=after_sale, actor="demo")
    _deliver()
    for refund_id in Refund.objects.filter(status=Refund.Status.PENDING).values_list(
        "pk", flat=True
    ):
        refund_submit(refund_id=refund_id)
    _deliver()  # order.refunded → commissions reversed
    return Commission.objects.count()
