"""Demo members and orders for `make dev`: a shipping template and an order in every state.

Everything is made by the real services (checkout, sandbox and offline payments, shipping,
after-sales), so the demo shows what a shop would have after a few days of trading.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from shop.catalog.models import ShippingRegionRule, ShippingTemplate, Sku
from shop.customers.models import Channel, Member
from shop.customers.phones import phone_encrypt, phone_index
from shop.customers.services.addresses import AddressFields, address_create
from shop.customers.services.login import member_registration_record
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import AfterSale, Order
from shop.orders.services.after_sales import (
    AfterSaleItem,
    after_sale_approve,
    after_sale_request,
)
from shop.orders.services.checkout import CheckoutItem, Client, order_checkout
from shop.orders.services.orders import order_cancel, order_receive, order_ship, orders_progress
from shop.payments.models import Refund
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from shop.payments.services.refunds import refund_submit

# Demo shoppers: they log in on the storefront with these phones (the code is printed by the
# development SMS backend).
MEMBERS = (
    ("+8613800138001", "小王", "广东省", "深圳市", "南山区", "科技园南区 8 栋 1201"),
    ("+8613800138002", "Lily", "上海市", "上海市", "徐汇区", "漕溪北路 88 号 6 楼"),
    ("+8613800138003", "阿强", "四川省", "成都市", "武侯区", "天府大道北段 1700 号"),
    ("+8613800138004", "Mei", "新疆维吾尔自治区", "乌鲁木齐市", "天山区", "解放北路 100 号"),
)


def _member(phone: str, nickname: str, address: tuple[str, str, str, str]) -> Member:
    member, created = Member.objects.get_or_create(
        phone_index=phone_index(phone),
        defaults={"phone_encrypted": phone_encrypt(phone), "nickname": nickname},
    )
    if created:
        member_registration_record(
            member=member, policy_version="2026-01", channel=Channel.H5, ip=None
        )
        address_create(
            member=member,
            fields=AddressFields(
                recipient_name=nickname,
                phone=phone,
                province=address[0],
                city=address[1],
                district=address[2],
                detail=address[3],
                postal_code="",
            ),
            is_default=True,
        )
    return member


def _order(member: Member, skus: list[Sku], quantities: list[int], referral: str = "") -> Order:
    address = member.addresses.get(is_default=True)
    return order_checkout(
        member=member,
        items=[
            CheckoutItem(sku_id=sku.pk, quantity=quantity, referral_code=referral)
            for sku, quantity in zip(skus, quantities, strict=True)
        ],
        address_id=address.pk,
        client=Client(channel="miniprogram", device_id="demo-device", ip="127.0.0.1"),
    )


def _pay(order: Order) -> None:
    started = payment_start(order=order, method="sandbox", notify_url="http://demo.localhost/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()


def _deliver_events() -> None:
    for event_id in OutboxEvent.objects.filter(settled_at__isnull=True).values_list(
        "pk", flat=True
    ):
        event_deliver(event_id=event_id)


def orders_demo_seed() -> int:
    """Create the demo shipping template, members and orders once; how many orders."""
    if Order.objects.exists():
        return 0
    skus = list(Sku.objects.filter(is_active=True, stock__gte=5).order_by("id")[:6])
    if len(skus) < 4:
        return 0
    with transaction.atomic():
        template = ShippingTemplate.objects.create(
            name="全国包邮满 99 / Free over ¥99",
            first_units=1,
            first_fee_minor=800,
            additional_units=1,
            additional_fee_minor=200,
            free_over_minor=9900,
            excluded_regions=["香港特别行政区", "澳门特别行政区", "台湾省"],
            is_default=True,
        )
        ShippingRegionRule.objects.create(
            template=template,
            regions=["新疆维吾尔自治区", "西藏自治区", "青海省"],
            first_units=1,
            first_fee_minor=2000,
            additional_units=1,
            additional_fee_minor=1000,
        )
        members = [
            _member(phone, name, (province, city, district, detail))
            for phone, name, province, city, district, detail in MEMBERS
        ]
        wang, lily, qiang, mei = members
        orders: list[Order] = []
        # Waiting for payment.
        orders.append(_order(wang, skus[:2], [1, 2]))
        # Paid, to ship.
        paid = _order(lily, [skus[2]], [1], referral="LILY-SHARE")
        _pay(paid)
        orders.append(paid)
        # Shipped.
        shipped = _order(qiang, [skus[3]], [2])
        _pay(shipped)
        order_ship(
            order=shipped,
            carrier="顺丰速运 SF Express",
            tracking_number="SF1234567890",
            actor="system",
        )
        orders.append(shipped)
        # Received, with an open return request.
        received = _order(mei, [skus[0]], [1])
        _pay(received)
        order_ship(
            order=received, carrier="中通快递 ZTO", tracking_number="ZT88880001", actor="system"
        )
        order_receive(order=received, actor=f"member:{mei.pk}")
        after_sale_request(
            order=received,
            kind=AfterSale.Kind.RETURN_REFUND,
            reason="尺码不合适 / Wrong size",
            items=[AfterSaleItem(received.lines.get().pk, 1)],
            actor=f"member:{mei.pk}",
        )
        orders.append(received)
        # Completed (received two weeks ago).
        completed = _order(wang, [skus[1]], [1])
        _pay(completed)
        order_ship(order=completed, carrier="京东物流 JD", tracking_number="JD0001", actor="system")
        order_receive(order=completed, actor="system", at=timezone.now() - timedelta(days=14))
        orders_progress(now=timezone.now())
        orders.append(completed)
        # Cancelled (not paid in time).
        cancelled = _order(lily, [skus[0]], [3])
        order_cancel(order=cancelled, actor="system", reason="payment timeout")
        orders.append(cancelled)
        # Refunded in full before shipping: closed.
        closed = _order(qiang, [skus[2]], [1])
        _pay(closed)
        refund = after_sale_request(
            order=closed,
            kind=AfterSale.Kind.REFUND_ONLY,
            reason="不想要了 / Changed my mind",
            items=[AfterSaleItem(closed.lines.get().pk, 1)],
            actor=f"member:{qiang.pk}",
        )
        after_sale_approve(after_sale=refund, actor="system")
        # Waiting for a bank transfer (offline payment).
        offline = _order(mei, [skus[1]], [1])
        payment_start(order=offline, method="bank_transfer", notify_url="http://demo.localhost/")
        orders.append(offline)
    _deliver_events()  # the approved refund is sent (sandbox: at once)
    for refund_id in Refund.objects.filter(status=Refund.Status.PENDING).values_list(
        "pk", flat=True
    ):
        refund_submit(refund_id=refund_id)
    _deliver_events()
    return Order.objects.count()
