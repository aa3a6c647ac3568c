"""The member's profile: masked phone, nickname and avatar, points and tags."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from shop.customers.models import Member, MemberTag
from tests.customers.conftest import LoggedIn


def test_me_shows_the_masked_phone_points_and_sorted_tags(api: Client, member: LoggedIn) -> None:
    # given
    stored = Member.objects.get()
    stored.tags.add(MemberTag.objects.create(name="vip"), MemberTag.objects.create(name="new"))
    Member.objects.update(points_balance=120)
    # when
    response = api.get("/api/v1/me", **member.headers)
    # then
    assert response.json() == {
        "id": member.member_id,
        "phone": "138****8000",
        "nickname": "",
        "avatar_url": "",
        "points_balance": 120,
        "store_balance_minor": 0,
        "tags": ["new", "vip"],
    }


def test_the_member_changes_nickname_and_avatar(api: Client, member: LoggedIn) -> None:
    # when
    response = api.patch(
        "/api/v1/me",
        {"nickname": " 小明 ", "avatar_url": "https://img.example.com/a.png"},
        content_type="application/json",
        **member.headers,
    )
    # then
    assert response.status_code == 200
    assert (response.json()["nickname"], response.json()["avatar_url"]) == (
        "小明",
        "https://img.example.com/a.png",
    )
    stored = Member.objects.get()
    assert (stored.nickname, stored.avatar_url) == ("小明", "https://img.example.com/a.png")


def test_an_invalid_avatar_changes_nothing(api: Client, member: LoggedIn) -> None:
    # when
    response = api.patch(
        "/api/v1/me",
        {"nickname": "小明", "avatar_url": "javascript:alert(1)"},
        content_type="application/json",
        **member.headers,
    )
    # then
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["avatar_url"][0]["code"] == "invalid"
    stored = Member.objects.get()
    assert (stored.nickname, stored.avatar_url) == ("", "")


def test_points_cannot_go_below_zero_in_the_database(api: Client, member: LoggedIn) -> None:
    # when / then: the check constraint refuses a negative balance
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.update(points_balance=-1)
    assert Member.objects.get().points_balance == 0


def test_the_member_api_is_in_the_openapi_schema_with_bearer_auth(api: Client) -> None:
    # when
    schema = api.get("/api/schema/", {"format": "json"}).json()
    # then
    paths = set(schema["paths"])
    assert {
        "/api/v1/auth/login-code",
        "/api/v1/auth/phone-login",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/addresses",
        "/api/v1/addresses/{address_id}",
        "/api/v1/addresses/{address_id}/default",
    } <= paths
    assert schema["components"]["securitySchemes"]["memberToken"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert schema["paths"]["/api/v1/me"]["get"]["security"] == [{"memberToken": []}]
