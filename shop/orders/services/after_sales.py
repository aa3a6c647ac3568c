"""After-sale requests: refund only, or return and refund; the merchant reviews them.

    requested ─approve→ refunding ─(refund succeeds)→ refunded          (refund only)
    requested ─approve→ awaiting_return ─member ships→ return_shipped ─merchant receives→ refunding
    requested ─reject→ rejected;  requested / awaiting_return ─member withdraws→ withdrawn

Entering `refunding` records the event `after_sale.refunding`; shop.payments refunds the money
(once per request: the refund's reference is derived from the request) and, when the provider
confirms, calls `after_sale_refunded`, which books the refund on the order.

Amounts: a line's units are refunded at their share of what was paid for the line (rounded
down); the request that takes a line's last units gets what remains of it, so a line is never
refunded more or less than was paid. Shipping is refunded when the order had not shipped and
the request leaves nothing of it unrefunded.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.events.services import event_record
from shop.orders.errors import AfterSaleInvalidError, AfterSaleStateError
from shop.orders.lock_objects import after_sale_lock, order_lock
from shop.orders.models import AfterSale, AfterSaleLine, Order, OrderLine, OrderStatus
from shop.orders.selectors import after_sale_pending
from shop.orders.services.orders import order_refund_apply

AS = AfterSale.Status
REQUESTABLE = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.RECEIVED)


@dataclass(frozen=True)
class AfterSaleItem:
    line_id: int
    quantity: int


def _event(after_sale: AfterSale, topic: str, actor: str) -> None:
    event_record(
        topic=topic,
        payload={
            "after_sale_id": after_sale.pk,
            "order_id": after_sale.order_id,
            "kind": after_sale.kind,
            "status": after_sale.status,
            "amount_minor": after_sale.amount_minor,
            "actor": actor,
        },
    )


@transaction.atomic
def after_sale_request(
    *, order: Order, kind: str, reason: str, items: list[AfterSaleItem], actor: str
) -> AfterSale:
    """Ask for money back for some units of some lines (the order row is locked meanwhile)."""
    order = order_lock(order_id=order.pk)
    reason = reason.strip()
    if kind not in AfterSale.Kind.values:
        raise AfterSaleInvalidError(_("Choose refund only or return and refund."))
    if not reason or len(reason) > 200:
        raise AfterSaleInvalidError(_("Give a reason of at most 200 characters."))
    if order.status not in REQUESTABLE:
        raise AfterSaleStateError(_("This order cannot have an after-sale request now."))
    if kind == AfterSale.Kind.RETURN_REFUND and order.status == OrderStatus.PAID:
        raise AfterSaleInvalidError(_("Nothing was shipped yet: ask for a refund only."))
    if not items:
        raise AfterSaleInvalidError(_("Choose what to refund."))
    lines = {line.pk: line for line in OrderLine.objects.filter(order=order)}
    pending = after_sale_pending(order=order)
    pending_quantity = {line_id: units for line_id, (units, _amount) in pending.items()}
    pending_amount = {line_id: amount for line_id, (_units, amount) in pending.items()}
    chosen: list[tuple[OrderLine, int, int]] = []
    seen: set[int] = set()
    for item in items:
        line = lines.get(item.line_id)
        if line is None or item.line_id in seen:
            raise AfterSaleInvalidError(_("Choose lines of this order, each once."))
        seen.add(item.line_id)
        left = line.quantity - line.refunded_quantity - pending_quantity.get(line.pk, 0)
        if not 1 <= item.quantity <= left:
            raise AfterSaleInvalidError(
                _("At most %(left)s of %(title)s can be refunded.")
                % {"left": left, "title": line.title}
            )
        if item.quantity == left:
            amount = line.paid_minor - line.refunded_minor - pending_amount.get(line.pk, 0)
        else:
            amount = line.paid_minor * item.quantity // line.quantity
        chosen.append((line, item.quantity, amount))
    total = sum(amount for _line, _quantity, amount in chosen)
    everything = all(
        lines[line_id].quantity
        == lines[line_id].refunded_quantity
        + pending_quantity.get(line_id, 0)
        + next((q for line, q, _a in chosen if line.pk == line_id), 0)
        for line_id in lines
    )
    if order.status == OrderStatus.PAID and everything:
        total += order.shipping_minor
    if total <= 0:
        raise AfterSaleInvalidError(_("Nothing is left to refund on these lines."))
    after_sale = AfterSale.objects.create(
        order=order,
        kind=kind,
        reason=reason,
        amount_minor=total,
        # Units never shipped, or sent back, go back on sale.
        restock=order.status == OrderStatus.PAID or kind == AfterSale.Kind.RETURN_REFUND,
    )
    AfterSaleLine.objects.bulk_create(
        [
            AfterSaleLine(after_sale=after_sale, order_line=line, quantity=q, amount_minor=a)
            for line, q, a in chosen
        ]
    )
    _event(after_sale, "after_sale.requested", actor)
    return after_sale


def _move(after_sale: AfterSale, allowed: tuple[str, ...], to: str, **fields: object) -> bool:
    updated = AfterSale.objects.filter(pk=after_sale.pk, status__in=allowed).update(
        status=to, **fields
    )
    if updated:
        after_sale.status = to
        for name, value in fields.items():
            setattr(after_sale, name, value)
    return bool(updated)


@transaction.atomic
def after_sale_approve(*, after_sale: AfterSale, actor: str, note: str = "") -> AfterSale:
    """The merchant agrees: refund now (refund only) or wait for the goods (return)."""
    to = AS.REFUNDING if after_sale.kind == AfterSale.Kind.REFUND_ONLY else AS.AWAITING_RETURN
    if not _move(
        after_sale, (AS.REQUESTED,), to, decided_at=timezone.now(), merchant_note=note[:500]
    ):
        raise AfterSaleStateError()
    _event(after_sale, f"after_sale.{to}", actor)
    return after_sale


@transaction.atomic
def after_sale_reject(*, after_sale: AfterSale, actor: str, note: str) -> AfterSale:
    if not note.strip():
        raise AfterSaleInvalidError(_("Tell the member why the request is rejected."))
    if not _move(
        after_sale,
        (AS.REQUESTED,),
        AS.REJECTED,
        decided_at=timezone.now(),
        merchant_note=note.strip()[:500],
    ):
        raise AfterSaleStateError()
    _event(after_sale, "after_sale.rejected", actor)
    return after_sale


@transaction.atomic
def after_sale_withdraw(*, after_sale: AfterSale, actor: str) -> AfterSale:
    if not _move(after_sale, (AS.REQUESTED, AS.AWAITING_RETURN), AS.WITHDRAWN):
        raise AfterSaleStateError()
    _event(after_sale, "after_sale.withdrawn", actor)
    return after_sale


@transaction.atomic
def after_sale_return_ship(
    *, after_sale: AfterSale, carrier: str, tracking_number: str, actor: str
) -> AfterSale:
    carrier, tracking_number = carrier.strip()[:64], tracking_number.strip()[:64]
    if not carrier or not tracking_number:
        raise AfterSaleInvalidError(_("Name the carrier and the tracking number of the return."))
    if not _move(
        after_sale,
        (AS.AWAITING_RETURN,),
        AS.RETURN_SHIPPED,
        return_carrier=carrier,
        return_tracking_number=tracking_number,
    ):
        raise AfterSaleStateError()
    _event(after_sale, "after_sale.return_shipped", actor)
    return after_sale


@transaction.atomic
def after_sale_return_receive(*, after_sale: AfterSale, actor: str) -> AfterSale:
    """The merchant has the goods back: the refund goes out."""
    if not _move(after_sale, (AS.RETURN_SHIPPED, AS.AWAITING_RETURN), AS.REFUNDING):
        raise AfterSaleStateError()
    _event(after_sale, "after_sale.refunding", actor)
    return after_sale


def after_sale_refunded(*, after_sale_id: int, actor: str) -> bool:
    """Book the request's refund on the order (from shop.payments, in the refund's transaction);
    False when it was booked already."""
    after_sale = after_sale_lock(after_sale_id=after_sale_id)
    if not _move(after_sale, (AS.REFUNDING,), AS.REFUNDED, refunded_at=timezone.now()):
        return False
    lines = [
        (line.order_line_id, line.quantity, line.amount_minor)
        for line in AfterSaleLine.objects.filter(after_sale=after_sale).order_by("id")
    ]
    order_refund_apply(
        order_id=after_sale.order_id,
        amount_minor=after_sale.amount_minor,
        lines=lines,
        restock=after_sale.restock,
        after_sale_id=after_sale.pk,
        actor=actor,
    )
    _event(after_sale, "after_sale.refunded", actor)
    return True


@transaction.atomic
def order_refund_by_merchant(
    *, order: Order, items: list[AfterSaleItem], reason: str, actor: str
) -> AfterSale:
    """The merchant refunds units from the console: a request made and approved at once."""
    after_sale = after_sale_request(
        order=order, kind=AfterSale.Kind.REFUND_ONLY, reason=reason, items=items, actor=actor
    )
    return after_sale_approve(after_sale=after_sale, actor=actor)
