"""A member's store balance: credits and debits once per key, no overdraft, append-only entries,
the cached balance equal to the sum of the entries, and no negative balance under concurrency."""

from __future__ import annotations

import functools
import uuid

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from infra.db import schema_connection, tenant_schema
from shop.customers.errors import (
    MemberNotFoundError,
    StoreBalanceAmountInvalidError,
    StoreBalanceInsufficientError,
    StoreBalanceKeyInvalidError,
    StoreBalanceReplayMismatchError,
)
from shop.customers.models import Member, StoreBalanceEntry
from shop.customers.selectors.store_balance import store_balance_entries_total
from shop.customers.services.store_balance import store_balance_credit, store_balance_debit
from tenants.models import Tenant
from tests.support.commerce import member_make, member_token
from tests.support.threads import committed, run_in_threads


def _balance(member: Member) -> int:
    return Member.objects.values_list("store_balance_minor", flat=True).get(pk=member.pk)


def test_credit_adds_an_entry_and_the_balance(shop: Tenant) -> None:
    # given
    member = member_make()
    # when
    entry = store_balance_credit(
        member_id=member.pk,
        amount_minor=12_345,
        source="withdrawal",
        source_id="77",
        memo="Withdrawal 77",
    )
    # then
    assert (entry.member_id, entry.amount_minor, entry.balance_after_minor) == (
        member.pk,
        12_345,
        12_345,
    )
    assert (entry.currency, entry.source, entry.source_id, entry.memo) == (
        "CNY",
        "withdrawal",
        "77",
        "Withdrawal 77",
    )
    assert _balance(member) == 12_345


def test_credit_replay_returns_the_first_entry_and_changes_nothing(shop: Tenant) -> None:
    # given
    member = member_make()
    first = store_balance_credit(
        member_id=member.pk, amount_minor=500, source="withdrawal", source_id="8"
    )
    # when
    again = store_balance_credit(
        member_id=member.pk, amount_minor=500, source="withdrawal", source_id=8
    )
    # then
    assert again.pk == first.pk
    assert StoreBalanceEntry.objects.filter(member=member).count() == 1
    assert _balance(member) == 500


@pytest.mark.parametrize(
    "change",
    [
        {"amount_minor": 501},
        {"other_member": True},
        {"debit": True},
    ],
)
def test_replay_with_other_details_is_refused_and_changes_nothing(
    shop: Tenant, change: dict[str, object]
) -> None:
    # given
    member = member_make()
    other = member_make()
    store_balance_credit(member_id=member.pk, amount_minor=500, source="withdrawal", source_id="9")
    store_balance_credit(member_id=other.pk, amount_minor=900, source="withdrawal", source_id="10")
    target = other if change.get("other_member") else member
    amount = int(str(change.get("amount_minor", 500)))
    action = store_balance_debit if change.get("debit") else store_balance_credit
    # when
    with pytest.raises(StoreBalanceReplayMismatchError) as refused:
        action(member_id=target.pk, amount_minor=amount, source="withdrawal", source_id="9")
    # then
    assert refused.value.code == "store_balance_replay_mismatch"
    assert refused.value.status_code == 409
    assert StoreBalanceEntry.objects.filter(source="withdrawal", source_id="9").count() == 1
    assert (_balance(member), _balance(other)) == (500, 900)


def test_debit_takes_from_the_balance(shop: Tenant) -> None:
    # given
    member = member_make()
    store_balance_credit(member_id=member.pk, amount_minor=1000, source="withdrawal", source_id="1")
    # when
    entry = store_balance_debit(
        member_id=member.pk, amount_minor=999, source="payment", source_id="5"
    )
    # then
    assert (entry.amount_minor, entry.balance_after_minor) == (-999, 1)
    assert _balance(member) == 1


def test_debit_beyond_the_balance_is_refused_and_changes_nothing(shop: Tenant) -> None:
    # given
    member = member_make()
    store_balance_credit(member_id=member.pk, amount_minor=1000, source="withdrawal", source_id="2")
    # when
    with pytest.raises(StoreBalanceInsufficientError) as refused:
        store_balance_debit(member_id=member.pk, amount_minor=1001, source="payment", source_id="6")
    # then
    assert refused.value.code == "insufficient_store_balance"
    assert _balance(member) == 1000
    assert not StoreBalanceEntry.objects.filter(source="payment", source_id="6").exists()
    assert StoreBalanceEntry.objects.filter(member=member).count() == 1


