"""Commissions booked from order events: levels, rates, base, rounding, replay, and their life."""

from __future__ import annotations

import pytest

from distribution.models import Commission, LedgerAccountKind
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.commissions import commissions_book, commissions_move
from distribution.services.ledger import ledger_account_for, ledger_balance
from distribution.services.settings import distribution_settings_update
from shop.customers.models import Member
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.orders.services.orders import order_receive, order_ship, orders_progress
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.support.commerce import member_make, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db
Kind = LedgerAccountKind


def _chain(length: int) -> list[Member]:
    """Members bound in a line, each the upline of the next; all distributors."""
    members = [member_make() for _ in range(length)]
    for child, parent in zip(members[1:], members, strict=False):
        referral_bind(
            member=child, code=distributor_make(member=parent).code, trigger="first_visit"
        )
    distributor_make(member=members[-1])
    return members


def _paid(member: Member, *, price_minor: int, quantity: int = 1) -> Order:
    order = order_make(
        member=member, items=[(sku_of(product_make(price_minor=price_minor, stock=50)), quantity)]
    )
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    return order


def _deliver(topic: str, order: Order) -> None:
    for event in OutboxEvent.objects.filter(topic=topic, payload__order_id=order.pk):
        event_deliver(event_id=event.pk)


def _balance(member: Member, kind: str) -> int:
    return ledger_balance(account=ledger_account_for(member_id=member.pk, kind=kind))


def test_a_paid_order_books_each_level_rounded_down_and_posts_the_ledger(shop: Tenant) -> None:
    # given: 3 levels at 10 %, 5 %, 2 %; grandparent ← parent ← upline ← buyer
    distribution_settings_update(
        changes={"enabled": True, "depth": 3, "level_rates": [1000, 500, 200]}, actor="a"
    )
    great, grand, upline, buyer = _chain(4)
    expense = ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE)
    expense_before = ledger_balance(account=expense)
    # when: the buyer pays 99.99 and the order.paid event is delivered
    order = _paid(buyer, price_minor=9999)
    _deliver("order.paid", order)
    # then: 999.9 → 999, 499.95 → 499, 199.98 → 199 (rounded down)
    booked = {c.beneficiary_id: c.amount_minor for c in Commission.objects.filter(order=order)}
    assert booked == {upline.pk: 999, grand.pk: 499, great.pk: 199}
    assert _balance(upline, Kind.COMMISSION_PENDING) == 999
    assert ledger_balance(account=expense) - expense_before == -(999 + 499 + 199)
    first = Commission.objects.get(order=order, level=1)
    assert first.rule["level_rates"] == [1000, 500, 200]
    assert (first.base_minor, first.rate, first.state) == (9999, 1000, "pending")


def test_the_depth_setting_stops_the_chain(shop: Tenant) -> None:
    # given: depth 2 on a chain of 4
    distribution_settings_update(
        changes={"enabled": True, "depth": 2, "level_rates": [1000, 500]}, actor="a"
    )
    great, _grand, _upline, buyer = _chain(4)
    # when
    order = _paid(buyer, price_minor=10000)
    commissions_book(order_id=order.pk, event_id="e1")
    # then
    assert sorted(Commission.objects.filter(order=order).values_list("level", flat=True)) == [1, 2]
    assert not Commission.objects.filter(order=order, beneficiary=great).exists()


def test_booking_twice_books_once(shop: Tenant) -> None:
    # given
    distribution_settings_update(changes={"enabled": True}, actor="a")
    upline, buyer = _chain(2)
    order = _paid(buyer, price_minor=5000)
    # when
    first = commissions_book(order_id=order.pk, event_id="e1")
    again = commissions_book(order_id=order.pk, event_id="e1")
    # then
    assert (len(first), len(again)) == (1, 0)
    assert _balance(upline, Kind.COMMISSION_PENDING) == 500


def test_self_purchase_pays_the_buying_distributor_first(shop: Tenant) -> None:
    # given
    distribution_settings_update(
        changes={"enabled": True, "self_purchase": True, "depth": 2, "level_rates": [1000, 500]},
        actor="a",
    )
    upline, buyer = _chain(2)
    distributor_make(member=buyer)
    # when
    order = _paid(buyer, price_minor=10000)
    commissions_book(order_id=order.pk, event_id="e1")
    # then
    booked = {c.level: c.beneficiary_id for c in Commission.objects.filter(order=order)}
    assert booked == {1: buyer.pk, 2: upline.pk}


