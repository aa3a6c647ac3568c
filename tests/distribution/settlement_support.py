"""Makers for the settlement, clawback and statement tests: commissions taken through their real
life (order paid → booked, received → frozen, settlement → available), refunds through the real
after-sale path, withdrawals simulated by a ledger posting when asked to."""

from __future__ import annotations

import uuid
from datetime import timedelta

from distribution.models import Commission, LedgerAccountKind, LedgerEntry, SettlementRun
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.ledger import (
    ledger_account_for,
    ledger_balance,
    ledger_balances,
    ledger_post,
)
from distribution.services.settlement import settlement_unfreeze
from shop.customers.models import Member
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.orders.services.orders import order_receive, order_ship
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tests.support.commerce import member_make, order_make, product_make, sku_of

Kind = LedgerAccountKind


def chain(length: int) -> list[Member]:
    """Members bound in a line, each the upline of the next; all distributors."""
    members = [member_make() for _ in range(length)]
    for child, parent in zip(members[1:], members, strict=False):
        referral_bind(
            member=child, code=distributor_make(member=parent).code, trigger="first_visit"
        )
    distributor_make(member=members[-1])
    return members


def deliver(topic: str, order: Order) -> None:
    for event in OutboxEvent.objects.filter(
        topic=topic, payload__order_id=order.pk, settled_at__isnull=True
    ):
        event_deliver(event_id=event.pk)


def paid(member: Member, *, price_minor: int, quantity: int = 1, device: str = "") -> Order:
    """A paid order of one line, its commissions booked (order.paid delivered); placed from
    `device` when given."""
    order = order_make(
        member=member, items=[(sku_of(product_make(price_minor=price_minor, stock=50)), quantity)]
    )
    if device:
        Order.objects.filter(pk=order.pk).update(device_id=device)
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    deliver("order.paid", order)
    return order


def frozen(order: Order) -> Order:
    """Shipped and received: its commissions frozen (order.received delivered)."""
    order_ship(order=order, carrier="SF", tracking_number="1", actor="account:1")
    order_receive(order=order, actor=f"member:{order.member_id}")
    deliver("order.received", order)
    order.refresh_from_db()
    return order


def released(order: Order, *, freeze_days: int = 7) -> Order:
    """Frozen, then released by the unfreeze job once the freeze days passed (its own hour)."""
    frozen(order)
    frozen_at = max(
        Commission.objects.filter(order=order).values_list("state_changed_at", flat=True)
    )
    at = frozen_at + timedelta(days=freeze_days, hours=1)
    # Each run claims its hour: a later call runs an hour after the last run.
    last = SettlementRun.objects.order_by("-cutoff").values_list("cutoff", flat=True).first()
    if last is not None:
        at = max(at, last + timedelta(hours=1))
    settlement_unfreeze(at=at)
    return order


def refund(order: Order, *, quantity: int) -> None:
    """Refund `quantity` units of the order's only line (approved, paid back, event delivered)."""
    from shop.orders.services.after_sales import (
        AfterSaleItem,
        after_sale_approve,
        after_sale_request,
    )
    from shop.payments.models import Refund
    from shop.payments.services.refunds import refund_submit

    line = order.lines.get()
    after_sale = after_sale_request(
        order=order,
        kind="refund_only",
        reason="x",
        items=[AfterSaleItem(line.pk, quantity)],
        actor="m",
    )
    after_sale_approve(after_sale=after_sale, actor="account:1")
    for event in OutboxEvent.objects.filter(topic="after_sale.refunding", settled_at__isnull=True):
        event_deliver(event_id=event.pk)
    refund_submit(refund_id=Refund.objects.get(after_sale=after_sale).pk)
    deliver("order.refunded", order)


def withdraw(member: Member, amount_minor: int) -> None:
    """A paid withdrawal as the ledger sees it: available → withdrawn."""
    ledger_post(
        source="test_withdrawal",
        source_id=uuid.uuid4().hex,
        purpose="paid",
        lines=[
            (
                ledger_account_for(member_id=member.pk, kind=Kind.COMMISSION_AVAILABLE),
                -amount_minor,
            ),
            (ledger_account_for(member_id=member.pk, kind=Kind.WITHDRAWN), amount_minor),
        ],
    )


def balance(member: Member, kind: str) -> int:
    return ledger_balance(account=ledger_account_for(member_id=member.pk, kind=kind))


def balances(member: Member) -> dict[str, int]:
    """Every account of the distributor with a non-zero balance."""
    return {kind: amount for kind, amount in ledger_balances(member_id=member.pk).items() if amount}


def balances_equal_entries(member: Member) -> bool:
    """Each balance equals the plain sum of its entries, and the shop's whole ledger is zero."""
    sums: dict[str, int] = {}
    for kind, amount in LedgerEntry.objects.filter(account__member=member).values_list(
        "account__kind", "amount_minor"
    ):
        sums[kind] = sums.get(kind, 0) + amount
    everything = sum(LedgerEntry.objects.values_list("amount_minor", flat=True))
    return everything == 0 and all(
        ledger_balance(account=ledger_account_for(member_id=member.pk, kind=kind)) == total
        for kind, total in sums.items()
    )
