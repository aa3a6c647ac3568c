"""Booking commissions from order events (outbox subscribers) and moving them through their life.

Booked once per order line and level from `order.paid` (the unique (line, level) key and the
ledger's source keys make a replay book nothing), on the base the settings choose, at the level's
rate, rounded down to the minor unit (the remainder is not paid). Each booking posts
expense -c / pending +c in the ledger; `order.received` moves pending → frozen as a ledger
posting too. Frozen → available is the settlement's (distribution.services.settlement: the
shop's freeze days, not the order's completion); refunds of released money follow the shop's
clawback policy (distribution.services.clawback).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from distribution.models import (
    Binding,
    Commission,
    CommissionBase,
    CommissionDecision,
    DistributionSettings,
    Distributor,
    LedgerAccountKind,
    LedgerTransaction,
    RateKind,
)
from distribution.services.bindings import BindResult, referral_bind, upline_chain
from distribution.services.clawback import reversal_plan
from distribution.services.ledger import (
    ledger_accounts_for,
    ledger_member_lock,
    ledger_post,
)
from distribution.services.rates import commission_rates_resolve
from distribution.services.risk import (
    risk_account_kind,
    risk_flags_record,
    risk_hold_mark,
    risk_holds,
)
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


def commission_bases(order: Order, lines: list[OrderLine], base: str) -> dict[int, int]:
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


def _decide(
    *, buyer_id: int, settings: DistributionSettings, link_code: str = "", typed_code: str = ""
) -> list[CommissionDecision]:
    """Who earns at which level, and who does not and why (unsaved decisions).

    Levels are positions in the chain: an upline who is not an active distributor earns
    nothing, and the next one up keeps its own level (no compression). Attribution priority:
    a referral code the buyer typed at checkout, then the share link the order came through,
    then the buyer's bound upline; the winner (and their uplines) earn, and each distributor
    passed over gets a level-0 decision saying why (code_priority / code_over_link /
    link_priority). A code that names no active distributor (or the buyer) counts as none.
    """
    codes = [code for code in (typed_code, link_code) if code]
    owners = (
        dict(
            Distributor.objects.filter(code__in=codes, status=Distributor.Status.ACTIVE)
            .exclude(member_id=buyer_id)
            .values_list("code", "member_id")
        )
        if codes
        else {}
    )
    code_member = owners.get(typed_code) if typed_code else None
    link_member = owners.get(link_code) if link_code else None
    winner = code_member if code_member is not None else link_member
    overridden: list[CommissionDecision] = []
    if winner is not None:
        bound = upline_chain(member_id=buyer_id, levels=1)
        reason = Reason.CODE_PRIORITY if code_member is not None else Reason.LINK_PRIORITY
        if bound and bound[0] != winner:
            overridden.append(CommissionDecision(level=0, member_id=bound[0], reason=reason))
        if (
            code_member is not None
            and link_member is not None
            and link_member not in (code_member, *bound)
        ):
            overridden.append(
                CommissionDecision(level=0, member_id=link_member, reason=Reason.CODE_OVER_LINK)
            )
        chain = [winner, *upline_chain(member_id=winner, levels=settings.depth)]
        if buyer_id in chain:  # the buyer is above the winner: stop below the buyer
            chain = chain[: chain.index(buyer_id)]
    else:
        chain = upline_chain(member_id=buyer_id, levels=settings.depth + 1)
    candidates = [buyer_id, *chain] if settings.self_purchase else chain
    active = set(
        Distributor.objects.filter(
            member_id__in=[buyer_id, *chain], status=Distributor.Status.ACTIVE
        ).values_list("member_id", flat=True)
    )
    decisions: list[CommissionDecision] = overridden
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
    """Book the commissions of a paid order (idempotent); those booked now.

    Nothing while distribution is off or for an order type the settings exclude (a decision
    says which). One posting per order (expense against each beneficiary's pending account),
    so the queries do not grow with the depth beyond the decisions themselves.
    """
    settings = distribution_settings_get()
    order = Order.objects.get(pk=order_id)
    if not settings.enabled or order.order_type in settings.excluded_order_types:
        reason = Reason.DISTRIBUTION_OFF if not settings.enabled else Reason.EXCLUDED_ORDER_TYPE
        CommissionDecision.objects.bulk_create(
            [CommissionDecision(order=order, level=0, reason=reason)],
            ignore_conflicts=True,
        )
        return []
    lines = list(OrderLine.objects.filter(order=order).order_by("id"))
    link_code = next((line.referral_code for line in lines if line.referral_code), "")
    decisions = _decide(
        buyer_id=order.member_id,
        settings=settings,
        link_code=link_code.strip().upper(),
        typed_code=order.referral_code.strip().upper(),
    )
    for decision in decisions:
        decision.order = order
    CommissionDecision.objects.bulk_create(decisions, ignore_conflicts=True)
    beneficiaries = [
        (decision.level, decision.member_id)
        for decision in decisions
        if decision.reason == Reason.EARNS and decision.member_id is not None
    ]
    if (
        not beneficiaries
        or Commission.objects.filter(order=order, kind=Commission.Kind.LEVEL).exists()
    ):
        return []
    bases = commission_bases(order, lines, settings.commission_base)
    rule = _rule(settings)
    # The rate source (global / grade / product / sku), in a constant number of queries.
    rates = commission_rates_resolve(settings=settings, beneficiaries=beneficiaries, lines=lines)
    commissions: list[Commission] = []
    # What each line can still pay: all levels together never take more than the line earns
    # (fixed amounts per unit could otherwise add up beyond a cheap line's price).
    remaining = dict(bases)
    for level, member_id in sorted(beneficiaries):
        for line in lines:
            resolved = rates[(level, member_id, line.pk)]
            rate = resolved.rate
            if resolved.rate_kind == RateKind.FIXED:
                amount = rate * line.quantity
            else:
                amount = minor_round(
                    Decimal(bases[line.pk]) * Decimal(rate) / Decimal(10000), mode=ROUND_DOWN
                )
            amount = min(amount, remaining[line.pk])
            if amount <= 0:
                continue
            remaining[line.pk] -= amount
            commissions.append(
                Commission(
                    order=order,
                    order_line=line,
                    level=level,
                    beneficiary_id=member_id,
                    buyer_id=order.member_id,
                    currency=order.currency,
                    base_minor=bases[line.pk],
                    rate_kind=resolved.rate_kind,
                    rate=rate,
                    amount_minor=amount,
                    rule={**rule, "level": level, **resolved.snapshot()},
                    event_id=event_id,
                )
            )
    return commissions_record(
        order=order,
        commissions=commissions,
        settings=settings,
        purpose="commission_book",
        memo=f"commissions of order {order.number}",
    )


def commissions_record(
    *,
    order: Order,
    commissions: list[Commission],
    settings: DistributionSettings,
    purpose: str,
    memo: str,
) -> list[Commission]:
    """Save unsaved commissions of one kind on an order and post them; those saved.

    The one booking path of every kind (level, region, invite): the risk rules (one query)
    hold a flagged beneficiary's commissions (commission_held, a RiskFlag of the kind); the
    others go to commission_pending; one ledger posting (source "order", the order's id,
    `purpose`: idempotent) takes the total from the shop's commission expense.
    """
    if not commissions:
        return []
    kind = commissions[0].kind
    # Risk rules (one query): a held beneficiary's commissions go to commission_held.
    holds = risk_holds(
        order=order, member_ids={c.beneficiary_id for c in commissions}, settings=settings
    )
    risk_hold_mark(commissions=commissions, holds=holds)
    Commission.objects.bulk_create(commissions)
    totals: dict[int, int] = {}
    for commission in commissions:
        totals[commission.beneficiary_id] = (
            totals.get(commission.beneficiary_id, 0) + commission.amount_minor
        )
    target = {
        member_id: risk_account_kind(member_id=member_id, holds=holds) for member_id in totals
    }
    accounts = ledger_accounts_for(
        {(None, Kind.SHOP_COMMISSION_EXPENSE)}
        | {(member_id, target[member_id]) for member_id in totals}
    )
    ledger_post(
        source="order",
        source_id=order.pk,
        purpose=purpose,
        memo=memo,
        lines=[
            (accounts[(None, Kind.SHOP_COMMISSION_EXPENSE)], -sum(totals.values())),
            *(
                (accounts[(member_id, target[member_id])], amount)
                for member_id, amount in sorted(totals.items())
            ),
        ],
    )
    risk_flags_record(order=order, commissions=commissions, holds=holds, kind=kind)
    return commissions


_MOVES = {
    "received": (
        Commission.State.PENDING,
        Commission.State.FROZEN,
        Kind.COMMISSION_PENDING,
        Kind.COMMISSION_FROZEN,
    ),
}


def commissions_move(*, order_id: int, step: str) -> int:
    """Move an order's commissions one step (order received) in one posting; how many moved."""
    before, after, source_kind, target_kind = _MOVES[step]
    commissions = list(
        Commission.objects.select_for_update().filter(order_id=order_id, state=before)
    )
    if not commissions:
        return 0
    totals: dict[int, int] = {}
    for commission in commissions:
        # What a clawback took from it (reverse_pending) has left the account already.
        left = commission.amount_minor - commission.reversed_minor - commission.clawed_minor
        totals[commission.beneficiary_id] = totals.get(commission.beneficiary_id, 0) + left
    totals = {member_id: amount for member_id, amount in totals.items() if amount > 0}
    if totals:
        accounts = ledger_accounts_for(
            {(member_id, kind) for member_id in totals for kind in (source_kind, target_kind)}
        )
        ledger_post(
            source="order",
            source_id=order_id,
            purpose=f"commission_{step}",
            lines=[
                line
                for member_id, amount in sorted(totals.items())
                for line in (
                    (accounts[(member_id, source_kind)], -amount),
                    (accounts[(member_id, target_kind)], amount),
                )
            ],
        )
    Commission.objects.filter(pk__in=[c.pk for c in commissions]).update(
        state=after, state_changed_at=timezone.now()
    )
    return len(commissions)


# Outbox subscribers (declared on DistributionConfig).


def _referral_code(payload: dict[str, Any]) -> str:
    """The share code the order's visit carried (the first line that has one)."""
    return next(
        (
            str(line["referral_code"])
            for line in payload.get("lines", [])
            if line.get("referral_code")
        ),
        "",
    )


def bind_on_order(
    *, order_id: int, trigger: str, code: str, typed_code: str = ""
) -> BindResult | None:
    """Bind the buyer at their first order / first payment, when the settings say so: to the
    distributor of the code typed at checkout (source "code") or, when that names none, of the
    share link (`code`, source "link")."""
    if not (code or typed_code) or distribution_settings_get().binding_trigger != trigger:
        return None
    order = Order.objects.get(pk=order_id)
    earlier = Order.objects.filter(member_id=order.member_id, pk__lt=order.pk)
    if trigger == "first_payment":
        earlier = earlier.filter(paid_at__isnull=False)
    if earlier.exists():
        return None
    if typed_code:
        result = referral_bind(
            member=order.member, code=typed_code, trigger=trigger, source=Binding.Source.CODE
        )
        if result.reason not in {"unknown_code", "self_referral"} or not code:
            return result
    return referral_bind(member=order.member, code=code, trigger=trigger)


def on_order_created(event: Any) -> None:
    bind_on_order(
        order_id=int(event.payload["order_id"]),
        trigger="first_order",
        code=_referral_code(event.payload),
        typed_code=str(event.payload.get("referral_code") or ""),
    )


def bind_on_payment(event: Any) -> BindResult | None:
    """The first-payment binding of an order.paid event (binding again changes nothing)."""
    return bind_on_order(
        order_id=int(event.payload["order_id"]),
        trigger="first_payment",
        code=_referral_code(event.payload),
        typed_code=str(event.payload.get("referral_code") or ""),
    )


def on_order_paid(event: Any) -> None:
    # A binding made by this payment counts for this order's commissions.
    bind_on_payment(event)
    commissions_book(order_id=int(event.payload["order_id"]), event_id=str(event.id))


def on_order_received(event: Any) -> None:
    commissions_move(order_id=int(event.payload["order_id"]), step="received")


_STATE_ACCOUNT: dict[str, str] = {
    Commission.State.HELD: Kind.COMMISSION_HELD,
    Commission.State.PENDING: Kind.COMMISSION_PENDING,
    Commission.State.FROZEN: Kind.COMMISSION_FROZEN,
    Commission.State.AVAILABLE: Kind.COMMISSION_AVAILABLE,
    # Already paid out: the distributor owes it back (the shop's clawback policy settles it).
    Commission.State.WITHDRAWN: Kind.CLAWBACK_RECEIVABLE,
}


@transaction.atomic
def commissions_reverse_for_refund(
    *,
    order_id: int,
    refund_lines: list[dict[str, Any]],
    event_id: str,
    fully_refunded: set[int] | None = None,
) -> int:
    """Reverse the commissions of refunded lines pro rata; the minor units reversed.

    Each reversal is the commission times the refunded share of what the line paid, rounded
    down; once every unit of a line is refunded, its commissions reverse exactly what is left,
    so a full refund reverses exactly what was booked. Money still where the commission's state
    says is reversed there (posting "commission_reverse:<event>"); money already released
    follows the shop's clawback policy (posting "clawback:<event>", distribution.services.
    clawback). A replay of the same event reverses nothing.

    `fully_refunded`: the lines whose every unit was refunded as of this refund (the event's
    own record; by default the lines as they are now). Judging by the event keeps a late
    replay of an earlier partial refund from reversing what a later refund completed.
    """
    refunded = {int(item["line_id"]): int(item["amount_minor"]) for item in refund_lines}
    lines = {line.pk: line for line in OrderLine.objects.filter(order_id=order_id, pk__in=refunded)}
    of_lines = Commission.objects.filter(order_line_id__in=list(lines))
    members = sorted(set(of_lines.values_list("beneficiary_id", flat=True)))
    if not members:
        return 0
    # Money locks before row locks, in member order: the order the settlement keeps too.
    for member_id in members:
        ledger_member_lock(member_id=member_id)
    purposes = (f"commission_reverse:{event_id}", f"clawback:{event_id}")
    if LedgerTransaction.objects.filter(
        source="order", source_id=str(order_id), purpose__in=purposes
    ).exists():
        return 0
    reversals: list[tuple[Commission, int]] = []
    for commission in of_lines.select_for_update().order_by("id"):
        line = lines[commission.order_line_id]
        left = commission.amount_minor - commission.reversed_minor
        if left <= 0:
            continue
        complete = (
            line.pk in fully_refunded
            if fully_refunded is not None
            else line.refunded_quantity >= line.quantity
        )
        if complete or not line.paid_minor:
            amount = left
        else:
            share = Decimal(commission.amount_minor) * Decimal(refunded[line.pk])
            amount = min(left, minor_round(share / Decimal(line.paid_minor), mode=ROUND_DOWN))
        if amount > 0:
            reversals.append((commission, amount))
    if not reversals:
        return 0
    plan = reversal_plan(
        reversals=reversals,
        state_accounts=_STATE_ACCOUNT,
        policy=distribution_settings_get().clawback,
    )
    accounts = ledger_accounts_for(
        set(plan.in_place) | set(plan.clawback) | {(None, Kind.SHOP_COMMISSION_EXPENSE)}
    )
    for purpose, taken in zip(purposes, (plan.in_place, plan.clawback), strict=True):
        if not taken:
            continue
        ledger_post(
            source="order",
            source_id=order_id,
            purpose=purpose,
            memo="refund" if purpose.startswith("commission") else "refund: clawback",
            lines=[
                *((accounts[key], -amount) for key, amount in sorted(taken.items())),
                (accounts[(None, Kind.SHOP_COMMISSION_EXPENSE)], sum(taken.values())),
            ],
        )
    now = timezone.now()
    for commission, reversed_minor, clawed_minor in plan.commissions.values():
        state = (
            Commission.State.REVERSED
            if reversed_minor == commission.amount_minor
            else commission.state
        )
        # A partial refund does not restart a frozen commission's freeze days.
        Commission.objects.filter(pk=commission.pk).update(
            reversed_minor=reversed_minor,
            clawed_minor=clawed_minor,
            state=state,
            state_changed_at=now if state != commission.state else commission.state_changed_at,
        )
    return sum(amount for _commission, amount in reversals)


def on_order_refunded(event: Any) -> None:
    commissions_reverse_for_refund(
        order_id=int(event.payload["order_id"]),
        refund_lines=list(event.payload.get("refund_lines", [])),
        event_id=str(event.id),
        # As the refund left the lines (the payload is written with it), not as they are now.
        fully_refunded={
            int(line["line_id"])
            for line in event.payload.get("lines", [])
            if int(line["refunded_quantity"]) >= int(line["quantity"])
        },
    )


def decision_commission_kind(reason: str) -> str:
    """The kind of commission a decision's reason speaks of (its amount in the explanation):
    the invite reward's, or the levels'."""
    if reason in (Reason.INVITE_REWARD, Reason.INVITE_CAP_REACHED):
        return Commission.Kind.INVITE
    if reason == Reason.REGIONAL_AGENT:
        return Commission.Kind.REGION
    return Commission.Kind.LEVEL
