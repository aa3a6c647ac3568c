"""Booking commissions from order events (outbox subscribers) and moving them through their life.

Booked once per order line and level from `order.paid` (the unique (line, level) key and the
ledger's source keys make a replay book nothing), on the base the settings choose, at the level's
rate, rounded down to the minor unit (the remainder is not paid). Each booking posts
expense -c / pending +c in the ledger; `order.received` moves pending → frozen and
`order.completed` frozen → available, each as a ledger posting too.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from distribution.models import (
    Binding,
    Commission,
    CommissionBase,
    CommissionDecision,
    DistributionSettings,
    Distributor,
    LedgerAccountKind,
    RateKind,
)
from distribution.services.bindings import upline_chain
from distribution.services.ledger import ledger_account_for, ledger_post
from distribution.services.settings import distribution_settings_get
from infra.money import Money, minor_round
from shop.orders.models import Order, OrderLine

Kind = LedgerAccountKind
Reason = CommissionDecision.Reason


def _rule(settings: DistributionSettings) -> dict[str, Any]:
    return {
        "depth": settings.depth,
        "rate_source": settings.rate_source,
        "rate_kind": settings.rate_kind,
        "level_rates": list(settings.level_rates),
        "commission_base": settings.commission_base,
        "self_purchase": settings.self_purchase,
    }


def _bases(order: Order, lines: list[OrderLine], base: str) -> dict[int, int]:
    """The commissionable amount of each line under the settings' base."""
    if base == CommissionBase.LIST_PRICE:
        return {line.pk: line.unit_price_minor * line.quantity for line in lines}
    paid = {line.pk: line.paid_minor for line in lines}
    if base == CommissionBase.PAID_INCL_SHIPPING and order.shipping_minor and sum(paid.values()):
        shares = Money(order.shipping_minor, order.currency).allocate(list(paid.values()))
        return {
            pk: amount + share.minor
            for (pk, amount), share in zip(paid.items(), shares, strict=True)
        }
    return paid


def _decide(*, buyer_id: int, settings: DistributionSettings) -> list[CommissionDecision]:
    """Who earns at which level, and who does not and why (unsaved decisions).

    Levels are positions in the chain: an upline who is not an active distributor earns
    nothing, and the next one up keeps its own level (no compression).
    """
    chain = upline_chain(member_id=buyer_id, levels=settings.depth + 1)
    candidates = [buyer_id, *chain] if settings.self_purchase else chain
    active = set(
        Distributor.objects.filter(
            member_id__in=[buyer_id, *chain], status=Distributor.Status.ACTIVE
        ).values_list("member_id", flat=True)
    )
    decisions: list[CommissionDecision] = []
    if not settings.self_purchase and buyer_id in active:
        decisions.append(
            CommissionDecision(level=0, member_id=buyer_id, reason=Reason.SELF_PURCHASE_OFF)
        )
    if not chain:
        expired = (
            Binding.objects.filter(member_id=buyer_id).values_list("upline_id", flat=True).first()
        )
        decisions.append(
            CommissionDecision(
                level=1,
                member_id=expired,
                reason=Reason.BINDING_EXPIRED if expired is not None else Reason.NO_UPLINE,
            )
        )
    for index, member_id in enumerate(candidates[: settings.depth + 1]):
        level = index + 1
        if level > settings.depth:
            reason = Reason.DEPTH_LIMIT
        elif member_id not in active:
            reason = Reason.NOT_A_DISTRIBUTOR
        else:
            reason = Reason.EARNS
        decisions.append(CommissionDecision(level=level, member_id=member_id, reason=reason))
    return decisions


def commissions_book(*, order_id: int, event_id: str) -> list[Commission]:
    """Book the commissions of a paid order (idempotent); those booked now."""
    settings = distribution_settings_get()
    order = Order.objects.get(pk=order_id)
    if not settings.enabled:
        CommissionDecision.objects.bulk_create(
            [
                CommissionDecision(
                    order=order, level=0, reason=CommissionDecision.Reason.DISTRIBUTION_OFF
                )
            ],
            ignore_conflicts=True,
        )
        return []
    decisions = _decide(buyer_id=order.member_id, settings=settings)
    for decision in decisions:
        decision.order = order
    CommissionDecision.objects.bulk_create(decisions, ignore_conflicts=True)
    beneficiaries = [
        (decision.level, decision.member_id)
        for decision in decisions
        if decision.reason == CommissionDecision.Reason.EARNS and decision.member_id is not None
    ]
    if not beneficiaries:
        return []
    lines = list(OrderLine.objects.filter(order=order).order_by("id"))
    bases = _bases(order, lines, settings.commission_base)
    rule = _rule(settings)
    expense = ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE)
    booked: list[Commission] = []
    for level, member_id in beneficiaries:
        rate = settings.level_rates[level - 1]
        pending = ledger_account_for(member_id=member_id, kind=Kind.COMMISSION_PENDING)
        for line in lines:
            if settings.rate_kind == RateKind.FIXED:
                amount = rate * line.quantity
            else:
                amount = minor_round(
                    Decimal(bases[line.pk]) * Decimal(rate) / Decimal(10000), mode=ROUND_DOWN
                )
            amount = min(amount, bases[line.pk])  # never more than the line earns
            if amount <= 0:
                continue
            try:
                with transaction.atomic():
                    commission = Commission.objects.create(
                        order=order,
                        order_line=line,
                        level=level,
                        beneficiary_id=member_id,
                        buyer_id=order.member_id,
                        currency=order.currency,
                        base_minor=bases[line.pk],
                        rate_kind=settings.rate_kind,
                        rate=rate,
                        amount_minor=amount,
                        rule={**rule, "level": level},
                        event_id=event_id,
                    )
            except IntegrityError:
                continue  # booked before
            ledger_post(
                source="commission",
                source_id=commission.pk,
                purpose="book",
                memo=f"order {order.number} line {line.pk} level {level}",
                lines=[(expense, -amount), (pending, amount)],
            )
            booked.append(commission)
    return booked


