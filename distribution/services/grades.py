"""Distributor grades: the merchant's grade list, automatic upgrades and retention downgrades,
and the manual override, each change of a distributor's grade leaving a GradeChange row.

Upgrades go to the highest grade above the current one whose conditions hold (any or all of
them, as the grade says). Retention: a grade with `retention_days` is re-checked once held that
long; when over the last N days neither its retention thresholds (when set) nor else its
conditions hold, the distributor goes one grade down, and from then on upgrades count only what
happened after the downgrade (the retention lock: lifetime totals would lift them straight back).
A grade set by hand is locked: automatic evaluation leaves it alone until the merchant unlocks it.

Evaluation is set-based: a batch of distributors costs a constant number of queries (their
totals come from one statement, their teams from a recursive CTE like `upline_chain`), so the
nightly run is linear in the size of the shop, not in queries per distributor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from distribution.errors import (
    DistributorNotFoundError,
    GradeInUseError,
    GradeNotFoundError,
)
from distribution.models import (
    MAX_DEPTH,
    Binding,
    Distributor,
    Grade,
    GradeChange,
    RateKind,
)
from distribution.services.bindings import upline_chain
from distribution.services.settings import distribution_settings_get
from infra.errors import ValidationFailed
from shop.catalog.models import Product
from shop.orders.models import Order, OrderLine, OrderStatus

FieldErrors = dict[str, list[dict[str, str]]]
SYSTEM_ACTOR = "system"
BATCH = 1000
MAX_RANK = 32767
THRESHOLDS = (
    "invites_min",
    "own_spend_min_minor",
    "own_orders_min",
    "team_spend_min_minor",
    "team_orders_min",
    "retention_own_spend_min_minor",
    "retention_team_spend_min_minor",
)
EDITABLE = (
    "name",
    "rank",
    "is_default",
    "rate_kind",
    "level_rates",
    "condition_mode",
    *THRESHOLDS,
    "product_ids",
    "retention_days",
)

# --- What distributors did (set-based)


@dataclass(frozen=True)
class GradeStats:
    """What one distributor did (since a moment, or ever): the inputs of grade conditions."""

    invites: int = 0  # direct downlines (current bindings)
    own_spend_minor: int = 0  # paid minus refunded
    own_orders: int = 0  # paid orders not wholly refunded
    team_spend_minor: int = 0  # of the downlines to the shop's depth
    team_orders: int = 0
    products: frozenset[int] = frozenset()  # bought (of those asked about)


def grade_stats(
    *,
    since: Mapping[int, datetime | None],
    depth: int,
    product_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> dict[int, GradeStats]:
    """Each member's totals since their moment (None: ever), in one query for the whole batch;
    the team is the downlines up to `depth` levels below, following current bindings."""
    if not since:
        return {}
    now = now or timezone.now()
    members = list(since)
    binding = Binding._meta.db_table
    order = Order._meta.db_table
    line = OrderLine._meta.db_table
    paid = f"o.paid_at IS NOT NULL AND o.status <> '{OrderStatus.CLOSED.value}'"
    current = "(b.expires_at IS NULL OR b.expires_at > %(now)s)"
    sql = f"""
        WITH RECURSIVE m(member_id, since) AS (
            SELECT * FROM unnest(%(members)s::bigint[], %(since)s::timestamptz[])
        ),
        team(root, member_id, depth, since) AS (
            SELECT m.member_id, b.member_id, 1, m.since
            FROM m JOIN "{binding}" b ON b.upline_id = m.member_id
            WHERE {current}
            UNION ALL
            SELECT t.root, b.member_id, t.depth + 1, t.since
            FROM team t JOIN "{binding}" b ON b.upline_id = t.member_id
            WHERE t.depth < %(depth)s AND {current}
        )
        SELECT m.member_id, invited.count, own.spend, own.orders, bought.products,
               coalesce(team_total.spend, 0), coalesce(team_total.orders, 0)
        FROM m
        CROSS JOIN LATERAL (
            SELECT count(*) AS count FROM "{binding}" b
            WHERE b.upline_id = m.member_id AND {current}
              AND (m.since IS NULL OR b.bound_at >= m.since)
        ) invited
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(o.total_minor - o.refunded_minor), 0) AS spend, count(*) AS orders
            FROM "{order}" o
            WHERE o.member_id = m.member_id AND {paid}
              AND (m.since IS NULL OR o.paid_at >= m.since)
        ) own
        CROSS JOIN LATERAL (
            SELECT array_agg(DISTINCT l.product_id) AS products
            FROM "{order}" o JOIN "{line}" l ON l.order_id = o.id
            WHERE o.member_id = m.member_id AND {paid}
              AND l.product_id = ANY(%(products)s::bigint[])
              AND l.refunded_quantity < l.quantity
              AND (m.since IS NULL OR o.paid_at >= m.since)
        ) bought
        LEFT JOIN (
            SELECT t.root, sum(o.total_minor - o.refunded_minor) AS spend, count(*) AS orders
            FROM team t JOIN "{order}" o ON o.member_id = t.member_id
            WHERE {paid} AND (t.since IS NULL OR o.paid_at >= t.since)
            GROUP BY t.root
        ) team_total ON team_total.root = m.member_id
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "members": members,
                "since": [since[member] for member in members],
                "depth": max(1, min(depth, MAX_DEPTH)),
                "products": sorted(set(product_ids)),
                "now": now,
            },
        )
        rows = cursor.fetchall()
    return {
        int(row[0]): GradeStats(
            invites=int(row[1]),
            own_spend_minor=int(row[2]),
            own_orders=int(row[3]),
            products=frozenset(int(p) for p in row[4] or ()),
            team_spend_minor=int(row[5]),
            team_orders=int(row[6]),
        )
        for row in rows
    }


