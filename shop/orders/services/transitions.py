"""The order state machine: every change of status is a conditional UPDATE, recorded, published.

    pending_payment ─pay→ paid ─ship→ shipped ─receive→ received ─complete→ completed
          └─cancel→ cancelled          (any paid state) ─all refunded→ closed

A transition applies only from the states it allows: the row is locked only when its status
allows the move (`SELECT … WHERE status IN (…) FOR UPDATE`; a concurrent move waits and then
re-reads), so two concurrent changes (a payment and the timeout's cancellation) cannot both win:
the loser sees that nothing matched. Each applied transition writes an OrderTransition row and
records the domain event `order.<status>` in the outbox, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from shop.events.services import event_record
from shop.orders.models import Order, OrderLine, OrderStatus, OrderTransition

S = OrderStatus

ALLOWED: dict[str, frozenset[str]] = {
    S.PAID: frozenset({S.PENDING_PAYMENT}),
    S.CANCELLED: frozenset({S.PENDING_PAYMENT}),
    S.SHIPPED: frozenset({S.PAID}),
    S.RECEIVED: frozenset({S.SHIPPED}),
    S.COMPLETED: frozenset({S.RECEIVED}),
    S.CLOSED: frozenset({S.PAID, S.SHIPPED, S.RECEIVED}),
}


def order_event_payload(order: Order, lines: Iterable[OrderLine] | None = None) -> dict[str, Any]:
    """What subscribers (distribution, marketing, analytics) learn of an order."""
    if lines is None:
        lines = order.lines.all()
    return {
        "order_id": order.pk,
        "number": order.number,
        "order_type": order.order_type,
        "member_id": order.member_id,
        "status": order.status,
        "currency": order.currency,
        "items_minor": order.items_minor,
        "discount_minor": order.discount_minor,
        "shipping_minor": order.shipping_minor,
        "total_minor": order.total_minor,
        "refunded_minor": order.refunded_minor,
        "referral_code": order.referral_code,
        "lines": [
            {
                "line_id": line.pk,
                "sku_id": line.sku_id,
                "product_id": line.product_id,
                "quantity": line.quantity,
                "paid_minor": line.paid_minor,
                "refunded_quantity": line.refunded_quantity,
                "refunded_minor": line.refunded_minor,
                "referral_code": line.referral_code,
                "referral_link": line.referral_link,
            }
            for line in lines
        ],
    }


def order_transition(
    *,
    order: Order,
    to: str,
    actor: str,
    note: str = "",
    at: datetime | None = None,
    fields: dict[str, Any] | None = None,
    event_extra: dict[str, Any] | None = None,
) -> bool:
    """Move `order` to `to` if its current status allows it; False (and nothing done) if not.

    `fields` are set in the same UPDATE; `order` is updated in memory when the move applies.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("order transitions run inside the transaction of the change")
    at = at or timezone.now()
    # Lock the row in a state that allows the move (a concurrent move waits, then re-reads).
    from_status = (
        Order.objects.select_for_update()
        .filter(pk=order.pk, status__in=ALLOWED[to])
        .values_list("status", flat=True)
        .first()
    )
    if from_status is None:
        return False
    values = {"status": to, "updated_at": at, **(fields or {})}
    Order.objects.filter(pk=order.pk).update(**values)
    for name, value in values.items():
        setattr(order, name, value)
    OrderTransition.objects.create(
        order=order, from_status=from_status, to_status=to, actor=actor, note=note[:500]
    )
    payload = order_event_payload(order)
    payload["actor"] = actor
    payload.update(event_extra or {})
    event_record(topic=f"order.{to}", payload=payload)
    return True
