"""The console's settings: the shop profile (both planes, one transaction) and custom domains."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from infra.db import tenant_schema
from shop.core.models import ShopProfile
from tenants.models import AuditLog, Domain, Role, Tenant
from tenants.services.domains import verification_record
from tests.fakes.dns_server import FakeDnsServer
from tests.support.console import console_client

PROFILE = {
    "name": "Alpha Tea House",
    "description": "Leaf teas from Fujian.",
    "contact_email": "Hello@Alpha.example",
    "contact_phone": "+86 591 1234 5678",
}


def _profile(tenant: Tenant) -> ShopProfile:
    with tenant_schema(tenant):
        return ShopProfile.objects.get()


def test_owner_saves_the_profile_and_the_storefront_shows_it(
    owner_client: Client, shops: dict[str, Tenant], django_capture_on_commit_callbacks: Any
) -> None:
    # given
    storefront = Client(HTTP_HOST="alpha.localhost")
    assert "<title>Alpha Shop</title>" in storefront.get("/").content.decode()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/console/alpha/settings/profile/", PROFILE)
    # then
    assert response.status_code == 302
    assert response["Location"] == "/console/alpha/settings/"
    tenant = Tenant.objects.get(slug="alpha")
    assert tenant.name == "Alpha Tea House"
    assert tenant.onboarding["shop_profile"] is True
    profile = _profile(tenant)
    assert (profile.description, profile.contact_email, profile.contact_phone) == (
        "Leaf teas from Fujian.",
        "hello@alpha.example",
        "+86 591 1234 5678",
    )
    page = storefront.get("/").content.decode()
    assert "<title>Alpha Tea House</title>" in page
    assert "Leaf teas from Fujian." in page
    row = AuditLog.objects.get(action="tenant.profile_updated")
    assert row.data == {"name": {"from": "Alpha Shop", "to": "Alpha Tea House"}}
    dashboard = owner_client.get("/console/alpha/").content.decode()
    assert 'href="/console/alpha/settings/"' in dashboard


def test_a_bad_contact_email_changes_nothing_in_either_plane(
    owner_client: Client, shops: dict[str, Tenant]
) -> None:
    # when
    response = owner_client.post(
        "/console/alpha/settings/profile/", {**PROFILE, "contact_email": "not-an-email"}
    )
    # then
    assert response.status_code == 400
    assert "Enter a valid e-mail address." in response.content.decode()
    assert Tenant.objects.get(slug="alpha").name == "Alpha Shop"
    assert _profile(shops["alpha"]).description == ""
    assert not AuditLog.objects.filter(action="tenant.profile_updated").exists()


@pytest.fixture
def staff_client(shops: dict[str, Tenant], public: None) -> Client:
    return console_client(shops["alpha"], Role.STAFF, "staff@example.com")


def test_staff_see_the_settings_but_cannot_change_them(
    staff_client: Client, shops: dict[str, Tenant]
) -> None:
    # when
    page = staff_client.get("/console/alpha/settings/")
    change = staff_client.post("/console/alpha/settings/profile/", PROFILE)
    add_domain = staff_client.post("/console/alpha/settings/domains/", {"domain": "a.example"})
    # then
    assert page.status_code == 200
    assert "owner and admins can change its settings." in page.content.decode()
    assert (change.status_code, add_domain.status_code) == (403, 403)
    assert Tenant.objects.get(slug="alpha").name == "Alpha Shop"
    assert not Domain.objects.filter(domain="a.example").exists()


@pytest.fixture
def dns_server() -> Iterator[FakeDnsServer]:
    with FakeDnsServer() as server, override_settings(DNS_NAMESERVERS=[server.address]):
        yield server


def test_owner_adds_verifies_and_removes_a_custom_domain(
    owner_client: Client,
    shops: dict[str, Tenant],
    dns_server: FakeDnsServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    owner_client.post("/console/alpha/settings/domains/", {"domain": "www.alpha-tea.example"})
    domain = Domain.objects.get(domain="www.alpha-tea.example")
    name, value = verification_record(domain)
    listed = owner_client.get("/console/alpha/settings/").content.decode()
    # when: verified before the record exists, then after
    early = owner_client.post(f"/console/alpha/settings/domains/{domain.pk}/verify/", follow=True)
    dns_server.records[name] = [value]
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/console/alpha/settings/domains/{domain.pk}/verify/")
    served = Client(HTTP_HOST="www.alpha-tea.example").get("/")
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/console/alpha/settings/domains/{domain.pk}/remove/")
    # then
    assert name in listed
    assert value in listed
    assert "No TXT record" in early.content.decode()
    assert served.status_code == 200
    assert not Domain.objects.filter(pk=domain.pk).exists()
    assert Client(HTTP_HOST="www.alpha-tea.example").get("/").status_code == 404


def test_a_domain_of_another_shop_cannot_be_verified_or_removed_from_this_console(
    owner_client: Client, shops: dict[str, Tenant]
) -> None:
    # given
    other = Domain.objects.create(
        domain="beta.example", tenant=shops["beta"], is_primary=False, verification_token="t"
    )
    # when
    verify = owner_client.post(f"/console/alpha/settings/domains/{other.pk}/verify/")
    remove = owner_client.post(f"/console/alpha/settings/domains/{other.pk}/remove/")
    # then
    assert (verify.status_code, remove.status_code) == (404, 404)
    assert Domain.objects.filter(pk=other.pk, is_verified=False).exists()
