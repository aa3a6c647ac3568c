"""Addresses: each member sees and changes only their own; one default per member."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from infra.db import schema_connection
from shop.customers.models import Address
from tests.customers.conftest import LoggedIn, log_in


def address_body(**changes: Any) -> dict[str, Any]:
    body = {
        "recipient_name": "张三",
        "phone": "13900139000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 100 号",
        "postal_code": "310000",
    }
    return body | changes


def create(client: Client, member: LoggedIn, **changes: Any) -> Any:
    return client.post(
        "/api/v1/addresses",
        address_body(**changes),
        content_type="application/json",
        **member.headers,
    )


@pytest.fixture
def other(api: Client, member: LoggedIn) -> LoggedIn:
    return log_in(api, "+8613700137000")


def test_the_first_address_is_the_default_and_shows_its_phone(
    api: Client, member: LoggedIn
) -> None:
    # when
    response = create(api, member)
    # then
    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"],
        "recipient_name": "张三",
        "phone": "+8613900139000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 100 号",
        "postal_code": "310000",
        "is_default": True,
    }


def test_a_new_default_replaces_the_old_one(api: Client, member: LoggedIn) -> None:
    # given
    first = create(api, member).json()["id"]
    second = create(api, member, detail="second").json()["id"]
    # when
    third = create(api, member, detail="third", is_default=True).json()["id"]
    # then
    listed = api.get("/api/v1/addresses", **member.headers).json()
    assert [(a["id"], a["is_default"]) for a in listed] == [
        (third, True),
        (second, False),
        (first, False),
    ]


def test_setting_the_default(api: Client, member: LoggedIn) -> None:
    # given
    first = create(api, member).json()["id"]
    second = create(api, member).json()["id"]
    # when
    response = api.post(f"/api/v1/addresses/{second}/default", **member.headers)
    # then
    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert dict(Address.objects.values_list("id", "is_default")) == {first: False, second: True}


def test_deleting_the_default_makes_the_newest_left_the_default(
    api: Client, member: LoggedIn
) -> None:
    # given
    first = create(api, member).json()["id"]
    second = create(api, member).json()["id"]
    third = create(api, member).json()["id"]
    # when
    response = api.delete(f"/api/v1/addresses/{first}", **member.headers)
    # then
    assert response.status_code == 204
    assert dict(Address.objects.values_list("id", "is_default")) == {second: False, third: True}


def test_the_member_changes_an_address(api: Client, member: LoggedIn) -> None:
    # given
    address = create(api, member).json()["id"]
    # when
    response = api.patch(
        f"/api/v1/addresses/{address}",
        {"detail": "文二路 5 号", "phone": "+8613911112222"},
        content_type="application/json",
        **member.headers,
    )
    # then
    assert response.status_code == 200
    assert (response.json()["detail"], response.json()["phone"]) == (
        "文二路 5 号",
        "+8613911112222",
    )
    assert Address.objects.get().detail == "文二路 5 号"


def test_invalid_fields_are_reported_together_and_nothing_is_stored(
    api: Client, member: LoggedIn
) -> None:
    # when
    response = create(api, member, recipient_name=" ", phone="12", detail="")
    # then
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {name: [e["code"] for e in errors] for name, errors in fields.items()} == {
        "recipient_name": ["required"],
        "phone": ["invalid"],
        "detail": ["required"],
    }
    assert not Address.objects.exists()


def test_another_members_address_is_not_found_and_stays_as_it_is(
    api: Client, member: LoggedIn, other: LoggedIn
) -> None:
    # given
    theirs = create(api, other).json()["id"]
    mine = create(api, member).json()["id"]
    # when
    listed = api.get("/api/v1/addresses", **member.headers).json()
    changed = api.patch(
        f"/api/v1/addresses/{theirs}",
        {"detail": "hijacked"},
        content_type="application/json",
        **member.headers,
    )
    deleted = api.delete(f"/api/v1/addresses/{theirs}", **member.headers)
    defaulted = api.post(f"/api/v1/addresses/{theirs}/default", **member.headers)
    # then
    assert [a["id"] for a in listed] == [mine]
    assert [changed.status_code, deleted.status_code, defaulted.status_code] == [404, 404, 404]
    assert changed.json()["error"]["code"] == "not_found"
    stored = Address.objects.get(pk=theirs)
    assert (stored.member_id, stored.detail, stored.is_default) == (
        other.member_id,
        "文三路 100 号",
        True,
    )


def test_the_database_keeps_one_default_per_member(api: Client, member: LoggedIn) -> None:
    # given
    create(api, member)
    stored = Address.objects.get()
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(
            member_id=stored.member_id,
            recipient_name="x",
            phone_encrypted=stored.phone_encrypted,
            province="p",
            city="c",
            detail="d",
            is_default=True,
        )
    assert Address.objects.count() == 1


def test_a_member_has_at_most_twenty_addresses(api: Client, member: LoggedIn) -> None:
    # given
    for _ in range(20):
        assert create(api, member).status_code == 201
    # when
    response = create(api, member)
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "address_limit_reached"
    assert Address.objects.count() == 20


def _query_count(client: Client, path: str, member: LoggedIn) -> int:
    client.get(path, **member.headers)  # warm: routing cached, token touched this minute
    with CaptureQueriesContext(schema_connection()) as captured:
        response = client.get(path, **member.headers)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_me_and_the_address_list_keep_their_query_budgets(api: Client, member: LoggedIn) -> None:
    # given
    create(api, member)
    with_one = _query_count(api, "/api/v1/addresses", member)
    for _ in range(9):
        create(api, member)
    # when
    with_ten = _query_count(api, "/api/v1/addresses", member)
    me = _query_count(api, "/api/v1/me", member)
    # then
    assert with_one == with_ten == 2
    assert me == 2
