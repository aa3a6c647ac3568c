"""The console's Official Account settings: owners and admins save them; clerks only see them;
the AppSecret stays hidden."""

from __future__ import annotations

import pytest
from django.test import Client

from infra.crypto import decrypt_text
from tenants.models import Account, AuditLog, OfficialAccount, Role, Tenant
from tests.support.console import console_client
from tests.support.wechat import (
    BETA_OA_APPID,
    BETA_OA_SECRET,
    HOSTED_OA_APPID,
    OA_APPID,
    OA_SECRET,
    own_official_account,
)

URL = "/console/alpha/settings/official-account/"


def _form(**fields: str) -> dict[str, str]:
    return {f"official_account-{name}": value for name, value in fields.items()}


@pytest.fixture
def clerk_client(shops: dict[str, Tenant], public: None) -> Client:
    return console_client(shops["alpha"], Role.CLERK, "clerk@example.com")


@pytest.fixture
def admin_client(shops: dict[str, Tenant], public: None) -> Client:
    return console_client(shops["alpha"], Role.ADMIN, "admin@example.com")


def test_owner_saves_an_own_official_account_and_sees_the_secret_masked(
    owner_client: Client, shops: dict[str, Tenant]
) -> None:
    # when
    response = owner_client.post(URL, _form(appid=OA_APPID, mode="own", app_secret=OA_SECRET))
    page = owner_client.get("/console/alpha/settings/").content.decode()
    # then
    assert response.status_code == 302
    assert response["Location"] == "/console/alpha/settings/"
    stored = OfficialAccount.objects.get(tenant=shops["alpha"])
    assert (stored.appid, stored.mode) == (OA_APPID, "own")
    assert decrypt_text(stored.app_secret_encrypted) == OA_SECRET
    assert f"<code>{OA_APPID}</code>" in page
    assert 'id="official-account"' in page
    assert "••••••••••••••••" in page
    assert OA_SECRET not in page
    assert "Your Official Account is saved." in page
    # the host the merchant enters as the account's web authorization domain
    assert "enter alpha.localhost (and your custom domains)" in page
    audit = AuditLog.objects.get(action="official_account.registered")
    assert audit.actor_id == Account.objects.get(email="owner@example.com").pk
    assert OA_SECRET not in str(audit.data)


def test_the_settings_page_shows_both_wechat_forms_with_distinct_fields(
    owner_client: Client,
) -> None:
    # when
    page = owner_client.get("/console/alpha/settings/").content.decode()
    # then
    assert 'action="/console/alpha/settings/official-account/"' in page
    assert 'action="/console/alpha/settings/miniprogram/"' in page
    assert page.count('id="id_official_account-appid"') == 1
    assert page.count('id="id_appid"') == 1


def test_admin_switches_the_official_account_to_the_component(
    admin_client: Client, shops: dict[str, Tenant]
) -> None:
    # given
    own_official_account(shops["alpha"])
    # when
    response = admin_client.post(URL, _form(appid=HOSTED_OA_APPID, mode="component"))
    # then
    assert response.status_code == 302
    stored = OfficialAccount.objects.get(tenant=shops["alpha"])
    assert (stored.appid, stored.mode, stored.app_secret_encrypted) == (
        HOSTED_OA_APPID,
        "component",
        "",
    )


def test_errors_show_on_the_form_and_the_secret_is_not_echoed(
    owner_client: Client, shops: dict[str, Tenant]
) -> None:
    # given
    own_official_account(shops["beta"], appid=BETA_OA_APPID, secret=BETA_OA_SECRET)
    # when
    bad_appid = owner_client.post(URL, _form(appid="wx123", mode="own", app_secret=OA_SECRET))
    taken = owner_client.post(URL, _form(appid=BETA_OA_APPID, mode="own", app_secret=OA_SECRET))
    no_secret = owner_client.post(URL, _form(appid=OA_APPID, mode="own"))
    # then
    assert (bad_appid.status_code, taken.status_code, no_secret.status_code) == (400, 400, 400)
    assert "An AppID is “wx” and 16 hexadecimal characters." in bad_appid.content.decode()
    assert "This AppID is registered by another shop." in taken.content.decode()
    assert "Enter the Official Account&#x27;s AppSecret." in no_secret.content.decode()
    assert OA_SECRET not in bad_appid.content.decode()
    assert not OfficialAccount.objects.filter(tenant=shops["alpha"]).exists()


def test_a_clerk_sees_the_official_account_but_cannot_change_it(
    clerk_client: Client, shops: dict[str, Tenant]
) -> None:
    # given
    own_official_account(shops["alpha"])
    # when
    page = clerk_client.get("/console/alpha/settings/")
    change = clerk_client.post(URL, _form(appid=HOSTED_OA_APPID, mode="component"))
    # then
    assert page.status_code == 200
    assert f"<code>{OA_APPID}</code>" in page.content.decode()
    assert f'action="{URL}"' not in page.content.decode()
    assert change.status_code == 403
    stored = OfficialAccount.objects.get(tenant=shops["alpha"])
    assert (stored.appid, stored.mode) == (OA_APPID, "own")
    assert not AuditLog.objects.filter(action="official_account.updated").exists()


def test_an_account_of_another_shop_cannot_change_this_shops_official_account(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    outsider = console_client(shops["beta"], Role.OWNER, "beta-owner@example.com")
    # when
    response = outsider.post(URL, _form(appid=OA_APPID, mode="own", app_secret=OA_SECRET))
    # then
    assert response.status_code == 404
    assert not OfficialAccount.objects.exists()
