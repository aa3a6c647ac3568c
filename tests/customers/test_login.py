"""Phone login by SMS code, through the API: codes, limits, attempts, consent, login records."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.utils import timezone

from infra.db import tenant_schema
from infra.messaging import sms_outbox
from shop.customers.models import Member, MemberConsent, MemberLogin, MemberToken, PhoneCode
from shop.customers.phones import phone_index
from shop.events.models import OutboxEvent
from tenants.models import Tenant
from tests.customers.conftest import (
    PHONE,
    POLICY,
    code_request,
    last_code,
    log_in,
    minute_passes,
    phone_login,
)


def test_a_new_phone_registers_with_consent_and_the_login_is_recorded(api: Client) -> None:
    # given
    assert code_request(api, "138 0013 8000").status_code == 204
    # when
    response = phone_login(api, last_code())
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["member"] == {
        "id": body["member"]["id"],
        "phone": "138****8000",
        "nickname": "",
        "avatar_url": "",
        "points_balance": 0,
        "store_balance_minor": 0,
        "tags": [],
    }
    member = Member.objects.get()
    assert member.phone_index == phone_index(PHONE)
    assert member.last_login_at is not None
    consent = MemberConsent.objects.get()
    assert (consent.member_id, consent.policy_version, consent.channel, consent.ip) == (
        member.pk,
        POLICY,
        "miniprogram",
        "203.0.113.7",
    )
    login = MemberLogin.objects.get()
    assert (login.member_id, login.method, login.device_id, login.ip, login.user_agent) == (
        member.pk,
        "phone_code",
        "device-1",
        "203.0.113.7",
        "MicroMessenger/8.0",
    )
    assert MemberToken.objects.get().member_id == member.pk
    assert list(OutboxEvent.objects.values_list("topic", "payload")) == [
        ("member.registered", {"member_id": member.pk, "channel": "miniprogram"})
    ]
    assert [(sms.phone, sms.template, sms.params[1]) for sms in sms_outbox] == [
        (PHONE, "member_login_code", "5")
    ]


def test_the_client_ip_comes_from_the_proxy_header(api: Client) -> None:
    # given
    code_request(api)
    # when
    response = phone_login(api, last_code(), HTTP_X_FORWARDED_FOR="198.51.100.4, 10.0.0.1")
    # then
    assert response.status_code == 200
    assert MemberLogin.objects.get().ip == "198.51.100.4"


def test_an_unknown_phone_without_consent_is_refused_and_the_code_stays_usable(
    api: Client,
) -> None:
    # given
    code_request(api)
    code = last_code()
    # when
    refused = phone_login(api, code, policy_version=None)
    # then
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "consent_required"
    assert not Member.objects.exists()
    assert not MemberConsent.objects.exists()
    assert not MemberToken.objects.exists()
    assert phone_login(api, code).status_code == 200
    assert MemberConsent.objects.count() == 1


def test_a_known_member_logs_in_again_without_a_new_consent(api: Client) -> None:
    # given
    first = log_in(api)
    minute_passes()
    code_request(api)
    # when
    response = phone_login(api, last_code(), policy_version=None)
    # then
    assert response.status_code == 200
    assert response.json()["member"]["id"] == first.member_id
    assert response.json()["token"] != first.token
    assert Member.objects.count() == 1
    assert MemberConsent.objects.count() == 1
    assert MemberLogin.objects.count() == 2
    assert MemberToken.objects.count() == 2


def test_a_code_is_single_use(api: Client) -> None:
    # given
    code_request(api)
    code = last_code()
    assert phone_login(api, code).status_code == 200
    # when
    again = phone_login(api, code)
    # then
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "code_invalid"
    assert MemberToken.objects.count() == 1
    assert MemberLogin.objects.count() == 1


def test_wrong_codes_are_counted_and_the_sixth_try_is_refused_even_when_right(
    api: Client,
) -> None:
    # given
    code_request(api)
    code = last_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    # when
    misses = [phone_login(api, wrong).json()["error"]["code"] for _ in range(5)]
    blocked = phone_login(api, code)
    # then
    assert misses == ["code_invalid"] * 5
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "code_too_many_attempts"
    assert PhoneCode.objects.get().attempts == 5
    assert not Member.objects.exists()
    assert not MemberToken.objects.exists()


def test_an_expired_code_is_refused(api: Client) -> None:
    # given
    code_request(api)
    PhoneCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    # when
    response = phone_login(api, last_code())
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "code_invalid"
    assert not Member.objects.exists()


def test_a_second_code_within_a_minute_is_too_soon(api: Client) -> None:
    # given
    assert code_request(api).status_code == 204
    # when
    response = code_request(api)
    # then
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "code_too_soon"
    assert len(sms_outbox) == 1
    assert PhoneCode.objects.count() == 1


def test_a_phone_gets_ten_codes_an_hour(api: Client) -> None:
    # given
    for _ in range(10):
        minute_passes()
        assert code_request(api).status_code == 204
    minute_passes()
    # when
    response = code_request(api)
    # then
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "login_code_limited"
    assert len(sms_outbox) == 10
    assert PhoneCode.objects.count() == 10


def test_an_ip_gets_thirty_codes_an_hour(api: Client) -> None:
    # given
    for number in range(30):
        assert code_request(api, f"+86139000000{number:02d}").status_code == 204
    # when
    response = code_request(api, "+8613900000099")
    # then
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "login_code_limited"
    assert len(sms_outbox) == 30
    assert code_request(api, "+8613900000099", REMOTE_ADDR="203.0.113.8").status_code == 204


def test_rate_limits_belong_to_each_shop(api: Client, other_shop: Tenant) -> None:
    # given
    assert code_request(api).status_code == 204
    # when
    response = code_request(Client(HTTP_HOST="beta.localhost"))
    # then
    assert response.status_code == 204
    assert len(sms_outbox) == 2


def test_an_invalid_phone_is_a_field_error(api: Client) -> None:
    # when
    response = code_request(api, "not a phone")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_failed"
    assert list(response.json()["error"]["fields"]) == ["phone"]
    assert sms_outbox == []
    assert not PhoneCode.objects.exists()


def test_the_phone_is_not_stored_in_clear(api: Client, shop: Tenant) -> None:
    # given
    logged_in = log_in(api)
    created = api.post(
        "/api/v1/addresses",
        {
            "recipient_name": "王五",
            "phone": "13900139000",
            "province": "广东省",
            "city": "深圳市",
            "district": "南山区",
            "detail": "科技园 1 号",
        },
        content_type="application/json",
        **logged_in.headers,
    )
    assert created.status_code == 201
    # when: every row of every table of the app, as text
    with tenant_schema(shop), connection.cursor() as cursor:
        rows = []
        for table in (
            "customers_member",
            "customers_phonecode",
            "customers_memberlogin",
            "customers_memberconsent",
            "customers_membertoken",
            "customers_address",
        ):
            cursor.execute(f"SELECT row_to_json(t)::text FROM {table} t")
            rows += [row[0] for row in cursor.fetchall()]
    # then
    assert len(rows) == 6  # member, code, login, consent, token, address
    assert not [row for row in rows if "13800138000" in row or "13900139000" in row]
    assert not [row for row in rows if logged_in.token in row]
