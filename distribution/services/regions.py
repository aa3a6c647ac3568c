"""Regional agents: a share of the real sales shipped to their region.

On `order.paid` (its own outbox subscriber, its own idempotent ledger posting) the most specific
active agent of the order's shipping address earns: a district agent before the city's, the city's
before the province's. Per order line, a Commission of kind "region" (level 0) of the line's base
under the settings' commission base, times the agent's rate, rounded down; booked to pending, or
held when a risk rule fires (distribution.services.risk), then frozen, settled and reversed on
refunds like every other commission (same states, same reversal path). An agent buying for
their own region earns only when the settings allow self-purchase commission; an order type the
settings exclude earns nothing.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from distribution.errors import RegionalAgentNotFoundError, RegionTakenError
from distribution.models import Commission, CommissionDecision, Distributor, RegionalAgent
from distribution.services.commissions import commission_bases, commissions_record
from distribution.services.settings import distribution_settings_get
from infra.errors import ValidationFailed
from infra.money import minor_round
from shop.customers.models import Member
from shop.orders.models import Order, OrderLine


def regional_agent_for(*, province: str, city: str, district: str) -> RegionalAgent | None:
    """The most specific active agent of an address (district, then city, then province)."""
    candidates = RegionalAgent.objects.filter(active=True, province=province).filter(
        Q(city="", district="") | Q(city=city, district="") | Q(city=city, district=district)
    )
    best: RegionalAgent | None = None
    for agent in candidates:
        if not city and agent.city:
            continue
        if not district and agent.district:
            continue
        if best is None or (bool(agent.city), bool(agent.district)) > (
            bool(best.city),
            bool(best.district),
        ):
            best = agent
    return best


def region_commissions_book(*, order_id: int, event_id: str) -> list[Commission]:
    """Book the regional agent's share of a paid order (idempotent); those booked now."""
    settings = distribution_settings_get()
    if not settings.enabled:
        return []
    order = Order.objects.get(pk=order_id)
    if order.order_type in settings.excluded_order_types:
        return []
    agent = regional_agent_for(province=order.province, city=order.city, district=order.district)
    if agent is None or (agent.member_id == order.member_id and not settings.self_purchase):
        return []
    if Commission.objects.filter(order=order, kind=Commission.Kind.REGION).exists():
        return []
    lines = list(OrderLine.objects.filter(order=order).order_by("id"))
    bases = commission_bases(order, lines, settings.commission_base)
    rule = {
        "kind": "region",
        "agent_id": agent.pk,
        "region": [agent.province, agent.city, agent.district],
        "rate_bp": agent.rate_bp,
        "commission_base": settings.commission_base,
    }
    commissions = []
    for line in lines:
        amount = min(
            bases[line.pk],
            minor_round(
                Decimal(bases[line.pk]) * Decimal(agent.rate_bp) / Decimal(10000),
                mode=ROUND_DOWN,
            ),
        )
        if amount <= 0:
            continue
        commissions.append(
            Commission(
                order=order,
                order_line=line,
                kind=Commission.Kind.REGION,
                level=0,
                beneficiary_id=agent.member_id,
                buyer_id=order.member_id,
                currency=order.currency,
                base_minor=bases[line.pk],
                rate_kind="percentage",
                rate=agent.rate_bp,
                amount_minor=amount,
                rule=rule,
                event_id=event_id,
            )
        )
    if commissions:
        # Why the agent earned, for the order's explanation (once, whatever the replays).
        CommissionDecision.objects.bulk_create(
            [
                CommissionDecision(
                    order=order,
                    level=0,
                    member_id=agent.member_id,
                    reason=CommissionDecision.Reason.REGIONAL_AGENT,
                )
            ],
            ignore_conflicts=True,
        )
    return commissions_record(
        order=order,
        commissions=commissions,
        settings=settings,
        purpose="region_book",
        memo=f"regional agent's share of order {order.number}",
    )


