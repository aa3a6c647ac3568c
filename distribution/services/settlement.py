"""Settlement: frozen commissions become available (withdrawable) once their freeze days passed.

Two schedules, chosen by the shop's `settlement_day`:
- None: the hourly unfreeze job releases every frozen commission whose `freeze_days` since it
  froze (Commission.state_changed_at) have passed;
- N (1..28): the periodic settlement releases them on day N of the month in the shop's time
  zone (or on the first run after day N began, should the beat have missed it).

Each run claims its period first (SettlementRun, unique (kind, period)): a second run of the same
hour or month books nothing. The release itself is set-based, in chunks of distributors: their
money locks (ledger_member_lock, always taken before any commission row), then one UPDATE of
their eligible commissions (FOR UPDATE SKIP LOCKED: a row a refund is reversing right now waits
for the next run), then one ledger posting per distributor (frozen → available), keyed by the
run's period so a replay books nothing. A clawback receivable is paid first from each release
(distribution.services.clawback).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from distribution.models import Commission, LedgerAccountKind, LedgerTransaction, SettlementRun
from distribution.services.clawback import receivables_owed
from distribution.services.ledger import ledger_accounts_for, ledger_member_lock, ledger_post
from distribution.services.settings import distribution_settings_get
from shop.core.selectors import shop_context

Kind = LedgerAccountKind
# Distributors per database transaction: each holds one advisory lock per distributor.
CHUNK = 200

_RELEASE_SQL = """
WITH picked AS (
    SELECT id FROM {table}
    WHERE state = %(frozen)s AND state_changed_at <= %(frozen_before)s
      AND beneficiary_id = ANY(%(members)s)
    ORDER BY id
    FOR UPDATE SKIP LOCKED
), moved AS (
    UPDATE {table} AS commission
    SET state = %(available)s, state_changed_at = %(now)s
    FROM picked WHERE commission.id = picked.id
    RETURNING commission.beneficiary_id,
        commission.amount_minor - commission.reversed_minor - commission.clawed_minor AS left_minor
)
SELECT beneficiary_id, count(*), coalesce(sum(left_minor), 0)
FROM moved GROUP BY beneficiary_id ORDER BY beneficiary_id
"""


def _claim(*, kind: str, period: str, at: datetime, freeze_days: int) -> SettlementRun:
    run, _created = SettlementRun.objects.get_or_create(
        kind=kind, period=period, defaults={"cutoff": at, "freeze_days": freeze_days}
    )
    return run


def _release_chunk(*, run: SettlementRun, members: list[int], now: datetime) -> None:
    """Release the chunk's eligible commissions and post each distributor's release."""
    for member_id in members:  # sorted: every locker takes them in the same order
        ledger_member_lock(member_id=member_id)
    with connection.cursor() as cursor:
        cursor.execute(
            _RELEASE_SQL.format(table=connection.ops.quote_name(Commission._meta.db_table)),
            {
                "frozen": Commission.State.FROZEN,
                "available": Commission.State.AVAILABLE,
                "frozen_before": run.cutoff - timedelta(days=run.freeze_days),
                "members": members,
                "now": now,
            },
        )
        moved = [(int(member), int(count), int(total)) for member, count, total in cursor]
    if not moved:
        return
    released = {member: total for member, _count, total in moved if total > 0}
    owed = receivables_owed(member_ids=list(released))
    accounts = ledger_accounts_for(
        {
            (member, kind)
            for member in released
            for kind in (
                Kind.COMMISSION_FROZEN,
                Kind.COMMISSION_AVAILABLE,
                Kind.CLAWBACK_RECEIVABLE,
            )
        }
    )
    source_id = f"{run.kind}:{run.period}"
    offset_total = 0
    for member, total in released.items():
        offset = min(total, owed.get(member, 0))
        offset_total += offset
        lines = [(accounts[(member, Kind.COMMISSION_FROZEN)], -total)]
        if total - offset:
            lines.append((accounts[(member, Kind.COMMISSION_AVAILABLE)], total - offset))
        if offset:
            lines.append((accounts[(member, Kind.CLAWBACK_RECEIVABLE)], offset))
        purpose = f"release:{member}"
        if LedgerTransaction.objects.filter(
            source="settlement", source_id=source_id, purpose=purpose
        ).exists():
            # Only when the freeze days were shortened while this period's run was going:
            # what newly became eligible is released under a key of its own.
            purpose = f"release:{member}:{now:%H%M%S%f}"
        ledger_post(
            source="settlement",
            source_id=source_id,
            purpose=purpose,
            memo=(f"settlement {run.period}: {total} released, {offset} paid the clawback owed"),
            lines=lines,
        )
    SettlementRun.objects.filter(pk=run.pk).update(
        commissions=F("commissions") + sum(count for _member, count, _total in moved),
        distributors=F("distributors") + len(released),
        released_minor=F("released_minor") + sum(released.values()),
        offset_minor=F("offset_minor") + offset_total,
    )


def _settle(run: SettlementRun) -> SettlementRun:
    if run.finished_at is not None:
        return run
    frozen_before = run.cutoff - timedelta(days=run.freeze_days)
    members = sorted(
        Commission.objects.filter(
            state=Commission.State.FROZEN, state_changed_at__lte=frozen_before
        )
        .values_list("beneficiary_id", flat=True)
        .distinct()
    )
    now = timezone.now()
    for start in range(0, len(members), CHUNK):
        with transaction.atomic():
            _release_chunk(run=run, members=members[start : start + CHUNK], now=now)
    SettlementRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(finished_at=now)
    run.refresh_from_db()
    return run


def settlement_unfreeze(*, at: datetime | None = None) -> SettlementRun | None:
    """The hourly unfreeze job (shops without a settlement day): release every frozen
    commission whose freeze days have passed at `at`; once per UTC hour. None when the shop
    settles on a day of the month instead."""
    at = at or timezone.now()
    settings = distribution_settings_get()
    if settings.settlement_day is not None:
        return None
    run = _claim(
        kind=SettlementRun.Kind.UNFREEZE,
        period=at.astimezone(UTC).strftime("%Y-%m-%dT%H"),
        at=at,
        freeze_days=settings.freeze_days,
    )
    return _settle(run)


def settlement_periodic(*, at: datetime | None = None) -> SettlementRun | None:
    """The periodic settlement (shops with a settlement day N): on day N of the month in the
    shop's time zone release every frozen commission whose freeze days have passed; once per
    month (a later call that month returns the finished run, booking nothing). None before
    day N."""
    at = at or timezone.now()
    settings = distribution_settings_get()
    if settings.settlement_day is None:
        return None
    local = timezone.localtime(at, shop_context().time_zone)
    if local.day < settings.settlement_day:
        return None
    # One run per shop-local month: normally on day N itself; if the beat missed day N, the
    # first run after it settles (a day late rather than a month late).
    run = _claim(
        kind=SettlementRun.Kind.PERIODIC,
        period=f"{local:%Y-%m}",
        at=at,
        freeze_days=settings.freeze_days,
    )
    return _settle(run)


def settlement_runs_recent(*, limit: int = 20) -> list[SettlementRun]:
    """The latest settlement runs that released something (or are still going), newest first
    (for the console; the hourly runs that found nothing are left out)."""
    return list(
        SettlementRun.objects.exclude(kind=SettlementRun.Kind.STATEMENTS)
        .exclude(commissions=0, finished_at__isnull=False)
        .order_by("-started_at")[:limit]
    )