def _checks(grade: Grade, stats: GradeStats) -> list[bool]:
    """The grade's upgrade conditions (only those it sets), each met or not."""
    checks: list[bool] = []
    pairs = (
        (grade.invites_min, stats.invites),
        (grade.own_spend_min_minor, stats.own_spend_minor),
        (grade.own_orders_min, stats.own_orders),
        (grade.team_spend_min_minor, stats.team_spend_minor),
        (grade.team_orders_min, stats.team_orders),
    )
    for minimum, value in pairs:
        if minimum is not None:
            checks.append(value >= minimum)
    if grade.product_ids:
        checks.append(bool(stats.products & set(grade.product_ids)))
    return checks


def _combine(grade: Grade, checks: list[bool]) -> bool:
    return any(checks) if grade.condition_mode == Grade.Mode.ANY else all(checks)


def grade_qualifies(grade: Grade, stats: GradeStats) -> bool:
    """Whether the grade's upgrade conditions hold (a grade without any never does)."""
    checks = _checks(grade, stats)
    return bool(checks) and _combine(grade, checks)


def grade_retained(grade: Grade, stats: GradeStats) -> bool:
    """Whether the distributor keeps the grade on the retention window's totals: its retention
    thresholds when it sets any, else its upgrade conditions (none at all: kept)."""
    retention = [
        stats_value >= minimum
        for minimum, stats_value in (
            (grade.retention_own_spend_min_minor, stats.own_spend_minor),
            (grade.retention_team_spend_min_minor, stats.team_spend_minor),
        )
        if minimum is not None
    ]
    checks = retention or _checks(grade, stats)
    return not checks or _combine(grade, checks)


# --- Evaluation


@dataclass(frozen=True)
class _Change:
    distributor_id: int
    member_id: int
    stored_from: int | None  # Distributor.grade_id as read
    from_grade: Grade | None
    to_grade: Grade | None
    reason: str
    counts_since: datetime | None


def _plan(
    distributors: Sequence[Distributor], grades: list[Grade], *, depth: int, now: datetime
) -> list[_Change]:
    """The grade changes the batch's totals call for (two queries at most)."""
    by_id = {grade.pk: grade for grade in grades}
    default = next((grade for grade in grades if grade.is_default), None)
    products = {product for grade in grades for product in grade.product_ids}

    def current(distributor: Distributor) -> Grade | None:
        return by_id.get(distributor.grade_id) if distributor.grade_id else default

    due: dict[int, tuple[Distributor, int]] = {}
    for distributor in distributors:
        grade = current(distributor)
        if (
            grade is not None
            and grade.retention_days
            and not grade.is_default
            and (
                distributor.grade_since is None
                or distributor.grade_since <= now - timedelta(days=grade.retention_days)
            )
        ):
            due[distributor.member_id] = (distributor, grade.retention_days)
    retention_stats = grade_stats(
        since={member_id: now - timedelta(days=days) for member_id, (_d, days) in due.items()},
        depth=depth,
        product_ids=products,
        now=now,
    )
    changes: list[_Change] = []
    staying: list[Distributor] = []
    for distributor in distributors:
        grade = current(distributor)
        if (
            grade is not None
            and distributor.member_id in due
            and not grade_retained(grade, retention_stats[distributor.member_id])
        ):
            lower = [g for g in grades if g.rank < grade.rank]
            target = lower[-1] if lower else None
            if target is not None or default is None:
                changes.append(
                    _Change(
                        distributor.pk,
                        distributor.member_id,
                        distributor.grade_id,
                        grade,
                        target,
                        GradeChange.Reason.RETENTION_DOWNGRADE,
                        now,
                    )
                )
                continue
        staying.append(distributor)
    # Grades an upgrade can reach: those with conditions (others are given by hand only).
    candidates = [g for g in grades if not g.is_default and _checks(g, GradeStats())]
    if not candidates or not staying:
        return changes
    upgrade_stats = grade_stats(
        since={d.member_id: d.grade_counts_since for d in staying},
        depth=depth,
        product_ids=products,
        now=now,
    )
    for distributor in staying:
        grade = current(distributor)
        rank = grade.rank if grade is not None else -1
        stats = upgrade_stats[distributor.member_id]
        reachable = [g for g in candidates if g.rank > rank and grade_qualifies(g, stats)]
        if reachable:
            changes.append(
                _Change(
                    distributor.pk,
                    distributor.member_id,
                    distributor.grade_id,
                    grade,
                    reachable[-1],
                    GradeChange.Reason.AUTO_UPGRADE,
                    distributor.grade_counts_since,
                )
            )
    return changes


