"""Risk holds: commissions that a risk rule flags are booked into commission_held, not pending,
and wait for the merchant's review.

The rules (distribution.models.RiskRule), all checked in ONE query per booking whatever the
number of beneficiaries (`risk_holds`):

- ring: the beneficiary is, or was, below the buyer: following uplines from the beneficiary
  through current and expired bindings and the binding history (BindingChange) reaches the buyer.
- shared_device / shared_ip: the order's device id, or its public IP address, was also used by
  the beneficiary (their orders, logins, tokens) within RISK_LOOKBACK. Private, loopback and
  documentation addresses say nothing about a person and are ignored.
- device_many_accounts: the order's device was used by more accounts than the shop's
  risk_device_accounts_limit within RISK_LOOKBACK (holds every beneficiary of the order).
- buyer_velocity: the buyer paid more orders than the shop's risk_buyer_orders_per_day within
  BUYER_WINDOW (holds every beneficiary of the order).
- earner_velocity: the beneficiary earned on more orders than the shop's
  risk_earner_orders_per_hour within EARNER_WINDOW.

The three thresholds are distribution settings (0 switches a rule off).

The buyer as beneficiary (self-purchase, when the settings allow it) is not checked against
themselves. A held beneficiary's commissions on the order share one RiskFlag with the evidence.
Review: `risk_flag_release` moves what is left (after refunds) from held to where the order now
is: frozen when it was received (state_changed_at = the moment it was received, so the freeze
days count from then), else pending; `risk_flag_reject` reverses it to the shop's expense.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from distribution.errors import RiskFlagNotFoundError, RiskFlagReviewedError
from distribution.models import (
    Binding,
    BindingChange,
    Commission,
    CommissionDecision,
    DistributionSettings,
    LedgerAccountKind,
    RiskFlag,
    RiskRule,
)
from distribution.services.ledger import ledger_account_for, ledger_member_lock, ledger_post
from shop.customers.models import MemberLogin, MemberToken
from shop.orders.models import Order

Kind = LedgerAccountKind

# How far back device ids and IP addresses count as "used by" a member.
RISK_LOOKBACK = timedelta(days=90)
# The windows of the velocity rules (their thresholds are the shop's settings).
BUYER_WINDOW = timedelta(hours=24)
EARNER_WINDOW = timedelta(hours=1)
# Longest upline path the ring search follows.
RING_MAX_PATH = 16


@dataclass
class Hold:
    """Why one beneficiary's commissions on an order are held: rules in order, evidence."""

    rules: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    def add(self, rule: str, detail: dict[str, Any]) -> None:
        if rule not in self.rules:
            self.rules.append(rule)
        self.evidence[rule] = detail


# The order of rules in a flag: the strongest signal first (it becomes the hold_reason).
_RULE_ORDER = [rule.value for rule in RiskRule]


def _public_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return str(address) if address.is_global else None


