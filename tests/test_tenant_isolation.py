"""Shop B's people and host can never read or change shop A's data."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from infra.db import schema_connection
from shop.core.models import ShopProfile
from tenants.models import Account, Membership, Role, Tenant


def _seed(tenant: Tenant, description: str) -> int:
    schema_connection().set_tenant(tenant)
    ShopProfile.objects.update_or_create(singleton=True, defaults={"description": description})
    profile_id = ShopProfile.objects.get().pk
    schema_connection().set_schema_to_public()
    return int(profile_id)


def _description(tenant: Tenant) -> str:
    schema_connection().set_tenant(tenant)
    value = ShopProfile.objects.get().description
    schema_connection().set_schema_to_public()
    return value


@pytest.fixture
def seeded(shops: dict[str, Tenant], public: None) -> dict[str, Tenant]:
    # given: both shops hold an object with the same id
    alpha_id = _seed(shops["alpha"], "alpha secret")
    beta_id = _seed(shops["beta"], "beta data")
    assert alpha_id == beta_id
    return shops


@pytest.fixture
def beta_owner_client(seeded: dict[str, Tenant]) -> Client:
    account = Account.objects.create_user(email="owner-b@example.com", password="x-long-password")
    Membership.objects.create(account=account, tenant=seeded["beta"], role=Role.OWNER)
    client = Client()
    client.force_login(account)
    return client


def _console_paths(slug: str) -> list[str]:
    """Every console URL of a shop, with sample values for its parameters."""
    paths: list[str] = []

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif route.startswith("console/<slug:slug>/"):
                path = route.replace("<slug:slug>", slug)
                path = re.sub(r"<int:\w+>", "1", path)
                path = re.sub(r"<[\w:]+>", "x", path)
                paths.append("/" + path.lstrip("^").rstrip("$"))

    walk(get_resolver("infra.urls_public").url_patterns, "")
    return paths


def test_console_paths_are_found(seeded: dict[str, Tenant]) -> None:
    assert "/console/alpha/" in _console_paths("alpha")


def test_beta_owner_cannot_open_or_change_any_console_page_of_alpha(
    seeded: dict[str, Tenant], beta_owner_client: Client
) -> None:
    for path in _console_paths("alpha"):
        # when
        read = beta_owner_client.get(path)
        write = beta_owner_client.post(path, {"description": "hacked"})
        # then
        assert read.status_code in (403, 404), path
        assert write.status_code in (403, 404), path
    assert _description(seeded["alpha"]) == "alpha secret"


def test_beta_owner_can_open_own_console(
    seeded: dict[str, Tenant], beta_owner_client: Client
) -> None:
    assert beta_owner_client.get("/console/beta/").status_code == 200


def test_shop_api_on_beta_host_serves_only_beta(seeded: dict[str, Tenant]) -> None:
    # when
    response = Client(HTTP_HOST="beta.localhost").get("/api/v1/shop")
    # then
    assert response.status_code == 200
    assert response.json()["slug"] == "beta"
    assert response.json()["description"] == "beta data"


def test_beta_host_with_alpha_slug_in_path_or_header_still_serves_beta(
    seeded: dict[str, Tenant], beta_owner_client: Client
) -> None:
    # when: someone on beta's host tries to point at alpha
    response = Client(HTTP_HOST="beta.localhost", HTTP_X_TENANT="alpha").get(
        "/api/v1/shop?tenant=alpha&schema=shop_alpha"
    )
    console_on_shop_host = Client(HTTP_HOST="beta.localhost").get("/console/alpha/")
    # then
    assert response.json()["slug"] == "beta"
    assert console_on_shop_host.status_code == 404
    assert _description(seeded["alpha"]) == "alpha secret"


def test_platform_api_me_lists_only_own_shops(
    seeded: dict[str, Tenant], beta_owner_client: Client
) -> None:
    response = beta_owner_client.get("/api/platform/v1/me")
    assert [shop["slug"] for shop in response.json()["tenants"]] == ["beta"]
