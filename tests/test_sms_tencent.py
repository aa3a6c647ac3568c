"""Verification codes by SMS through Tencent Cloud SMS (the real adapter against the fake)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client, override_settings

from tenants.models import Account, VerificationCode
from tests.fakes.sms import FakeSms

TEMPLATE_ID = "1234567"


@pytest.fixture
def sms() -> Iterator[FakeSms]:
    with (
        FakeSms(sdk_app_id="1400000001", sign_name="微商城", templates={TEMPLATE_ID: 2}) as fake,
        override_settings(
            SMS_BACKEND="tencent",
            TENCENT_SMS_ENDPOINT=fake.base_url,
            TENCENT_SMS_SECRET_ID=fake.secret_id,
            TENCENT_SMS_SECRET_KEY=fake.secret_key,
            TENCENT_SMS_SDK_APP_ID="1400000001",
            TENCENT_SMS_SIGN_NAME="微商城",
            SMS_TEMPLATES={"verification_code": TEMPLATE_ID},
        ),
    ):
        yield fake


@pytest.fixture
def client(public: None) -> Client:
    account = Account.objects.create_user(
        email="sms@example.com", phone="+8613900000009", password="long-password-1"
    )
    client = Client()
    client.force_login(account)
    return client


def test_phone_verification_code_goes_through_tencent_and_confirms(
    sms: FakeSms, client: Client
) -> None:
    # when
    sent = client.post(
        "/api/platform/v1/me/verification", {"channel": "phone"}, content_type="application/json"
    )
    # then
    assert sent.status_code == 204
    assert [(m.phone, m.template_id) for m in sms.sent] == [("+8613900000009", TEMPLATE_ID)]
    code, minutes = sms.sent[0].params
    assert minutes == "10"
    confirmed = client.post(
        "/api/platform/v1/me/verification/confirm",
        {"channel": "phone", "code": code},
        content_type="application/json",
    )
    assert confirmed.json()["phone_verified"] is True


def test_a_provider_failure_is_a_clear_error_and_stores_no_code(
    sms: FakeSms, client: Client
) -> None:
    # given
    sms.fail_next(1, code="LimitExceeded.PhoneNumberDailyLimit")
    # when
    response = client.post(
        "/api/platform/v1/me/verification", {"channel": "phone"}, content_type="application/json"
    )
    # then
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "sms_not_sent"
    assert not VerificationCode.objects.exists()


def test_wrong_credentials_are_refused_by_the_provider(sms: FakeSms, client: Client) -> None:
    with override_settings(TENCENT_SMS_SECRET_KEY="not-the-key"):
        response = client.post(
            "/api/platform/v1/me/verification",
            {"channel": "phone"},
            content_type="application/json",
        )
    assert response.status_code == 503
    assert sms.sent == []
