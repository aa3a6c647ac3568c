"""A member's store balance (储值余额): credited (e.g. by a distribution withdrawal or a refund),
spent at checkout.

Contract:
- Amounts are positive integers in minor units of the shop's one currency; the sign of the
  stored entry says the direction (credit +, debit -). Nothing is rounded here.
- Every change is one StoreBalanceEntry, keyed by (source, source_id) across the shop: calling
  again with the same key and the same member and amount (even from another connection at the
  same moment) returns the first entry and changes nothing; the same key with a different
  member, direction or amount raises StoreBalanceReplayMismatchError (409,
  "store_balance_replay_mismatch") and changes nothing.
- A debit larger than the balance raises StoreBalanceInsufficientError (409,
  "insufficient_store_balance") and changes nothing. The balance never goes below zero: the
  member's row is locked for the change, and CHECK constraints back it in the database.
- Member.store_balance_minor is a cache of the sum of the member's entries, updated in the same
  transaction as the entry; entries are append-only (database triggers, migration 0002).
- Both functions run in their own transaction (a savepoint inside the caller's): call them
  inside the caller's transaction.atomic to make the change part of a larger one.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from shop.core.selectors import shop_context
from shop.customers.errors import (
    MemberNotFoundError,
    StoreBalanceAmountInvalidError,
    StoreBalanceInsufficientError,
    StoreBalanceKeyInvalidError,
    StoreBalanceReplayMismatchError,
)
from shop.customers.lock_objects import member_lock
from shop.customers.models import Member, StoreBalanceEntry

# Far beyond any real balance, far inside bigint: sums of many entries cannot overflow.
AMOUNT_MINOR_LIMIT = 10**15


def _amount_check(amount_minor: int) -> None:
    if (
        isinstance(amount_minor, bool)
        or not isinstance(amount_minor, int)
        or not 0 < amount_minor <= AMOUNT_MINOR_LIMIT
    ):
        raise StoreBalanceAmountInvalidError()


def _key_check(*, source: str, source_id: str, memo: str) -> None:
    if not (0 < len(source) <= 32 and 0 < len(source_id) <= 64 and len(memo) <= 255):
        raise StoreBalanceKeyInvalidError()


def _replay_check(*, entry: StoreBalanceEntry, member_id: int, change_minor: int) -> None:
    if entry.member_id != member_id or entry.amount_minor != change_minor:
        raise StoreBalanceReplayMismatchError()


@transaction.atomic
def _change(
    *, member_id: int, change_minor: int, source: str, source_id: str, memo: str
) -> StoreBalanceEntry:
    """Add a signed change once per key, under the member's row lock."""
    balance_minor = member_lock(member_id=member_id).values_list("store_balance_minor", flat=True)
    balance = balance_minor.first()
    if balance is None:
        raise MemberNotFoundError()
    # The member's lock serialises this member's changes; the key may still be another
    # member's, or be written by a concurrent change of another member (unique index below).
    first = StoreBalanceEntry.objects.filter(source=source, source_id=source_id).first()
    if first is not None:
        _replay_check(entry=first, member_id=member_id, change_minor=change_minor)
        return first
    balance_after = balance + change_minor
    if balance_after < 0:
        raise StoreBalanceInsufficientError()
    try:
        with transaction.atomic():
            entry = StoreBalanceEntry.objects.create(
                member_id=member_id,
                amount_minor=change_minor,
                balance_after_minor=balance_after,
                currency=shop_context().currency,
                source=source,
                source_id=source_id,
                memo=memo,
            )
            Member.objects.filter(pk=member_id).update(
                store_balance_minor=F("store_balance_minor") + change_minor
            )
    except IntegrityError:
        first = StoreBalanceEntry.objects.filter(source=source, source_id=source_id).first()
        if first is None:
            raise
        _replay_check(entry=first, member_id=member_id, change_minor=change_minor)
        return first
    return entry


def store_balance_credit(
    *, member_id: int, amount_minor: int, source: str, source_id: str | int, memo: str = ""
) -> StoreBalanceEntry:
    """Add amount_minor (> 0, minor units) to the member's store balance once per
    (source, source_id); a replay returns the first entry."""
    source_id = str(source_id)
    _amount_check(amount_minor)
    _key_check(source=source, source_id=source_id, memo=memo)
    return _change(
        member_id=member_id,
        change_minor=amount_minor,
        source=source,
        source_id=source_id,
        memo=memo,
    )


def store_balance_debit(
    *, member_id: int, amount_minor: int, source: str, source_id: str | int, memo: str = ""
) -> StoreBalanceEntry:
    """Take amount_minor (> 0, minor units) from the member's store balance once per
    (source, source_id); refuses an overdraft (insufficient_store_balance), changing nothing."""
    source_id = str(source_id)
    _amount_check(amount_minor)
    _key_check(source=source, source_id=source_id, memo=memo)
    return _change(
        member_id=member_id,
        change_minor=-amount_minor,
        source=source,
        source_id=source_id,
        memo=memo,
    )