def test_debit_of_the_whole_balance_leaves_zero(shop: Tenant) -> None:
    # given
    member = member_make()
    store_balance_credit(member_id=member.pk, amount_minor=300, source="withdrawal", source_id="3")
    # when
    store_balance_debit(member_id=member.pk, amount_minor=300, source="payment", source_id="7")
    # then
    assert _balance(member) == 0


@pytest.mark.parametrize("amount", [0, -5, 10**15 + 1, True])
def test_bad_amounts_are_refused_and_change_nothing(shop: Tenant, amount: int) -> None:
    # given
    member = member_make()
    # when
    with pytest.raises(StoreBalanceAmountInvalidError) as refused:
        store_balance_credit(member_id=member.pk, amount_minor=amount, source="x", source_id="1")
    # then
    assert refused.value.code == "store_balance_amount_invalid"
    assert not StoreBalanceEntry.objects.filter(member=member).exists()
    assert _balance(member) == 0


@pytest.mark.parametrize(
    ("source", "source_id", "memo"),
    [("", "1", ""), ("x" * 33, "1", ""), ("withdrawal", "", ""), ("withdrawal", "1", "m" * 256)],
)
def test_bad_keys_are_refused(shop: Tenant, source: str, source_id: str, memo: str) -> None:
    # given
    member = member_make()
    # when
    with pytest.raises(StoreBalanceKeyInvalidError):
        store_balance_credit(
            member_id=member.pk, amount_minor=1, source=source, source_id=source_id, memo=memo
        )
    # then
    assert not StoreBalanceEntry.objects.filter(member=member).exists()


def test_unknown_member_is_refused(shop: Tenant) -> None:
    # when / then
    with pytest.raises(MemberNotFoundError):
        store_balance_credit(member_id=987_654_321, amount_minor=1, source="x", source_id="404")
    assert not StoreBalanceEntry.objects.filter(source="x", source_id="404").exists()


def test_cached_balance_equals_the_sum_of_entries(shop: Tenant) -> None:
    # given
    member = member_make()
    changes = [(5000, "c"), (1200, "d"), (800, "c"), (4600, "d"), (1, "c"), (1, "d")]
    # when
    for index, (amount, direction) in enumerate(changes):
        action = store_balance_credit if direction == "c" else store_balance_debit
        action(member_id=member.pk, amount_minor=amount, source="mix", source_id=f"m-{index}")
    # then
    assert (
        _balance(member)
        == store_balance_entries_total(member_id=member.pk)
        == 0 + 5000 - 1200 + 800 - 4600 + 1 - 1
    )
    last = StoreBalanceEntry.objects.filter(member=member).order_by("-id").first()
    assert last is not None
    assert last.balance_after_minor == _balance(member)


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_entries_are_append_only_in_the_database(shop: Tenant, statement: str) -> None:
    # given
    member = member_make()
    entry = store_balance_credit(
        member_id=member.pk, amount_minor=100, source="withdrawal", source_id="11"
    )
    rows = StoreBalanceEntry.objects.filter(pk=entry.pk)
    change = (
        functools.partial(rows.update, amount_minor=1_000_000)
        if statement == "update"
        else rows.delete
    )
    # when / then
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        change()
    assert rows.get().amount_minor == 100


def test_database_refuses_a_negative_cached_balance(shop: Tenant) -> None:
    # given
    member = member_make()
    # when / then
    with (
        pytest.raises(IntegrityError, match="member_store_balance_not_negative"),
        transaction.atomic(),
    ):
        Member.objects.filter(pk=member.pk).update(store_balance_minor=-1)
    assert _balance(member) == 0


def test_profile_shows_the_store_balance(shop: Tenant) -> None:
    # given
    member = member_make()
    store_balance_credit(
        member_id=member.pk, amount_minor=2500, source="withdrawal", source_id="12"
    )
    client = Client(HTTP_HOST="alpha.localhost")
    # when
    response = client.get("/api/v1/me", **member_token(member))
    # then
    assert response.status_code == 200, response.content
    assert response.json()["store_balance_minor"] == 2500


