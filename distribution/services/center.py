"""Reads of the distributor center (the member's API) and of the merchant's distributor pages.

Every list is one set-based query per page (plus its count): per-row figures come from
subqueries, never from a query per row, so the queries do not grow with the page size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from distribution.errors import NotADistributorError
from distribution.models import (
    MEMBER_ACCOUNT_KINDS,
    Binding,
    BindingChange,
    Commission,
    Distributor,
    DistributorApplication,
    DistributorStatusChange,
    LedgerAccountKind,
)
from distribution.models.grades import Grade
from distribution.services.ledger import ledger_balances
from infra.errors import ValidationFailed
from shop.core.selectors import shop_context
from shop.customers.models import Member
from shop.customers.phones import phone_index, phone_normalize
from shop.orders.models import Order

Status = Distributor.Status
TEAM_LEVELS = (1, 2, 3)
RANKING_PERIODS = ("month", "all")
RANKING_SIZE = 50
RANKING_CACHE_S = 60
# The life of a commission, earliest first: an order's row shows the earliest state still open.
STATE_ORDER = ("held", "pending", "frozen", "available", "withdrawn", "reversed")
# Ledger kinds as the center names them (the distributor's view of what the shop owes them).
BALANCE_NAMES = {
    LedgerAccountKind.COMMISSION_PENDING: "pending_minor",
    LedgerAccountKind.COMMISSION_FROZEN: "frozen_minor",
    LedgerAccountKind.COMMISSION_AVAILABLE: "available_minor",
    LedgerAccountKind.COMMISSION_HELD: "held_minor",
    LedgerAccountKind.WITHDRAWAL_IN_PROGRESS: "withdrawal_in_progress_minor",
    LedgerAccountKind.WITHDRAWN: "withdrawn_minor",
}


# --- The member's own profile


def distributor_of(*, member_id: int) -> Distributor | None:
    """The member's distributor profile (any status) with its grade, or None; one query."""
    return Distributor.objects.filter(member_id=member_id).select_related("grade").first()


def distributor_center_require(*, member_id: int) -> Distributor:
    """The distributor whose center this is: active, or disabled (they still see their money);
    NotADistributorError for anyone else (applied, rejected, never one)."""
    distributor = distributor_of(member_id=member_id)
    if distributor is None or distributor.status not in (Status.ACTIVE, Status.DISABLED):
        raise NotADistributorError()
    return distributor


def grade_name_of(distributor: Distributor) -> str | None:
    """The distributor's grade, or the shop's default grade when they have none (None when
    the shop has no grades)."""
    if distributor.grade is not None:
        return str(distributor.grade.name)
    return default_grade_name()


def default_grade_name() -> str | None:
    """The name of the shop's default grade (None when the shop has no grades); one query."""
    default = Grade.objects.filter(is_default=True).values_list("name", flat=True).first()
    return str(default) if default is not None else None


def upline_of(*, member_id: int) -> dict[str, Any] | None:
    """The member's current upline (unexpired binding): id, nickname, since, how; one query."""
    now = timezone.now()
    binding = (
        Binding.objects.filter(member_id=member_id)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("upline")
        .first()
    )
    if binding is None:
        return None
    return {
        "member_id": binding.upline_id,
        "nickname": binding.upline.nickname,
        "bound_at": binding.bound_at,
        "expires_at": binding.expires_at,
        "binding_source": binding.source,
    }


def latest_application_of(*, member_id: int) -> DistributorApplication | None:
    return DistributorApplication.objects.filter(member_id=member_id).order_by("-id").first()


# --- Earnings


def earnings_summary(*, member_id: int) -> dict[str, int]:
    """The distributor's balances by state (from the ledger, minor units) and their totals
    earned and reversed (from their commissions); two queries."""
    balances = ledger_balances(member_id=member_id)
    summary = {name: balances.get(kind, 0) for kind, name in BALANCE_NAMES.items()}
    # Receivable balances are debits (negative): what they owe back, shown as a positive amount.
    summary["clawback_owed_minor"] = -balances.get(LedgerAccountKind.CLAWBACK_RECEIVABLE, 0)
    assert set(BALANCE_NAMES) | {LedgerAccountKind.CLAWBACK_RECEIVABLE} <= MEMBER_ACCOUNT_KINDS
    totals = Commission.objects.filter(beneficiary_id=member_id).aggregate(
        earned=Coalesce(Sum("amount_minor"), 0), reversed=Coalesce(Sum("reversed_minor"), 0)
    )
    summary["earned_minor"] = int(totals["earned"])
    summary["reversed_minor"] = int(totals["reversed"])
    summary["net_earned_minor"] = summary["earned_minor"] - summary["reversed_minor"]
    return summary


