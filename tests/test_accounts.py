"""Accounts: login by e-mail or phone with throttling, verification codes, password reset."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client, override_settings

from infra.messaging import sms_outbox
from tenants.models import Account, AuditLog, VerificationCode


@pytest.fixture
def account(public: None) -> Account:
    mail.outbox.clear()
    sms_outbox.clear()
    return Account.objects.create_user(
        email="staff@example.com", phone="+8613900000001", password="right-password-123"
    )


def _login(client: Client, identifier: str, password: str, ip: str = "10.0.0.1") -> int:
    response = client.post(
        "/api/platform/v1/auth/login",
        {"identifier": identifier, "password": password},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )
    return int(response.status_code)


def test_login_by_email_any_case_and_by_phone_without_country_code(account: Account) -> None:
    assert _login(Client(), "STAFF@example.com", "right-password-123") == 200
    assert _login(Client(), "139 0000 0001", "right-password-123") == 200
    assert AuditLog.objects.filter(action="account.logged_in", actor=account).count() == 2


def test_wrong_password_is_refused_with_a_stable_code(account: Account) -> None:
    response = Client().post(
        "/api/platform/v1/auth/login",
        {"identifier": "staff@example.com", "password": "wrong"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"


@override_settings(LOGIN_MAX_FAILURES_PER_ACCOUNT=3, LOGIN_MAX_FAILURES_PER_IP=100)
def test_login_is_throttled_per_account_even_with_the_right_password(account: Account) -> None:
    # given: three failures from different addresses
    for index in range(3):
        assert _login(Client(), "staff@example.com", "wrong", ip=f"10.0.1.{index}") == 400
    # when
    status = _login(Client(), "staff@example.com", "right-password-123", ip="10.0.2.1")
    # then
    assert status == 429
    assert not AuditLog.objects.filter(action="account.logged_in").exists()


@override_settings(LOGIN_MAX_FAILURES_PER_ACCOUNT=100, LOGIN_MAX_FAILURES_PER_IP=3)
def test_login_is_throttled_per_ip_across_accounts(account: Account) -> None:
    # given
    for index in range(3):
        assert _login(Client(), f"nobody{index}@example.com", "wrong", ip="10.9.9.9") == 400
    # when / then: the IP is blocked, another IP is not
    assert _login(Client(), "staff@example.com", "right-password-123", ip="10.9.9.9") == 429
    assert _login(Client(), "staff@example.com", "right-password-123", ip="10.9.9.8") == 200


def _code_from(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match is not None, text
    return match.group(1)


def test_email_verification_with_the_mailed_code(account: Account) -> None:
    # given
    client = Client()
    client.force_login(account)
    # when
    sent = client.post(
        "/api/platform/v1/me/verification", {"channel": "email"}, content_type="application/json"
    )
    code = _code_from(str(mail.outbox[-1].body))
    confirmed = client.post(
        "/api/platform/v1/me/verification/confirm",
        {"channel": "email", "code": code},
        content_type="application/json",
    )
    # then
    assert sent.status_code == 204
    assert mail.outbox[-1].to == ["staff@example.com"]
    assert confirmed.status_code == 200
    assert confirmed.json()["email_verified"] is True
    account.refresh_from_db()
    assert account.email_verified_at is not None


def test_phone_verification_wrong_codes_are_counted_and_locked_out(account: Account) -> None:
    # given
    client = Client()
    client.force_login(account)
    client.post(
        "/api/platform/v1/me/verification", {"channel": "phone"}, content_type="application/json"
    )
    right = _code_from(sms_outbox[-1].text)
    wrong = "000000" if right != "000000" else "111111"
    # when
    codes = [
        client.post(
            "/api/platform/v1/me/verification/confirm",
            {"channel": "phone", "code": wrong},
            content_type="application/json",
        ).json()["error"]["code"]
        for _ in range(5)
    ]
    late = client.post(
        "/api/platform/v1/me/verification/confirm",
        {"channel": "phone", "code": right},
        content_type="application/json",
    )
    # then
    assert codes == ["code_invalid"] * 5
    assert late.status_code == 429
    assert late.json()["error"]["code"] == "code_too_many_attempts"
    account.refresh_from_db()
    assert account.phone_verified_at is None
    assert VerificationCode.objects.get(account=account).attempts == 5


def test_a_second_code_within_a_minute_is_refused(account: Account) -> None:
    client = Client()
    client.force_login(account)
    first = client.post(
        "/api/platform/v1/me/verification", {"channel": "email"}, content_type="application/json"
    )
    second = client.post(
        "/api/platform/v1/me/verification", {"channel": "email"}, content_type="application/json"
    )
    assert first.status_code == 204
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "code_too_soon"
    assert len(mail.outbox) == 1


def test_password_reset_by_sms_code(account: Account) -> None:
    # given
    Client().post(
        "/api/platform/v1/password-reset",
        {"identifier": "+86 139 0000 0001"},
        content_type="application/json",
    )
    code = _code_from(sms_outbox[-1].text)
    # when
    response = Client().post(
        "/api/platform/v1/password-reset/confirm",
        {"identifier": "13900000001", "code": code, "new_password": "brand-new-secret-42"},
        content_type="application/json",
    )
    # then
    assert response.status_code == 204
    assert _login(Client(), "staff@example.com", "brand-new-secret-42") == 200
    assert _login(Client(), "staff@example.com", "right-password-123") == 400
    assert AuditLog.objects.filter(action="account.password_reset", actor=None).count() == 1


def test_password_reset_code_works_once(account: Account) -> None:
    Client().post(
        "/api/platform/v1/password-reset",
        {"identifier": "staff@example.com"},
        content_type="application/json",
    )
    code = _code_from(str(mail.outbox[-1].body))
    body = {"identifier": "staff@example.com", "code": code, "new_password": "brand-new-secret-42"}
    first = Client().post(
        "/api/platform/v1/password-reset/confirm", body, content_type="application/json"
    )
    body["new_password"] = "another-new-secret-43"
    second = Client().post(
        "/api/platform/v1/password-reset/confirm", body, content_type="application/json"
    )
    assert first.status_code == 204
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "code_invalid"
    assert _login(Client(), "staff@example.com", "brand-new-secret-42") == 200


def test_password_reset_for_an_unknown_account_reveals_nothing(account: Account) -> None:
    response = Client().post(
        "/api/platform/v1/password-reset",
        {"identifier": "ghost@example.com"},
        content_type="application/json",
    )
    assert response.status_code == 204
    assert mail.outbox == []
