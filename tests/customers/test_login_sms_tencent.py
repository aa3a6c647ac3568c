"""Login codes through the real Tencent Cloud SMS adapter, against the fake provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client, override_settings

from shop.customers.models import Member, PhoneCode
from tests.customers.conftest import PHONE, code_request, phone_login
from tests.fakes.sms import FakeSms

TEMPLATE_ID = "2345678"


@pytest.fixture
def sms(sms_locmem: None) -> Iterator[FakeSms]:
    with (
        FakeSms(sdk_app_id="1400000001", sign_name="微商城", templates={TEMPLATE_ID: 2}) as fake,
        override_settings(
            SMS_BACKEND="tencent",
            TENCENT_SMS_ENDPOINT=fake.base_url,
            TENCENT_SMS_SECRET_ID=fake.secret_id,
            TENCENT_SMS_SECRET_KEY=fake.secret_key,
            TENCENT_SMS_SDK_APP_ID="1400000001",
            TENCENT_SMS_SIGN_NAME="微商城",
            SMS_TEMPLATES={"member_login_code": TEMPLATE_ID},
        ),
    ):
        yield fake


def test_the_login_code_goes_through_tencent_and_logs_in(sms: FakeSms, api: Client) -> None:
    # when
    sent = code_request(api)
    # then
    assert sent.status_code == 204
    assert [(m.phone, m.template_id) for m in sms.sent] == [(PHONE, TEMPLATE_ID)]
    code, minutes = sms.sent[0].params
    assert minutes == "5"
    assert phone_login(api, code).status_code == 200


def test_a_provider_failure_stores_no_code_allows_a_retry_and_logs_no_phone(
    sms: FakeSms, api: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    sms.fail_next(1, code="LimitExceeded.PhoneNumberOneHourLimit")
    # when
    failed = code_request(api)
    # then
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "sms_not_sent"
    assert not PhoneCode.objects.exists()
    assert not Member.objects.exists()
    assert "13800138000" not in caplog.text
    assert code_request(api).status_code == 204
    assert PhoneCode.objects.count() == 1