def _apply(changes: list[_Change], *, now: datetime) -> list[GradeChange]:
    """Write the changes in one conditional UPDATE (a distributor whose grade or lock changed
    meanwhile is left alone) and their audit rows in one INSERT."""
    if not changes:
        return []
    table = Distributor._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE "{table}" d
            SET grade_id = v.to_grade, grade_since = %s, grade_counts_since = v.counts_since
            FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[])
                AS v(id, from_grade, to_grade, counts_since)
            WHERE d.id = v.id AND d.grade_id IS NOT DISTINCT FROM v.from_grade
              AND NOT d.grade_locked AND d.status = %s
            RETURNING d.id
            """,
            [
                now,
                [change.distributor_id for change in changes],
                [change.stored_from for change in changes],
                [_stored(change.to_grade) for change in changes],
                [change.counts_since for change in changes],
                Distributor.Status.ACTIVE,
            ],
        )
        applied = {int(row[0]) for row in cursor.fetchall()}
    return GradeChange.objects.bulk_create(
        [
            GradeChange(
                member_id=change.member_id,
                from_grade_id=change.from_grade.pk if change.from_grade else None,
                from_grade_name=change.from_grade.name if change.from_grade else "",
                to_grade_id=change.to_grade.pk if change.to_grade else None,
                to_grade_name=change.to_grade.name if change.to_grade else "",
                reason=change.reason,
                actor=SYSTEM_ACTOR,
            )
            for change in changes
            if change.distributor_id in applied
        ]
    )


def _stored(grade: Grade | None) -> int | None:
    """What Distributor.grade holds for a grade: None for the default grade (and no grade)."""
    return None if grade is None or grade.is_default else grade.pk


def grades_evaluate(
    *, member_ids: Iterable[int] | None = None, now: datetime | None = None
) -> list[GradeChange]:
    """Upgrade and retention-check the given distributors (None: every active one, in batches
    of a constant number of queries); the changes made."""
    now = now or timezone.now()
    grades = list(Grade.objects.order_by("rank"))
    if not grades:
        return []
    depth = distribution_settings_get().depth
    active = Distributor.objects.filter(status=Distributor.Status.ACTIVE, grade_locked=False)
    if member_ids is not None:
        wanted = sorted(set(member_ids))
        if not wanted:
            return []
        return _apply(
            _plan(list(active.filter(member_id__in=wanted)), grades, depth=depth, now=now),
            now=now,
        )
    made: list[GradeChange] = []
    last = 0
    while True:
        batch = list(active.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            return made
        last = batch[-1].pk
        with transaction.atomic():
            made.extend(_apply(_plan(batch, grades, depth=depth, now=now), now=now))


def grade_evaluate(*, member_id: int, now: datetime | None = None) -> GradeChange | None:
    """Upgrade or retention-check one distributor; the change made, if any."""
    changes = grades_evaluate(member_ids=[member_id], now=now)
    return changes[0] if changes else None


def grades_nightly(*, now: datetime | None = None) -> int:
    """The nightly pass over every distributor (idempotent: a second run changes nothing);
    how many grades changed."""
    return len(grades_evaluate(now=now))


def grades_evaluate_around(*, member_id: int) -> list[GradeChange]:
    """Re-evaluate a member and their uplines to the shop's depth (whose invites or team
    totals just changed): after a binding, a payment or a completed order."""
    if not Grade.objects.exists():
        return []
    depth = distribution_settings_get().depth
    return grades_evaluate(member_ids=[member_id, *upline_chain(member_id=member_id, levels=depth)])


def grades_evaluate_after_binding(*, upline_id: int) -> list[GradeChange]:
    """Called by the binding service once a member bound to `upline_id`."""
    return grades_evaluate_around(member_id=upline_id)


def on_order_for_grades(event: Any) -> None:
    """Outbox subscriber (order.paid, order.completed): the buyer's and their uplines' grades."""
    member_id = Order.objects.filter(pk=int(event.payload["order_id"])).values_list(
        "member_id", flat=True
    )
    for buyer in member_id:
        grades_evaluate_around(member_id=buyer)


# --- Manual override


@transaction.atomic
def grade_set_manual(
    *, member_id: int, grade_id: int | None, actor: str, note: str = "", lock: bool = True
) -> GradeChange:
    """Set a distributor's grade by hand (None: the default grade) with an audit row; locked
    against automatic changes unless `lock` is false (which hands it back to automation)."""
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={"note": [{"code": "max_length", "message": _("Keep the note short.")}]},
        )
    distributor = (
        Distributor.objects.select_for_update(of=("self",))
        .select_related("grade")
        .filter(member_id=member_id)
        .first()
    )
    if distributor is None:
        raise DistributorNotFoundError
    default = Grade.objects.filter(is_default=True).first()
    target: Grade | None
    if grade_id is None:
        target = default
    else:
        target = Grade.objects.filter(pk=grade_id).first()
        if target is None:
            raise GradeNotFoundError
    before = distributor.grade or default
    now = timezone.now()
    stored = _stored(target)
    fields: dict[str, Any] = {"grade_locked": lock}
    if stored != distributor.grade_id:
        fields.update(grade_id=stored, grade_since=now)
    Distributor.objects.filter(pk=distributor.pk).update(**fields)
    return GradeChange.objects.create(
        member_id=member_id,
        from_grade_id=before.pk if before else None,
        from_grade_name=before.name if before else "",
        to_grade_id=target.pk if target else None,
        to_grade_name=target.name if target else "",
        reason=GradeChange.Reason.MANUAL,
        actor=actor[:254],
        note=note,
    )


# --- The merchant's grades


def _error(fields: FieldErrors, name: str, code: str, message: str) -> None:
    fields.setdefault(name, []).append({"code": code, "message": message})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(values: dict[str, Any], *, grade_id: int | None) -> FieldErrors:
    fields: FieldErrors = {}
    others = Grade.objects.exclude(pk=grade_id) if grade_id is not None else Grade.objects.all()
    name = values["name"]
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 50:
        _error(fields, "name", "invalid", _("Give the grade a name of at most 50 characters."))
    elif others.filter(name=name.strip()).exists():
        _error(fields, "name", "name_taken", _("Another grade has this name."))
    rank = values["rank"]
    if not _is_int(rank) or not 0 <= rank <= MAX_RANK:
        _error(fields, "rank", "invalid", _("Use a rank from 0 to 32767."))
    elif others.filter(rank=rank).exists():
        _error(fields, "rank", "rank_taken", _("Another grade has this rank."))
    if not isinstance(values["is_default"], bool):
        _error(fields, "is_default", "invalid", _("Use true or false."))
    if values["rate_kind"] not in RateKind.values:
        _error(fields, "rate_kind", "invalid_choice", _("Choose one of the offered values."))
    if values["condition_mode"] not in Grade.Mode.values:
        _error(fields, "condition_mode", "invalid_choice", _("Choose one of the offered values."))
    _rates_validate(fields, values["level_rates"], values["rate_kind"])
    for threshold in THRESHOLDS:
        value = values[threshold]
        if value is not None and (not _is_int(value) or value < 0):
            _error(fields, threshold, "min_value", _("Use a whole number of at least 0."))
    days = values["retention_days"]
    if days is not None and (not _is_int(days) or days < 1):
        _error(fields, "retention_days", "min_value", _("Check at least 1 day back, or never."))
    ids = values["product_ids"]
    if not isinstance(ids, list) or not all(_is_int(i) and i > 0 for i in ids):
        _error(fields, "product_ids", "invalid", _("Give product ids."))
    elif ids:
        known = set(
            Product.objects.filter(pk__in=ids, deleted_at__isnull=True).values_list("pk", flat=True)
        )
        if set(ids) - known:
            _error(fields, "product_ids", "unknown_product", _("Some of these products are gone."))
    return fields


def _rates_validate(fields: FieldErrors, rates: Any, kind: Any) -> None:
    """Per-level rates: at most 3 levels (the law's depth), each at least 0, percentages
    together not above the whole sale."""
    if not isinstance(rates, list) or not all(_is_int(rate) and rate >= 0 for rate in rates):
        _error(fields, "level_rates", "invalid", _("Give one rate per level, each at least 0."))
    elif len(rates) > MAX_DEPTH:
        _error(
            fields,
            "level_rates",
            "depth_exceeds_limit",
            _("Commissions go 1 to 3 levels up, never more."),
        )
    elif kind == RateKind.PERCENTAGE and sum(rates) > 10000:
        _error(
            fields,
            "level_rates",
            "rates_exceed_sale",
            _("All levels together cannot take more than the whole sale."),
        )


def _save(grade: Grade, changes: dict[str, Any]) -> Grade:
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={
                name: [{"code": "unknown", "message": _("Unknown field.")}] for name in unknown
            },
        )
    values = {name: getattr(grade, name) for name in EDITABLE}
    values.update(changes)
    if isinstance(values["name"], str):
        values["name"] = values["name"].strip()
    if isinstance(values["product_ids"], list):
        values["product_ids"] = sorted(set(values["product_ids"]))
    fields = _validate(values, grade_id=grade.pk)
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)
    for name, value in values.items():
        setattr(grade, name, value)
    if grade.is_default:
        Grade.objects.filter(is_default=True).exclude(pk=grade.pk).update(is_default=False)
    try:
        with transaction.atomic():
            grade.save()
    except IntegrityError as error:  # a concurrent grade took the name or the rank
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={"rank": [{"code": "rank_taken", "message": _("Another grade has this rank.")}]},
        ) from error
    return grade


@transaction.atomic
def grade_create(*, values: dict[str, Any]) -> Grade:
    """A new grade (rates in basis points or minor units, thresholds in minor units); the
    default grade when `is_default` (the previous default stops being it)."""
    return _save(Grade(), values)


@transaction.atomic
def grade_update(*, grade_id: int, changes: dict[str, Any]) -> Grade:
    """Change the named fields of a grade after validating the whole result."""
    grade = Grade.objects.select_for_update().filter(pk=grade_id).first()
    if grade is None:
        raise GradeNotFoundError
    return _save(grade, changes)


@transaction.atomic
def grade_delete(*, grade_id: int) -> None:
    """Delete a grade nobody holds (the default grade also counts as held by distributors who
    have no grade of their own)."""
    grade = Grade.objects.select_for_update().filter(pk=grade_id).first()
    if grade is None:
        raise GradeNotFoundError
    holders = Distributor.objects.filter(grade=grade)
    if grade.is_default:
        holders = Distributor.objects.filter(grade__isnull=True) | holders
    if holders.exists():
        raise GradeInUseError
    grade.delete()


# --- Reads for the console


def grade_list() -> list[Grade]:
    """The shop's grades by rank, each with `holders`: the distributors who have it (for the
    default grade, also those without a grade of their own). Two queries."""
    grades: list[Grade] = list(
        Grade.objects.order_by("rank").annotate(holders=Count("distributors"))
    )
    if any(grade.is_default for grade in grades):
        ungraded = Distributor.objects.filter(grade__isnull=True).count()
        for grade in grades:
            if grade.is_default:
                grade.holders += ungraded  # type: ignore[attr-defined]  # annotated above
    return grades


def grade_get(*, grade_id: int) -> Grade:
    grade = Grade.objects.filter(pk=grade_id).first()
    if grade is None:
        raise GradeNotFoundError
    return grade


def grade_change_list(*, member_id: int | None = None, limit: int = 50) -> list[GradeChange]:
    """The latest grade changes (of one member, or of everyone), with their members."""
    changes = GradeChange.objects.select_related("member").order_by("-created_at", "-id")
    if member_id is not None:
        changes = changes.filter(member_id=member_id)
    return list(changes[:limit])


def distributor_find(*, reference: str) -> Distributor:
    """A distributor by share code or member id (as the merchant types it), with grade."""
    text = (reference or "").strip()
    distributors = Distributor.objects.select_related("grade", "member")
    found = (
        distributors.filter(member_id=int(text)).first()
        if text.isdigit() and len(text) <= 18
        else distributors.filter(code=text.upper()).first()
    )
    if found is None:
        raise DistributorNotFoundError
    return found


def grade_default() -> Grade | None:
    return Grade.objects.filter(is_default=True).first()
