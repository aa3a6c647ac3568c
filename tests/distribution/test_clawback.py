"""Refunds of commission already released or withdrawn: the shop's clawback policy (reverse
pending, offset future, negative balance); balances stay equal to their entries and a full
refund reverses exactly what was booked."""

from __future__ import annotations

import pytest

from distribution.models import Commission, LedgerAccountKind, LedgerTransaction
from distribution.services.commissions import commissions_reverse_for_refund
from distribution.services.settings import distribution_settings_update
from shop.customers.models import Member
from shop.events.models import OutboxEvent
from shop.orders.models import Order
from tenants.models import Tenant
from tests.distribution.settlement_support import (
    balances,
    balances_equal_entries,
    chain,
    frozen,
    paid,
    refund,
    released,
    withdraw,
)

pytestmark = pytest.mark.django_db
Kind = LedgerAccountKind
POLICIES = ["reverse_pending", "offset_future", "negative_balance"]


def _setup(policy: str) -> tuple[Member, Member]:
    distribution_settings_update(
        changes={"enabled": True, "clawback": policy, "freeze_days": 7}, actor="a"
    )
    upline, buyer = chain(2)
    return upline, buyer


def _commission(order: Order) -> Commission:
    return Commission.objects.get(order=order)


def _booked_and_reversed(member: Member) -> tuple[int, int]:
    rows = Commission.objects.filter(beneficiary=member).values_list(
        "amount_minor", "reversed_minor"
    )
    return sum(amount for amount, _ in rows), sum(reversed_ for _, reversed_ in rows)


@pytest.mark.parametrize("policy", POLICIES)
def test_a_refund_after_release_is_taken_from_the_available_balance(
    shop: Tenant, policy: str
) -> None:
    # given: 5.00 released to available, nothing withdrawn
    upline, buyer = _setup(policy)
    order = released(paid(buyer, price_minor=5000))
    assert balances(upline) == {Kind.COMMISSION_AVAILABLE: 500}
    # when: fully refunded
    refund(order, quantity=1)
    # then: whatever the policy, the money was still there: reversed from available
    assert balances(upline) == {}
    assert (_commission(order).state, _commission(order).reversed_minor) == ("reversed", 500)
    assert not LedgerTransaction.objects.filter(purpose__startswith="clawback:").exists()
    assert balances_equal_entries(upline)


def test_reverse_pending_takes_pending_then_frozen_and_owes_the_rest(shop: Tenant) -> None:
    # given: 5.00 released and withdrawn; 3.00 pending (older) and 1.00 frozen
    upline, buyer = _setup("reverse_pending")
    first = released(paid(buyer, price_minor=5000))
    withdraw(upline, 500)
    pending = paid(buyer, price_minor=3000)
    in_freeze = frozen(paid(buyer, price_minor=1000))
    # when: the first order is refunded in full
    refund(first, quantity=1)
    # then: 3.00 from pending, 1.00 from frozen, 1.00 owed back
    assert balances(upline) == {Kind.WITHDRAWN: 500, Kind.CLAWBACK_RECEIVABLE: -100}
    assert (_commission(pending).clawed_minor, _commission(in_freeze).clawed_minor) == (300, 100)
    assert (_commission(pending).state, _commission(in_freeze).state) == ("pending", "frozen")
    clawback = LedgerTransaction.objects.get(
        source_id=str(first.pk), purpose__startswith="clawback:"
    )
    assert sorted(clawback.entries.values_list("account__kind", "amount_minor")) == [
        (Kind.CLAWBACK_RECEIVABLE, -100),
        (Kind.COMMISSION_FROZEN, -100),
        (Kind.COMMISSION_PENDING, -300),
        (Kind.SHOP_COMMISSION_EXPENSE, 500),
    ]
    # and when: the pending order is received and later earnings are released
    frozen(pending)
    later = released(paid(buyer, price_minor=2000))
    # then: the clawed commissions move on empty; the next release pays the 1.00 owed first
    assert balances(upline) == {Kind.WITHDRAWN: 500, Kind.COMMISSION_AVAILABLE: 100}
    assert _commission(later).state == "available"
    assert balances_equal_entries(upline)


def test_reverse_pending_on_a_commission_marked_withdrawn_does_not_touch_available(
    shop: Tenant,
) -> None:
    # given: 5.00 released and withdrawn (the commission marked withdrawn), then 2.00 released
    upline, buyer = _setup("reverse_pending")
    first = released(paid(buyer, price_minor=5000))
    withdraw(upline, 500)
    Commission.objects.filter(order=first).update(state=Commission.State.WITHDRAWN)
    released(paid(buyer, price_minor=2000))
    # when
    refund(first, quantity=1)
    # then: no earnings pending or frozen: the whole 5.00 is owed back; what is available stays
    assert balances(upline) == {
        Kind.WITHDRAWN: 500,
        Kind.COMMISSION_AVAILABLE: 200,
        Kind.CLAWBACK_RECEIVABLE: -500,
    }
    assert _commission(first).state == "reversed"
    assert balances_equal_entries(upline)