def test_history_lists_the_members_entries_newest_first(shop: Tenant) -> None:
    # given
    member = member_make()
    other = member_make()
    for index in range(3):
        store_balance_credit(
            member_id=member.pk, amount_minor=100 + index, source="h", source_id=f"h-{index}"
        )
    store_balance_debit(member_id=member.pk, amount_minor=50, source="h", source_id="h-spend")
    store_balance_credit(member_id=other.pk, amount_minor=7, source="h", source_id="h-other")
    client = Client(HTTP_HOST="alpha.localhost")
    # when
    first_page = client.get("/api/v1/store-balance/entries?page_size=2", **member_token(member))
    # then
    assert first_page.status_code == 200, first_page.content
    body = first_page.json()
    assert [row["amount_minor"] for row in body["results"]] == [-50, 102]
    assert [row["balance_after_minor"] for row in body["results"]] == [253, 303]
    assert body["results"][0]["source"] == "h"
    assert body["results"][0]["currency"] == "CNY"
    assert body["next"]
    second_page = client.get(body["next"], **member_token(member))
    assert [row["amount_minor"] for row in second_page.json()["results"]] == [101, 100]


def test_history_queries_do_not_grow_with_the_page(shop: Tenant) -> None:
    # given: 30 entries
    member = member_make()
    for index in range(30):
        store_balance_credit(
            member_id=member.pk, amount_minor=10, source="q", source_id=f"q-{member.pk}-{index}"
        )
    client = Client(HTTP_HOST="alpha.localhost")
    headers = member_token(member)
    client.get("/api/v1/store-balance/entries", **headers)  # warm

    def count(page_size: int) -> int:
        with CaptureQueriesContext(schema_connection()) as captured:
            response = client.get(f"/api/v1/store-balance/entries?page_size={page_size}", **headers)
        assert response.status_code == 200
        assert len(response.json()["results"]) == page_size
        return len(captured.captured_queries)

    # when
    small, large = count(2), count(30)
    # then: the token (with its member), its last use, the count and the page
    assert small == large
    assert large <= 4


def test_history_needs_a_member(shop: Tenant) -> None:
    # when
    response = Client(HTTP_HOST="alpha.localhost").get("/api/v1/store-balance/entries")
    # then
    assert response.status_code == 401


# Committed data, several connections at once. Entries are append-only (the database refuses
# deletes), so what these tests commit in the session shop stays: each uses members and keys of
# its own and asserts only about them.


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_overdraw(shops: dict[str, Tenant]) -> None:
    # given a balance of 1000 and ten debits of 300 at once
    alpha = shops["alpha"]
    run = uuid.uuid4().hex[:12]

    def make() -> int:
        with tenant_schema(alpha):
            member = member_make()
            store_balance_credit(
                member_id=member.pk, amount_minor=1000, source="test_seed", source_id=run
            )
            return int(member.pk)

    member_id = committed(make)

    def spend(index: int) -> int:
        with tenant_schema(alpha):
            return store_balance_debit(
                member_id=member_id,
                amount_minor=300,
                source="test_spend",
                source_id=f"{run}-{index}",
            ).balance_after_minor

    # when
    results = run_in_threads([functools.partial(spend, index) for index in range(10)])
    # then exactly three succeed, the others are refused, the balance is 100
    succeeded = sorted(result for result in results if isinstance(result, int))
    refused = [result for result in results if isinstance(result, StoreBalanceInsufficientError)]
    assert (succeeded, len(refused)) == ([100, 400, 700], 7)
    with tenant_schema(alpha):
        assert Member.objects.get(pk=member_id).store_balance_minor == 100
        assert store_balance_entries_total(member_id=member_id) == 100


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_credit_once(shops: dict[str, Tenant]) -> None:
    # given
    alpha = shops["alpha"]
    source_id = uuid.uuid4().hex

    def make() -> int:
        with tenant_schema(alpha):
            return int(member_make().pk)

    member_id = committed(make)

    def credit() -> int:
        with tenant_schema(alpha):
            return store_balance_credit(
                member_id=member_id, amount_minor=700, source="test_replay", source_id=source_id
            ).pk

    # when
    results = run_in_threads([credit] * 8)
    # then
    with tenant_schema(alpha):
        entries = list(StoreBalanceEntry.objects.filter(source_id=source_id))
        assert len(entries) == 1
        assert results == [entries[0].pk] * 8
        assert Member.objects.get(pk=member_id).store_balance_minor == 700
