"""The ledger on committed data, from several connections at once.

Ledger rows are immutable, so what these tests commit in the session shop stays: each test
uses keys and members of its own and asserts only about them (every posting balances, so the
shop's ledger still sums to zero).
"""

from __future__ import annotations

import functools
import uuid

import pytest
from django.db import IntegrityError, transaction

from distribution.errors import LedgerAlreadyReversedError
from distribution.models import LedgerAccount, LedgerAccountKind, LedgerEntry, LedgerTransaction
from distribution.services.ledger import (
    ledger_account_for,
    ledger_balance,
    ledger_post,
    ledger_reverse,
)
from infra.db import schema_connection, tenant_schema
from tenants.models import Tenant
from tests.support.commerce import member_make
from tests.support.threads import committed, run_in_threads

Kind = LedgerAccountKind
THREADS = 8

pytestmark = [pytest.mark.serial, pytest.mark.django_db(transaction=True)]


def _accounts(alpha: Tenant) -> tuple[int, int]:
    """A new distributor's pending account and the shop's expense account (ids), committed."""

    def make() -> tuple[int, int]:
        with tenant_schema(alpha):
            member = member_make()
            return (
                ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE).pk,
                ledger_account_for(member_id=member.pk, kind=Kind.COMMISSION_PENDING).pk,
            )

    return committed(make)


def test_concurrent_replays_book_once(shops: dict[str, Tenant]) -> None:
    # given
    alpha = shops["alpha"]
    expense_id, pending_id = _accounts(alpha)
    source_id = uuid.uuid4().hex

    def post() -> int:
        with tenant_schema(alpha):
            expense = LedgerAccount.objects.get(pk=expense_id)
            pending = LedgerAccount.objects.get(pk=pending_id)
            return ledger_post(
                source="order_event",
                source_id=source_id,
                purpose="commission:line:1:level:1",
                lines=[(expense, -700), (pending, 700)],
            ).pk

    # when
    results = run_in_threads([post] * THREADS)
    # then
    with tenant_schema(alpha):
        booked = list(LedgerTransaction.objects.filter(source_id=source_id))
        assert results == [booked[0].pk] * THREADS
        assert len(booked) == 1
        assert LedgerEntry.objects.filter(transaction__source_id=source_id).count() == 2
        assert ledger_balance(account=LedgerAccount.objects.get(pk=pending_id)) == 700


def test_concurrent_reversals_with_different_keys_reverse_once(shops: dict[str, Tenant]) -> None:
    # given
    alpha = shops["alpha"]
    expense_id, pending_id = _accounts(alpha)
    source_id = uuid.uuid4().hex

    def book() -> int:
        with tenant_schema(alpha):
            return ledger_post(
                source="order_event",
                source_id=source_id,
                purpose="commission",
                lines=[
                    (LedgerAccount.objects.get(pk=expense_id), -300),
                    (LedgerAccount.objects.get(pk=pending_id), 300),
                ],
            ).pk

    booked_id = committed(book)

    def reverse(index: int) -> int:
        with tenant_schema(alpha):
            return ledger_reverse(
                transaction=LedgerTransaction.objects.get(pk=booked_id),
                source="refund",
                source_id=f"{source_id}-{index}",
                purpose="commission",
            ).pk

    # when
    results = run_in_threads([functools.partial(reverse, index) for index in range(THREADS)])
    # then
    reversals = [result for result in results if isinstance(result, int)]
    refused = [result for result in results if isinstance(result, LedgerAlreadyReversedError)]
    assert (len(reversals), len(refused)) == (1, THREADS - 1)
    with tenant_schema(alpha):
        assert LedgerTransaction.objects.filter(reverses_id=booked_id).count() == 1
        assert ledger_balance(account=LedgerAccount.objects.get(pk=pending_id)) == 0


def test_concurrent_account_lookups_make_one_account(shops: dict[str, Tenant]) -> None:
    # given
    alpha = shops["alpha"]

    def make_member() -> int:
        with tenant_schema(alpha):
            return member_make().pk

    member_id = committed(make_member)

    def lookup() -> int:
        with tenant_schema(alpha):
            return ledger_account_for(member_id=member_id, kind=Kind.COMMISSION_AVAILABLE).pk

    # when
    results = run_in_threads([lookup] * THREADS)
    # then
    with tenant_schema(alpha):
        accounts = list(LedgerAccount.objects.filter(member_id=member_id))
    assert len(accounts) == 1
    assert results == [accounts[0].pk] * THREADS


def test_commit_refuses_an_unbalanced_transaction_and_keeps_nothing(
    shops: dict[str, Tenant],
) -> None:
    # given: rows written around the service, checked only by the database at commit
    alpha = shops["alpha"]
    expense_id, pending_id = _accounts(alpha)
    source_id = uuid.uuid4().hex

    def write_unbalanced() -> None:
        with tenant_schema(alpha), transaction.atomic():
            posting = LedgerTransaction.objects.create(
                source="raw", source_id=source_id, purpose="raw"
            )
            LedgerEntry.objects.bulk_create(
                [
                    LedgerEntry(
                        transaction=posting, account_id=expense_id, amount_minor=-5, currency="CNY"
                    ),
                    LedgerEntry(
                        transaction=posting, account_id=pending_id, amount_minor=4, currency="CNY"
                    ),
                ]
            )

    # when
    with pytest.raises(IntegrityError) as raised:
        committed(write_unbalanced)
    # then
    assert "unbalanced" in str(raised.value)
    with tenant_schema(alpha):
        assert not LedgerTransaction.objects.filter(source_id=source_id).exists()
        assert (
            not LedgerEntry.objects.filter(account_id__in=[expense_id, pending_id])
            .filter(transaction__source_id=source_id)
            .exists()
        )


def test_commit_checks_the_shop_that_was_written_even_after_a_schema_switch(
    shops: dict[str, Tenant],
) -> None:
    # given: a posting in alpha, then the connection moves to beta before the commit
    alpha, beta = shops["alpha"], shops["beta"]
    expense_id, pending_id = _accounts(alpha)
    source_id = uuid.uuid4().hex

    def post_then_switch() -> None:
        with transaction.atomic():
            with tenant_schema(alpha):
                ledger_post(
                    source="order_event",
                    source_id=source_id,
                    purpose="commission",
                    lines=[
                        (LedgerAccount.objects.get(pk=expense_id), -60),
                        (LedgerAccount.objects.get(pk=pending_id), 60),
                    ],
                )
            schema_connection().set_tenant(beta)
            LedgerEntry.objects.exists()  # runs under beta's search_path before the commit

    # when
    committed(post_then_switch)
    # then
    with tenant_schema(alpha):
        assert LedgerTransaction.objects.filter(source_id=source_id).count() == 1
        assert ledger_balance(account=LedgerAccount.objects.get(pk=pending_id)) == 60
