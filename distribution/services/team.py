"""Team performance bonus: settings.team_bonus_bp of the team's real sales in a month.

A distributor's team is their downlines within the shop's depth (following bindings that were in
force during the month). Real sales only: orders that COMPLETED in the month (the after-sale
window closed), counted at what the buyer paid for the lines net of refunds, shipping excluded;
unpaid, cancelled and fully refunded (closed) orders count nothing. Months are calendar months
in the shop's time zone.

The monthly job (distribution.tasks.team_bonus_monthly_task, hourly from beat, per shop) runs
the month that ended last, once: a TeamBonusRun row marks the month as done, so running it again
(or concurrently) pays nothing twice; the ledger posting is keyed by the month as well. The bonus
goes expense → commission_available at once, not to pending: it is computed only from orders
whose after-sale window has closed, so there is nothing left to wait for. Like every release to
available it first pays what the distributor owes back (a clawback receivable). Every bonus is
explained by its TeamBonus row (sales by level, orders, members, refunds, the rate, any offset).

A team bonus is in risky territory (anti-pyramid rules): it is paid only while the setting is on
AND its risk acknowledgement is recorded (distribution.services.settings). A month that ends
while it is off is marked done with nothing paid.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from distribution.errors import TeamBonusMonthOpenError
from distribution.models import (
    Binding,
    Distributor,
    LedgerAccountKind,
    TeamBonus,
    TeamBonusRun,
)
from distribution.services.clawback import receivables_owed
from distribution.services.ledger import ledger_accounts_for, ledger_member_lock, ledger_post
from distribution.services.settings import distribution_settings_get
from infra.money import minor_round
from shop.core.selectors import shop_context
from shop.orders.models import Order, OrderLine, OrderStatus

Kind = LedgerAccountKind


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def team_bonus_last_month(*, now: datetime | None = None) -> date:
    """The first day of the month that ended last, in the shop's time zone."""
    local = (now or timezone.now()).astimezone(shop_context().time_zone)
    return _month_start(_month_start(local.date()) - timedelta(days=1))


def _bounds(month: date) -> tuple[datetime, datetime]:
    zone = shop_context().time_zone
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end_day = _next_month(month)
    return start, datetime(end_day.year, end_day.month, 1, tzinfo=zone)


