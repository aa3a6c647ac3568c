"""Writes to the commission ledger: balanced postings, idempotent by key, never updated.

Amounts are signed integers in minor units of the shop's currency, positive = credit (see
distribution.models.ledger). A posting is keyed by (source, source_id, purpose): posting the
same key again, even from another connection at the same moment, returns the first transaction
and books nothing (the unique index decides; the loser waits on it, then reads the winner).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from django.db import IntegrityError, connection
from django.db import transaction as db_transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from distribution.errors import (
    LedgerAccountInvalidError,
    LedgerAlreadyReversedError,
    LedgerKeyInvalidError,
    LedgerLineInvalidError,
    LedgerReplayMismatchError,
    LedgerUnbalancedError,
)
from distribution.models import (
    MEMBER_ACCOUNT_KINDS,
    SHOP_ACCOUNT_KINDS,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)
from infra.db import schema_connection
from shop.core.selectors import shop_context

# One line of a posting: an account and a signed amount in minor units (positive = credit).
LedgerLine = tuple[LedgerAccount, int]

# Far beyond any real commission, far inside bigint: a sum of many lines cannot overflow.
AMOUNT_MINOR_LIMIT = 10**15


def ledger_account_for(*, member_id: int | None, kind: str) -> LedgerAccount:
    """The account of that kind for a distributor (member_id) or for the shop (None); made once."""
    if not (
        (kind in MEMBER_ACCOUNT_KINDS and member_id is not None)
        or (kind in SHOP_ACCOUNT_KINDS and member_id is None)
    ):
        raise LedgerAccountInvalidError()
    # get_or_create retries the read when a concurrent create wins the unique index.
    account, _ = LedgerAccount.objects.get_or_create(member_id=member_id, kind=kind)
    return account


def ledger_accounts_for(
    pairs: set[tuple[int | None, str]],
) -> dict[tuple[int | None, str], LedgerAccount]:
    """The ledger accounts of (member id or None, kind) pairs: one query, plus one
    get-or-create per account that does not exist yet."""
    members = {member for member, _kind in pairs if member is not None}
    kinds = {kind for _member, kind in pairs}
    found = {
        (account.member_id, account.kind): account
        for account in LedgerAccount.objects.filter(kind__in=kinds).filter(
            Q(member_id__in=members) | Q(member__isnull=True)
        )
    }
    for member, kind in pairs - set(found):
        found[(member, kind)] = ledger_account_for(member_id=member, kind=kind)
    return found


def ledger_member_lock(*, member_id: int) -> None:
    """Hold the distributor's money lock until the transaction ends.

    Every change that reads a distributor's balance before it moves money (withdrawal requests,
    clawbacks, settlement, offsets) takes this lock first, so two such changes cannot both spend
    the same balance. Must be called inside a transaction.
    """
    schema = schema_connection().schema_name
    key = zlib.crc32(f"distribution.member:{schema}:{member_id}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7602, key - 2**31])


def ledger_balances(*, member_id: int | None) -> dict[str, int]:
    """Every account balance of a distributor (or of the shop, None) by kind, in one query."""
    rows = (
        LedgerEntry.objects.filter(account__member_id=member_id)
        if member_id is not None
        else LedgerEntry.objects.filter(account__member__isnull=True)
    )
    return {
        kind: int(total)
        for kind, total in rows.values("account__kind")
        .annotate(total=Sum("amount_minor"))
        .values_list("account__kind", "total")
    }


def ledger_balance(*, account: LedgerAccount) -> int:
    """The account's balance in minor units: the sum of its entries (positive = credit)."""
    total = LedgerEntry.objects.filter(account=account).aggregate(
        total=Coalesce(Sum("amount_minor"), 0)
    )["total"]
    return int(total)


def _key_check(*, source: str, source_id: str, purpose: str, memo: str) -> None:
    if not (
        0 < len(source) <= 32
        and 0 < len(source_id) <= 64
        and 0 < len(purpose) <= 128
        and len(memo) <= 255
    ):
        raise LedgerKeyInvalidError()


def _lines_check(lines: Sequence[LedgerLine]) -> list[tuple[int, int]]:
    """(account id, amount) per line, sorted; refuses malformed or unbalanced postings."""
    checked: list[tuple[int, int]] = []
    for account, amount_minor in lines:
        if (
            not isinstance(account, LedgerAccount)
            or account.pk is None
            or isinstance(amount_minor, bool)
            or not isinstance(amount_minor, int)
            or amount_minor == 0
            or abs(amount_minor) > AMOUNT_MINOR_LIMIT
        ):
            raise LedgerLineInvalidError()
        checked.append((int(account.pk), amount_minor))
    if len(checked) < 2 or len({account_id for account_id, _ in checked}) != len(checked):
        raise LedgerLineInvalidError()
    if sum(amount_minor for _, amount_minor in checked) != 0:
        raise LedgerUnbalancedError()
    return sorted(checked)


def _post(
    *,
    source: str,
    source_id: str | int,
    purpose: str,
    memo: str,
    lines: Sequence[LedgerLine],
    reverses: LedgerTransaction | None,
) -> LedgerTransaction:
    source_id = str(source_id)
    _key_check(source=source, source_id=source_id, purpose=purpose, memo=memo)
    checked = _lines_check(lines)
    currency = shop_context().currency
    try:
        with db_transaction.atomic():
            posting = LedgerTransaction.objects.create(
                source=source, source_id=source_id, purpose=purpose, memo=memo, reverses=reverses
            )
    except IntegrityError:
        return _replayed(
            source=source, source_id=source_id, purpose=purpose, lines=checked, reverses=reverses
        )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            transaction=posting, account_id=account_id, amount_minor=amount, currency=currency
        )
        for account_id, amount in checked
    )
    return posting


def _replayed(
    *,
    source: str,
    source_id: str,
    purpose: str,
    lines: list[tuple[int, int]],
    reverses: LedgerTransaction | None,
) -> LedgerTransaction:
    """The first transaction under this key (committed, or earlier in this database transaction)."""
    first = LedgerTransaction.objects.filter(
        source=source, source_id=source_id, purpose=purpose
    ).first()
    if first is None:
        # The key is free, so the unique index that refused us was the one on `reverses`.
        raise LedgerAlreadyReversedError()
    booked = sorted(first.entries.values_list("account_id", "amount_minor"))
    if booked != lines or first.reverses_id != (reverses.pk if reverses else None):
        raise LedgerReplayMismatchError()
    return first


@db_transaction.atomic
def ledger_post(
    *,
    source: str,
    source_id: str | int,
    purpose: str,
    memo: str = "",
    lines: Sequence[LedgerLine],
) -> LedgerTransaction:
    """Book balanced lines (signed minor units, positive = credit) once per key; replays return
    the first transaction. Refuses lines that do not sum to zero; writes nothing then."""
    return _post(
        source=source, source_id=source_id, purpose=purpose, memo=memo, lines=lines, reverses=None
    )


@db_transaction.atomic
def ledger_reverse(
    *, transaction: LedgerTransaction, source: str, source_id: str | int, purpose: str
) -> LedgerTransaction:
    """A new transaction with every line of `transaction` negated (exact, no rounding); at most
    one per transaction. Replaying the same key returns the first reversal."""
    lines = [
        (entry.account, -entry.amount_minor)
        for entry in transaction.entries.select_related("account").order_by("pk")
    ]
    return _post(
        source=source,
        source_id=source_id,
        purpose=purpose,
        memo=f"Reversal of ledger transaction {transaction.pk}",
        lines=lines,
        reverses=transaction,
    )
