"""The console's mini-program settings: owners and admins save them; the AppSecret stays hidden."""

from __future__ import annotations

import pytest
from django.test import Client

from infra.crypto import decrypt_text
from tenants.models import Account, AuditLog, MiniProgram, Role, Tenant
from tests.support.console import console_client
from tests.support.wechat import BETA_APPID, HOSTED_APPID, OWN_APPID, OWN_SECRET, own_miniprogram

URL = "/console/alpha/settings/miniprogram/"


@pytest.fixture
def clerk_client(shops: dict[str, Tenant], public: None) -> Client:
    return console_client(shops["alpha"], Role.CLERK, "clerk@example.com")


@pytest.fixture
def admin_client(shops: dict[str, Tenant], public: None) -> Client:
    return console_client(shops["alpha"], Role.ADMIN, "admin@example.com")


def test_owner_saves_an_own_miniprogram_and_sees_the_secret_masked(
    owner_client: Client, shops: dict[str, Tenant]
) -> None:
    # when
    response = owner_client.post(URL, {"appid": OWN_APPID, "mode": "own", "app_secret": OWN_SECRET})
    page = owner_client.get("/console/alpha/settings/").content.decode()
    # then
    assert response.status_code == 302
    assert response["Location"] == "/console/alpha/settings/"
    stored = MiniProgram.objects.get(tenant=shops["alpha"])
    assert (stored.appid, stored.mode) == (OWN_APPID, "own")
    assert decrypt_text(stored.app_secret_encrypted) == OWN_SECRET
    assert OWN_APPID in page
    assert "••••••••••••••••" in page
    assert OWN_SECRET not in page
    assert "Your mini-program is saved." in page
    audit = AuditLog.objects.get(action="miniprogram.registered")
    assert audit.actor_id == Account.objects.get(email="owner@example.com").pk
    assert OWN_SECRET not in str(audit.data)


def test_admin_switches_the_miniprogram_to_the_component(
    admin_client: Client, shops: dict[str, Tenant]
) -> None:
    # given
    own_miniprogram(shops["alpha"])
    # when
    response = admin_client.post(URL, {"appid": HOSTED_APPID, "mode": "component"})
    # then
    assert response.status_code == 302
    stored = MiniProgram.objects.get(tenant=shops["alpha"])
    assert (stored.appid, stored.mode, stored.app_secret_encrypted) == (
        HOSTED_APPID,
        "component",
        "",
    )


def test_errors_show_on_the_form_and_the_secret_is_not_echoed(
    owner_client: Client, shops: dict[str, Tenant]
) -> None:
    # given
    own_miniprogram(shops["beta"], appid=BETA_APPID)
    # when
    bad_appid = owner_client.post(URL, {"appid": "wx123", "mode": "own", "app_secret": OWN_SECRET})
    taken = owner_client.post(URL, {"appid": BETA_APPID, "mode": "own", "app_secret": OWN_SECRET})
    no_secret = owner_client.post(URL, {"appid": OWN_APPID, "mode": "own"})
    # then
    assert (bad_appid.status_code, taken.status_code, no_secret.status_code) == (400, 400, 400)
    assert "An AppID is “wx” and 16 hexadecimal characters." in bad_appid.content.decode()
    assert "This AppID is registered by another shop." in taken.content.decode()
    assert "Enter the mini-program&#x27;s AppSecret." in no_secret.content.decode()
    assert OWN_SECRET not in bad_appid.content.decode()
    assert not MiniProgram.objects.filter(tenant=shops["alpha"]).exists()


def test_a_clerk_sees_the_miniprogram_but_cannot_change_it(
    clerk_client: Client, shops: dict[str, Tenant]
) -> None:
    # given
    own_miniprogram(shops["alpha"])
    # when
    page = clerk_client.get("/console/alpha/settings/")
    change = clerk_client.post(URL, {"appid": HOSTED_APPID, "mode": "component"})
    # then
    assert page.status_code == 200
    assert OWN_APPID in page.content.decode()
    assert 'action="/console/alpha/settings/miniprogram/"' not in page.content.decode()
    assert change.status_code == 403
    stored = MiniProgram.objects.get(tenant=shops["alpha"])
    assert (stored.appid, stored.mode) == (OWN_APPID, "own")
    assert not AuditLog.objects.filter(action="miniprogram.updated").exists()


def test_an_account_of_another_shop_cannot_change_this_shops_miniprogram(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    outsider = console_client(shops["beta"], Role.OWNER, "beta-owner@example.com")
    # when
    response = outsider.post(URL, {"appid": OWN_APPID, "mode": "own", "app_secret": OWN_SECRET})
    # then
    assert response.status_code == 404
    assert not MiniProgram.objects.exists()
