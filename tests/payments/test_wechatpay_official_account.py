"""JSAPI payments in H5 inside WeChat: the openid the member bound through the shop's Official
Account (snsapi_base web authorization) pays, with the fake WeChat API and the fake WeChat Pay,
each driven by its real SDK (wechatpy, wechatpayv3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client

from shop.customers.models import MemberIdentity
from shop.payments.models import Payment
from tenants.models import Tenant
from tests.fakes.wechat import FakeWeChat
from tests.fakes.wechatpay import FakeWeChatPay
from tests.support.commerce import member_make, member_token, order_make
from tests.support.wechat import (
    HOSTED_OA_APPID,
    OA_APPID,
    fake_wechat,
    hosted_official_account,
    own_official_account,
)
from tests.support.wechatpay import wechatpay_account_make

PAGE = "http://alpha.localhost/pay"
OPENID = "oOfficialAccountOpenId0000001"


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    with fake_wechat() as fake:
        yield fake


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="203.0.113.7")


def _bind_in_wechat(client: Client, headers: dict[str, Any], wechat: FakeWeChat) -> Any:
    """The H5 page inside WeChat: authorize URL, WeChat's redirect, then the bind."""
    url = client.get("/api/v1/auth/wechat-oauth-url", {"redirect_uri": PAGE}, **headers)
    assert url.status_code == 200, url.content
    back = dict(parse_qsl(urlsplit(wechat.oauth_authorize(url.json()["url"], openid=OPENID)).query))
    return client.post(
        "/api/v1/auth/wechat-oauth-bind",
        {"code": back["code"], "state": back["state"]},
        content_type="application/json",
        **headers,
    )


def _pay(client: Client, number: str, headers: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/orders/{number}/pay",
        {"method": "wechat_jsapi"},
        content_type="application/json",
        **headers,
    )


@pytest.mark.parametrize("mode", ["own", "component"])
def test_the_bound_openid_pays_an_order_with_jsapi_in_h5(
    shop: Tenant,
    client: Client,
    wechat: FakeWeChat,
    fake_wechatpay: FakeWeChatPay,
    mode: str,
) -> None:
    # given: the shop's Official Account (registered; the sub-merchant's own bound appid is
    # another app's) and a member who bound its openid
    if mode == "own":
        appid = own_official_account(shop).appid
    else:
        appid = hosted_official_account(shop, wechat).appid
    assert appid == (OA_APPID if mode == "own" else HOSTED_OA_APPID)
    wechatpay_account_make(shop, fake_wechatpay, sub_appid="wx00000000000000aa")
    member = member_make()
    headers = member_token(member)
    assert _bind_in_wechat(client, headers, wechat).status_code == 200
    order = order_make(member=member, price_minor=2500)
    # when
    response = _pay(client, order.number, headers)
    # then: wx.chooseWXPay / WeixinJSBridge parameters for the Official Account, signed
    assert response.status_code == 201, response.content
    body = response.json()
    params = body["client_params"]
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == appid
    assert wechatpay_signed(fake_wechatpay, params)
    fake_order = fake_wechatpay.order(body["payment"]["out_trade_no"])
    assert params["package"] == f"prepay_id={fake_order.prepay_id}"
    # and WeChat Pay was asked to charge the bound WeChat user, in the shop's app
    assert (fake_order.sub_appid, fake_order.payer) == (appid, {"sub_openid": OPENID})
    assert fake_order.total == order.total_minor
    payment = Payment.objects.get(out_trade_no=body["payment"]["out_trade_no"])
    assert (payment.method, payment.payer_ref) == ("wechat_jsapi", OPENID)


def test_without_a_bound_openid_jsapi_in_h5_is_refused_before_wechat_pay(
    shop: Tenant, client: Client, wechat: FakeWeChat, fake_wechatpay: FakeWeChatPay
) -> None:
    # given: the member logged in from the mini-program only
    own_official_account(shop)
    wechatpay_account_make(shop, fake_wechatpay, sub_appid=OA_APPID)
    member = member_make()
    MemberIdentity.objects.create(
        member=member, provider="wechat_miniprogram", appid="wx0123456789abcdef", openid="o-mp"
    )
    order = order_make(member=member)
    # when
    response = _pay(client, order.number, member_token(member))
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_identity_missing"
    assert not Payment.objects.filter(order=order).exists()
    assert fake_wechatpay.calls == []


def wechatpay_signed(fake: FakeWeChatPay, params: dict[str, str]) -> bool:
    return fake.verify_pay_sign(
        params["appId"],
        params["timeStamp"],
        params["nonceStr"],
        params["package"],
        params["paySign"],
    )
