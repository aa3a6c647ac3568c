"""An order's life after checkout: payment, cancellation, shipping, receipt, completion, refunds.

Each step is one transition of the state machine (services/transitions.py). Stock goes back on
sale when an unpaid order is cancelled and when refunded units are restocked.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.errors import ValidationFailed
from shop.catalog.services.stock import sku_stock_release
from shop.core.selectors import shop_context, shop_profile_get
from shop.events.services import event_record
from shop.orders.errors import OrderStateError
from shop.orders.lock_objects import order_lock
from shop.orders.models import OPEN_AFTER_SALE, AfterSale, Order, OrderLine, OrderStatus
from shop.orders.services.transitions import order_event_payload, order_transition

SYSTEM = "system"


def _restock(lines: list[tuple[int, int]]) -> None:
    """Put (sku_id, quantity) back on sale, SKUs in id order (no deadlock with checkouts)."""
    for sku_id, quantity in sorted(lines):
        if quantity > 0:
            sku_stock_release(sku_id=sku_id, quantity=quantity)


@transaction.atomic
def order_cancel(*, order: Order, actor: str, reason: str = "") -> Order:
    """Cancel an unpaid order and put its stock back; order_state_invalid once it is paid."""
    cancelled = order_transition(
        order=order,
        to=OrderStatus.CANCELLED,
        actor=actor,
        note=reason,
        fields={"cancelled_at": timezone.now(), "cancel_reason": reason[:200]},
    )
    if not cancelled:
        raise OrderStateError(_("Only an order that is not paid yet can be cancelled."))
    _restock(list(OrderLine.objects.filter(order=order).values_list("sku_id", "quantity")))
    return order


def orders_unpaid_cancel(*, now: datetime | None = None, limit: int = 500) -> int:
    """Cancel the orders whose payment deadline passed (Celery beat); how many were cancelled."""
    now = now or timezone.now()
    cancelled = 0
    for order in Order.objects.filter(
        status=OrderStatus.PENDING_PAYMENT, pay_deadline__lte=now
    ).order_by("pay_deadline")[:limit]:
        try:
            order_cancel(order=order, actor=SYSTEM, reason="payment timeout")
        except OrderStateError:
            continue  # paid (or cancelled) meanwhile
        cancelled += 1
    return cancelled


def order_mark_paid(*, order: Order, paid_at: datetime, payment_ref: str) -> bool:
    """Move a pending order to paid (from shop.payments, in its transaction); False if it is
    not pending any more (cancelled, or paid by another attempt): the payment is then refunded."""
    return order_transition(
        order=order,
        to=OrderStatus.PAID,
        actor=SYSTEM,
        note=payment_ref,
        at=paid_at,
        fields={"paid_at": paid_at},
    )


def _local_midnight_after(moment: datetime, days: int) -> datetime:
    """The start of the shop's day `days` days after the (local) day of `moment`, plus one:
    the whole of the last day counts."""
    zone = shop_context().time_zone
    local_day = timezone.localtime(moment, zone).date() + timedelta(days=days + 1)
    return datetime.combine(local_day, time.min, tzinfo=zone)


@transaction.atomic
def order_ship(*, order: Order, carrier: str, tracking_number: str, actor: str) -> Order:
    """Record the shipment of a paid order; it is received automatically after the shop's days."""
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    fields: dict[str, list[dict[str, str]]] = {}
    if not carrier or len(carrier) > 64:
        fields["carrier"] = [{"code": "required", "message": _("Name the carrier.")}]
    if not tracking_number or len(tracking_number) > 64:
        fields["tracking_number"] = [
            {"code": "required", "message": _("Enter the tracking number.")}
        ]
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)
    if AfterSale.objects.filter(order=order, status__in=OPEN_AFTER_SALE).exists():
        raise OrderStateError(_("Decide the open after-sale request of this order first."))
    now = timezone.now()
    shipped = order_transition(
        order=order,
        to=OrderStatus.SHIPPED,
        actor=actor,
        at=now,
        fields={
            "carrier": carrier,
            "tracking_number": tracking_number,
            "shipped_at": now,
            "auto_receive_at": _local_midnight_after(now, shop_profile_get().auto_receive_days),
        },
    )
    if not shipped:
        raise OrderStateError(_("Only a paid order can be shipped."))
    return order


@transaction.atomic
def order_receive(*, order: Order, actor: str, at: datetime | None = None) -> Order:
    """The member (or the timer, at its time) confirms receipt; the after-sale window starts."""
    now = at or timezone.now()
    received = order_transition(
        order=order,
        to=OrderStatus.RECEIVED,
        actor=actor,
        at=now,
        fields={
            "received_at": now,
            "complete_at": _local_midnight_after(now, shop_profile_get().after_sale_days),
        },
    )
    if not received:
        raise OrderStateError(_("Only a shipped order can be received."))
    return order


@transaction.atomic
def order_complete(*, order: Order, actor: str = SYSTEM) -> bool:
    """Complete a received order whose after-sale window passed and has no open request."""
    if AfterSale.objects.filter(order=order, status__in=OPEN_AFTER_SALE).exists():
        return False
    return order_transition(
        order=order,
        to=OrderStatus.COMPLETED,
        actor=actor,
        fields={"completed_at": timezone.now()},
    )


def orders_progress(*, now: datetime | None = None, limit: int = 500) -> tuple[int, int]:
    """Receive shipped orders past their date and complete received ones (Celery beat)."""
    now = now or timezone.now()
    received = completed = 0
    for order in Order.objects.filter(
        status=OrderStatus.SHIPPED, auto_receive_at__lte=now
    ).order_by("auto_receive_at")[:limit]:
        try:
            order_receive(order=order, actor=SYSTEM, at=now)
        except OrderStateError:
            continue
        received += 1
    for order in Order.objects.filter(status=OrderStatus.RECEIVED, complete_at__lte=now).order_by(
        "complete_at"
    )[:limit]:
        if order_complete(order=order):
            completed += 1
    return received, completed


def order_refund_apply(
    *,
    order_id: int,
    amount_minor: int,
    lines: list[tuple[int, int, int]],
    restock: bool,
    after_sale_id: int | None,
    actor: str,
) -> Order:
    """Book a refund that succeeded on the order: (line id, quantity, amount) per line.

    Runs in the refund's transaction (shop.payments). The lines' refunded figures grow, the
    units go back on sale when `restock`, and the order closes once every unit is refunded.
    """
    order = order_lock(order_id=order_id)
    order_lines = {line.pk: line for line in OrderLine.objects.filter(order=order)}
    restocked: list[tuple[int, int]] = []
    for line_id, quantity, line_amount in lines:
        line = order_lines[line_id]
        line.refunded_quantity += quantity
        line.refunded_minor += line_amount
        line.save(update_fields=["refunded_quantity", "refunded_minor"])
        restocked.append((line.sku_id, quantity))
    order.refunded_minor += amount_minor
    order.save(update_fields=["refunded_minor", "updated_at"])
    if restock:
        _restock(restocked)
    payload = order_event_payload(order, order_lines.values())
    payload.update(
        actor=actor,
        after_sale_id=after_sale_id,
        refund_minor=amount_minor,
        refund_lines=[
            {"line_id": line_id, "quantity": quantity, "amount_minor": line_amount}
            for line_id, quantity, line_amount in lines
        ],
    )
    event_record(topic="order.refunded", payload=payload)
    if all(line.refunded_quantity >= line.quantity for line in order_lines.values()):
        order_transition(order=order, to=OrderStatus.CLOSED, actor=actor, note="refunded")
    return order