def _sql() -> str:
    orders = Order._meta.db_table
    logins = MemberLogin._meta.db_table
    tokens = MemberToken._meta.db_table
    bindings = Binding._meta.db_table
    changes = BindingChange._meta.db_table
    decisions = CommissionDecision._meta.db_table
    # A member's uplines, now and ever (current or expired binding, binding history): by index.
    edges = (
        f'SELECT upline_id FROM "{bindings}" WHERE member_id = {{member}} '
        f'UNION SELECT to_upline_id FROM "{changes}" '
        f"WHERE member_id = {{member}} AND to_upline_id IS NOT NULL "
        f'UNION SELECT from_upline_id FROM "{changes}" '
        f"WHERE member_id = {{member}} AND from_upline_id IS NOT NULL"
    )
    return f"""
    WITH RECURSIVE ben AS (SELECT DISTINCT unnest(%(members)s::bigint[]) AS member_id),
    device_use AS (
        SELECT member_id, 'order' AS seen FROM "{orders}"
        WHERE %(device)s <> '' AND device_id = %(device)s AND created_at > %(since)s
          AND id <> %(order)s
        UNION ALL
        SELECT member_id, 'login' FROM "{logins}"
        WHERE %(device)s <> '' AND device_id = %(device)s AND created_at > %(since)s
        UNION ALL
        SELECT member_id, 'token' FROM "{tokens}"
        WHERE %(device)s <> '' AND device_id = %(device)s AND created_at > %(since)s
    ),
    ip_use AS (
        SELECT o.member_id, 'order' AS seen
        FROM "{orders}" o JOIN ben ON ben.member_id = o.member_id
        WHERE %(ip)s::inet IS NOT NULL AND o.ip = %(ip)s::inet AND o.created_at > %(since)s
        UNION ALL
        SELECT l.member_id, 'login' FROM "{logins}" l JOIN ben ON ben.member_id = l.member_id
        WHERE %(ip)s::inet IS NOT NULL AND l.ip = %(ip)s::inet AND l.created_at > %(since)s
    ),
    ring(origin, member_id, path) AS (
        SELECT ben.member_id, e.upline_id, ARRAY[ben.member_id, e.upline_id]
        FROM ben CROSS JOIN LATERAL ({edges.format(member="ben.member_id")}) e(upline_id)
        WHERE ben.member_id <> %(buyer)s
        UNION ALL
        SELECT r.origin, e.upline_id, r.path || e.upline_id
        FROM ring r CROSS JOIN LATERAL ({edges.format(member="r.member_id")}) e(upline_id)
        WHERE r.member_id <> %(buyer)s AND NOT e.upline_id = ANY(r.path)
          AND cardinality(r.path) < %(ring_max)s
    )
    SELECT 'shared_device', d.member_id,
           jsonb_build_object('device_id', %(device)s,
                              'seen_in', jsonb_agg(DISTINCT d.seen ORDER BY d.seen))
    FROM device_use d JOIN ben ON ben.member_id = d.member_id
    WHERE d.member_id <> %(buyer)s GROUP BY d.member_id
    UNION ALL
    SELECT 'shared_ip', i.member_id,
           jsonb_build_object('ip', %(ip)s::text,
                              'seen_in', jsonb_agg(DISTINCT i.seen ORDER BY i.seen))
    FROM ip_use i WHERE i.member_id <> %(buyer)s GROUP BY i.member_id
    UNION ALL
    SELECT 'ring', r.origin, jsonb_build_object('path', to_jsonb(min(r.path)))
    FROM ring r WHERE r.member_id = %(buyer)s GROUP BY r.origin
    UNION ALL
    SELECT 'device_many_accounts', NULL,
           jsonb_build_object('device_id', %(device)s,
                              'accounts', count(DISTINCT member_id),
                              'limit', %(device_limit)s,
                              'members', to_jsonb((array_agg(DISTINCT member_id))[1:20]))
    FROM (SELECT member_id FROM device_use UNION SELECT %(buyer)s WHERE %(device)s <> '') u
    HAVING %(device_limit)s > 0 AND count(DISTINCT member_id) > %(device_limit)s
    UNION ALL
    SELECT 'buyer_velocity', NULL,
           jsonb_build_object('paid_orders', v.n, 'limit', %(buyer_limit)s,
                              'window_hours', %(buyer_hours)s)
    FROM (SELECT count(*) AS n FROM (
        SELECT 1 FROM "{orders}" WHERE member_id = %(buyer)s AND paid_at > %(buyer_since)s
        LIMIT %(buyer_limit)s + 1) s) v
    WHERE %(buyer_limit)s > 0 AND v.n > %(buyer_limit)s
    UNION ALL
    SELECT 'earner_velocity', ben.member_id,
           jsonb_build_object('orders', v.n, 'limit', %(earner_limit)s,
                              'window_hours', %(earner_hours)s)
    FROM ben CROSS JOIN LATERAL (SELECT count(*) AS n FROM (
        SELECT 1 FROM "{decisions}" d
        WHERE d.member_id = ben.member_id AND d.reason = 'earns'
          AND d.created_at > %(earner_since)s
        LIMIT %(earner_limit)s + 1) s) v
    WHERE %(earner_limit)s > 0 AND v.n > %(earner_limit)s
    """


