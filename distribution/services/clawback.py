"""Clawback: reversing commission whose money is no longer where the commission's state says.

A refund reverses each commission pro rata (distribution.services.commissions). While a
commission is pending, frozen or held, its money is in the matching account and is reversed
there. Once released, its money went into the distributor's available balance, and may since
have been withdrawn: what the available balance still covers is reversed from it, the rest (the
shortfall) follows the shop's clawback policy:

- reverse_pending: taken from the distributor's earnings that are not available yet, pending
  first, then frozen, oldest first (those commissions then carry it as `clawed_minor` and move
  on without it); what they cannot cover becomes a clawback receivable;
- offset_future: becomes a clawback receivable;
- negative_balance: taken from the available balance, which goes below zero (no withdrawal is
  possible until it is positive again).

A receivable (what the distributor owes back, a debit on clawback_receivable) is paid first
from every later release to available (distribution.services.settlement). Amounts are integer
minor units. The caller holds the distributors' money locks and the commissions' row locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Sum

from distribution.models import Clawback, Commission, LedgerAccountKind, LedgerEntry

Kind = LedgerAccountKind
# States whose money has left the commission's own account for the available balance.
RELEASED_STATES = frozenset({Commission.State.AVAILABLE, Commission.State.WITHDRAWN})


def receivables_owed(*, member_ids: list[int]) -> dict[int, int]:
    """What each distributor owes back (positive minor units; absent when nothing), one query."""
    rows = (
        LedgerEntry.objects.filter(
            account__kind=Kind.CLAWBACK_RECEIVABLE, account__member_id__in=member_ids
        )
        .values("account__member_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("account__member_id", "total")
    )
    return {int(member): -int(total) for member, total in rows if total < 0}


def _available(member_ids: list[int]) -> dict[int, int]:
    rows = (
        LedgerEntry.objects.filter(
            account__kind=Kind.COMMISSION_AVAILABLE, account__member_id__in=member_ids
        )
        .values("account__member_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("account__member_id", "total")
    )
    return {int(member): int(total) for member, total in rows}


@dataclass
class ReversalPlan:
    """What one refund event does: per (member, account kind) the amounts leaving each account
    (positive = taken out), split into the part reversed where the money is and the clawback;
    and the new (reversed, clawed) of each commission touched."""

    in_place: dict[tuple[int, str], int] = field(default_factory=dict)
    clawback: dict[tuple[int, str], int] = field(default_factory=dict)
    commissions: dict[int, tuple[Commission, int, int]] = field(default_factory=dict)

    def take(self, bucket: dict[tuple[int, str], int], member: int, kind: str, amount: int) -> None:
        if amount:
            bucket[(member, kind)] = bucket.get((member, kind), 0) + amount

    def state_of(self, commission: Commission) -> tuple[int, int]:
        _commission, reversed_minor, clawed_minor = self.commissions.get(
            commission.pk, (commission, commission.reversed_minor, commission.clawed_minor)
        )
        return reversed_minor, clawed_minor

    def set_state(self, commission: Commission, reversed_minor: int, clawed_minor: int) -> None:
        self.commissions[commission.pk] = (commission, reversed_minor, clawed_minor)


def _shortfall(
    plan: ReversalPlan,
    *,
    member: int,
    amount: int,
    policy: str,
    earnings: dict[int, list[Commission]],
) -> None:
    """Book a shortfall (money no longer where the state says) by the shop's policy."""
    if policy == Clawback.NEGATIVE_BALANCE:
        plan.take(plan.clawback, member, Kind.COMMISSION_AVAILABLE, amount)
        return
    if policy == Clawback.REVERSE_PENDING:
        for other in earnings.get(member, []):
            if amount <= 0:
                break
            reversed_minor, clawed_minor = plan.state_of(other)
            room = other.amount_minor - reversed_minor - clawed_minor
            taken = min(room, amount)
            if taken <= 0:
                continue
            kind = (
                Kind.COMMISSION_PENDING
                if other.state == Commission.State.PENDING
                else Kind.COMMISSION_FROZEN
            )
            plan.take(plan.clawback, member, kind, taken)
            plan.set_state(other, reversed_minor, clawed_minor + taken)
            amount -= taken
    if amount > 0:
        plan.take(plan.clawback, member, Kind.CLAWBACK_RECEIVABLE, amount)


def reversal_plan(
    *,
    reversals: list[tuple[Commission, int]],
    state_accounts: dict[str, str],
    policy: str,
) -> ReversalPlan:
    """Where each (commission, amount to reverse) takes its money from, by the commission's
    state, the distributor's balances and the clawback policy."""
    plan = ReversalPlan()
    members = sorted({commission.beneficiary_id for commission, _amount in reversals})
    available = _available(members)
    earnings: dict[int, list[Commission]] = {}
    if policy == Clawback.REVERSE_PENDING and any(
        commission.state in RELEASED_STATES for commission, _amount in reversals
    ):
        refunded = {commission.pk for commission, _amount in reversals}
        # Locked after the distributors' money locks (the order every locker keeps): pending
        # first, then frozen, oldest first.
        for other in (
            Commission.objects.select_for_update()
            .filter(
                beneficiary_id__in=members,
                state__in=[Commission.State.PENDING, Commission.State.FROZEN],
            )
            .exclude(pk__in=refunded)
            .order_by("id")
        ):
            earnings.setdefault(other.beneficiary_id, []).append(other)
        for items in earnings.values():
            items.sort(key=lambda item: (item.state != Commission.State.PENDING, item.pk))
    for commission, amount in reversals:
        member = commission.beneficiary_id
        reversed_minor, clawed_minor = plan.state_of(commission)
        reversed_after = reversed_minor + amount
        if commission.state in RELEASED_STATES:
            if commission.state == Commission.State.AVAILABLE:
                covered = min(amount, max(0, available.get(member, 0)))
            else:  # withdrawn: its money left the shop
                covered = 0
            available[member] = available.get(member, 0) - covered
            plan.take(plan.in_place, member, Kind.COMMISSION_AVAILABLE, covered)
            if amount - covered:
                _shortfall(
                    plan,
                    member=member,
                    amount=amount - covered,
                    policy=policy,
                    earnings=earnings,
                )
            clawed_after = min(clawed_minor, commission.amount_minor - reversed_after)
        else:
            in_place = commission.amount_minor - reversed_minor - clawed_minor
            covered = min(amount, in_place)
            plan.take(plan.in_place, member, state_accounts[commission.state], covered)
            short = amount - covered
            # What this commission had paid toward another's clawback is owed again.
            clawed_after = clawed_minor - short
            if short:
                _shortfall(plan, member=member, amount=short, policy=policy, earnings=earnings)
        plan.set_state(commission, reversed_after, clawed_after)
    return plan
