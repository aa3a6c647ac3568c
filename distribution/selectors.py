"""Reads of the distribution engine for the consoles and the APIs."""

from __future__ import annotations

from typing import Any

from distribution.errors import ExplanationNotFoundError
from distribution.models import Commission, CommissionDecision
from distribution.services.commissions import decision_commission_kind
from shop.orders.models import Order


def orders_commission_explanation(
    *, order_ids: list[int], with_members: bool = False
) -> dict[int, list[dict[str, Any]]]:
    """For each order (by id; orders without decisions are left out): each considered member
    with their level and reason ("earns", or why not: binding_expired, self_purchase_off,
    depth_limit, excluded_order_type …), and what they earned of the reason's kind (level,
    regional agent or invite reward; amount, reversed, the rule) — in two queries whatever the
    number of orders (the rate is the first line's: lines of one product may differ under
    product or SKU rates). `with_members` adds "member" (the Member or None) for their names."""
    earned: dict[tuple[int, str, int, int], dict[str, Any]] = {}
    for commission in Commission.objects.filter(order_id__in=order_ids):
        entry = earned.setdefault(
            (commission.order_id, commission.kind, commission.level, commission.beneficiary_id),
            {
                "amount_minor": 0,
                "reversed_minor": 0,
                "rule": commission.rule,
                "rate": commission.rate,
                "rate_kind": commission.rate_kind,
            },
        )
        entry["amount_minor"] += commission.amount_minor
        entry["reversed_minor"] += commission.reversed_minor
    decisions = CommissionDecision.objects.filter(order_id__in=order_ids).order_by(
        "order_id", "level", "id"
    )
    if with_members:
        decisions = decisions.select_related("member")
    explanations: dict[int, list[dict[str, Any]]] = {}
    for decision in decisions:
        item: dict[str, Any] = {
            "level": decision.level,
            "member_id": decision.member_id,
            "reason": decision.reason,
        }
        if decision.member_id is not None:
            kind = decision_commission_kind(decision.reason)
            item.update(
                earned.get((decision.order_id, kind, decision.level, decision.member_id), {})
            )
        if with_members:
            item["member"] = decision.member
        explanations.setdefault(decision.order_id, []).append(item)
    return explanations


def order_commission_explanation(*, order_id: int) -> list[dict[str, Any]]:
    """One order's explanation (see `orders_commission_explanation`)."""
    return orders_commission_explanation(order_ids=[order_id]).get(order_id, [])


def order_commission_explanation_for_console(*, order_id: int) -> list[dict[str, Any]]:
    """One order's explanation with each member loaded (for their name)."""
    return orders_commission_explanation(order_ids=[order_id], with_members=True).get(order_id, [])


def orders_commission_explanation_for_console(
    *, order_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """Several orders' explanations with the members loaded (for a page of orders)."""
    return orders_commission_explanation(order_ids=order_ids, with_members=True)


def member_order_explanation(*, member_id: int, order_number: str) -> list[dict[str, Any]]:
    """What the order meant for this member only: each decision about them (level, reason,
    what they earned and under which rate), never anyone else's. Raises
    ExplanationNotFoundError when the order is unknown or nothing was decided about them (the
    same answer, so that order numbers cannot be probed)."""
    order_id = Order.objects.filter(number=order_number).values_list("pk", flat=True).first()
    if order_id is None:
        raise ExplanationNotFoundError()
    items = [
        item
        for item in order_commission_explanation(order_id=order_id)
        if item["member_id"] == member_id
    ]
    if not items:
        raise ExplanationNotFoundError()
    return items
