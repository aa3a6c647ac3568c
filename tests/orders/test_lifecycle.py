"""An order's life: timeout cancellation, late payment refund, shipping, receipt, completion."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from shop.core.models import ShopProfile
from shop.events.models import OutboxEvent
from shop.orders.errors import OrderStateError
from shop.orders.models import AfterSale, Order, OrderStatus, OrderTransition
from shop.orders.services.after_sales import AfterSaleItem, after_sale_request
from shop.orders.services.orders import (
    order_ship,
    orders_progress,
    orders_unpaid_cancel,
)
from shop.payments.models import Payment, Refund
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.support.commerce import order_make, product_make, sku_of

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _pay(order: Order) -> Payment:
    started = payment_start(order=order, method="sandbox", notify_url="http://alpha.localhost/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    return started.payment


def test_unpaid_orders_are_cancelled_after_the_timeout_and_restocked(shop: Tenant) -> None:
    # given: one order past its deadline, one not
    sku = sku_of(product_make(stock=10))
    late = order_make(items=[(sku, 3)])
    fresh = order_make(items=[(sku, 2)])
    Order.objects.filter(pk=late.pk).update(pay_deadline=timezone.now() - timedelta(minutes=1))
    # when
    cancelled = orders_unpaid_cancel()
    # then
    late.refresh_from_db()
    fresh.refresh_from_db()
    sku.refresh_from_db()
    assert cancelled == 1
    assert (late.status, late.cancel_reason) == (OrderStatus.CANCELLED, "payment timeout")
    assert fresh.status == OrderStatus.PENDING_PAYMENT
    assert sku.stock == 8
    assert (
        OutboxEvent.objects.filter(topic="order.cancelled", payload__order_id=late.pk).count() == 1
    )


def test_the_merchant_timeout_sets_the_deadline(shop: Tenant) -> None:
    # given
    ShopProfile.objects.update(unpaid_order_timeout_minutes=5)
    # when
    order = order_make()
    # then
    assert order.pay_deadline - order.created_at < timedelta(minutes=5, seconds=1)
    assert order.pay_deadline - order.created_at > timedelta(minutes=4, seconds=59)


def test_a_payment_after_cancellation_is_refunded_never_kept(shop: Tenant) -> None:
    # given: a payment started, then the order cancelled by the timeout
    order = order_make(price_minor=2500)
    started = payment_start(order=order, method="sandbox", notify_url="http://alpha.localhost/")
    orders_unpaid_cancel(now=order.pay_deadline + timedelta(seconds=1))
    # when: the payer completes it anyway
    outcome = payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    again = payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    # then: the order stays cancelled; the money goes back, once
    order.refresh_from_db()
    payment = Payment.objects.get(pk=started.payment.pk)
    refund = Refund.objects.get(payment=payment)
    assert (outcome, again) == ("applied", "ignored")
    assert order.status == OrderStatus.CANCELLED
    assert (payment.status, payment.paid_order) == ("succeeded", False)
    assert (refund.reason, refund.amount_minor, refund.out_refund_no) == (
        "late_payment",
        2500,
        f"{payment.out_trade_no}R",
    )


def test_a_second_successful_attempt_is_refunded_as_a_duplicate(shop: Tenant) -> None:
    # given: two attempts open on one order
    order = order_make(price_minor=900)
    first = payment_start(order=order, method="sandbox", notify_url="http://x/").payment
    second = payment_start(order=order, method="sandbox", notify_url="http://x/").payment
    # when: both succeed
    payment_sandbox_confirm(order=order, out_trade_no=first.out_trade_no)
    payment_sandbox_confirm(order=order, out_trade_no=second.out_trade_no)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get(pk=first.pk).paid_order is True
    assert Refund.objects.get(payment=second).reason == "duplicate_payment"
    assert not Refund.objects.filter(payment=first).exists()


def test_ship_receive_and_complete_on_the_shops_days(shop: Tenant) -> None:
    # given: a paid order, 10 days to receive, 7 days of after-sale
    order = order_make()
    _pay(order)
    # when
    order_ship(order=order, carrier="SF Express", tracking_number="SF123", actor="account:1")
    # then: received automatically at the start of the 11th local day after shipping
    shipped_day = timezone.localtime(order.shipped_at, SHANGHAI).date()
    expected = datetime.combine(shipped_day + timedelta(days=11), datetime.min.time(), SHANGHAI)
    assert order.auto_receive_at == expected
    assert orders_progress(now=expected - timedelta(seconds=1)) == (0, 0)
    assert orders_progress(now=expected)[0] >= 1
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED
    assert orders_progress(now=order.complete_at)[1] >= 1
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert list(
        OrderTransition.objects.filter(order=order).values_list("to_status", flat=True)
    ) == ["pending_payment", "paid", "shipped", "received", "completed"]
    topics = set(
        OutboxEvent.objects.filter(payload__order_id=order.pk).values_list("topic", flat=True)
    )
    assert {
        "order.created",
        "order.paid",
        "order.shipped",
        "order.received",
        "order.completed",
    } <= topics


def test_an_open_after_sale_holds_completion(shop: Tenant) -> None:
    # given: a received order with an open request
    order = order_make()
    _pay(order)
    order_ship(order=order, carrier="SF", tracking_number="1", actor="account:1")
    orders_progress(now=order.auto_receive_at)
    order.refresh_from_db()
    after_sale_request(
        order=order,
        kind=AfterSale.Kind.RETURN_REFUND,
        reason="Broken",
        items=[AfterSaleItem(order.lines.get().pk, 1)],
        actor="member:1",
    )
    # when
    assert order.complete_at is not None
    orders_progress(now=order.complete_at + timedelta(days=30))
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED


def test_shipping_an_unpaid_order_is_refused(shop: Tenant) -> None:
    # given
    order = order_make()
    # when / then
    with pytest.raises(OrderStateError):
        order_ship(order=order, carrier="SF", tracking_number="1", actor="account:1")
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (OrderStatus.PENDING_PAYMENT, "")


def test_refunding_everything_before_shipping_closes_the_order_with_shipping(shop: Tenant) -> None:
    # given: a paid order of 2 units with shipping
    from shop.catalog.models import ShippingTemplate
    from shop.events.services import event_deliver
    from shop.orders.services.after_sales import after_sale_approve
    from shop.payments.services.refunds import refund_submit

    ShippingTemplate.objects.create(
        name="Flat", first_fee_minor=800, additional_fee_minor=0, is_default=True
    )
    sku = sku_of(product_make(price_minor=1000, stock=5))
    order = order_make(items=[(sku, 2)])
    _pay(order)
    assert order.total_minor == 2800
    # when: refund both units
    after_sale = after_sale_request(
        order=order,
        kind=AfterSale.Kind.REFUND_ONLY,
        reason="Not needed",
        items=[AfterSaleItem(order.lines.get().pk, 2)],
        actor="member:1",
    )
    after_sale_approve(after_sale=after_sale, actor="account:1")
    for event in OutboxEvent.objects.filter(topic="after_sale.refunding", settled_at__isnull=True):
        event_deliver(event_id=event.pk)
    refund_submit(refund_id=Refund.objects.get(after_sale=after_sale).pk)
    # then
    order.refresh_from_db()
    sku.refresh_from_db()
    assert after_sale.amount_minor == 2800
    assert (order.status, order.refunded_minor) == (OrderStatus.CLOSED, 2800)
    assert sku.stock == 5


def test_after_sale_cannot_ask_more_than_is_left(shop: Tenant) -> None:
    # given
    order = order_make(quantity=2)
    _pay(order)
    line = order.lines.get()
    after_sale_request(
        order=order, kind="refund_only", reason="One", items=[AfterSaleItem(line.pk, 1)], actor="m"
    )
    # when / then
    from shop.orders.errors import AfterSaleInvalidError

    with pytest.raises(AfterSaleInvalidError):
        after_sale_request(
            order=order,
            kind="refund_only",
            reason="Two",
            items=[AfterSaleItem(line.pk, 2)],
            actor="m",
        )
    assert AfterSale.objects.filter(order=order).count() == 1