def test_no_commission_while_distribution_is_off_or_without_upline(shop: Tenant) -> None:
    # given: off
    _upline, buyer = _chain(2)
    order = _paid(buyer, price_minor=5000)
    # when
    off = commissions_book(order_id=order.pk, event_id="e1")
    distribution_settings_update(changes={"enabled": True}, actor="a")
    lonely = _paid(member_make(), price_minor=5000)
    alone = commissions_book(order_id=lonely.pk, event_id="e2")
    # then
    assert (off, alone) == ([], [])
    assert not Commission.objects.filter(order__in=[order, lonely]).exists()


def test_received_freezes_and_the_settlement_releases_after_the_freeze_days(
    shop: Tenant,
) -> None:
    # given: a booked commission of 5.00, 7 freeze days, no settlement day (hourly unfreeze)
    from datetime import timedelta

    from distribution.services.settlement import settlement_unfreeze

    distribution_settings_update(changes={"enabled": True, "freeze_days": 7}, actor="a")
    upline, buyer = _chain(2)
    order = _paid(buyer, price_minor=5000)
    _deliver("order.paid", order)
    # when: shipped, received (event), completed by the timer (event), then settled
    order_ship(order=order, carrier="SF", tracking_number="1", actor="account:1")
    order_receive(order=order, actor=f"member:{buyer.pk}")
    _deliver("order.received", order)
    frozen = (_balance(upline, Kind.COMMISSION_PENDING), _balance(upline, Kind.COMMISSION_FROZEN))
    order.refresh_from_db()
    assert order.complete_at is not None
    orders_progress(now=order.complete_at)
    _deliver("order.completed", order)
    after_completion = _balance(upline, Kind.COMMISSION_FROZEN)
    frozen_at = Commission.objects.get(order=order).state_changed_at
    early = settlement_unfreeze(at=frozen_at + timedelta(days=7, seconds=-1))
    late = settlement_unfreeze(at=frozen_at + timedelta(days=7, hours=1))
    # then: the completion moved nothing (the freeze days are the distribution's own knob);
    # the settlement released it once the 7 days had passed, not a second before
    assert frozen == (0, 500)
    assert after_completion == 500
    assert early is not None
    assert late is not None
    assert (early.released_minor, late.released_minor) == (0, 500)
    assert _balance(upline, Kind.COMMISSION_FROZEN) == 0
    assert _balance(upline, Kind.COMMISSION_AVAILABLE) == 500
    assert Commission.objects.get(order=order).state == "available"
    assert commissions_move(order_id=order.pk, step="received") == 0


def test_partial_refunds_reverse_pro_rata_and_the_last_reverses_the_rest(shop: Tenant) -> None:
    # given: 3 units of 9.99 (29.97 paid), 10 % → 2.99 booked
    from shop.orders.services.after_sales import (
        AfterSaleItem,
        after_sale_approve,
        after_sale_request,
    )
    from shop.payments.models import Refund
    from shop.payments.services.refunds import refund_submit

    distribution_settings_update(changes={"enabled": True}, actor="a")
    upline, buyer = _chain(2)
    order = _paid(buyer, price_minor=999, quantity=3)
    _deliver("order.paid", order)
    line = order.lines.get()
    reversals = []
    # when: the three units are refunded one at a time
    for _unit in range(3):
        after_sale = after_sale_request(
            order=order,
            kind="refund_only",
            reason="x",
            items=[AfterSaleItem(line.pk, 1)],
            actor="m",
        )
        after_sale_approve(after_sale=after_sale, actor="account:1")
        for event in OutboxEvent.objects.filter(
            topic="after_sale.refunding", settled_at__isnull=True
        ):
            event_deliver(event_id=event.pk)
        refund_submit(refund_id=Refund.objects.get(after_sale=after_sale).pk)
        before = _balance(upline, Kind.COMMISSION_PENDING)
        for event in OutboxEvent.objects.filter(topic="order.refunded", settled_at__isnull=True):
            event_deliver(event_id=event.pk)
        reversals.append(before - _balance(upline, Kind.COMMISSION_PENDING))
    # then: 2.99 x 9.99/29.97 = 0.9966… → 0.99, twice; the last takes the remaining 1.01
    commission = Commission.objects.get(order=order)
    assert commission.amount_minor == 299
    assert reversals == [99, 99, 101]
    assert (commission.reversed_minor, commission.state) == (299, "reversed")
    assert _balance(upline, Kind.COMMISSION_PENDING) == 0


