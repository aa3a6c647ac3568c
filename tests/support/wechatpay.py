"""The fake WeChat Pay wired into settings as the platform's (service-provider) WeChat Pay, shops
as its sub-merchants, and notifications posted as WeChat Pay posts them.

A pytest plugin (registered in tests/conftest.py): its fixtures serve every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def wechatpay_platform() -> Iterator[FakeWeChatPay]:
    """The fake WeChat Pay, the platform's WeChat Pay settings pointing at it; afterwards, it
    must have met no request it could not take."""
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


def wechatpay_account_make(
    tenant: Tenant, fake: FakeWeChatPay, *, sub_appid: str = SUB_APPID
) -> MerchantPaymentAccount:
    """The shop as an active sub-merchant of the fake's service provider, whose JSAPI app is
    `sub_appid` (its mini-program unless given)."""
    return MerchantPaymentAccount.objects.create(
        tenant=tenant,
        provider="wechatpay",
        account_id=fake.sub_mchid,
        sub_appid=sub_appid,
        status=MerchantPaymentAccount.Status.ACTIVE,
        charges_enabled=True,
    )


def notification_post(client: Client, note: Notification, path: str = WECHATPAY_NOTIFY_PATH) -> Any:
    """POST a notification to `path` (the payments' notify endpoint unless given) as WeChat Pay
    does (raw body, its signed headers)."""
    headers = {name: value for name, value in note.headers.items() if name != "Content-Type"}
    return client.post(path, data=note.body, content_type="application/json", headers=headers)


@pytest.fixture
def fake_wechatpay() -> Iterator[FakeWeChatPay]:
    """The fake WeChat Pay; the platform's WeChat Pay settings are its."""
    with wechatpay_platform() as fake:
        yield fake


@pytest.fixture
def wechatpay(shop: Tenant, fake_wechatpay: FakeWeChatPay) -> FakeWeChatPay:
    """The fake, with the test shop as its active sub-merchant."""
    wechatpay_account_make(shop, fake_wechatpay)
    return fake_wechatpay
