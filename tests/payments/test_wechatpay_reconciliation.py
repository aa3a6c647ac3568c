"""Daily reconciliation against WeChat Pay's trade bill (in 元) with one mismatch of each kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from shop.payments.gateways.base import BillRow, GatewayError
from shop.payments.gateways.wechatpay import WeChatPayGateway
from shop.payments.models import Payment, PaymentNotification, ReconciliationRun, Refund
from shop.payments.selectors import notify_url_for
from shop.payments.services.notifications import notification_process
from shop.payments.services.payments import payment_start
from shop.payments.services.reconciliation import reconcile_day
from shop.payments.services.refunds import refund_create, refund_submit
from tenants.models import Tenant
from tests.fakes.wechatpay import CHINA, FakeWeChatPay, Notification
from tests.support.commerce import order_make
from tests.support.wechatpay import OPENID

pytestmark = pytest.mark.django_db

Notify = Callable[[Notification], Any]


def _yesterday() -> date:
    return datetime.now(CHINA).date() - timedelta(days=1)


def _paid(
    wechatpay: FakeWeChatPay, notify: Notify, price_minor: int, success_time: datetime
) -> Payment:
    """An order paid through WeChat Pay at `success_time`, notified and applied."""
    order = order_make(price_minor=price_minor)
    payment = payment_start(
        order=order,
        method="wechat_miniprogram",
        notify_url=notify_url_for(gateway="wechatpay"),
        payer_ref=OPENID,
    ).payment
    note = wechatpay.pay_succeed(payment.out_trade_no, success_time=success_time)
    assert notify(note).status_code == 204
    stored = PaymentNotification.objects.get(event_id=note.id)
    assert notification_process(notification_id=stored.pk) == "applied"
    payment.refresh_from_db()
    return payment


def test_reconciliation_stores_one_mismatch_of_each_kind(
    wechatpay: FakeWeChatPay, notify: Notify, shop: Tenant
) -> None:
    # given: five payments yesterday (China time), one partly refunded, all matching at first
    day = _yesterday()
    noon = datetime.combine(day, datetime.min.time(), CHINA) + timedelta(hours=12)
    matched, absent, billed_low, revoked = (
        _paid(wechatpay, notify, price, noon + timedelta(minutes=index))
        for index, price in enumerate([1999, 2001, 1234, 5000])
    )
    wechatpay.refunds_succeed_immediately = True
    with transaction.atomic():
        refund = refund_create(
            payment=matched,
            amount_minor=1001,
            reason=Refund.Reason.MERCHANT,
            out_refund_no=f"{matched.out_trade_no}M1",
            requested_by="account:1",
        )
    refund_submit(refund_id=refund.pk)
    refunded_at = noon + timedelta(hours=1)
    fake_refund = wechatpay.refund(refund.out_refund_no)
    fake_refund.created_at = fake_refund.success_time = refunded_at
    Refund.objects.filter(pk=refund.pk).update(succeeded_at=refunded_at)
    # and WeChat Pay's bill disagrees once in each way
    extra_id = wechatpay.inject_bill_extra("SO9999999", 4200, bill_date=day)
    wechatpay.inject_bill_missing(absent.out_trade_no)
    wechatpay.inject_bill_amount(billed_low.out_trade_no, 1)
    wechatpay.inject_bill_status(revoked.out_trade_no, "REVOKED")
    # when: the daily task's service runs for that day
    result = reconcile_day(bill_date=day.isoformat())
    # then
    run = ReconciliationRun.objects.get(gateway="wechatpay", bill_date=day)
    assert result == {"wechatpay": 4}
    assert (run.provider_rows, run.matched, run.mismatches, run.error) == (5, 2, 4, "")
    assert run.finished_at is not None
    found = {
        (
            item.kind,
            item.record_type,
            item.out_trade_no,
            item.provider_ref,
            item.our_amount_minor,
            item.provider_amount_minor,
            item.our_status,
            item.provider_status,
        )
        for item in run.items.all()
    }

    def ref(payment: Payment) -> str:
        return wechatpay.order(payment.out_trade_no).transaction_id or ""

    assert found == {
        ("missing_here", "payment", "SO9999999", extra_id, None, 4200, "", "succeeded"),
        (
            "missing_at_provider",
            "payment",
            absent.out_trade_no,
            ref(absent),
            2001,
            None,
            "succeeded",
            "",
        ),
        (
            "amount",
            "payment",
            billed_low.out_trade_no,
            ref(billed_low),
            1234,
            1,
            "succeeded",
            "succeeded",
        ),
        (
            "status",
            "payment",
            revoked.out_trade_no,
            ref(revoked),
            5000,
            5000,
            "succeeded",
            "revoked",
        ),
    }
    # when: run again for the same day (the task retried): the same findings, not twice
    reconcile_day(bill_date=day.isoformat())
    assert ReconciliationRun.objects.get(pk=run.pk).items.count() == 4


def test_bill_rows_are_read_from_yuan_to_fen_exactly(
    wechatpay: FakeWeChatPay, notify: Notify, shop: Tenant
) -> None:
    # given: amounts whose 元 are not binary fractions, and a refund in PROCESSING
    day = _yesterday()
    noon = datetime.combine(day, datetime.min.time(), CHINA) + timedelta(hours=12)
    first = _paid(wechatpay, notify, 10, noon)
    second = _paid(wechatpay, notify, 100_000_001, noon + timedelta(minutes=1))
    with transaction.atomic():
        refund = refund_create(
            payment=second,
            amount_minor=70_000_003,
            reason=Refund.Reason.MERCHANT,
            out_refund_no=f"{second.out_trade_no}M1",
            requested_by="account:1",
        )
    refund_submit(refund_id=refund.pk)
    fake_refund = wechatpay.refund(refund.out_refund_no)
    fake_refund.created_at = noon + timedelta(hours=2)
    wechatpay.bill_bom = True
    # when
    rows = WeChatPayGateway().bill_rows(tenant_id=shop.pk, bill_date=day)
    # then
    simple = sorted(
        (row.record_type, row.out_trade_no, row.out_refund_no, row.amount_minor, row.status)
        for row in rows
    )
    assert simple == sorted(
        [
            ("payment", first.out_trade_no, "", 10, "succeeded"),
            ("payment", second.out_trade_no, "", 100_000_001, "succeeded"),
            ("refund", second.out_trade_no, refund.out_refund_no, 70_000_003, "pending"),
        ]
    )
    refund_row = next(row for row in rows if row.record_type == "refund")
    assert refund_row == BillRow(
        record_type="refund",
        out_trade_no=second.out_trade_no,
        provider_ref=fake_refund.refund_id,
        amount_minor=70_000_003,
        status="pending",
        out_refund_no=refund.out_refund_no,
        extra=refund_row.extra,
    )
    # the bill was asked for compressed (the SDK would send tar_type=None literally)
    bill_call = next(path for _m, path, _b in wechatpay.calls if path.startswith("/v3/bill/"))
    assert "tar_type=GZIP" in bill_call
    assert f"sub_mchid={wechatpay.sub_mchid}" in bill_call


def test_a_day_without_trades_has_no_rows_and_a_bill_in_the_making_is_retried(
    wechatpay: FakeWeChatPay, shop: Tenant
) -> None:
    # given
    gateway = WeChatPayGateway()
    day = _yesterday()
    # when / then
    assert gateway.bill_rows(tenant_id=shop.pk, bill_date=day) == []
    wechatpay.statement_creating = True
    with pytest.raises(GatewayError) as raised:
        gateway.bill_rows(tenant_id=shop.pk, bill_date=day)
    assert (raised.value.code, raised.value.retryable) == ("statement_creating", True)
