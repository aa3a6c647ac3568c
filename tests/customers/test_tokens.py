"""Member bearer tokens: valid only in their shop, revoked by logout, expiring, touched rarely."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from infra.db import tenant_schema
from shop.customers.models import Member, MemberToken
from tenants.models import Tenant
from tests.customers.conftest import LoggedIn


def test_a_token_authenticates_the_member(api: Client, member: LoggedIn) -> None:
    # when
    response = api.get("/api/v1/me", **member.headers)
    # then
    assert response.status_code == 200
    assert response.json()["id"] == member.member_id


def test_without_a_token_the_answer_is_401(api: Client) -> None:
    # when
    response = api.get("/api/v1/me")
    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_unknown_token_is_401(api: Client, member: LoggedIn) -> None:
    # when
    response = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer x{member.token}")
    # then
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_token_is_refused_on_another_shops_host(
    api: Client, member: LoggedIn, shop: Tenant, other_shop: Tenant
) -> None:
    # when
    response = Client(HTTP_HOST="beta.localhost").get("/api/v1/me", **member.headers)
    # then
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    with tenant_schema(shop):
        assert MemberToken.objects.get().last_used_at is None


def test_logout_revokes_the_token(api: Client, member: LoggedIn) -> None:
    # when
    response = api.post("/api/v1/auth/logout", **member.headers)
    # then
    assert response.status_code == 204
    assert MemberToken.objects.get().revoked_at is not None
    assert api.get("/api/v1/me", **member.headers).status_code == 401


def test_an_expired_token_is_refused(api: Client, member: LoggedIn) -> None:
    # given
    MemberToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    # when
    response = api.get("/api/v1/me", **member.headers)
    # then
    assert response.status_code == 401


def test_a_token_lasts_thirty_days_and_only_its_hash_is_stored(
    api: Client, member: LoggedIn
) -> None:
    # when
    token = MemberToken.objects.get()
    # then
    lifetime = token.expires_at - token.created_at
    assert timedelta(days=30) - timedelta(seconds=1) < lifetime <= timedelta(days=30)
    assert token.device_id == "device-1"
    assert token.key_hash == hashlib.sha256(member.token.encode()).hexdigest()


def test_a_disabled_member_is_refused(api: Client, member: LoggedIn) -> None:
    # given
    Member.objects.update(is_active=False)
    # when
    response = api.get("/api/v1/me", **member.headers)
    # then
    assert response.status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(api: Client, member: LoggedIn) -> None:
    # given
    api.get("/api/v1/me", **member.headers)
    recent = timezone.now() - timedelta(seconds=30)
    MemberToken.objects.update(last_used_at=recent)
    # when
    api.get("/api/v1/me", **member.headers)
    # then
    assert MemberToken.objects.get().last_used_at == recent
    old = timezone.now() - timedelta(minutes=2)
    MemberToken.objects.update(last_used_at=old)
    api.get("/api/v1/me", **member.headers)
    touched = MemberToken.objects.get().last_used_at
    assert touched is not None
    assert touched > old