def test_offset_future_owes_the_shortfall_and_the_next_releases_pay_it(shop: Tenant) -> None:
    # given: 5.00 released, 3.00 of it withdrawn; 4.00 pending
    upline, buyer = _setup("offset_future")
    first = released(paid(buyer, price_minor=5000))
    withdraw(upline, 300)
    pending = paid(buyer, price_minor=4000)
    # when: the first order is refunded in full
    refund(first, quantity=1)
    owed = balances(upline)
    # and: the pending order is released
    released(pending)
    # then: 2.00 from available, 3.00 owed; the release paid the 3.00 before the rest
    assert owed == {
        Kind.WITHDRAWN: 300,
        Kind.COMMISSION_PENDING: 400,
        Kind.CLAWBACK_RECEIVABLE: -300,
    }
    assert _commission(pending).clawed_minor == 0
    assert balances(upline) == {Kind.WITHDRAWN: 300, Kind.COMMISSION_AVAILABLE: 100}
    settlement = LedgerTransaction.objects.get(
        source="settlement", entries__account__kind=Kind.CLAWBACK_RECEIVABLE
    )
    assert sorted(settlement.entries.values_list("account__kind", "amount_minor")) == [
        (Kind.CLAWBACK_RECEIVABLE, 300),
        (Kind.COMMISSION_AVAILABLE, 100),
        (Kind.COMMISSION_FROZEN, -400),
    ]
    assert balances_equal_entries(upline)


def test_negative_balance_lets_available_go_below_zero(shop: Tenant) -> None:
    # given: 5.00 released and withdrawn
    upline, buyer = _setup("negative_balance")
    first = released(paid(buyer, price_minor=5000))
    withdraw(upline, 500)
    # when: refunded in full, then 3.00 of new earnings released
    refund(first, quantity=1)
    negative = balances(upline)
    released(paid(buyer, price_minor=3000))
    # then
    assert negative == {Kind.WITHDRAWN: 500, Kind.COMMISSION_AVAILABLE: -500}
    assert balances(upline) == {Kind.WITHDRAWN: 500, Kind.COMMISSION_AVAILABLE: -200}
    assert balances_equal_entries(upline)


@pytest.mark.parametrize("policy", POLICIES)
def test_partial_refunds_after_withdrawal_reverse_exactly_what_was_booked(
    shop: Tenant, policy: str
) -> None:
    # given: 3 units of 9.99, 10 % → 2.99 released and withdrawn
    upline, buyer = _setup(policy)
    order = released(paid(buyer, price_minor=999, quantity=3))
    withdraw(upline, 299)
    # when: the three units are refunded one at a time
    for _unit in range(3):
        refund(order, quantity=1)
    # then: 0.99 + 0.99 + 1.01 = all of it reversed, the distributor owes it all back
    owed_in = (
        Kind.COMMISSION_AVAILABLE if policy == "negative_balance" else Kind.CLAWBACK_RECEIVABLE
    )
    assert balances(upline) == {Kind.WITHDRAWN: 299, owed_in: -299}
    assert _booked_and_reversed(upline) == (299, 299)
    assert _commission(order).state == "reversed"
    assert (
        LedgerTransaction.objects.filter(
            source_id=str(order.pk), purpose__startswith="clawback:"
        ).count()
        == 3
    )
    assert balances_equal_entries(upline)


def test_refunding_a_clawed_commission_owes_again_what_it_had_paid(shop: Tenant) -> None:
    # given: reverse_pending; 5.00 released and withdrawn, refunded: 3.00 clawed from pending
    upline, buyer = _setup("reverse_pending")
    first = released(paid(buyer, price_minor=5000))
    withdraw(upline, 500)
    pending = paid(buyer, price_minor=3000)
    refund(first, quantity=1)
    # when: the pending order is refunded in full too
    refund(pending, quantity=1)
    # then: every commission reversed in full; the distributor owes all that was withdrawn
    assert balances(upline) == {Kind.WITHDRAWN: 500, Kind.CLAWBACK_RECEIVABLE: -500}
    assert (_commission(pending).reversed_minor, _commission(pending).clawed_minor) == (300, 0)
    assert _booked_and_reversed(upline) == (800, 800)
    assert balances_equal_entries(upline)


def test_a_replayed_refund_event_reverses_nothing(shop: Tenant) -> None:
    # given: offset_future; 5.00 released and withdrawn, refunded in full
    upline, buyer = _setup("offset_future")
    order = released(paid(buyer, price_minor=5000))
    withdraw(upline, 500)
    refund(order, quantity=1)
    event = OutboxEvent.objects.get(topic="order.refunded", payload__order_id=order.pk)
    before = (balances(upline), LedgerTransaction.objects.count())
    # when: the same event is handled again
    reversed_again = commissions_reverse_for_refund(
        order_id=order.pk,
        refund_lines=list(event.payload["refund_lines"]),
        event_id=str(event.id),
    )
    # then
    assert reversed_again == 0
    assert (balances(upline), LedgerTransaction.objects.count()) == before
    assert _commission(order).reversed_minor == 500


def test_a_commission_a_clawback_took_from_counts_only_what_reached_the_balance_when_withdrawn(
    shop: Tenant,
) -> None:
    # given: 5.00 released and withdrawn; 8.00 pending, from which a refund of the first takes
    # the 5.00 back; the 3.00 left of it is released and then withdrawn for real
    from distribution.services.withdrawals import (
        withdrawal_approve,
        withdrawal_request,
        withdrawal_transfer,
    )
    from tests.distribution.withdrawals_support import withdrawals_on

    upline, buyer = _setup("reverse_pending")
    withdrawals_on(clawback="reverse_pending")
    first = released(paid(buyer, price_minor=5000))
    withdraw(upline, 500)
    second = paid(buyer, price_minor=8000)
    refund(first, quantity=1)
    assert _commission(second).clawed_minor == 500
    released(second)
    assert balances(upline)[Kind.COMMISSION_AVAILABLE] == 300
    # when: the 3.00 is withdrawn to the store balance
    withdrawal = withdrawal_request(member=upline, amount_minor=300, channel="store_balance")
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor="account:1")
    withdrawal_transfer(withdrawal_id=withdrawal.pk)
    # then: the second commission (8.00 booked, 5.00 of it clawed) is all withdrawn now
    assert _commission(second).state == "withdrawn"
    assert balances_equal_entries(upline)