def test_a_late_replay_of_a_partial_refund_reverses_nothing(shop: Tenant) -> None:
    # given: 2 units of 0.05 (0.10 paid) at 10 % → 0.01 booked; the first unit is refunded and
    # its event delivered (0.01 x 0.05/0.10 rounds down to nothing)
    from distribution.services.commissions import on_order_refunded
    from shop.orders.services.orders import order_refund_apply

    distribution_settings_update(changes={"enabled": True}, actor="a")
    upline, buyer = _chain(2)
    order = _paid(buyer, price_minor=5, quantity=2)
    _deliver("order.paid", order)
    line = order.lines.get()
    order_refund_apply(
        order_id=order.pk,
        amount_minor=5,
        lines=[(line.pk, 1, 5)],
        restock=False,
        after_sale_id=None,
        actor="t",
    )
    first = OutboxEvent.objects.filter(topic="order.refunded").latest("created_at")
    event_deliver(event_id=first.pk)
    # and the second unit is refunded, its event not delivered yet
    order_refund_apply(
        order_id=order.pk,
        amount_minor=5,
        lines=[(line.pk, 1, 5)],
        restock=False,
        after_sale_id=None,
        actor="t",
    )
    # when: the first event comes again (a replay)
    on_order_refunded(first)
    # then: it still speaks of one unit of two: nothing reversed; the second event reverses
    # the whole commission
    assert Commission.objects.get(order=order).reversed_minor == 0
    for event in OutboxEvent.objects.filter(topic="order.refunded", settled_at__isnull=True):
        event_deliver(event_id=event.pk)
    commission = Commission.objects.get(order=order)
    assert (commission.reversed_minor, commission.state) == (1, "reversed")
    assert _balance(upline, Kind.COMMISSION_PENDING) == 0


def test_the_explanation_says_who_earned_and_who_did_not_and_why(shop: Tenant) -> None:
    # given: depth 2; great ← grand ← upline ← buyer, where `upline` is not a distributor
    from distribution.models import Distributor
    from distribution.selectors import order_commission_explanation

    distribution_settings_update(
        changes={"enabled": True, "depth": 2, "level_rates": [1000, 500]}, actor="a"
    )
    great, grand, upline, buyer = _chain(4)
    Distributor.objects.filter(member=upline).update(status=Distributor.Status.DISABLED)
    # when
    order = _paid(buyer, price_minor=10000)
    commissions_book(order_id=order.pk, event_id="e1")
    explanation = order_commission_explanation(order_id=order.pk)
    # then: the buyer (a distributor) does not earn on their own order; level 1 did not earn
    # (not a distributor), level 2 earned 5 % (no compression), the next one up is beyond depth
    assert [(item["level"], item["member_id"], item["reason"]) for item in explanation] == [
        (0, buyer.pk, "self_purchase_off"),
        (1, upline.pk, "not_a_distributor"),
        (2, grand.pk, "earns"),
        (3, great.pk, "depth_limit"),
    ]
    assert (explanation[2]["amount_minor"], explanation[2]["rule"]["level_rates"]) == (
        500,
        [1000, 500],
    )


def test_the_explanation_of_an_order_without_upline_or_while_off(shop: Tenant) -> None:
    # given
    from distribution.selectors import order_commission_explanation

    lonely = _paid(member_make(), price_minor=1000)
    commissions_book(order_id=lonely.pk, event_id="e1")
    distribution_settings_update(changes={"enabled": True}, actor="a")
    alone = _paid(member_make(), price_minor=1000)
    commissions_book(order_id=alone.pk, event_id="e2")
    # then
    assert [item["reason"] for item in order_commission_explanation(order_id=lonely.pk)] == [
        "distribution_off"
    ]
    assert [item["reason"] for item in order_commission_explanation(order_id=alone.pk)] == [
        "no_upline"
    ]


def test_a_share_link_takes_priority_over_the_bound_upline(shop: Tenant) -> None:
    # given: the buyer is bound to `bound`; the order comes through `linker`'s share link
    from distribution.selectors import order_commission_explanation

    distribution_settings_update(
        changes={"enabled": True, "depth": 2, "level_rates": [1000, 500]}, actor="a"
    )
    bound, buyer = _chain(2)
    above, linker = _chain(2)
    order = order_make(
        member=buyer,
        items=[(sku_of(product_make(price_minor=10000, stock=5)), 1)],
        referral_code=distributor_make(member=linker).code,
    )
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    # when
    commissions_book(order_id=order.pk, event_id="e1")
    # then: the link's owner and their upline earn; the bound upline is told why not
    booked = {
        c.level: (c.beneficiary_id, c.amount_minor) for c in Commission.objects.filter(order=order)
    }
    assert booked == {1: (linker.pk, 1000), 2: (above.pk, 500)}
    reasons = [
        (i["level"], i["member_id"], i["reason"])
        for i in order_commission_explanation(order_id=order.pk)
    ]
    assert (0, bound.pk, "link_priority") in reasons
