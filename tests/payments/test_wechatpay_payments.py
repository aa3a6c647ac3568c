"""Paying through WeChat Pay (service-provider mode): the real wechatpayv3 client against the
fake server, from starting an attempt to the query fallback and closing on cancellation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import MerchantPaymentAccount
from shop.customers.models import MemberIdentity
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order, OrderStatus, OrderTransition
from shop.orders.services.orders import orders_unpaid_cancel
from shop.payments.errors import GatewayUnavailableError, PaymentProviderError
from shop.payments.gateways.wechatpay import WeChatPayGateway
from shop.payments.models import Payment, Refund
from shop.payments.selectors import notify_url_for
from shop.payments.services.payments import PaymentStarted, payment_start, payments_pending_resolve
from tenants.models import Tenant
from tests.fakes.wechatpay import FakeWeChatPay
from tests.support.commerce import member_make, member_token, order_make
from tests.support.wechatpay import OPENID, SUB_APPID, wechatpay_account_make

pytestmark = pytest.mark.django_db


def _start(order: Order, method: str = "wechat_miniprogram", **extra: Any) -> PaymentStarted:
    if method in ("wechat_miniprogram", "wechat_jsapi"):
        extra.setdefault("payer_ref", OPENID)
    return payment_start(
        order=order, method=method, notify_url=notify_url_for(gateway="wechatpay"), **extra
    )


# -- starting a payment ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["wechat_miniprogram", "wechat_jsapi"])
def test_jsapi_start_returns_params_signed_as_the_cashier_checks_them(
    wechatpay: FakeWeChatPay, method: str
) -> None:
    # given
    order = order_make(price_minor=1999)
    # when
    started = _start(order, method)
    # then: what wx.requestPayment takes, signed with the merchant key for the shop's app
    params = started.client_params
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == SUB_APPID
    assert params["signType"] == "RSA"
    assert abs(int(params["timeStamp"]) - timezone.now().timestamp()) < 5
    fake_order = wechatpay.order(started.payment.out_trade_no)
    assert params["package"] == f"prepay_id={fake_order.prepay_id}"
    assert wechatpay.verify_pay_sign(
        params["appId"],
        params["timeStamp"],
        params["nonceStr"],
        params["package"],
        params["paySign"],
    )
    assert not wechatpay.verify_pay_sign(
        params["appId"], params["timeStamp"], params["nonceStr"], "prepay_id=wx0", params["paySign"]
    )
    # and WeChat Pay holds the order for the shop's sub-merchant, in 分
    assert (fake_order.sub_mchid, fake_order.sub_appid, fake_order.payer) == (
        wechatpay.sub_mchid,
        SUB_APPID,
        {"sub_openid": OPENID},
    )
    assert (fake_order.total, fake_order.currency, fake_order.trade_state) == (
        order.total_minor,
        "CNY",
        "NOTPAY",
    )
    assert fake_order.notify_url == "http://alpha.localhost:8000/api/v1/payments/notify/wechatpay"
    method_, path, body = wechatpay.calls[-1]
    assert (method_, path) == ("POST", "/v3/pay/partner/transactions/jsapi")
    assert (body["sp_mchid"], body["sp_appid"]) == (wechatpay.sp_mchid, wechatpay.sp_appid)
    assert body["time_expire"] == timezone.localtime(
        order.pay_deadline, timezone.get_fixed_timezone(480)
    ).isoformat(timespec="seconds")
    payment = Payment.objects.get(pk=started.payment.pk)
    assert (payment.gateway, payment.method, payment.status, payment.amount_minor) == (
        "wechatpay",
        method,
        "pending",
        order.total_minor,
    )


def test_a_shop_without_a_sub_appid_pays_with_openids_of_the_platform_app(
    wechatpay: FakeWeChatPay, shop: Tenant
) -> None:
    # given
    MerchantPaymentAccount.objects.filter(tenant=shop).update(sub_appid="")
    order = order_make()
    # when
    started = _start(order)
    # then
    assert started.client_params["appId"] == wechatpay.sp_appid
    fake_order = wechatpay.order(started.payment.out_trade_no)
    assert (fake_order.sub_appid, fake_order.payer) == (None, {"sp_openid": OPENID})


def test_h5_start_returns_the_h5_url_with_the_return_address(wechatpay: FakeWeChatPay) -> None:
    # given
    order = order_make()
    # when
    started = _start(
        order,
        "wechat_h5",
        client_ip="203.0.113.7",
        return_url="http://alpha.localhost/orders/1?paid=1",
    )
    # then
    fake_order = wechatpay.order(started.payment.out_trade_no)
    assert started.client_params == {
        "h5_url": f"{fake_order.h5_url}&redirect_url="
        "http%3A%2F%2Falpha.localhost%2Forders%2F1%3Fpaid%3D1"
    }
    assert fake_order.trade_type == "MWEB"
    assert wechatpay.calls[-1][2]["scene_info"] == {
        "payer_client_ip": "203.0.113.7",
        "h5_info": {"type": "Wap"},
    }


def test_native_start_returns_the_code_url(wechatpay: FakeWeChatPay) -> None:
    # given
    order = order_make()
    # when
    started = _start(order, "wechat_native")
    # then
    fake_order = wechatpay.order(started.payment.out_trade_no)
    assert started.client_params == {"code_url": fake_order.code_url}
    assert fake_order.trade_type == "NATIVE"


def test_a_long_chinese_description_is_cut_to_wechats_127_bytes(wechatpay: FakeWeChatPay) -> None:
    # given: a line title of 100 Chinese characters (300 bytes)
    order = order_make()
    order.lines.update(title="连衣裙" * 34)
    # when
    started = _start(order)
    # then
    description = wechatpay.order(started.payment.out_trade_no).description
    assert description == ("连衣裙" * 34)[:42]
    assert len(description.encode()) == 126


def test_the_pay_api_returns_the_jsapi_params_for_the_members_openid(
    wechatpay: FakeWeChatPay, shop: Tenant
) -> None:
    # given: a member who logged in from the mini-program
    member = member_make()
    MemberIdentity.objects.create(
        member=member, provider="wechat_miniprogram", appid=SUB_APPID, openid=OPENID
    )
    order = order_make(member=member, price_minor=2500)
    client = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="203.0.113.7")
    # when
    response = client.post(
        f"/api/v1/orders/{order.number}/pay",
        {"method": "wechat_miniprogram"},
        content_type="application/json",
        HTTP_AUTHORIZATION=member_token(member)["HTTP_AUTHORIZATION"],
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    params = body["client_params"]
    assert body["payment"]["status"] == "pending"
    assert wechatpay.verify_pay_sign(
        params["appId"],
        params["timeStamp"],
        params["nonceStr"],
        params["package"],
        params["paySign"],
    )
    assert wechatpay.order(body["payment"]["out_trade_no"]).payer == {"sub_openid": OPENID}


def test_a_shop_without_an_active_account_cannot_pay_with_wechat(
    fake_wechatpay: FakeWeChatPay, shop: Tenant
) -> None:
    # given: no account, then an account still onboarding
    order = order_make()
    # when
    with pytest.raises(GatewayUnavailableError):
        _start(order)
    account = wechatpay_account_make(shop, fake_wechatpay)
    MerchantPaymentAccount.objects.filter(pk=account.pk).update(
        status=MerchantPaymentAccount.Status.PENDING
    )
    with pytest.raises(GatewayUnavailableError):
        _start(order)
    # then: nothing reached WeChat Pay; the attempts are failed
    assert fake_wechatpay.calls == []
    assert list(Payment.objects.filter(order=order).values_list("status", flat=True)) == [
        "failed",
        "failed",
    ]


def test_a_platform_without_wechat_pay_settings_cannot_pay_with_wechat(
    wechatpay: FakeWeChatPay, settings: Any
) -> None:
    # given
    settings.WECHATPAY_SP_MCHID = ""
    order = order_make()
    # when / then
    with pytest.raises(GatewayUnavailableError):
        _start(order)
    assert wechatpay.calls == []


def test_another_currency_is_refused_before_wechat_pay(wechatpay: FakeWeChatPay) -> None:
    # given
    order = order_make()
    Order.objects.filter(pk=order.pk).update(currency="USD")
    order.refresh_from_db()
    # when / then
    with pytest.raises(GatewayUnavailableError):
        _start(order)
    assert wechatpay.calls == []


def test_a_provider_failure_fails_the_attempt_and_the_next_attempt_works(
    wechatpay: FakeWeChatPay,
) -> None:
    # given
    order = order_make()
    wechatpay.fail_next(1, status=500)
    # when
    with pytest.raises(PaymentProviderError):
        _start(order)
    started = _start(order)
    # then
    statuses = list(
        Payment.objects.filter(order=order).order_by("id").values_list("status", flat=True)
    )
    assert statuses == ["failed", "pending"]
    assert wechatpay.order(started.payment.out_trade_no).trade_state == "NOTPAY"


# -- the query fallback ----------------------------------------------------------------------


def test_query_fallback_resolves_a_payment_whose_notification_was_lost(
    wechatpay: FakeWeChatPay,
) -> None:
    # given: paid at WeChat Pay; the notification never arrived
    order = order_make(price_minor=3000)
    started = _start(order)
    wechatpay.pay_succeed(started.payment.out_trade_no)
    later = timezone.now() + timedelta(seconds=1)
    # when
    changed = payments_pending_resolve(older_than=later)
    again = payments_pending_resolve(older_than=later)
    # then
    order.refresh_from_db()
    payment = Payment.objects.get(pk=started.payment.pk)
    fake_order = wechatpay.order(payment.out_trade_no)
    assert (changed, again) == (1, 0)
    assert order.status == OrderStatus.PAID
    assert (payment.status, payment.paid_order, payment.provider_ref, payment.payer_ref) == (
        "succeeded",
        True,
        fake_order.transaction_id,
        OPENID,
    )
    assert fake_order.success_time is not None
    assert payment.succeeded_at == fake_order.success_time.replace(microsecond=0)
    assert OrderTransition.objects.filter(order=order, to_status="paid").count() == 1


@pytest.mark.parametrize(
    ("trade_state", "expected"),
    [
        ("USERPAYING", "pending"),
        ("NOTPAY", "pending"),
        ("PAYERROR", "failed"),
        ("CLOSED", "closed"),
    ],
)
def test_query_fallback_maps_wechats_trade_states(
    wechatpay: FakeWeChatPay, trade_state: str, expected: str
) -> None:
    # given
    order = order_make()
    started = _start(order)
    wechatpay.set_trade_state(started.payment.out_trade_no, trade_state)
    # when
    payments_pending_resolve(older_than=timezone.now() + timedelta(seconds=1))
    # then
    order.refresh_from_db()
    assert Payment.objects.get(pk=started.payment.pk).status == expected
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_query_of_a_refunded_payment_says_it_was_paid(
    wechatpay: FakeWeChatPay, shop: Tenant
) -> None:
    # given
    order = order_make(price_minor=1200)
    started = _start(order)
    wechatpay.pay_succeed(started.payment.out_trade_no)
    wechatpay.set_trade_state(started.payment.out_trade_no, "REFUND")
    # when
    state = WeChatPayGateway().payment_query(
        tenant_id=shop.pk, out_trade_no=started.payment.out_trade_no
    )
    # then
    assert (state.status, state.amount_minor, state.currency) == ("succeeded", 1200, "CNY")


# -- closing on cancellation -----------------------------------------------------------------


def _cancelled_event(order: Order) -> OutboxEvent:
    return OutboxEvent.objects.get(topic="order.cancelled", payload__order_id=order.pk)


def test_cancelling_the_order_closes_its_attempt_at_wechat_pay(wechatpay: FakeWeChatPay) -> None:
    # given
    order = order_make()
    started = _start(order)
    orders_unpaid_cancel(now=order.pay_deadline + timedelta(seconds=1))
    # when: the outbox delivers order.cancelled
    event_deliver(event_id=_cancelled_event(order).id)
    # then
    assert wechatpay.order(started.payment.out_trade_no).trade_state == "CLOSED"
    assert Payment.objects.get(pk=started.payment.pk).status == "closed"
    assert (
        "POST",
        f"/v3/pay/partner/transactions/out-trade-no/{started.payment.out_trade_no}/close",
    ) in [(method, path) for method, path, _body in wechatpay.calls]


def test_an_attempt_paid_before_the_close_arrived_is_refunded_not_closed(
    wechatpay: FakeWeChatPay,
) -> None:
    # given: cancelled by the timeout while the payer was paying; the notification is lost
    order = order_make(price_minor=4100)
    started = _start(order)
    orders_unpaid_cancel(now=order.pay_deadline + timedelta(seconds=1))
    wechatpay.pay_succeed(started.payment.out_trade_no)
    # when: the close reaches WeChat Pay, which says it is paid
    event_deliver(event_id=_cancelled_event(order).id)
    # then: the success is applied now, and the money goes back
    order.refresh_from_db()
    payment = Payment.objects.get(pk=started.payment.pk)
    refund = Refund.objects.get(payment=payment)
    assert order.status == OrderStatus.CANCELLED
    assert (payment.status, payment.paid_order) == ("succeeded", False)
    assert (refund.reason, refund.amount_minor, refund.status) == ("late_payment", 4100, "pending")
    assert wechatpay.order(payment.out_trade_no).trade_state == "SUCCESS"
