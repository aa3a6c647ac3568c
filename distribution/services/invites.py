"""Invite rewards (a risky setting: needs the merchant's acknowledgement): a reward tied to a
real sale, never to the recruiting itself.

When a bound member's FIRST order is paid, the upline of their binding (still live when the
order was paid, and an active distributor) earns `invite_reward_minor`, at most
`invite_reward_daily_cap` such rewards per upline and shop-local day (the day the order was
paid, in the shop's time zone; rewards later reversed by refunds still count, so paying and
refunding cannot buy more), and never more than the order's paid amount without shipping.

Booked by its own outbox subscriber on `order.paid` with its own idempotent ledger posting
(purpose "invite_book"), as a Commission of kind "invite" (level 0, on the order's first line)
through the one booking path of every kind (`commissions_record`): held when a risk rule fires,
frozen on receipt, settled, and reversed on refunds like any other commission. The order's
explanation says it: an "invite_reward" decision for the upline, or "invite_cap_reached".
Nothing while distribution is off or for an order type the settings exclude.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from distribution.models import Binding, Commission, CommissionDecision, Distributor
from distribution.services.commissions import bind_on_payment, commissions_record
from distribution.services.ledger import ledger_member_lock
from distribution.services.settings import distribution_settings_get
from shop.core.selectors import shop_context
from shop.orders.models import Order, OrderLine

Reason = CommissionDecision.Reason


def shop_day_bounds(at: datetime) -> tuple[datetime, datetime]:
    """The shop-local day holding `at`: its first moment and the first of the next day."""
    zone = shop_context().time_zone
    day = timezone.localtime(at, zone).date()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def _is_first_paid_order(order: Order) -> bool:
    assert order.paid_at is not None
    return not (
        Order.objects.filter(member_id=order.member_id, paid_at__isnull=False)
        .exclude(pk=order.pk)
        .filter(Q(paid_at__lt=order.paid_at) | Q(paid_at=order.paid_at, pk__lt=order.pk))
        .exists()
    )


@transaction.atomic
def invite_reward_book(*, order_id: int, event_id: str) -> list[Commission]:
    """Book the invite reward of a paid order (idempotent); the commissions booked now."""
    settings = distribution_settings_get()
    reward = settings.invite_reward_minor
    if not settings.enabled or reward <= 0:
        return []
    order = Order.objects.get(pk=order_id)
    if order.paid_at is None or order.order_type in settings.excluded_order_types:
        return []
    if not _is_first_paid_order(order):
        return []
    upline_id = (
        Binding.objects.filter(member_id=order.member_id)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=order.paid_at))
        .values_list("upline_id", flat=True)
        .first()
    )
    if upline_id is None or not (
        Distributor.objects.filter(member_id=upline_id, status=Distributor.Status.ACTIVE).exists()
    ):
        return []
    # The upline's rewards of the day are counted, then one is added: one at a time per upline.
    ledger_member_lock(member_id=upline_id)
    if Commission.objects.filter(order=order, kind=Commission.Kind.INVITE).exists():
        return []
    start, end = shop_day_bounds(order.paid_at)
    earned_today = Commission.objects.filter(
        kind=Commission.Kind.INVITE,
        beneficiary_id=upline_id,
        order__paid_at__gte=start,
        order__paid_at__lt=end,
    ).count()
    if earned_today >= settings.invite_reward_daily_cap:
        CommissionDecision.objects.bulk_create(
            [
                CommissionDecision(
                    order=order, level=0, member_id=upline_id, reason=Reason.INVITE_CAP_REACHED
                )
            ],
            ignore_conflicts=True,
        )
        return []
    line = OrderLine.objects.filter(order=order).order_by("id").first()
    base = order.total_minor - order.shipping_minor
    amount = min(reward, base)
    if line is None or amount <= 0:
        return []
    CommissionDecision.objects.bulk_create(
        [
            CommissionDecision(
                order=order, level=0, member_id=upline_id, reason=Reason.INVITE_REWARD
            )
        ],
        ignore_conflicts=True,
    )
    commission = Commission(
        order=order,
        order_line=line,
        kind=Commission.Kind.INVITE,
        level=0,
        beneficiary_id=upline_id,
        buyer_id=order.member_id,
        currency=order.currency,
        base_minor=base,
        rate_kind="fixed",
        rate=reward,
        amount_minor=amount,
        rule={
            "kind": "invite",
            "reward_minor": reward,
            "daily_cap": settings.invite_reward_daily_cap,
            "day": start.date().isoformat(),
            "invitee_id": order.member_id,
        },
        event_id=event_id,
    )
    return commissions_record(
        order=order,
        commissions=[commission],
        settings=settings,
        purpose="invite_book",
        memo=f"invite reward of order {order.number}",
    )


def on_order_paid_invite(event: Any) -> None:
    """Outbox subscriber (order.paid). The binding this payment makes (first-payment trigger)
    counts; binding again is harmless when the commission subscriber did it already."""
    bind_on_payment(event)
    invite_reward_book(order_id=int(event.payload["order_id"]), event_id=str(event.id))
