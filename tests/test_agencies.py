"""Agencies run shops for several clients with one login."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tenants.models import Account, AuditLog, Tenant
from tenants.services.agencies import agency_client_shop_create, agency_create
from tenants.services.audit import AuditContext


def _shop(slug: str) -> dict[str, str]:
    return {
        "shop_name": f"Client {slug}",
        "slug": slug,
        "currency": "USD",
        "language": "en",
        "time_zone": "Asia/Singapore",
    }


def test_agency_staff_create_client_shops_and_reach_each_console(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    staff = Account.objects.create_user(email="agent@example.com", password="long-password-1")
    agency = agency_create(name="Blue Agency", owner=staff, context=AuditContext.system())
    client = Client()
    client.force_login(staff)
    # when
    first = client.post(
        f"/api/platform/v1/agencies/{agency.pk}/shops",
        _shop("client-one"),
        content_type="application/json",
    )
    second = client.post(
        f"/api/platform/v1/agencies/{agency.pk}/shops",
        _shop("client-two"),
        content_type="application/json",
    )
    # then
    assert (first.status_code, second.status_code) == (201, 201), first.content
    assert set(Tenant.objects.filter(agency=agency).values_list("slug", flat=True)) == {
        "client-one",
        "client-two",
    }
    me = client.get("/api/platform/v1/me").json()
    assert [shop["slug"] for shop in me["tenants"]] == ["client-one", "client-two"]
    assert client.get("/console/client-one/").status_code == 200
    assert client.get("/console/client-two/").status_code == 200
    assert client.get("/console/alpha/").status_code == 404
    assert AuditLog.objects.filter(action="agency.client_shop_created").count() == 2


def test_only_agency_staff_may_create_its_shops(shops: dict[str, Tenant], public: None) -> None:
    # given
    staff = Account.objects.create_user(email="agent@example.com", password="long-password-1")
    outsider = Account.objects.create_user(email="x@example.com", password="long-password-1")
    agency = agency_create(name="Blue Agency", owner=staff, context=AuditContext.system())
    client = Client()
    client.force_login(outsider)
    # when
    response = client.post(
        f"/api/platform/v1/agencies/{agency.pk}/shops",
        _shop("client-three"),
        content_type="application/json",
    )
    # then
    assert response.status_code == 404
    assert not Tenant.objects.filter(slug="client-three").exists()


def test_shop_list_is_paginated_and_its_queries_do_not_grow_with_the_page_size(
    shops: dict[str, Tenant], public: None, django_assert_max_num_queries: Any
) -> None:
    # given: an agency account that reaches five client shops
    staff = Account.objects.create_user(email="agent@example.com", password="long-password-1")
    agency = agency_create(name="Blue Agency", owner=staff, context=AuditContext.system())
    for index in range(5):
        agency_client_shop_create(
            agency=agency,
            actor=staff,
            shop=_shop(f"client-{index}"),
            context=AuditContext.system(),
        )
    client = Client()
    client.force_login(staff)
    # when: session + account + count + page, whatever the page size
    with django_assert_max_num_queries(4):
        small = client.get("/api/platform/v1/shops?page_size=2")
    with django_assert_max_num_queries(4):
        large = client.get("/api/platform/v1/shops?page_size=5")
    second = client.get("/api/platform/v1/shops?page_size=2&page=2")
    # then
    assert small.json()["count"] == 5
    assert [shop["slug"] for shop in small.json()["results"]] == ["client-0", "client-1"]
    assert [shop["slug"] for shop in second.json()["results"]] == ["client-2", "client-3"]
    assert len(large.json()["results"]) == 5
    assert small.json()["next"].endswith("/api/platform/v1/shops?page=2&page_size=2")
