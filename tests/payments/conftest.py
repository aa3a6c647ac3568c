"""Fixtures of the payment tests: the fake WeChat Pay server wired into settings, the shop's
sub-merchant account, and notifications delivered to the shop host's notify endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from billing.models import MerchantPaymentAccount
from tenants.models import Tenant
from tests.fakes.wechatpay import FakeWeChatPay, Notification

WECHATPAY_NOTIFY_PATH = "/api/v1/payments/notify/wechatpay"
# The shop's mini-program, bound to its sub-merchant (the openids of JSAPI payments are its).
SUB_APPID = "wx0123456789abcdef"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.fixture
def fake_wechatpay() -> Iterator[FakeWeChatPay]:
    """The fake WeChat Pay; the platform's WeChat Pay settings are its."""
    with (
        FakeWeChatPay() as fake,
        override_settings(
            WECHATPAY_API_BASE_URL=fake.base_url,
            WECHATPAY_SP_MCHID=fake.sp_mchid,
            WECHATPAY_SP_APPID=fake.sp_appid,
            WECHATPAY_PRIVATE_KEY=fake.merchant_private_key_pem,
            WECHATPAY_CERT_SERIAL_NO=fake.merchant_serial_no,
            WECHATPAY_APIV3_KEY=fake.apiv3_key,
            WECHATPAY_PUBLIC_KEY=fake.platform_public_key_pem,
            WECHATPAY_PUBLIC_KEY_ID=fake.public_key_id,
            WECHATPAY_TIMEOUT_S=5.0,
        ),
    ):
        yield fake
    assert fake.errors == []


def wechatpay_account_make(tenant: Tenant, fake: FakeWeChatPay) -> MerchantPaymentAccount:
    """The shop as an active sub-merchant of the fake's service provider."""
    return MerchantPaymentAccount.objects.create(
        tenant=tenant,
        provider="wechatpay",
        account_id=fake.sub_mchid,
        sub_appid=SUB_APPID,
        status=MerchantPaymentAccount.Status.ACTIVE,
        charges_enabled=True,
    )


@pytest.fixture
def wechatpay(shop: Tenant, fake_wechatpay: FakeWeChatPay) -> FakeWeChatPay:
    """The fake, with the test shop as its active sub-merchant."""
    wechatpay_account_make(shop, fake_wechatpay)
    return fake_wechatpay


def notification_post(client: Client, note: Notification) -> Any:
    """POST a notification to the shop's notify endpoint as WeChat Pay does (raw body)."""
    headers = {name: value for name, value in note.headers.items() if name != "Content-Type"}
    return client.post(
        WECHATPAY_NOTIFY_PATH, data=note.body, content_type="application/json", headers=headers
    )


@pytest.fixture
def notify(shop: Tenant) -> Callable[[Notification], Any]:
    """Deliver a notification to the test shop's host."""
    client = Client(HTTP_HOST="alpha.localhost")
    return lambda note: notification_post(client, note)
