"""Monthly statements per distributor, from the ledger (and reads of them).

For a month of the shop's time zone, each distributor's statement sums their ledger entries:
- opening / closing: what the shop owes them at the month's start / end, i.e. the sum of their
  accounts' entries except `withdrawn` (a clawback receivable counts against it);
- earned: postings against the shop's commission expense that raised it (bookings, bonuses);
- reversed: postings against the expense that lowered it (refunds, rejected holds), of which
  clawback: the part taken from money already released (postings "clawback:<event>");
- released: what the settlement moved out of frozen (to available, or to pay a receivable);
- withdrawn: what was paid out (net); fees: withdrawal fees kept by the shop.
So closing = opening + earned - reversed - withdrawn - fees. Amounts are integer minor units.
Statements are derived data: regenerating a month rewrites its rows from the ledger.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from distribution.models import (
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
    SettlementRun,
    Statement,
)
from shop.core.selectors import shop_context

Kind = LedgerAccountKind
FIELDS = (
    "opening_minor",
    "earned_minor",
    "reversed_minor",
    "released_minor",
    "withdrawn_minor",
    "fees_minor",
    "clawback_minor",
    "closing_minor",
    "closing_available_minor",
)

_STATEMENT_SQL = """
WITH member_lines AS (
    SELECT account.member_id, entry.transaction_id, account.kind, entry.amount_minor,
        posting.created_at, posting.source, posting.purpose
    FROM {entry} AS entry
    JOIN {account} AS account ON account.id = entry.account_id
    JOIN {posting} AS posting ON posting.id = entry.transaction_id
    WHERE account.member_id IS NOT NULL AND posting.created_at < %(end)s
), per_posting AS (
    SELECT member_id, transaction_id, source, purpose,
        created_at >= %(start)s AS in_month,
        coalesce(sum(amount_minor) FILTER (WHERE kind <> %(withdrawn)s), 0) AS owed,
        coalesce(sum(amount_minor) FILTER (WHERE kind = %(withdrawn)s), 0) AS withdrawn,
        coalesce(sum(amount_minor) FILTER (WHERE kind = %(frozen)s), 0) AS frozen,
        coalesce(sum(amount_minor) FILTER (WHERE kind = %(available)s), 0) AS available
    FROM member_lines
    GROUP BY member_id, transaction_id, source, purpose, created_at
), shop_lines AS (
    SELECT entry.transaction_id,
        bool_or(account.kind = %(expense)s) AS is_expense,
        coalesce(sum(entry.amount_minor) FILTER (WHERE account.kind = %(fee)s), 0) AS fee
    FROM {entry} AS entry
    JOIN {account} AS account ON account.id = entry.account_id
    JOIN {posting} AS posting ON posting.id = entry.transaction_id
    WHERE account.member_id IS NULL
        AND posting.created_at >= %(start)s AND posting.created_at < %(end)s
    GROUP BY entry.transaction_id
)
SELECT posting.member_id,
    coalesce(sum(posting.owed) FILTER (WHERE NOT posting.in_month), 0),
    coalesce(sum(posting.owed) FILTER (
        WHERE posting.in_month AND shop.is_expense AND posting.owed > 0), 0),
    coalesce(-sum(posting.owed) FILTER (
        WHERE posting.in_month AND shop.is_expense AND posting.owed < 0), 0),
    coalesce(-sum(posting.frozen) FILTER (
        WHERE posting.in_month AND posting.source = 'settlement'), 0),
    coalesce(sum(posting.withdrawn) FILTER (WHERE posting.in_month), 0),
    coalesce(sum(shop.fee) FILTER (WHERE posting.in_month), 0),
    coalesce(-sum(posting.owed) FILTER (
        WHERE posting.in_month AND posting.purpose LIKE 'clawback:%%'), 0),
    coalesce(sum(posting.owed), 0),
    coalesce(sum(posting.available), 0)
FROM per_posting AS posting
LEFT JOIN shop_lines AS shop ON shop.transaction_id = posting.transaction_id
GROUP BY posting.member_id
HAVING bool_or(posting.in_month) OR coalesce(sum(posting.owed), 0) <> 0
ORDER BY posting.member_id
"""


def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's start and end (exclusive) as aware datetimes in the shop's time zone."""
    zone = shop_context().time_zone
    start = month_start(month)
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(_next_month(start), time.min, tzinfo=zone),
    )


def statements_generate(*, month: date) -> int:
    """(Re)write every distributor's statement of `month` (any day of it) from the ledger, in
    one query and one upsert; how many statements."""
    start, end = month_bounds(month)
    tables = {
        "entry": LedgerEntry._meta.db_table,
        "account": LedgerAccount._meta.db_table,
        "posting": LedgerTransaction._meta.db_table,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            _STATEMENT_SQL.format(
                **{name: connection.ops.quote_name(table) for name, table in tables.items()}
            ),
            {
                "start": start,
                "end": end,
                "withdrawn": Kind.WITHDRAWN,
                "frozen": Kind.COMMISSION_FROZEN,
                "available": Kind.COMMISSION_AVAILABLE,
                "expense": Kind.SHOP_COMMISSION_EXPENSE,
                "fee": Kind.SHOP_WITHDRAWAL_FEE_INCOME,
            },
        )
        rows = cursor.fetchall()
    currency = shop_context().currency
    now = timezone.now()
    statements = [
        Statement(
            member_id=row[0],
            month=month_start(month),
            currency=currency,
            generated_at=now,
            **{name: int(value) for name, value in zip(FIELDS, row[1:], strict=True)},
        )
        for row in rows
    ]
    Statement.objects.bulk_create(
        statements,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["member", "month"],
        update_fields=[*FIELDS, "currency", "generated_at"],
    )
    return len(statements)


def statements_monthly(*, at: datetime | None = None) -> int:
    """The statements of the month that ended last in the shop's time zone, written once (the
    beat's task); how many were written now (0 when that month is already done)."""
    at = at or timezone.now()
    local = timezone.localtime(at, shop_context().time_zone).date()
    month = month_start(month_start(local) - timedelta(days=1))
    run, _created = SettlementRun.objects.get_or_create(
        kind=SettlementRun.Kind.STATEMENTS,
        period=f"{month:%Y-%m}",
        defaults={"cutoff": month_bounds(month)[1]},
    )
    if run.finished_at is not None:
        return 0
    written = statements_generate(month=month)
    SettlementRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
        finished_at=timezone.now(), distributors=written
    )
    return written


# Reads.


def statements_for_member(*, member_id: int) -> QuerySet[Statement]:
    """A distributor's statements, newest month first."""
    return Statement.objects.filter(member_id=member_id).order_by("-month")


def statements_of_month(*, month: date) -> QuerySet[Statement]:
    """Every distributor's statement of `month` (any day of it), with the member loaded."""
    return (
        Statement.objects.filter(month=month_start(month))
        .select_related("member")
        .order_by("member_id")
    )


def statement_months() -> list[date]:
    """The months that have statements, newest first."""
    return list(Statement.objects.order_by("-month").values_list("month", flat=True).distinct())