def on_order_paid_region(event: Any) -> None:
    region_commissions_book(order_id=int(event.payload["order_id"]), event_id=str(event.id))


# Merchant's management of agents.


def _clean(
    *, member_id: Any, province: Any, city: Any, district: Any, rate_bp: Any
) -> dict[str, Any]:
    fields: dict[str, list[dict[str, str]]] = {}

    def error(name: str, code: str, message: str) -> None:
        fields.setdefault(name, []).append({"code": code, "message": message})

    texts = {}
    for name, value in (("province", province), ("city", city), ("district", district)):
        text = value.strip() if isinstance(value, str) else None
        if text is None or len(text) > 64:
            error(name, "invalid", _("Use a region name of at most 64 characters."))
        texts[name] = text or ""
    if not texts["province"]:
        error("province", "required", _("Choose a province."))
    if texts["district"] and not texts["city"]:
        error("city", "required", _("A district agent needs the city too."))
    if not isinstance(rate_bp, int) or isinstance(rate_bp, bool) or not 1 <= rate_bp <= 10000:
        error("rate_bp", "invalid", _("Use a rate above 0 and at most 100 percent."))
    if not isinstance(member_id, int) or not Member.objects.filter(pk=member_id).exists():
        error("member_id", "not_found", _("Choose an existing member."))
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)
    return {"member_id": member_id, **texts, "rate_bp": rate_bp}


@transaction.atomic
def regional_agent_create(
    *, member_id: int, province: str, city: str = "", district: str = "", rate_bp: int
) -> RegionalAgent:
    """Appoint an agent for a region (a province, a city in it or a district in that city).
    A region has at most one active agent."""
    values = _clean(
        member_id=member_id, province=province, city=city, district=district, rate_bp=rate_bp
    )
    try:
        with transaction.atomic():
            return RegionalAgent.objects.create(**values)
    except IntegrityError as error:
        raise RegionTakenError() from error


@transaction.atomic
def regional_agent_update(
    *,
    agent_id: int,
    member_id: int,
    province: str,
    city: str = "",
    district: str = "",
    rate_bp: int,
    active: bool = True,
) -> RegionalAgent:
    """Change an agent (region, member, rate) or disable / enable them; affects later orders
    only (booked commissions keep the rule they were booked under)."""
    agent = RegionalAgent.objects.select_for_update().filter(pk=agent_id).first()
    if agent is None:
        raise RegionalAgentNotFoundError()
    values = _clean(
        member_id=member_id, province=province, city=city, district=district, rate_bp=rate_bp
    )
    for name, value in values.items():
        setattr(agent, name, value)
    agent.active = bool(active)
    try:
        with transaction.atomic():
            agent.save()
    except IntegrityError as error:
        raise RegionTakenError() from error
    return agent


def regional_agent_disable(*, agent_id: int) -> RegionalAgent:
    """Stop an agent earning on later orders."""
    updated = RegionalAgent.objects.filter(pk=agent_id).update(active=False)
    if not updated:
        raise RegionalAgentNotFoundError()
    return RegionalAgent.objects.get(pk=agent_id)


def regional_agent_get(*, agent_id: int) -> RegionalAgent:
    agent = RegionalAgent.objects.select_related("member").filter(pk=agent_id).first()
    if agent is None:
        raise RegionalAgentNotFoundError()
    return agent


def regional_agent_list() -> Any:
    """Every agent (active first, then by region), with the member joined."""
    return RegionalAgent.objects.select_related("member").order_by(
        "-active", "province", "city", "district", "id"
    )


def member_reference_resolve(*, reference: str) -> int | None:
    """A member id typed as digits, or the member of a distributor's share code; None if
    neither names a member."""
    text = reference.strip()
    if text.isdigit() and len(text) <= 18:
        return Member.objects.filter(pk=int(text)).values_list("pk", flat=True).first()
    return Distributor.objects.filter(code=text.upper()).values_list("member_id", flat=True).first()