# --- The team


def _live(prefix: str, now: datetime) -> Q:
    """The binding at `prefix` is current (permanent or not expired)."""
    return Q(**{f"{prefix}expires_at__isnull": True}) | Q(**{f"{prefix}expires_at__gt": now})


def _downline_filter(*, member_id: int, level: int, now: datetime) -> Q:
    """Members `level` steps below `member_id` along current bindings."""
    condition = Q()
    path = ""
    for _step in range(level):
        prefix = f"{path}binding__"
        condition &= _live(prefix, now)
        path = f"{prefix}upline__"
    return condition & Q(**{f"{path[: -len('upline__')]}upline_id": member_id})


def _paid_orders(member_ref: Any) -> QuerySet[Order]:
    return Order.objects.filter(member_id=member_ref, paid_at__isnull=False).order_by()


def team_list(*, member_id: int, level: int) -> QuerySet[Member]:
    """The distributor's downlines at `level` (1 to 3, along current bindings), newest first,
    each with their paid orders (count, spend net of refunds, minor units), what the
    distributor earned on them (net of reversals) and since when they are bound; one query."""
    if level not in TEAM_LEVELS:
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={"level": [{"code": "invalid_choice", "message": _("Use level 1, 2 or 3.")}]},
        )
    now = timezone.now()
    orders = _paid_orders(OuterRef("pk")).values("member_id")
    earned = (
        Commission.objects.filter(buyer_id=OuterRef("pk"), beneficiary_id=member_id)
        .order_by()
        .values("buyer_id")
        .annotate(total=Sum(F("amount_minor") - F("reversed_minor")))
        .values("total")
    )
    return (
        Member.objects.filter(_downline_filter(member_id=member_id, level=level, now=now))
        .annotate(
            order_count=Coalesce(
                Subquery(orders.annotate(n=Count("id")).values("n"), output_field=IntegerField()),
                0,
            ),
            spend_minor=Coalesce(
                Subquery(
                    orders.annotate(s=Sum(F("total_minor") - F("refunded_minor"))).values("s"),
                    output_field=BigIntegerField(),
                ),
                Value(0, output_field=BigIntegerField()),
            ),
            earned_minor=Coalesce(
                Subquery(earned, output_field=BigIntegerField()),
                Value(0, output_field=BigIntegerField()),
            ),
            bound_at=F("binding__bound_at"),
            is_distributor=Exists(
                Distributor.objects.filter(member_id=OuterRef("pk"), status=Status.ACTIVE)
            ),
        )
        .order_by("-binding__bound_at", "-id")
    )


def team_counts(*, member_id: int) -> dict[int, int]:
    """How many downlines the distributor has at each level 1 to 3 (current bindings): one
    recursive query down the upline index, whatever the shop's size."""
    table = Binding._meta.db_table
    live = "(expires_at IS NULL OR expires_at > now())"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE down(member_id, depth) AS (
                SELECT member_id, 1 FROM "{table}" WHERE upline_id = %s AND {live}
                UNION ALL
                SELECT b.member_id, down.depth + 1 FROM "{table}" b
                JOIN down ON b.upline_id = down.member_id
                WHERE down.depth < %s AND (b.expires_at IS NULL OR b.expires_at > now())
            )
            SELECT depth, count(*) FROM down GROUP BY depth
            """,
            [member_id, max(TEAM_LEVELS)],
        )
        counts = {int(depth): int(count) for depth, count in cursor.fetchall()}
    return {level: counts.get(level, 0) for level in TEAM_LEVELS}


# --- Orders that earned commissions


def commission_orders(*, member_id: int) -> QuerySet[Commission, dict[str, Any]]:
    """The orders on which the member earned, newest first: one row per order and level
    (kind: level, or region) with the amount earned, the amount reversed, the states of its
    commissions, the order's number, payment time and buyer; one query per page."""
    return (
        Commission.objects.filter(beneficiary_id=member_id)
        .values("order_id", "kind", "level")
        .annotate(
            number=Max("order__number"),
            paid_at=Max("order__paid_at"),
            buyer_nickname=Max("buyer__nickname"),
            amount_minor=Sum("amount_minor"),
            reversed_minor=Sum("reversed_minor"),
            currency=Max("currency"),
            states=ArrayAgg("state", distinct=True),
        )
        .order_by("-order_id", "kind", "level")
    )


