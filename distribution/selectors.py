"""Reads of the distribution engine for the consoles (return model instances to show)."""

from __future__ import annotations

from typing import Any

from distribution.models import Commission, CommissionDecision
from distribution.services.commissions import decision_commission_kind


def order_commission_explanation_for_console(*, order_id: int) -> list[dict[str, Any]]:
    """`order_commission_explanation` with each member loaded (for their name): the same items,
    plus "member" (a Member or None), in two queries whatever the order's size."""
    return orders_commission_explanation_for_console(order_ids=[order_id]).get(order_id, [])


def orders_commission_explanation_for_console(
    *, order_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """`order_commission_explanation_for_console` of several orders by order id (orders without
    decisions are left out), in two queries whatever their number (for a page of orders)."""
    earned: dict[tuple[int, str, int, int], dict[str, Any]] = {}
    for commission in Commission.objects.filter(order_id__in=order_ids):
        entry = earned.setdefault(
            (commission.order_id, commission.kind, commission.level, commission.beneficiary_id),
            {"amount_minor": 0, "reversed_minor": 0, "rule": commission.rule},
        )
        entry["amount_minor"] += commission.amount_minor
        entry["reversed_minor"] += commission.reversed_minor
    explanations: dict[int, list[dict[str, Any]]] = {}
    for decision in (
        CommissionDecision.objects.filter(order_id__in=order_ids)
        .select_related("member")
        .order_by("order_id", "level", "id")
    ):
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
        item["member"] = decision.member
        explanations.setdefault(decision.order_id, []).append(item)
    return explanations
