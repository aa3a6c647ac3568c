"""Login, logout, password reset and verification pages."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client, override_settings

from infra.messaging import sms_outbox
from tenants.models import Account, AuditLog
from tests.frontend.conftest import PASSWORD


def _code(text: object) -> str:
    match = re.search(r"\b(\d{6})\b", str(text))
    assert match is not None
    return match.group(1)


def test_login_page_renders(client_en: Client, public: None) -> None:
    # when
    response = client_en.get("/login/?next=/console/alpha/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="identifier"' in html
    assert 'name="password"' in html
    assert '<input type="hidden" name="next" value="/console/alpha/">' in html
    assert 'href="/password-reset/"' in html


def test_login_by_email_goes_to_my_shops(owner: Account, client_en: Client) -> None:
    # when
    response = client_en.post("/login/", {"identifier": "owner@example.com", "password": PASSWORD})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/console/"
    assert client_en.session["_auth_user_id"] == str(owner.pk)


def test_login_by_phone_follows_a_safe_next(owner: Account, client_en: Client) -> None:
    # when
    response = client_en.post(
        "/login/",
        {"identifier": "13900000001", "password": PASSWORD, "next": "/console/alpha/"},
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == "/console/alpha/"


def test_login_ignores_a_next_on_another_host(owner: Account, client_en: Client) -> None:
    # when
    response = client_en.post(
        "/login/",
        {"identifier": "owner@example.com", "password": PASSWORD, "next": "https://evil.test/"},
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == "/console/"


def test_login_with_a_wrong_password_shows_the_error(owner: Account, client_en: Client) -> None:
    # when
    response = client_en.post("/login/", {"identifier": "owner@example.com", "password": "nope"})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "The e-mail, phone or password is not right." in html
    assert 'value="owner@example.com"' in html
    assert "_auth_user_id" not in client_en.session
    assert not AuditLog.objects.filter(action="account.logged_in").exists()


@override_settings(LOGIN_MAX_FAILURES_PER_ACCOUNT=2, LOGIN_MAX_FAILURES_PER_IP=100)
def test_login_throttling_is_shown(owner: Account, client_en: Client) -> None:
    # given
    for _attempt in range(2):
        client_en.post("/login/", {"identifier": "owner@example.com", "password": "nope"})
    # when
    response = client_en.post("/login/", {"identifier": "owner@example.com", "password": PASSWORD})
    # then
    assert response.status_code == 429
    assert "Too many failed attempts. Try again in a few minutes." in response.content.decode()
    assert "_auth_user_id" not in client_en.session


def test_logout_is_a_post_and_ends_the_session(owner_client: Client) -> None:
    # given
    assert owner_client.get("/logout/").status_code == 405
    assert "_auth_user_id" in owner_client.session
    # when
    response = owner_client.post("/logout/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in owner_client.session
    assert owner_client.get("/console/").status_code == 302


def test_password_reset_by_email_end_to_end(
    owner: Account, client_en: Client, outboxes: None
) -> None:
    # when: ask for a code
    response = client_en.post("/password-reset/", {"identifier": "Owner@Example.com"})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/password-reset/confirm/?identifier=Owner%40Example.com"
    assert [message.to for message in mail.outbox] == [["owner@example.com"]]
    page = client_en.get(response["Location"]).content.decode()
    assert 'value="Owner@Example.com"' in page
    assert "If an account uses Owner@Example.com, a code is on its way." in page
    # when: confirm it
    confirm = client_en.post(
        "/password-reset/confirm/",
        {
            "identifier": "owner@example.com",
            "code": _code(mail.outbox[0].body),
            "new_password": "brand-new-secret-42",
            "new_password_again": "brand-new-secret-42",
        },
    )
    # then
    assert confirm.status_code == 302
    assert confirm["Location"] == "/login/"
    owner.refresh_from_db()
    assert owner.check_password("brand-new-secret-42")


def test_password_reset_by_phone_sends_a_text(
    owner: Account, client_en: Client, outboxes: None
) -> None:
    # when
    client_en.post("/password-reset/", {"identifier": "+86 139 0000 0001"})
    # then
    assert [message.phone for message in sms_outbox] == ["+8613900000001"]
    assert mail.outbox == []


def test_password_reset_with_a_wrong_code_changes_nothing(
    owner: Account, client_en: Client, outboxes: None
) -> None:
    # given
    client_en.post("/password-reset/", {"identifier": "owner@example.com"})
    # when
    response = client_en.post(
        "/password-reset/confirm/",
        {
            "identifier": "owner@example.com",
            "code": "000000" if _code(mail.outbox[0].body) != "000000" else "111111",
            "new_password": "brand-new-secret-42",
            "new_password_again": "brand-new-secret-42",
        },
    )
    # then
    assert response.status_code == 200
    assert "The code is wrong or has expired." in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_password_reset_confirm_demands_the_same_password_twice(
    owner: Account, client_en: Client
) -> None:
    # when
    response = client_en.post(
        "/password-reset/confirm/",
        {
            "identifier": "owner@example.com",
            "code": "123456",
            "new_password": "brand-new-secret-42",
            "new_password_again": "brand-new-secret-43",
        },
    )
    # then
    assert response.status_code == 200
    assert "The two passwords differ." in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_password_reset_request_refuses_a_malformed_identifier(
    client_en: Client, public: None, outboxes: None
) -> None:
    # when
    response = client_en.post("/password-reset/", {"identifier": "not a number"})
    # then
    assert response.status_code == 200
    assert "Enter a valid e-mail address or phone number." in response.content.decode()
    assert mail.outbox == []


@pytest.mark.django_db
def test_verification_page_needs_a_login(client_en: Client) -> None:
    response = client_en.get("/account/verify/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/account/verify/"


def test_verification_page_lists_both_channels_unverified(owner_client: Client) -> None:
    # when
    response = owner_client.get("/account/verify/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<span class="badge warn">Not verified</span>') == 2
    assert 'hx-post="/account/verify/email/send/"' in html
    assert 'hx-post="/account/verify/phone/send/"' in html


def test_email_verification_with_htmx_swaps_only_its_card(
    owner: Account, owner_client: Client, outboxes: None
) -> None:
    # when: send
    sent = owner_client.post("/account/verify/email/send/", HTTP_HX_REQUEST="true")
    # then
    html = sent.content.decode()
    assert sent.status_code == 200
    assert html.startswith('<section class="card" id="verify-email"')
    assert "We sent a code to owner@example.com." in html
    assert len(mail.outbox) == 1
    # when: confirm
    confirmed = owner_client.post(
        "/account/verify/email/confirm/",
        {"email-code": _code(mail.outbox[0].body)},
        HTTP_HX_REQUEST="true",
    )
    # then
    html = confirmed.content.decode()
    assert "Your e-mail address is verified." in html
    assert '<span class="badge ok">Verified</span>' in html
    owner.refresh_from_db()
    assert owner.email_verified_at is not None
    assert owner.phone_verified_at is None


def test_phone_verification_without_htmx_renders_the_page(
    owner: Account, owner_client: Client, outboxes: None
) -> None:
    # given
    owner_client.post("/account/verify/phone/send/")
    code = _code(sms_outbox[0].text)
    # when
    response = owner_client.post("/account/verify/phone/confirm/", {"phone-code": code})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your phone number is verified." in html
    assert html.count('<span class="badge ok">Verified</span>') == 1
    owner.refresh_from_db()
    assert owner.phone_verified_at is not None


def test_verification_with_a_wrong_code_shows_the_error(
    owner: Account, owner_client: Client, outboxes: None
) -> None:
    # given
    owner_client.post("/account/verify/email/send/", HTTP_HX_REQUEST="true")
    wrong = "000000" if _code(mail.outbox[0].body) != "000000" else "111111"
    # when
    response = owner_client.post(
        "/account/verify/email/confirm/", {"email-code": wrong}, HTTP_HX_REQUEST="true"
    )
    # then
    assert "The code is wrong or has expired." in response.content.decode()
    owner.refresh_from_db()
    assert owner.email_verified_at is None


def test_a_second_code_too_soon_is_refused_on_the_card(
    owner_client: Client, outboxes: None
) -> None:
    # given
    owner_client.post("/account/verify/email/send/", HTTP_HX_REQUEST="true")
    # when
    response = owner_client.post("/account/verify/email/send/", HTTP_HX_REQUEST="true")
    # then
    assert "A code was sent a moment ago. Please wait a minute." in response.content.decode()
    assert len(mail.outbox) == 1


def test_verification_of_an_unknown_channel_is_not_found(owner_client: Client) -> None:
    assert owner_client.post("/account/verify/fax/send/").status_code == 404