def commission_row_state(states: list[str]) -> str:
    """One state for an order's commissions at a level: the earliest still open (reversed only
    when every line's commission is)."""
    open_states = [state for state in states if state != Commission.State.REVERSED]
    if not open_states:
        return str(Commission.State.REVERSED)
    return min(open_states, key=lambda s: STATE_ORDER.index(s) if s in STATE_ORDER else 99)


# --- The leaderboard


@dataclass(frozen=True)
class RankingEntry:
    rank: int
    member_id: int
    nickname: str
    avatar_url: str
    amount_minor: int


def _period_start(period: str) -> datetime | None:
    if period == "all":
        return None
    zone = shop_context().time_zone
    local = timezone.now().astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _earnings(period: str) -> QuerySet[Commission, dict[str, Any]]:
    """Net earnings per active distributor in the period (held commissions not counted)."""
    commissions = Commission.objects.exclude(state=Commission.State.HELD).filter(
        beneficiary__distributor__status=Status.ACTIVE
    )
    start = _period_start(period)
    if start is not None:
        commissions = commissions.filter(created_at__gte=start)
    return (
        commissions.order_by()
        .values("beneficiary_id", "beneficiary__nickname", "beneficiary__avatar_url")
        .annotate(total=Sum(F("amount_minor") - F("reversed_minor")))
        .filter(Q(total__gt=0))
    )


def _cache_key(period: str, *parts: Any) -> str:
    # The default cache prefixes every key with the shop's schema.
    start = _period_start(period)
    return ":".join(
        ["distribution:ranking", period, start.date().isoformat() if start else "all"]
        + [str(part) for part in parts]
    )


def ranking_board(*, period: str, size: int = RANKING_SIZE) -> list[RankingEntry]:
    """The leaderboard of the period ("month": this calendar month in the shop's time zone, or
    "all"): the best `size` distributors by net earnings, ties sharing a rank (1, 2, 2, 4);
    cached for a minute."""
    key = _cache_key(period, "board", size)
    cached = cache.get(key)
    if cached is not None:
        return [RankingEntry(**entry) for entry in cached]
    rows = list(_earnings(period).order_by("-total", "beneficiary_id")[:size])
    entries: list[RankingEntry] = []
    for position, row in enumerate(rows, start=1):
        rank = (
            entries[-1].rank if entries and entries[-1].amount_minor == row["total"] else position
        )
        entries.append(
            RankingEntry(
                rank=rank,
                member_id=row["beneficiary_id"],
                nickname=row["beneficiary__nickname"],
                avatar_url=row["beneficiary__avatar_url"],
                amount_minor=int(row["total"]),
            )
        )
    cache.set(key, [entry.__dict__ for entry in entries], RANKING_CACHE_S)
    return entries


def ranking_of(*, member_id: int, period: str) -> dict[str, int | None]:
    """The member's own place in the period: rank (None without earnings) and amount; cached
    for a minute."""
    key = _cache_key(period, "member", member_id)
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    earnings = _earnings(period)
    rows = list(earnings.filter(beneficiary_id=member_id)[:1])
    mine = int(rows[0]["total"]) if rows else 0
    place: dict[str, int | None] = {"rank": None, "amount_minor": 0}
    if mine:
        ahead = earnings.filter(Q(total__gt=mine)).count()
        place = {"rank": ahead + 1, "amount_minor": int(mine)}
    cache.set(key, place, RANKING_CACHE_S)
    return place


# --- The merchant's pages


