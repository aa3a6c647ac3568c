"""Notification replay: WeChat Pay delivers each notification 1 to 5 times, shuffled, concurrently
(several servers at once, each copy re-signed), while workers process what was stored. The
final state must be the one a single delivery leaves: one payment applied per order, the late
one refunded once.

Committed data seen by other connections: a serial test on the session shop, which removes
what it made (its control-plane rows go with pytest-django's flush).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from infra.db import tenant_schema
from shop.catalog.models import Product, Sku
from shop.customers.models import Member
from shop.events.models import OutboxDelivery, OutboxEvent
from shop.orders.models import Order, OrderLine, OrderTransition
from shop.orders.services.orders import order_cancel
from shop.payments.models import Payment, PaymentNotification, Refund
from shop.payments.selectors import notify_url_for
from shop.payments.services.notifications import notification_process
from shop.payments.services.payments import payment_start
from shop.payments.services.refunds import refund_submit
from tenants.models import Tenant
from tests.fakes.wechatpay import FakeWeChatPay, Notification
from tests.support.commerce import order_make
from tests.support.threads import run_in_threads
from tests.support.wechatpay import OPENID, notification_post

# How often each notification of the concurrent round arrives: the three payments', then the
# refund's.
PAYMENT_COPIES = (1, 3, 5)
REFUND_COPIES = (4,)


def _deliver_and_process(tenant: Tenant, note: Notification) -> tuple[int, str | None]:
    """One WeChat server's delivery, then a worker processing what is stored (both racing the
    other copies): the status answered and the outcome of this worker's processing."""
    status = notification_post(Client(HTTP_HOST="alpha.localhost"), note).status_code
    with tenant_schema(tenant):
        stored = PaymentNotification.objects.get(gateway="wechatpay", event_id=note.id)
        return status, notification_process(notification_id=stored.pk)


Deliver = Callable[[list[Notification], tuple[int, ...]], list[Any]]


def _one_by_one(tenant: Tenant, notes: list[Notification]) -> list[Any]:
    return [(_deliver_and_process(tenant, note), note.id) for note in notes]


def _all_at_once(
    fake: FakeWeChatPay,
    tenant: Tenant,
    notes: list[Notification],
    counts: tuple[int, ...],
    seed: int,
) -> list[Any]:
    copies: list[Notification] = []
    for note, count in zip(notes, counts, strict=True):
        copies.extend(fake.replay([note], duplicates=count))
    random.Random(seed).shuffle(copies)
    results = run_in_threads(
        [lambda note=note: _deliver_and_process(tenant, note) for note in copies]  # type: ignore[misc]
    )
    assert all(not isinstance(result, BaseException) for result in results), results
    return [(result, note.id) for result, note in zip(results, copies, strict=True)]


def _round(fake: FakeWeChatPay, deliver: Deliver) -> tuple[list[Order], list[Any], list[Any]]:
    """Two orders paid and one paid after its cancellation; then the late one's refund."""
    orders = [order_make(price_minor=price) for price in (1999, 3000, 2500)]
    payments = [
        payment_start(
            order=order,
            method="wechat_miniprogram",
            notify_url=notify_url_for(gateway="wechatpay"),
            payer_ref=OPENID,
        ).payment
        for order in orders
    ]
    order_cancel(order=orders[2], actor="system", reason="payment timeout")
    paid = deliver([fake.pay_succeed(payment.out_trade_no) for payment in payments], PAYMENT_COPIES)
    refund = Refund.objects.get(payment=payments[2])
    refund_submit(refund_id=refund.pk)
    refunded = deliver([fake.refund_succeed(refund.out_refund_no)], REFUND_COPIES)
    return orders, paid, refunded


def _snapshot(order: Order) -> tuple[Any, ...]:
    """An order's final state without its ids and times."""
    order.refresh_from_db()
    payments = Payment.objects.filter(order=order)
    return (
        order.status,
        order.refunded_minor,
        [(p.status, p.paid_order, p.amount_minor, p.refunded_minor) for p in payments],
        list(
            OrderTransition.objects.filter(order=order)
            .order_by("id")
            .values_list("from_status", "to_status")
        ),
        sorted(
            Counter(
                OutboxEvent.objects.filter(payload__order_id=order.pk).values_list(
                    "topic", flat=True
                )
            ).items()
        ),
        sorted(
            PaymentNotification.objects.filter(
                resource___payment__out_trade_no__in=[p.out_trade_no for p in payments]
            ).values_list("event_type", "outcome")
        ),
        list(Refund.objects.filter(order=order).values_list("reason", "status", "amount_minor")),
    )


