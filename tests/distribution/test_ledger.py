"""The commission ledger: balanced postings, replays that book nothing, reversals, and the
database refusing updates, deletes and unbalanced transactions whatever code writes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from distribution.errors import (
    LedgerAccountInvalidError,
    LedgerAlreadyReversedError,
    LedgerLineInvalidError,
    LedgerReplayMismatchError,
    LedgerUnbalancedError,
)
from distribution.models import LedgerAccount, LedgerAccountKind, LedgerEntry, LedgerTransaction
from distribution.services.ledger import (
    ledger_account_for,
    ledger_balance,
    ledger_post,
    ledger_reverse,
)
from tenants.models import Tenant
from tests.support.commerce import member_make

Kind = LedgerAccountKind


def _accounts() -> tuple[LedgerAccount, LedgerAccount, LedgerAccount]:
    """The shop's commission expense and one distributor's pending and frozen accounts."""
    member = member_make()
    return (
        ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE),
        ledger_account_for(member_id=member.pk, kind=Kind.COMMISSION_PENDING),
        ledger_account_for(member_id=member.pk, kind=Kind.COMMISSION_FROZEN),
    )


def _counts() -> tuple[int, int]:
    return LedgerTransaction.objects.count(), LedgerEntry.objects.count()


def _book(expense: LedgerAccount, pending: LedgerAccount, amount: int = 1250) -> LedgerTransaction:
    return ledger_post(
        source="order_event",
        source_id=41,
        purpose="commission:line:7:level:1",
        memo="Order 41, line 7, level 1",
        lines=[(expense, -amount), (pending, amount)],
    )


def test_balanced_posting_books_its_lines_in_the_shop_currency(shop: Tenant) -> None:
    # given
    expense, pending, _ = _accounts()
    # when
    posting = _book(expense, pending)
    # then
    assert (posting.source, posting.source_id, posting.purpose) == (
        "order_event",
        "41",
        "commission:line:7:level:1",
    )
    assert sorted(posting.entries.values_list("account_id", "amount_minor", "currency")) == sorted(
        [(expense.pk, -1250, "CNY"), (pending.pk, 1250, "CNY")]
    )
    assert ledger_balance(account=pending) == 1250
    assert ledger_balance(account=expense) == -1250


def test_unbalanced_posting_is_refused_and_writes_nothing(shop: Tenant) -> None:
    # given
    expense, pending, _ = _accounts()
    before = _counts()
    # when
    with pytest.raises(LedgerUnbalancedError) as raised:
        ledger_post(
            source="order_event",
            source_id=41,
            purpose="commission",
            lines=[(expense, -1250), (pending, 1249)],
        )
    # then
    assert raised.value.code == "ledger_unbalanced"
    assert _counts() == before
    assert ledger_balance(account=pending) == 0


@pytest.mark.parametrize(
    "shape",
    ["one_line", "zero_amount", "same_account_twice", "unsaved_account", "float_amount"],
)
def test_malformed_lines_are_refused_and_write_nothing(shop: Tenant, shape: str) -> None:
    # given
    expense, pending, _ = _accounts()
    shapes: dict[str, list[tuple[LedgerAccount, Any]]] = {
        "one_line": [(pending, 0)],
        "zero_amount": [(expense, 0), (pending, 0)],
        "same_account_twice": [(expense, -2), (pending, 1), (pending, 1)],
        "unsaved_account": [(expense, -1), (LedgerAccount(kind=Kind.COMMISSION_PENDING), 1)],
        "float_amount": [(expense, -1), (pending, 1.0)],
    }
    lines = shapes[shape]
    before = _counts()
    # when
    with pytest.raises(LedgerLineInvalidError) as raised:
        ledger_post(source="order_event", source_id=1, purpose=shape, lines=lines)
    # then
    assert raised.value.code == "ledger_line_invalid"
    assert _counts() == before


def test_replay_returns_the_first_transaction_and_books_nothing(shop: Tenant) -> None:
    # given
    expense, pending, _ = _accounts()
    first = _book(expense, pending)
    before = _counts()
    # when
    again = _book(expense, pending)
    # then
    assert again.pk == first.pk
    assert _counts() == before
    assert ledger_balance(account=pending) == 1250


def test_replay_with_other_lines_is_refused_and_books_nothing(shop: Tenant) -> None:
    # given
    expense, pending, _ = _accounts()
    _book(expense, pending)
    before = _counts()
    # when
    with pytest.raises(LedgerReplayMismatchError) as raised:
        _book(expense, pending, amount=999)
    # then
    assert raised.value.code == "ledger_replay_mismatch"
    assert _counts() == before
    assert ledger_balance(account=pending) == 1250


def test_account_for_makes_each_account_once(shop: Tenant) -> None:
    # given
    member = member_make()
    first = ledger_account_for(member_id=member.pk, kind=Kind.COMMISSION_AVAILABLE)
    # when
    again = ledger_account_for(member_id=member.pk, kind=Kind.COMMISSION_AVAILABLE)
    shop_account = ledger_account_for(member_id=None, kind=Kind.SHOP_WITHDRAWAL_FEE_INCOME)
    # then
    assert again.pk == first.pk
    assert (first.member_id, first.kind) == (member.pk, "commission_available")
    assert (shop_account.member_id, shop_account.kind) == (None, "shop_withdrawal_fee_income")
    assert LedgerAccount.objects.filter(member=member).count() == 1


@pytest.mark.parametrize(
    ("has_member", "kind"),
    [
        (False, Kind.COMMISSION_PENDING),
        (True, Kind.SHOP_COMMISSION_EXPENSE),
        (True, "bonus"),
    ],
)
def test_account_owner_must_match_its_kind(shop: Tenant, has_member: bool, kind: str) -> None:
    # given
    member_id = member_make().pk if has_member else None
    before = LedgerAccount.objects.count()
    # when
    with pytest.raises(LedgerAccountInvalidError) as raised:
        ledger_account_for(member_id=member_id, kind=kind)
    # then
    assert raised.value.code == "ledger_account_invalid"
    assert LedgerAccount.objects.count() == before


def test_database_refuses_an_account_whose_owner_does_not_match_its_kind(shop: Tenant) -> None:
    # given
    before = LedgerAccount.objects.count()
    # when
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(member=None, kind=Kind.COMMISSION_AVAILABLE)
    # then
    assert LedgerAccount.objects.count() == before


def test_reversal_negates_every_line_and_brings_balances_back(shop: Tenant) -> None:
    # given
    expense, pending, frozen = _accounts()
    booked = _book(expense, pending)
    moved = ledger_post(
        source="order_event",
        source_id=42,
        purpose="freeze",
        lines=[(pending, -1250), (frozen, 1250)],
    )
    # when
    reversal = ledger_reverse(
        transaction=moved, source="order_event", source_id=43, purpose="freeze:reversal"
    )
    # then
    assert reversal.reverses_id == moved.pk
    assert sorted(reversal.entries.values_list("account_id", "amount_minor")) == sorted(
        [(pending.pk, 1250), (frozen.pk, -1250)]
    )
    assert (ledger_balance(account=pending), ledger_balance(account=frozen)) == (1250, 0)
    assert booked.pk != reversal.pk


def test_reversal_replay_returns_it_and_a_second_reversal_is_refused(shop: Tenant) -> None:
    # given
    expense, pending, _ = _accounts()
    booked = _book(expense, pending)
    first = ledger_reverse(transaction=booked, source="refund", source_id=9, purpose="commission")
    before = _counts()
    # when
    again = ledger_reverse(transaction=booked, source="refund", source_id=9, purpose="commission")
    with pytest.raises(LedgerAlreadyReversedError) as raised:
        ledger_reverse(transaction=booked, source="refund", source_id=10, purpose="commission")
    # then
    assert again.pk == first.pk
    assert raised.value.code == "ledger_already_reversed"
    assert _counts() == before
    assert (ledger_balance(account=expense), ledger_balance(account=pending)) == (0, 0)


def test_database_refuses_updating_an_entry(shop: Tenant) -> None:
    # given
    expense, pending, _ = _accounts()
    entry = _book(expense, pending).entries.get(account=pending)
    # when
    with (
        pytest.raises(IntegrityError) as raised,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE distribution_ledgerentry SET amount_minor = 1 WHERE id = %s", [entry.pk]
        )
    # then
    assert "append-only" in str(raised.value)
    assert LedgerEntry.objects.get(pk=entry.pk).amount_minor == 1250


def test_database_refuses_deleting_an_entry_or_a_transaction(shop: Tenant) -> None:
    # given
    expense, pending, _ = _accounts()
    posting = _book(expense, pending)
    before = _counts()
    # when
    for statement in (
        "DELETE FROM distribution_ledgerentry WHERE transaction_id = %s",
        "DELETE FROM distribution_ledgertransaction WHERE id = %s",
        "UPDATE distribution_ledgertransaction SET memo = 'changed' WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [posting.pk])
    # then
    assert _counts() == before
    assert LedgerTransaction.objects.get(pk=posting.pk).memo == "Order 41, line 7, level 1"


def _write_around_the_service_and_check(*, lines: list[tuple[LedgerAccount, int]]) -> None:
    """Insert a transaction and entries directly, then run the deferred checks now (as at
    commit), inside a savepoint."""
    with transaction.atomic():
        posting = LedgerTransaction.objects.create(source="raw", source_id="1", purpose="raw")
        LedgerEntry.objects.bulk_create(
            LedgerEntry(transaction=posting, account=account, amount_minor=amount, currency="CNY")
            for account, amount in lines
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.parametrize(
    ("amounts", "message"),
    [([-1250, 1249], "unbalanced"), ([1250], "at least two")],
)
def test_database_refuses_a_transaction_that_does_not_balance(
    shop: Tenant, amounts: list[int], message: str
) -> None:
    # given: rows written around the service; the deferred check runs when forced (as at commit)
    expense, pending, _ = _accounts()
    lines = list(zip([expense, pending], amounts, strict=False))
    before = _counts()
    # when
    with pytest.raises(IntegrityError) as raised:
        _write_around_the_service_and_check(lines=lines)
    # then
    assert message in str(raised.value)
    assert _counts() == before