def team_sales(
    *, month: date, depth: int, excluded_order_types: list[str] | None = None
) -> dict[int, dict[str, Any]]:
    """Each active distributor's team sales in the month: one query. Orders of the types the
    settings exclude from distribution do not count.

    {member_id: {"sales_minor", "refunded_minor", "orders", "members", "by_level": {1: …}}}
    """
    start, end = _bounds(month)
    orders = Order._meta.db_table
    lines = OrderLine._meta.db_table
    bindings = Binding._meta.db_table
    distributors = Distributor._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE sales AS (
                SELECT o.id AS order_id, o.member_id AS buyer_id,
                       SUM(l.paid_minor - l.refunded_minor) AS net,
                       SUM(l.refunded_minor) AS refunded
                FROM "{orders}" o JOIN "{lines}" l ON l.order_id = o.id
                WHERE o.status = %(completed)s
                  AND o.completed_at >= %(start)s AND o.completed_at < %(end)s
                  AND NOT o.order_type = ANY(%(excluded)s)
                GROUP BY o.id, o.member_id
            ),
            up(buyer_id, upline_id, depth) AS (
                SELECT b.member_id, b.upline_id, 1 FROM "{bindings}" b
                WHERE b.member_id IN (SELECT buyer_id FROM sales)
                  AND b.bound_at < %(end)s
                  AND (b.expires_at IS NULL OR b.expires_at > %(start)s)
                UNION ALL
                SELECT up.buyer_id, b.upline_id, up.depth + 1
                FROM "{bindings}" b JOIN up ON b.member_id = up.upline_id
                WHERE up.depth < %(depth)s
                  AND b.bound_at < %(end)s
                  AND (b.expires_at IS NULL OR b.expires_at > %(start)s)
            )
            SELECT up.upline_id, up.depth, SUM(s.net), SUM(s.refunded),
                   COUNT(DISTINCT s.order_id), COUNT(DISTINCT s.buyer_id)
            FROM sales s
            JOIN up ON up.buyer_id = s.buyer_id
            JOIN "{distributors}" d ON d.member_id = up.upline_id AND d.status = 'active'
            WHERE up.upline_id <> s.buyer_id
            GROUP BY up.upline_id, up.depth
            ORDER BY up.upline_id, up.depth
            """,
            {
                "completed": OrderStatus.COMPLETED,
                "start": start,
                "end": end,
                "depth": depth,
                "excluded": list(excluded_order_types or []),
            },
        )
        rows = cursor.fetchall()
    teams: dict[int, dict[str, Any]] = {}
    for upline_id, level, net, refunded, order_count, member_count in rows:
        team = teams.setdefault(
            int(upline_id),
            {"sales_minor": 0, "refunded_minor": 0, "orders": 0, "members": 0, "by_level": {}},
        )
        team["sales_minor"] += int(net)
        team["refunded_minor"] += int(refunded)
        team["orders"] += int(order_count)  # a buyer sits at one level of a team
        team["members"] += int(member_count)
        team["by_level"][str(level)] = int(net)
    return teams


@transaction.atomic
def team_bonus_run(
    *, month: date | None = None, now: datetime | None = None
) -> TeamBonusRun | None:
    """Pay the team bonuses of a month that has ended (the last one by default), once.

    None when the month was already run; a month not yet over is refused and changes nothing.
    """
    now = now or timezone.now()
    month = _month_start(month) if month is not None else team_bonus_last_month(now=now)
    if _bounds(month)[1] > now:
        raise TeamBonusMonthOpenError()
    if TeamBonusRun.objects.filter(month=month).exists():
        return None
    settings = distribution_settings_get()
    paying = (
        settings.enabled
        and settings.team_bonus_bp > 0
        and "team_bonus" in settings.risk_acknowledged
    )
    rate = settings.team_bonus_bp if paying else 0
    try:
        with transaction.atomic():
            run = TeamBonusRun.objects.create(month=month, rate_bp=rate, depth=settings.depth)
    except IntegrityError:
        return None  # a concurrent run took the month
    if not paying:
        return run
    start, end = _bounds(month)
    currency = shop_context().currency
    bonuses = []
    for member_id, team in sorted(
        team_sales(
            month=month, depth=settings.depth, excluded_order_types=settings.excluded_order_types
        ).items()
    ):
        sales = max(team["sales_minor"], 0)
        amount = minor_round(Decimal(sales) * Decimal(rate) / Decimal(10000), mode=ROUND_DOWN)
        bonuses.append(
            TeamBonus(
                member_id=member_id,
                month=month,
                team_sales_minor=sales,
                rate_bp=rate,
                amount_minor=amount,
                currency=currency,
                detail={
                    **team,
                    "depth": settings.depth,
                    "from": start.isoformat(),
                    "until": end.isoformat(),
                },
            )
        )
    paid = {bonus.member_id: bonus.amount_minor for bonus in bonuses if bonus.amount_minor > 0}
    if paid:
        # Like every release to available, a bonus first pays what the distributor owes back
        # (clawback receivable, distribution.services.clawback), under their money lock.
        for member_id in sorted(paid):
            ledger_member_lock(member_id=member_id)
        owed = receivables_owed(member_ids=sorted(paid))
        offsets = {
            member_id: min(amount, owed.get(member_id, 0)) for member_id, amount in paid.items()
        }
        accounts = ledger_accounts_for(
            {(None, Kind.SHOP_COMMISSION_EXPENSE)}
            | {
                (member_id, kind)
                for member_id in paid
                for kind in (Kind.COMMISSION_AVAILABLE, Kind.CLAWBACK_RECEIVABLE)
            }
        )
        lines = [(accounts[(None, Kind.SHOP_COMMISSION_EXPENSE)], -sum(paid.values()))]
        for member_id, amount in sorted(paid.items()):
            if amount - offsets[member_id]:
                lines.append(
                    (accounts[(member_id, Kind.COMMISSION_AVAILABLE)], amount - offsets[member_id])
                )
            if offsets[member_id]:
                lines.append((accounts[(member_id, Kind.CLAWBACK_RECEIVABLE)], offsets[member_id]))
        ledger_post(
            source="team_bonus",
            source_id=f"{month:%Y-%m}",
            purpose="team_bonus",
            memo=f"team performance bonus {month:%Y-%m}",
            lines=lines,
        )
        for bonus in bonuses:
            if offsets.get(bonus.member_id):
                bonus.detail["offset_minor"] = offsets[bonus.member_id]
    TeamBonus.objects.bulk_create(bonuses)
    run.paid_count = len(paid)
    run.paid_minor = sum(paid.values())
    run.save(update_fields=["paid_count", "paid_minor"])
    return run


def team_bonus_runs(*, limit: int = 36) -> list[TeamBonusRun]:
    """The months that were run, newest first."""
    return list(TeamBonusRun.objects.order_by("-month")[:limit])


def team_bonus_results(*, month: date, limit: int = 500) -> list[TeamBonus]:
    """A month's bonuses, the largest first, with the member joined."""
    return list(TeamBonus.objects.filter(month=month).select_related("member")[:limit])