_MOVES = {
    "received": (
        Commission.State.PENDING,
        Commission.State.FROZEN,
        Kind.COMMISSION_PENDING,
        Kind.COMMISSION_FROZEN,
    ),
    "completed": (
        Commission.State.FROZEN,
        Commission.State.AVAILABLE,
        Kind.COMMISSION_FROZEN,
        Kind.COMMISSION_AVAILABLE,
    ),
}


def commissions_move(*, order_id: int, step: str) -> int:
    """Move an order's commissions one step (order received / completed); how many moved."""
    before, after, source_kind, target_kind = _MOVES[step]
    moved = 0
    for commission in Commission.objects.select_for_update().filter(
        order_id=order_id, state=before
    ):
        amount = commission.amount_minor - commission.reversed_minor
        if amount > 0:
            ledger_post(
                source="commission",
                source_id=commission.pk,
                purpose=step,
                lines=[
                    (
                        ledger_account_for(member_id=commission.beneficiary_id, kind=source_kind),
                        -amount,
                    ),
                    (
                        ledger_account_for(member_id=commission.beneficiary_id, kind=target_kind),
                        amount,
                    ),
                ],
            )
        Commission.objects.filter(pk=commission.pk).update(
            state=after, state_changed_at=timezone.now()
        )
        moved += 1
    return moved


# Outbox subscribers (declared on DistributionConfig).


def on_order_paid(event: Any) -> None:
    commissions_book(order_id=int(event.payload["order_id"]), event_id=str(event.id))


def on_order_received(event: Any) -> None:
    commissions_move(order_id=int(event.payload["order_id"]), step="received")


def on_order_completed(event: Any) -> None:
    commissions_move(order_id=int(event.payload["order_id"]), step="completed")


_STATE_ACCOUNT: dict[str, str] = {
    Commission.State.PENDING: Kind.COMMISSION_PENDING,
    Commission.State.FROZEN: Kind.COMMISSION_FROZEN,
    Commission.State.AVAILABLE: Kind.COMMISSION_AVAILABLE,
    # Already paid out: the distributor owes it back (the shop's clawback policy settles it).
    Commission.State.WITHDRAWN: Kind.CLAWBACK_RECEIVABLE,
}


def commissions_reverse_for_refund(
    *, order_id: int, refund_lines: list[dict[str, Any]], event_id: str
) -> int:
    """Reverse the commissions of refunded lines pro rata; the minor units reversed.

    Each reversal is the commission times the refunded share of what the line paid, rounded
    down; once every unit of a line is refunded, its commissions reverse exactly what is left,
    so a full refund reverses exactly what was booked.
    """
    reversed_total = 0
    lines = {
        line.pk: line
        for line in OrderLine.objects.filter(
            order_id=order_id, pk__in=[int(item["line_id"]) for item in refund_lines]
        )
    }
    for item in refund_lines:
        line = lines.get(int(item["line_id"]))
        if line is None:
            continue
        fully_refunded = line.refunded_quantity >= line.quantity
        for commission in Commission.objects.select_for_update().filter(order_line=line):
            left = commission.amount_minor - commission.reversed_minor
            if left <= 0:
                continue
            if fully_refunded or not line.paid_minor:
                amount = left
            else:
                share = Decimal(commission.amount_minor) * Decimal(int(item["amount_minor"]))
                amount = min(left, minor_round(share / Decimal(line.paid_minor), mode=ROUND_DOWN))
            if amount <= 0:
                continue
            state_account = ledger_account_for(
                member_id=commission.beneficiary_id, kind=_STATE_ACCOUNT[commission.state]
            )
            expense = ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE)
            ledger_post(
                source="commission",
                source_id=commission.pk,
                purpose=f"reverse:{event_id}",
                memo=f"refund of line {line.pk}",
                lines=[(state_account, -amount), (expense, amount)],
            )
            reversed_minor = commission.reversed_minor + amount
            Commission.objects.filter(pk=commission.pk).update(
                reversed_minor=reversed_minor,
                state=(
                    Commission.State.REVERSED
                    if reversed_minor == commission.amount_minor
                    else commission.state
                ),
                state_changed_at=timezone.now(),
            )
            reversed_total += amount
    return reversed_total


def on_order_refunded(event: Any) -> None:
    commissions_reverse_for_refund(
        order_id=int(event.payload["order_id"]),
        refund_lines=list(event.payload.get("refund_lines", [])),
        event_id=str(event.id),
    )


def order_commission_explanation(*, order_id: int) -> list[dict[str, Any]]:
    """For an order: each level's member, whether they earned (and how much, net of reversals,
    under which rule) or why not."""
    earned: dict[tuple[int, int], dict[str, Any]] = {}
    for commission in Commission.objects.filter(order_id=order_id):
        key = (commission.level, commission.beneficiary_id)
        entry = earned.setdefault(
            key, {"amount_minor": 0, "reversed_minor": 0, "rule": commission.rule}
        )
        entry["amount_minor"] += commission.amount_minor
        entry["reversed_minor"] += commission.reversed_minor
    explanation = []
    for decision in CommissionDecision.objects.filter(order_id=order_id).order_by("level", "id"):
        item: dict[str, Any] = {
            "level": decision.level,
            "member_id": decision.member_id,
            "reason": decision.reason,
        }
        if decision.member_id is not None:
            item.update(earned.get((decision.level, decision.member_id), {}))
        explanation.append(item)
    return explanation