def distributors_for_console(
    *, query: str = "", status: str | None = None
) -> QuerySet[Distributor]:
    """Distributors for the merchant's list, newest first, with their member and grade, direct
    downlines and net earnings (one query per page): by status; searched by share code, name
    (nickname or the name they applied with) or exact phone number."""
    distributors = Distributor.objects.all()
    if status:
        distributors = distributors.filter(status=status)
    query = query.strip()
    if query:
        match = (
            Q(code=query.upper())
            | Q(member__nickname__icontains=query)
            | Q(
                Exists(
                    DistributorApplication.objects.filter(
                        member_id=OuterRef("member_id"), name__icontains=query
                    )
                )
            )
        )
        try:
            index = phone_index(phone_normalize(query))
        except ValidationFailed:
            index = ""
        if index:
            match |= Q(member__phone_index=index) | Q(
                Exists(
                    DistributorApplication.objects.filter(
                        member_id=OuterRef("member_id"), phone_index=index
                    )
                )
            )
        distributors = distributors.filter(match)
    now = timezone.now()
    direct = (
        Binding.objects.filter(upline_id=OuterRef("member_id"))
        .filter(_live("", now))
        .order_by()
        .values("upline_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    earned = (
        Commission.objects.filter(beneficiary_id=OuterRef("member_id"))
        .order_by()
        .values("beneficiary_id")
        .annotate(total=Sum(F("amount_minor") - F("reversed_minor")))
        .values("total")
    )
    return (
        distributors.select_related("member", "grade")
        .annotate(
            direct_count=Coalesce(Subquery(direct, output_field=IntegerField()), 0),
            earned_minor=Coalesce(
                Subquery(earned, output_field=BigIntegerField()),
                Value(0, output_field=BigIntegerField()),
            ),
        )
        .order_by("-created_at", "-id")
    )


def distributor_status_counts() -> dict[str, int]:
    """How many distributors are in each status (every status, 0 included); one query."""
    counts = dict(Distributor.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {value: counts.get(value, 0) for value in Status.values}


def distributor_console_get(*, member_id: int) -> Distributor | None:
    """One distributor for the merchant's page, with member and grade; None when there is none."""
    return Distributor.objects.filter(member_id=member_id).select_related("member", "grade").first()


def binding_history(*, member_id: int) -> QuerySet[BindingChange]:
    """Why the member has their upline: every change of it, oldest first, with both uplines."""
    return (
        BindingChange.objects.filter(member_id=member_id)
        .select_related("from_upline", "to_upline")
        .order_by("id")
    )


def status_history(*, distributor: Distributor) -> QuerySet[DistributorStatusChange]:
    """How the distributor became (or stopped being) one: every status change, oldest first."""
    return DistributorStatusChange.objects.filter(distributor=distributor).order_by("id")


def applications_for_console(*, status: str | None = None) -> QuerySet[DistributorApplication]:
    """Applications for the merchant's queue, oldest waiting first (decided ones newest first),
    with their member; one query per page."""
    applications = DistributorApplication.objects.select_related("member")
    if status == DistributorApplication.Status.SUBMITTED:
        return applications.filter(status=status).order_by("created_at", "id")
    if status:
        applications = applications.filter(status=status)
    return applications.order_by("-created_at", "-id")


def application_status_counts() -> dict[str, int]:
    counts = dict(
        DistributorApplication.objects.values_list("status").annotate(n=Count("id")).order_by()
    )
    return {value: counts.get(value, 0) for value in DistributorApplication.Status.values}


def commission_order_ids(
    *, state: str | None = None, level: int | None = None
) -> QuerySet[Commission, dict[str, Any]]:
    """Orders with commissions (in `state`, at `level` when given), newest first: rows of
    order_id, its total booked and reversed, for the merchant's commissions list."""
    commissions = Commission.objects.all()
    if state:
        commissions = commissions.filter(state=state)
    if level is not None:
        commissions = commissions.filter(level=level)
    return (
        commissions.order_by()
        .values("order_id")
        .annotate(amount_minor=Sum("amount_minor"), reversed_minor=Sum("reversed_minor"))
        .order_by("-order_id")
    )


def orders_by_id(*, order_ids: list[int]) -> dict[int, Order]:
    """Orders with their buyer, by id; one query."""
    return {
        order.pk: order for order in Order.objects.filter(pk__in=order_ids).select_related("member")
    }


def member_find_for_console(*, text: str) -> Member | None:
    """The member the merchant means: by member number, or by exact phone number."""
    text = text.strip()
    if text.isdigit() and len(text) <= 10:
        return Member.objects.filter(pk=int(text)).first()
    try:
        index = phone_index(phone_normalize(text))
    except ValidationFailed:
        return None
    return Member.objects.filter(phone_index=index).first()
