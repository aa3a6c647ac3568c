"""The shop's WeChat Pay sub-merchant, entered by platform staff in the shop's console."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.models import MerchantPaymentAccount
from infra.db import schema_connection
from tenants.models import Account, AuditLog, Membership, Role, Tenant

pytestmark = pytest.mark.django_db

PAGE = "/console/alpha/settings/payments/"
SAVE = PAGE + "wechatpay/"
SUB_MERCHANT = {"sub_mchid": "1900000109", "sub_appid": "wx0123456789abcdef", "active": "on"}


def _client(tenant: Tenant, role: str | None, *, platform_staff: bool = False) -> Client:
    account = Account.objects.create_user(
        email=f"{role or 'platform'}@example.com",
        password="right-password-123",
        is_platform_staff=platform_staff,
    )
    if role is not None:
        Membership.objects.create(account=account, tenant=tenant, role=role)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(account)
    return client


@pytest.fixture
def staff_client(shops: dict[str, Tenant], public: None) -> Client:
    """Platform staff (no role in the shop)."""
    return _client(shops["alpha"], None, platform_staff=True)


def _wechat_accounts() -> list[tuple[int, str, str, str, bool]]:
    schema_connection().set_schema_to_public()
    return list(
        MerchantPaymentAccount.objects.filter(provider="wechatpay").values_list(
            "tenant_id", "account_id", "sub_appid", "status", "charges_enabled"
        )
    )


def test_platform_staff_enter_the_sub_merchant_and_the_shop_takes_wechat_pay(
    staff_client: Client, shops: dict[str, Tenant]
) -> None:
    # when
    saved = staff_client.post(SAVE, SUB_MERCHANT)
    page = staff_client.get(PAGE)
    # then
    alpha = shops["alpha"]
    assert (saved.status_code, saved["Location"]) == (302, PAGE)
    assert _wechat_accounts() == [(alpha.pk, "1900000109", "wx0123456789abcdef", "active", True)]
    text = page.content.decode()
    assert 'data-wechatpay-status="active"' in text
    assert "1900000109" in text
    row = AuditLog.objects.get(action="payment_account.wechatpay_set")
    assert row.tenant_id == alpha.pk
    assert row.actor_id is not None
    assert row.data == {
        "before": None,
        "after": {
            "sub_mchid": "1900000109",
            "sub_appid": "wx0123456789abcdef",
            "status": "active",
        },
    }
    assert Tenant.objects.get(pk=alpha.pk).onboarding["payments"] is True


def test_platform_staff_stop_a_sub_merchant(staff_client: Client, shops: dict[str, Tenant]) -> None:
    # given
    staff_client.post(SAVE, SUB_MERCHANT)
    # when
    staff_client.post(SAVE, {**SUB_MERCHANT, "active": ""})
    # then
    assert _wechat_accounts() == [
        (shops["alpha"].pk, "1900000109", "wx0123456789abcdef", "disabled", False)
    ]
    last = AuditLog.objects.filter(action="payment_account.wechatpay_set").latest("id")
    assert last.data["before"]["status"] == "active"
    assert last.data["after"]["status"] == "disabled"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sub_mchid": "19000x0109"}, "A sub-merchant id (sub_mchid) is 8 to 12 digits."),
        ({"sub_appid": "wx123"}, "An AppID is “wx” and 16 hexadecimal characters."),
    ],
    ids=["sub_mchid", "sub_appid"],
)
def test_malformed_ids_are_refused_and_change_nothing(
    staff_client: Client, fields: dict[str, str], message: str
) -> None:
    # when
    page = staff_client.post(SAVE, {**SUB_MERCHANT, **fields})
    # then
    assert page.status_code == 400
    assert message in page.content.decode()
    assert _wechat_accounts() == []
    assert not AuditLog.objects.filter(action="payment_account.wechatpay_set").exists()


def test_a_sub_merchant_of_another_shop_is_refused(
    staff_client: Client, shops: dict[str, Tenant]
) -> None:
    # given
    MerchantPaymentAccount.objects.create(
        tenant=shops["beta"], provider="wechatpay", account_id="1900000109", status="active"
    )
    # when
    page = staff_client.post(SAVE, SUB_MERCHANT)
    # then
    assert page.status_code == 400
    assert "This sub-merchant id belongs to another shop." in page.content.decode()
    assert _wechat_accounts() == [(shops["beta"].pk, "1900000109", "", "active", False)]


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.STAFF, Role.CLERK])
def test_merchants_see_the_sub_merchant_but_cannot_change_it(
    shops: dict[str, Tenant], public: None, role: str
) -> None:
    # given
    client = _client(shops["alpha"], role)
    # when
    page = client.get(PAGE)
    save = client.post(SAVE, SUB_MERCHANT)
    # then
    text = page.content.decode()
    assert page.status_code == 200
    assert "Only platform staff can change the WeChat Pay sub-merchant" in text
    assert SAVE not in text
    assert save.status_code == 403
    assert _wechat_accounts() == []
    assert not AuditLog.objects.filter(action="payment_account.wechatpay_set").exists()
