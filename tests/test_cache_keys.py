"""Cache and throttle keys carry the shop's schema; the platform cache (routing) does not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.test import Client
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from infra.api.throttling import (
    SignupRateThrottle,
    TenantAnonRateThrottle,
    TenantUserRateThrottle,
)
from tenants.models import Account, Tenant

tenant_connection = cast(Any, connection)  # django-tenants' wrapper: set_tenant, schema_name
needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="raw keys are read from Redis; REDIS_URL is not set"
)
DEFAULT_PREFIX = settings.CACHES["default"]["KEY_PREFIX"]
PLATFORM_PREFIX = settings.CACHES["platform"]["KEY_PREFIX"]


def _raw_redis() -> Any:
    from django_redis import get_redis_connection

    return get_redis_connection("default")


@pytest.fixture
def keys_to_forget(shops: dict[str, Tenant]) -> Iterator[list[tuple[Tenant | None, str]]]:
    """(shop, key) pairs this test stores; deleted afterwards in their schema (or public)."""
    stored: list[tuple[Tenant | None, str]] = []
    yield stored
    for tenant, key in stored:
        if tenant is None:
            caches["platform"].delete(key)
            continue
        tenant_connection.set_tenant(tenant)
        cache.delete(key)
    tenant_connection.set_schema_to_public()


def test_default_cache_entries_of_one_shop_are_invisible_to_another(
    shop: Tenant, other_shop: Tenant, keys_to_forget: list[tuple[Tenant | None, str]]
) -> None:
    # given
    keys_to_forget.extend([(shop, "greeting"), (other_shop, "greeting")])
    cache.set("greeting", "hello from alpha", 60)
    # when
    tenant_connection.set_tenant(other_shop)
    seen_by_beta = cache.get("greeting")
    cache.set("greeting", "hello from beta", 60)
    tenant_connection.set_tenant(shop)
    seen_by_alpha = cache.get("greeting")
    # then
    assert seen_by_beta is None
    assert seen_by_alpha == "hello from alpha"


@needs_redis
def test_default_cache_raw_keys_start_with_the_schema_name(
    shop: Tenant, keys_to_forget: list[tuple[Tenant | None, str]]
) -> None:
    # given
    keys_to_forget.append((shop, "greeting"))
    # when
    cache.set("greeting", "hello", 60)
    # then
    raw_key = f"shop_alpha:{DEFAULT_PREFIX}:1:greeting"
    assert cache.make_key("greeting") == raw_key
    assert _raw_redis().exists(raw_key) == 1


def test_platform_cache_is_shared_by_every_schema(
    shop: Tenant, other_shop: Tenant, keys_to_forget: list[tuple[Tenant | None, str]]
) -> None:
    # given
    keys_to_forget.append((None, "tenant-host:probe.localhost"))
    caches["platform"].set("tenant-host:probe.localhost", "routed", 60)
    # when
    tenant_connection.set_tenant(other_shop)
    seen_by_beta = caches["platform"].get("tenant-host:probe.localhost")
    tenant_connection.set_schema_to_public()
    seen_by_public = caches["platform"].get("tenant-host:probe.localhost")
    # then
    assert (seen_by_beta, seen_by_public) == ("routed", "routed")


@needs_redis
def test_platform_cache_raw_keys_do_not_carry_a_schema(
    shop: Tenant, keys_to_forget: list[tuple[Tenant | None, str]]
) -> None:
    # given
    keys_to_forget.append((None, "tenant-slug:probe"))
    # when
    caches["platform"].set("tenant-slug:probe", "routed", 60)
    # then
    raw_key = f"{PLATFORM_PREFIX}:1:tenant-slug:probe"
    assert caches["platform"].make_key("tenant-slug:probe") == raw_key
    assert "shop_alpha" not in raw_key
    assert _raw_redis().exists(raw_key) == 1


def _api_request(**extra: Any) -> Request:
    return Request(APIRequestFactory().get("/api/v1/shop", REMOTE_ADDR="198.51.100.7", **extra))


def test_throttle_keys_carry_the_schema(shop: Tenant, other_shop: Tenant) -> None:
    # given
    account = Account(pk=41, email="someone@example.test")
    signed_in = _api_request()
    signed_in.user = account
    # when
    alpha_keys = (
        TenantAnonRateThrottle().get_cache_key(_api_request(), view=cast(Any, None)),
        TenantUserRateThrottle().get_cache_key(signed_in, view=cast(Any, None)),
        SignupRateThrottle().get_cache_key(_api_request(), view=cast(Any, None)),
    )
    tenant_connection.set_tenant(other_shop)
    beta_anon_key = TenantAnonRateThrottle().get_cache_key(_api_request(), view=cast(Any, None))
    # then
    assert alpha_keys == (
        "shop_alpha:throttle_anon_198.51.100.7",
        "shop_alpha:throttle_user_41",
        "shop_alpha:throttle_signup_198.51.100.7",
    )
    assert beta_anon_key == "shop_beta:throttle_anon_198.51.100.7"


def test_requests_to_one_shop_do_not_count_against_another(
    shop: Tenant, other_shop: Tenant, keys_to_forget: list[tuple[Tenant | None, str]]
) -> None:
    # given
    alpha_key, beta_key = (
        "shop_alpha:throttle_anon_198.51.100.9",
        "shop_beta:throttle_anon_198.51.100.9",
    )
    keys_to_forget.extend([(shop, alpha_key), (other_shop, beta_key)])
    cache.delete(alpha_key)
    tenant_connection.set_tenant(other_shop)
    cache.delete(beta_key)
    # when
    for _ in range(2):
        response = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="198.51.100.9").get(
            "/api/v1/shop"
        )
        assert response.status_code == 200
    # then
    tenant_connection.set_tenant(shop)
    alpha_history = cache.get(alpha_key)
    tenant_connection.set_tenant(other_shop)
    beta_history = cache.get(beta_key)
    assert (len(alpha_history), beta_history) == (2, None)
