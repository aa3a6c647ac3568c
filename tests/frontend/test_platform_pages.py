"""The platform's public pages: landing, language switch, signup, another shop for an account."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tenants.models import Account, AuditLog, Membership, Role, Tenant
from tenants.services.agencies import agency_create
from tenants.services.audit import AuditContext
from tests.frontend.conftest import PASSWORD


def _field_block(html: str, name: str) -> str:
    """The markup of one form field (label, input, help and errors)."""
    match = re.search(rf'<div class="field[^"]*" data-field="{name}">(.*?)\n</div>', html, re.S)
    assert match is not None, f"no field {name}"
    return match.group(1)


def _signup(**overrides: Any) -> dict[str, Any]:
    data = {
        "shop_name": "Tea House 茶舍",
        "slug": "tea-house",
        "email": "tea@example.com",
        "phone": "",
        "password": "a-long-enough-passphrase",
        "currency": "CNY",
        "language": "zh-hans",
        "time_zone": "Asia/Shanghai",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_home_links_to_signup_and_login(client_en: Client) -> None:
    # when
    response = client_en.get("/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Open your online shop in a minute" in html
    assert 'href="/signup/"' in html
    assert 'href="/login/"' in html
    assert "cdn" not in html.lower()
    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in html


@pytest.mark.django_db
def test_home_speaks_chinese_by_default() -> None:
    # when
    response = Client().get("/")
    # then
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "一分钟开好你的网店" in html
    assert "Open your online shop in a minute" not in html


@pytest.mark.django_db
def test_language_switch_changes_the_language_of_the_next_pages() -> None:
    # given
    client = Client()
    assert "一分钟开好你的网店" in client.get("/").content.decode()
    # when
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.cookies["django_language"].value == "en"
    html = client.get("/").content.decode()
    assert "Open your online shop in a minute" in html
    assert '<button type="submit" name="language" value="en" lang="en" aria-pressed="true">' in html
    # and back
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "一分钟开好你的网店" in client.get("/").content.decode()


@pytest.mark.django_db
def test_signup_page_has_every_field_of_the_service(client_en: Client) -> None:
    # when
    response = client_en.get("/signup/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("shop_name", "slug", "email", "phone", "password", "currency", "language"):
        assert f'name="{name}"' in html
    assert 'name="time_zone" value="Asia/Shanghai"' in html
    assert '<option value="CNY" selected>' in html
    assert '<option value="en" selected>' in html  # the visitor's language
    assert '<option value="Europe/Paris">' in html
    assert "Your shop will be at <code>your-shop.localhost</code>" in html


@pytest.mark.django_db
def test_slug_preview_shows_the_shop_host_with_the_platform_port() -> None:
    # given
    client = Client(HTTP_HOST="localhost:8000", HTTP_ACCEPT_LANGUAGE="en")
    # when
    response = client.get("/signup/slug-preview/", {"slug": " Tea-House "}, HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200
    assert response.content.decode().strip() == (
        "Your shop will be at <code>tea-house.localhost:8000</code>"
    )


def test_signup_creates_the_shop_logs_in_and_lands_on_its_console(
    shops: dict[str, Tenant], public: None, client_en: Client
) -> None:
    # when
    response = client_en.post("/signup/", _signup())
    # then
    assert response.status_code == 302
    assert response["Location"] == "/console/tea-house/"
    tenant = Tenant.objects.get(slug="tea-house")
    account = Account.objects.get(email="tea@example.com")
    assert Membership.objects.get(tenant=tenant).account == account
    assert client_en.session["_auth_user_id"] == str(account.pk)
    dashboard = client_en.get("/console/tea-house/")
    html = dashboard.content.decode()
    assert dashboard.status_code == 200
    assert "Welcome! Your shop is ready." in html
    assert "Welcome to Tea House 茶舍" in html
    assert 'id="onboarding-checklist"' in html


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"slug": "admin"}, "slug", "This address is reserved. Choose another."),
        ({"slug": "alpha"}, "slug", "This address is taken. Choose another."),
        ({"slug": "a"}, "slug", "Use 3 to 40 lower-case letters"),
        ({"email": "", "phone": ""}, "email", "Enter an e-mail address or a phone."),
        ({"phone": "12"}, "phone", "Enter a valid phone number."),
        ({"password": "123"}, "password", "This password is too short."),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Choose a valid time zone."),
        ({"shop_name": ""}, "shop_name", "This field is required."),
    ],
)
def test_signup_shows_field_errors_next_to_their_fields_and_creates_nothing(
    shops: dict[str, Tenant],
    public: None,
    client_en: Client,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    # given
    tenants_before = Tenant.objects.count()
    accounts_before = Account.objects.count()
    # when
    response = client_en.post("/signup/", _signup(**overrides))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    block = _field_block(html, field)
    assert 'class="errorlist"' in block
    assert message in block
    assert Tenant.objects.count() == tenants_before
    assert Account.objects.count() == accounts_before
    assert "_auth_user_id" not in client_en.session


def test_signup_keeps_what_was_typed_but_not_the_password(
    shops: dict[str, Tenant], public: None, client_en: Client
) -> None:
    # when
    response = client_en.post("/signup/", _signup(slug="admin", currency="USD"))
    # then
    html = response.content.decode()
    assert 'value="Tea House 茶舍"' in html
    assert 'value="tea@example.com"' in html
    assert '<option value="USD" selected>' in html
    assert "a-long-enough-passphrase" not in html
    assert "Your shop will be at <code>admin.localhost</code>" in html


def test_signed_in_account_is_sent_from_signup_to_the_new_shop_form(owner_client: Client) -> None:
    # when
    response = owner_client.get("/signup/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/shops/new/"


def test_account_opens_another_shop_it_owns(owner: Account, owner_client: Client) -> None:
    # when
    response = owner_client.post(
        "/shops/new/",
        {
            "shop_name": "Second",
            "slug": "second-shop",
            "currency": "USD",
            "language": "en",
            "time_zone": "Asia/Singapore",
        },
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == "/console/second-shop/"
    tenant = Tenant.objects.get(slug="second-shop")
    assert (tenant.currency, tenant.language, tenant.time_zone) == ("USD", "en", "Asia/Singapore")
    assert Membership.objects.get(tenant=tenant).account == owner
    assert Membership.objects.get(tenant=tenant).role == Role.OWNER
    assert AuditLog.objects.filter(action="membership.created", tenant=tenant).count() == 1


def test_another_shop_with_a_taken_slug_shows_the_error(
    owner: Account, owner_client: Client
) -> None:
    # given
    memberships_before = Membership.objects.filter(account=owner).count()
    # when
    response = owner_client.post(
        "/shops/new/",
        {
            "shop_name": "Dup",
            "slug": "beta",
            "currency": "CNY",
            "language": "zh-hans",
            "time_zone": "Asia/Shanghai",
        },
    )
    # then
    assert response.status_code == 200
    assert "This address is taken. Choose another." in _field_block(
        response.content.decode(), "slug"
    )
    assert Membership.objects.filter(account=owner).count() == memberships_before


@pytest.mark.django_db
def test_new_shop_form_needs_a_login(client_en: Client) -> None:
    # when
    response = client_en.get("/shops/new/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/shops/new/"


def test_agency_staff_open_a_client_shop_from_the_new_shop_form(
    owner: Account, owner_client: Client
) -> None:
    # given
    agency = agency_create(name="Blue Agency", owner=owner, context=AuditContext.system())
    form = owner_client.get("/shops/new/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # when
    response = owner_client.post(
        "/shops/new/",
        {
            "shop_name": "Client Shop",
            "slug": "client-shop",
            "currency": "SGD",
            "language": "en",
            "time_zone": "Asia/Singapore",
            "owner": f"agency:{agency.pk}",
        },
    )
    # then
    assert f'value="agency:{agency.pk}"' in form
    assert response.status_code == 302
    assert response["Location"] == "/console/client-shop/"
    tenant = Tenant.objects.get(slug="client-shop")
    assert tenant.agency == agency
    assert not Membership.objects.filter(tenant=tenant).exists()
    assert owner_client.get("/console/client-shop/").status_code == 200


def test_an_agency_the_account_does_not_work_for_is_refused(
    owner: Account, owner_client: Client
) -> None:
    # given
    stranger = Account.objects.create_user(email="s@example.com", password=PASSWORD)
    agency = agency_create(name="Other Agency", owner=stranger, context=AuditContext.system())
    # when
    response = owner_client.post(
        "/shops/new/",
        {
            "shop_name": "Sneaky",
            "slug": "sneaky-shop",
            "currency": "CNY",
            "language": "zh-hans",
            "time_zone": "Asia/Shanghai",
            "owner": f"agency:{agency.pk}",
        },
    )
    # then
    assert response.status_code == 200
    assert not Tenant.objects.filter(slug="sneaky-shop").exists()