def risk_holds(
    *,
    order: Order,
    member_ids: Collection[int],
    settings: DistributionSettings,
    now: datetime | None = None,
) -> dict[int, Hold]:
    """Which of the order's beneficiaries to hold, and why: one query."""
    if not member_ids:
        return {}
    now = now or timezone.now()
    params: dict[str, Any] = {
        "members": sorted(set(member_ids)),
        "order": order.pk,
        "buyer": order.member_id,
        "device": order.device_id or "",
        "ip": _public_ip(order.ip),
        "since": now - RISK_LOOKBACK,
        "ring_max": RING_MAX_PATH,
        "device_limit": settings.risk_device_accounts_limit,
        "buyer_limit": settings.risk_buyer_orders_per_day,
        "buyer_hours": int(BUYER_WINDOW.total_seconds() // 3600),
        "buyer_since": now - BUYER_WINDOW,
        "earner_limit": settings.risk_earner_orders_per_hour,
        "earner_hours": int(EARNER_WINDOW.total_seconds() // 3600),
        "earner_since": now - EARNER_WINDOW,
    }
    with connection.cursor() as cursor:
        cursor.execute(_sql(), params)
        rows = cursor.fetchall()
    everyone: list[tuple[str, dict[str, Any]]] = []
    holds: dict[int, Hold] = {}
    for rule, member_id, detail in sorted(rows, key=lambda row: _RULE_ORDER.index(row[0])):
        evidence = json.loads(detail) if isinstance(detail, str) else dict(detail)
        if member_id is None:
            everyone.append((rule, evidence))
        else:
            holds.setdefault(int(member_id), Hold()).add(rule, evidence)
    for member_id in sorted(set(member_ids)) if everyone else []:
        hold = holds.setdefault(member_id, Hold())
        for rule, evidence in everyone:
            hold.add(rule, evidence)
    for hold in holds.values():
        hold.rules.sort(key=_RULE_ORDER.index)
    return holds


def risk_hold_mark(*, commissions: Sequence[Commission], holds: dict[int, Hold]) -> None:
    """Mark the unsaved commissions of held beneficiaries as held, with the evidence."""
    for commission in commissions:
        hold = holds.get(commission.beneficiary_id)
        if hold is not None:
            commission.state = Commission.State.HELD
            commission.hold_reason = hold.rules[0]
            commission.hold_detail = {"rules": hold.rules, "evidence": hold.evidence}


def risk_flags_record(
    *, order: Order, commissions: Sequence[Commission], holds: dict[int, Hold], kind: str
) -> list[RiskFlag]:
    """The review records of the held beneficiaries (and "held" decisions for the level
    commissions); nothing and no query when nobody is held."""
    held: dict[int, int] = {}
    levels: dict[int, int] = {}
    for commission in commissions:
        if commission.state == Commission.State.HELD:
            held[commission.beneficiary_id] = (
                held.get(commission.beneficiary_id, 0) + commission.amount_minor
            )
            levels[commission.beneficiary_id] = commission.level
    if not held:
        return []
    flags = [
        RiskFlag(
            order=order,
            member_id=member_id,
            buyer_id=order.member_id,
            kind=kind,
            rules=holds[member_id].rules,
            evidence=holds[member_id].evidence,
            held_minor=amount,
        )
        for member_id, amount in sorted(held.items())
    ]
    RiskFlag.objects.bulk_create(flags, ignore_conflicts=True)
    if kind == Commission.Kind.LEVEL:
        CommissionDecision.objects.bulk_create(
            [
                CommissionDecision(
                    order=order,
                    level=levels[member_id],
                    member_id=member_id,
                    reason=CommissionDecision.Reason.HELD,
                )
                for member_id in sorted(held)
            ],
            ignore_conflicts=True,
        )
    return flags


def risk_account_kind(*, member_id: int, holds: dict[int, Hold]) -> str:
    """The ledger account a new commission goes to: held, or pending."""
    return Kind.COMMISSION_HELD if member_id in holds else Kind.COMMISSION_PENDING


def _flag_for_review(*, flag_id: int) -> RiskFlag:
    flag = RiskFlag.objects.select_for_update().filter(pk=flag_id).first()
    if flag is None:
        raise RiskFlagNotFoundError()
    if flag.status != RiskFlag.Status.OPEN:
        raise RiskFlagReviewedError()
    return flag


def _held(flag: RiskFlag) -> list[Commission]:
    return list(
        Commission.objects.select_for_update()
        .filter(
            order_id=flag.order_id,
            beneficiary_id=flag.member_id,
            kind=flag.kind,
            state=Commission.State.HELD,
        )
        .order_by("id")
    )


def _review(
    *,
    flag_id: int,
    actor: str,
    note: str,
    status: str,
) -> RiskFlag:
    flag = _flag_for_review(flag_id=flag_id)
    ledger_member_lock(member_id=flag.member_id)
    commissions = _held(flag)
    now = timezone.now()
    left = sum(c.amount_minor - c.reversed_minor for c in commissions)
    if status == RiskFlag.Status.RELEASED:
        received_at = (
            Order.objects.filter(pk=flag.order_id).values_list("received_at", flat=True).first()
        )
        target_state = Commission.State.FROZEN if received_at else Commission.State.PENDING
        target_kind = Kind.COMMISSION_FROZEN if received_at else Kind.COMMISSION_PENDING
        target_account = ledger_account_for(member_id=flag.member_id, kind=target_kind)
        state_changed_at = received_at or now
    else:
        target_state = Commission.State.REVERSED
        target_account = ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE)
        state_changed_at = now
    if left > 0:
        ledger_post(
            source="risk_flag",
            source_id=flag.pk,
            purpose=status,
            memo=f"risk hold {status} (order {flag.order_id})",
            lines=[
                (ledger_account_for(member_id=flag.member_id, kind=Kind.COMMISSION_HELD), -left),
                (target_account, left),
            ],
        )
    for commission in commissions:
        changes: dict[str, Any] = {
            "state": target_state,
            "state_changed_at": state_changed_at,
            "reviewed_by": actor[:64],
            "reviewed_at": now,
        }
        if target_state == Commission.State.REVERSED:
            changes["reversed_minor"] = commission.amount_minor
        Commission.objects.filter(pk=commission.pk).update(**changes)
    flag.status = status
    flag.reviewed_by = actor[:64]
    flag.reviewed_at = now
    flag.note = note[:500]
    flag.save(update_fields=["status", "reviewed_by", "reviewed_at", "note"])
    return flag


@transaction.atomic
def risk_flag_release(*, flag_id: int, actor: str, note: str = "") -> RiskFlag:
    """The merchant clears the hold: what is left goes to pending, or to frozen (since the
    order was received) when it was received. A reviewed flag is refused, nothing changes."""
    return _review(flag_id=flag_id, actor=actor, note=note, status=RiskFlag.Status.RELEASED)


@transaction.atomic
def risk_flag_reject(*, flag_id: int, actor: str, note: str = "") -> RiskFlag:
    """The merchant refuses the commissions: what is left goes back to the shop (reversed)."""
    return _review(flag_id=flag_id, actor=actor, note=note, status=RiskFlag.Status.REJECTED)


def risk_flags_list(*, status: str | None = RiskFlag.Status.OPEN) -> Any:
    """Flags for the review queue, newest first (the order and both members joined)."""
    flags = RiskFlag.objects.select_related("order", "member", "buyer")
    return flags.filter(status=status) if status else flags
