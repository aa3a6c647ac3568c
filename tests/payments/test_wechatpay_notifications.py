"""WeChat Pay's notifications at the shop host: verified on the raw body, stored once, applied
once; forged, stale, tampered, undecryptable, another merchant's and amount-mismatched ones
change nothing. Late payments and after-sale refunds go back through WeChat Pay."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from infra.db import schema_connection
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import AfterSale, Order, OrderLine, OrderStatus, OrderTransition
from shop.orders.services.after_sales import AfterSaleItem, after_sale_approve, after_sale_request
from shop.orders.services.orders import orders_unpaid_cancel
from shop.payments.models import Payment, PaymentNotification, Refund
from shop.payments.selectors import notify_url_for
from shop.payments.services.notifications import notification_process
from shop.payments.services.payments import payment_start
from shop.payments.services.refunds import refund_submit, refunds_pending_resolve
from tests.fakes.wechatpay import FakeWeChatPay, Notification
from tests.support.commerce import order_make, product_make, sku_of
from tests.support.wechatpay import OPENID, WECHATPAY_NOTIFY_PATH

pytestmark = pytest.mark.django_db

Notify = Callable[[Notification], Any]


def _pay_start(order: Order) -> Payment:
    return payment_start(
        order=order,
        method="wechat_miniprogram",
        notify_url=notify_url_for(gateway="wechatpay"),
        payer_ref=OPENID,
    ).payment


def _process(note: Notification) -> str | None:
    """What the task does with the stored notification."""
    stored = PaymentNotification.objects.get(gateway="wechatpay", event_id=note.id)
    return notification_process(notification_id=stored.pk)


def _state(order: Order) -> tuple[Any, ...]:
    """Everything a notification could change about an order and its payments."""
    order.refresh_from_db()
    return (
        order.status,
        order.paid_at,
        list(
            Payment.objects.filter(order=order).values_list("status", "paid_order", "provider_ref")
        ),
        OrderTransition.objects.filter(order=order).count(),
        OutboxEvent.objects.filter(payload__order_id=order.pk).count(),
        Refund.objects.filter(order=order).count(),
    )


# -- a genuine notification ------------------------------------------------------------------


def test_a_payment_notification_pays_the_order_exactly_once(
    wechatpay: FakeWeChatPay, notify: Notify
) -> None:
    # given
    order = order_make(price_minor=1999)
    payment = _pay_start(order)
    note = wechatpay.pay_succeed(payment.out_trade_no)
    # when: delivered three times (WeChat's retries), processed twice (a redelivered task)
    responses = [notify(copy) for copy in wechatpay.replay([note], duplicates=3)]
    outcomes = [_process(note), _process(note)]
    # then
    assert [(r.status_code, r.content) for r in responses] == [(204, b"")] * 3
    assert outcomes == ["applied", None]
    order.refresh_from_db()
    payment.refresh_from_db()
    fake_order = wechatpay.order(payment.out_trade_no)
    assert order.status == OrderStatus.PAID
    assert fake_order.success_time is not None
    assert order.paid_at == fake_order.success_time.replace(microsecond=0)
    assert (payment.status, payment.paid_order, payment.provider_ref, payment.payer_ref) == (
        "succeeded",
        True,
        fake_order.transaction_id,
        OPENID,
    )
    stored = PaymentNotification.objects.get()
    assert (stored.event_id, stored.event_type, stored.outcome) == (
        note.id,
        "TRANSACTION.SUCCESS",
        "applied",
    )
    assert stored.body == note.body
    assert stored.resource["_payment"]["amount_minor"] == 1999
    assert OrderTransition.objects.filter(order=order, to_status="paid").count() == 1
    assert OutboxEvent.objects.filter(topic="order.paid", payload__order_id=order.pk).count() == 1


def test_the_notify_endpoint_stays_within_its_query_budget(
    wechatpay: FakeWeChatPay, notify: Notify
) -> None:
    # given: the routing warm, as in a running process
    order = order_make()
    payment = _pay_start(order)
    first, duplicate = wechatpay.replay([wechatpay.pay_succeed(payment.out_trade_no)], duplicates=2)
    notify(wechatpay.notification_for(payment.out_trade_no))
    # when
    with CaptureQueriesContext(schema_connection()) as stored:
        assert notify(first).status_code == 204
    with CaptureQueriesContext(schema_connection()) as repeated:
        assert notify(duplicate).status_code == 204
    # then: the account lookup and the insert in its savepoint; a duplicate's insert fails
    # (rolled back to the savepoint, the schema set again) and touches no payment row
    assert len(stored.captured_queries) <= 4
    assert len(repeated.captured_queries) <= 6


def test_the_notify_endpoint_is_not_in_the_shop_api_schema(shop_client: Client) -> None:
    response = shop_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert "/api/v1/orders/{number}/pay" in paths
    assert WECHATPAY_NOTIFY_PATH not in paths


# -- refused notifications -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "code"),
    [
        ({"wrong_key": True}, "notification_signature_invalid"),
        ({"tamper": True}, "notification_signature_invalid"),
        ({"late_by_seconds": 301}, "notification_stale"),
        ({"late_by_seconds": -330}, "notification_stale"),  # margin: time passes in the test
        ({"corrupt_ciphertext": True}, "notification_invalid"),
    ],
    ids=["forged", "tampered", "stale", "from-the-future", "undecryptable"],
)
def test_a_notification_that_is_not_genuine_and_fresh_is_refused_and_changes_nothing(
    wechatpay: FakeWeChatPay, notify: Notify, knobs: dict[str, Any], code: str
) -> None:
    # given: paid at WeChat Pay; what arrives is not the genuine, fresh notification
    order = order_make()
    payment = _pay_start(order)
    before = _state(order)
    note = wechatpay.pay_succeed(payment.out_trade_no, **knobs)
    # when
    response = notify(note)
    # then
    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"
    assert response.json()["message"].startswith(f"{code}: ")
    assert not PaymentNotification.objects.exists()
    assert _state(order) == before
    assert before[0] == OrderStatus.PENDING_PAYMENT


def test_a_notification_without_signature_headers_is_refused(
    wechatpay: FakeWeChatPay, shop_client: Client
) -> None:
    # given
    order = order_make()
    note = wechatpay.pay_succeed(_pay_start(order).out_trade_no)
    # when
    response = shop_client.post(
        WECHATPAY_NOTIFY_PATH, data=note.body, content_type="application/json"
    )
    # then
    assert response.status_code == 400
    assert response.json()["message"].startswith("notification_signature_invalid: ")
    assert not PaymentNotification.objects.exists()


def test_another_merchants_genuine_notification_is_refused(
    wechatpay: FakeWeChatPay, notify: Notify
) -> None:
    # given: another sub-merchant of the platform has an order with our attempt's number
    order = order_make(price_minor=1500)
    payment = _pay_start(order)
    other = wechatpay.client()
    code, _text = other.pay(
        description="elsewhere",
        out_trade_no=payment.out_trade_no,
        amount={"total": 1500, "currency": "CNY"},
        payer={"sp_openid": OPENID},
        sub_mchid="1900000999",
    )
    assert code == 200
    before = _state(order)
    # when: its notification is posted to our shop
    response = notify(wechatpay.pay_succeed(payment.out_trade_no, "1900000999"))
    # then
    assert response.status_code == 400
    assert response.json()["message"].startswith("notification_wrong_merchant: ")
    assert not PaymentNotification.objects.exists()
    assert _state(order) == before


@pytest.mark.parametrize(
    "knobs", [{"amount_total": 1}, {"currency": "USD"}], ids=["amount", "currency"]
)
def test_a_genuine_notification_of_another_amount_is_rejected_and_changes_nothing(
    wechatpay: FakeWeChatPay, notify: Notify, knobs: dict[str, Any]
) -> None:
    # given
    order = order_make(price_minor=2500)
    payment = _pay_start(order)
    before = _state(order)
    note = wechatpay.pay_succeed(payment.out_trade_no, **knobs)
    # when: it is stored (genuine), then found not to match the attempt
    response = notify(note)
    outcome = _process(note)
    # then
    assert response.status_code == 204
    assert outcome == "rejected"
    assert PaymentNotification.objects.get().outcome == "rejected"
    assert _state(order) == before
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_an_event_we_do_not_act_on_is_stored_and_ignored(
    wechatpay: FakeWeChatPay, notify: Notify
) -> None:
    # given: a genuine notification of another kind (a merchant transfer finished)
    client = wechatpay.client()
    client.mch_transfer_bills(
        out_bill_no="TB20260101000001",
        transfer_scene_id="1000",
        openid=OPENID,
        transfer_amount=3000,
        transfer_remark="佣金",
    )
    note = wechatpay.transfer_finish("TB20260101000001")
    # when
    response = notify(note)
    outcome = _process(note)
    # then
    assert response.status_code == 204
    assert outcome == "ignored"
    assert not Payment.objects.exists()


# -- late payment: refunded through WeChat Pay, once -----------------------------------------


def test_a_payment_after_cancellation_is_refunded_through_wechat_pay_once(
    wechatpay: FakeWeChatPay, notify: Notify
) -> None:
    # given: the order was cancelled by the timeout; the payer paid anyway
    order = order_make(price_minor=2500)
    payment = _pay_start(order)
    orders_unpaid_cancel(now=order.pay_deadline + timedelta(seconds=1))
    note = wechatpay.pay_succeed(payment.out_trade_no)
    # when: the notification arrives (twice) and is processed
    assert [notify(copy).status_code for copy in wechatpay.replay([note], duplicates=2)] == [
        204
    ] * 2
    assert _process(note) == "applied"
    # then: a refund of the whole payment is recorded
    refund = Refund.objects.get(payment=payment)
    assert (refund.reason, refund.amount_minor, refund.status, refund.out_refund_no) == (
        "late_payment",
        2500,
        "pending",
        f"{payment.out_trade_no}R",
    )
    # when: the refund task sends it; the order's cancellation event closes nothing more
    event_deliver(
        event_id=OutboxEvent.objects.get(topic="order.cancelled", payload__order_id=order.pk).id
    )
    sent = refund_submit(refund_id=refund.pk)
    resent = refund_submit(refund_id=refund.pk)
    # then: WeChat Pay has one refund of 25.00, processing
    fake_refund = wechatpay.refund(refund.out_refund_no)
    assert sent is not None
    assert resent is not None
    assert (sent.status, resent.status) == ("pending", "pending")
    assert resent.provider_ref == fake_refund.refund_id
    assert (fake_refund.refund, fake_refund.total, fake_refund.status) == (2500, 2500, "PROCESSING")
    assert fake_refund.transaction_id == wechatpay.order(payment.out_trade_no).transaction_id
    assert fake_refund.notify_url == "http://alpha.localhost:8000/api/v1/payments/notify/wechatpay"
    # when: WeChat Pay finishes it and notifies (three times, and once more with a new id)
    done = wechatpay.refund_succeed(refund.out_refund_no)
    responses = [notify(copy) for copy in wechatpay.replay([done], duplicates=3)]
    late_copy = wechatpay.refund_notification_for(refund.out_refund_no)
    responses.append(notify(late_copy))
    outcomes = [_process(done), _process(done), _process(late_copy)]
    # and the payment notification is replayed
    notify(wechatpay.resign(note))
    # then: refunded once
    assert [r.status_code for r in responses] == [204] * 4
    assert outcomes == ["applied", None, "ignored"]
    refund.refresh_from_db()
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (refund.status, refund.provider_ref) == ("succeeded", fake_refund.refund_id)
    assert (payment.status, payment.paid_order, payment.refunded_minor) == (
        "succeeded",
        False,
        2500,
    )
    assert order.status == OrderStatus.CANCELLED
    assert Refund.objects.filter(order=order).count() == 1
    refund_requests = [body for _m, path, body in wechatpay.calls if path.endswith("/refunds")]
    assert [body["out_refund_no"] for body in refund_requests] == [refund.out_refund_no] * 2
    assert wechatpay.refund(refund.out_refund_no).refund == 2500


def test_a_refund_whose_notification_was_lost_is_resolved_by_query(
    wechatpay: FakeWeChatPay, notify: Notify
) -> None:
    # given: a late payment's refund sent and finished at WeChat Pay; no notification arrives
    order = order_make(price_minor=800)
    payment = _pay_start(order)
    orders_unpaid_cancel(now=order.pay_deadline + timedelta(seconds=1))
    note = wechatpay.pay_succeed(payment.out_trade_no)
    notify(note)
    _process(note)
    refund = Refund.objects.get(payment=payment)
    refund_submit(refund_id=refund.pk)
    wechatpay.refund_succeed(refund.out_refund_no)
    # when
    changed = refunds_pending_resolve(older_than=timezone.now() + timedelta(seconds=1))
    # then
    refund.refresh_from_db()
    assert changed == 1
    assert refund.status == "succeeded"
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 800


@pytest.mark.parametrize("status", ["ABNORMAL", "CLOSED"])
def test_a_refund_wechat_pay_could_not_complete_fails(
    wechatpay: FakeWeChatPay, notify: Notify, status: str
) -> None:
    # given
    order = order_make(price_minor=800)
    payment = _pay_start(order)
    orders_unpaid_cancel(now=order.pay_deadline + timedelta(seconds=1))
    note = wechatpay.pay_succeed(payment.out_trade_no)
    notify(note)
    _process(note)
    refund = Refund.objects.get(payment=payment)
    refund_submit(refund_id=refund.pk)
    # when
    finished = wechatpay.refund_finish(refund.out_refund_no, status)
    assert notify(finished).status_code == 204
    outcome = _process(finished)
    # then
    refund.refresh_from_db()
    assert outcome == "applied"
    assert (refund.status, refund.failure) == ("failed", f"WeChat Pay refund {status}")
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 0


# -- after-sale refund through WeChat Pay ----------------------------------------------------


def test_an_approved_after_sale_is_refunded_through_wechat_pay(
    wechatpay: FakeWeChatPay, notify: Notify
) -> None:
    # given: a paid order of two lines (2 x 10.00 and 1 x 5.50)
    order = order_make(
        items=[
            (sku_of(product_make(price_minor=1000, stock=10)), 2),
            (sku_of(product_make(price_minor=550, stock=10)), 1),
        ]
    )
    payment = _pay_start(order)
    paid = wechatpay.pay_succeed(payment.out_trade_no)
    notify(paid)
    assert _process(paid) == "applied"
    first_line = OrderLine.objects.filter(order=order).order_by("id").first()
    assert first_line is not None
    # when: the member asks for one unit of the first line back and the merchant approves
    after_sale = after_sale_request(
        order=order,
        kind=AfterSale.Kind.REFUND_ONLY,
        reason="Wrong size",
        items=[AfterSaleItem(line_id=first_line.pk, quantity=1)],
        actor="member:1",
    )
    after_sale_approve(after_sale=after_sale, actor="account:1")
    event = OutboxEvent.objects.get(
        topic="after_sale.refunding", payload__after_sale_id=after_sale.pk
    )
    assert "payments.after_sale_refund" in event_deliver(event_id=event.id)
    event_deliver(event_id=event.id)  # redelivered: the same refund
    refund = Refund.objects.get(after_sale=after_sale)
    refund_submit(refund_id=refund.pk)
    # then: WeChat Pay was asked for 10.00 of the payment
    fake_refund = wechatpay.refund(refund.out_refund_no)
    assert (fake_refund.refund, fake_refund.total) == (1000, order.total_minor)
    assert refund.out_refund_no == f"{payment.out_trade_no}AS{after_sale.pk}"
    after_sale.refresh_from_db()
    assert after_sale.status == AfterSale.Status.REFUNDING
    # when: it succeeds and WeChat Pay notifies
    done = wechatpay.refund_succeed(refund.out_refund_no)
    assert notify(done).status_code == 204
    assert _process(done) == "applied"
    # then
    after_sale.refresh_from_db()
    first_line.refresh_from_db()
    order.refresh_from_db()
    payment.refresh_from_db()
    assert after_sale.status == AfterSale.Status.REFUNDED
    assert (first_line.refunded_quantity, first_line.refunded_minor) == (1, 1000)
    assert order.refunded_minor == 1000
    assert order.status == OrderStatus.PAID
    assert payment.refunded_minor == 1000
    assert Refund.objects.filter(order=order).count() == 1
    assert (
        OutboxEvent.objects.filter(topic="order.refunded", payload__order_id=order.pk).count() == 1
    )