def _purge(orders: list[Order]) -> None:
    """Remove what the test committed in the shop."""
    order_ids = [order.pk for order in orders]
    sku_ids = list(OrderLine.objects.filter(order_id__in=order_ids).values_list("sku", flat=True))
    product_ids = list(Sku.objects.filter(pk__in=sku_ids).values_list("product", flat=True))
    member_ids = [order.member_id for order in orders]
    references = list(
        Payment.objects.filter(order_id__in=order_ids).values_list("out_trade_no", flat=True)
    )
    refunds = list(
        Refund.objects.filter(order_id__in=order_ids).values_list("out_refund_no", flat=True)
    )
    PaymentNotification.objects.filter(resource___payment__out_trade_no__in=references).delete()
    PaymentNotification.objects.filter(resource___refund__out_refund_no__in=refunds).delete()
    Refund.objects.filter(order_id__in=order_ids).delete()
    Payment.objects.filter(order_id__in=order_ids).delete()
    events = OutboxEvent.objects.filter(payload__order_id__in=order_ids)
    OutboxDelivery.objects.filter(event__in=events).delete()
    events.delete()
    OrderTransition.objects.filter(order_id__in=order_ids).delete()
    OrderLine.objects.filter(order_id__in=order_ids).delete()
    Order.objects.filter(pk__in=order_ids).delete()
    Sku.objects.filter(pk__in=sku_ids).delete()
    Product.objects.filter(pk__in=product_ids).delete()
    member_events = OutboxEvent.objects.filter(payload__member_id__in=member_ids)
    OutboxDelivery.objects.filter(event__in=member_events).delete()
    member_events.delete()
    Member.objects.filter(pk__in=member_ids).delete()


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_replayed_shuffled_concurrent_notifications_leave_the_state_one_delivery_leaves(
    shop: Tenant, wechatpay: FakeWeChatPay
) -> None:
    made: list[Order] = []
    try:
        # given: the state one delivery of each notification leaves
        single, single_paid, single_refunded = _round(
            wechatpay, lambda notes, _counts: _one_by_one(shop, notes)
        )
        made.extend(single)
        # when: the same story, each notification 1 to 5 times, shuffled, concurrent
        replayed, paid, refunded = _round(
            wechatpay,
            lambda notes, counts: _all_at_once(wechatpay, shop, notes, counts, seed=7),
        )
        made.extend(replayed)
        # then: every copy was answered 204, and exactly one worker applied each notification
        assert [result for result, _id in single_paid + single_refunded] == [(204, "applied")] * 4
        for results, counts in ((paid, PAYMENT_COPIES), (refunded, REFUND_COPIES)):
            assert sorted(Counter(event for _result, event in results).values()) == list(counts)
            assert [status for (status, _outcome), _id in results] == [204] * sum(counts)
            applied = Counter(event for (_status, outcome), event in results if outcome)
            assert list(applied.values()) == [1] * len(counts)
            assert {outcome for (_s, outcome), _id in results} == {"applied", None}
        # and the final state is the single delivery's, order by order
        assert [_snapshot(order) for order in replayed] == [_snapshot(order) for order in single]
        assert _snapshot(replayed[0]) == (
            "paid",
            0,
            [("succeeded", True, 1999, 0)],
            [("", "pending_payment"), ("pending_payment", "paid")],
            [("order.created", 1), ("order.paid", 1)],
            [("TRANSACTION.SUCCESS", "applied")],
            [],
        )
        assert _snapshot(replayed[2]) == (
            "cancelled",
            0,
            [("succeeded", False, 2500, 2500)],
            [("", "pending_payment"), ("pending_payment", "cancelled")],
            [("order.cancelled", 1), ("order.created", 1)],
            [("TRANSACTION.SUCCESS", "applied")],
            [("late_payment", "succeeded", 2500)],
        )
        late = Payment.objects.get(order=replayed[2])
        assert wechatpay.refund(f"{late.out_trade_no}R").refund == 2500
        assert [
            body["out_refund_no"]
            for _method, path, body in wechatpay.calls
            if path == "/v3/refund/domestic/refunds"
        ].count(f"{late.out_trade_no}R") == 1
    finally:
        _purge(made)
