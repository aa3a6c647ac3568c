"""Risk holds: commissions of suspicious orders are booked into commission_held and wait for the
merchant, who releases them (to pending, or frozen once received) or rejects them (reversed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import distribution.services.risk as risk
from distribution.errors import RiskFlagNotFoundError, RiskFlagReviewedError
from distribution.models import Commission, CommissionDecision, LedgerAccountKind, RiskFlag
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.ledger import ledger_account_for, ledger_balance
from distribution.services.risk import risk_flag_reject, risk_flag_release
from distribution.services.settings import distribution_settings_get, distribution_settings_update
from shop.customers.models import Member, MemberLogin
from shop.customers.services.tokens import member_token_issue
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.orders.services.orders import order_receive, order_ship
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


def _order(member: Member, *, price_minor: int, device: str, ip: str | None) -> Order:
    order = order_make(
        member=member, items=[(sku_of(product_make(price_minor=price_minor, stock=50)), 1)]
    )
    Order.objects.filter(pk=order.pk).update(device_id=device, ip=ip)
    order.refresh_from_db()
    return order


def _paid(
    member: Member, *, price_minor: int = 10000, device: str = "", ip: str | None = None
) -> Order:
    order = _order(member, price_minor=price_minor, device=device, ip=ip)
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    _deliver("order.paid", order)
    return order


def _deliver(topic: str, order: Order) -> None:
    for event in OutboxEvent.objects.filter(
        topic=topic, payload__order_id=order.pk, settled_at__isnull=True
    ):
        event_deliver(event_id=event.pk)


def _balance(member: Member | None, kind: str) -> int:
    return ledger_balance(
        account=ledger_account_for(member_id=member.pk if member else None, kind=kind)
    )


def _on(**changes: object) -> None:
    distribution_settings_update(changes={"enabled": True, **changes}, actor="t")


def test_a_clean_order_books_to_pending_without_a_flag(shop: Tenant) -> None:
    # given: an upline who shares nothing with the buyer
    _on()
    upline, buyer = _chain(2)
    MemberLogin.objects.create(member=upline, method="phone_code", device_id="up", ip="8.8.4.4")
    # when
    order = _paid(buyer, device="buyer-phone", ip="8.8.8.8")
    # then
    assert Commission.objects.get(order=order).state == "pending"
    assert _balance(upline, Kind.COMMISSION_PENDING) == 1000
    assert not RiskFlag.objects.filter(order=order).exists()


def test_a_device_shared_by_buyer_and_upline_holds_the_commission(shop: Tenant) -> None:
    # given: the upline logged in (token) on the phone the buyer orders from
    _on()
    upline, buyer = _chain(2)
    member_token_issue(member=upline, device_id="phone-1")
    expense_before = _balance(None, Kind.SHOP_COMMISSION_EXPENSE)
    # when
    order = _paid(buyer, device="phone-1", ip="8.8.8.8")
    # then: booked, but into commission_held, with a flag holding the evidence
    commission = Commission.objects.get(order=order)
    assert (commission.state, commission.hold_reason) == ("held", "shared_device")
    assert _balance(upline, Kind.COMMISSION_HELD) == 1000
    assert _balance(upline, Kind.COMMISSION_PENDING) == 0
    assert _balance(None, Kind.SHOP_COMMISSION_EXPENSE) - expense_before == -1000
    flag = RiskFlag.objects.get(order=order)
    assert (flag.member_id, flag.buyer_id, flag.status) == (upline.pk, buyer.pk, "open")
    assert flag.rules == ["shared_device"]
    assert flag.evidence["shared_device"] == {"device_id": "phone-1", "seen_in": ["token"]}
    assert flag.held_minor == 1000
    assert CommissionDecision.objects.filter(
        order=order, member=upline, reason="held", level=1
    ).exists()


def test_a_public_ip_shared_by_buyer_and_upline_holds_but_a_private_one_does_not(
    shop: Tenant,
) -> None:
    # given: the upline logged in from 1.2.3.4 and from the private 10.0.0.5
    _on()
    upline, buyer = _chain(2)
    MemberLogin.objects.create(member=upline, method="phone_code", ip="1.2.3.4")
    MemberLogin.objects.create(member=upline, method="phone_code", ip="10.0.0.5")
    # when: one order from each address
    public = _paid(buyer, device="b-1", ip="1.2.3.4")
    private = _paid(buyer, device="b-1", ip="10.0.0.5")
    # then: only the public address counts as evidence
    flag = RiskFlag.objects.get(order=public)
    assert flag.rules == ["shared_ip"]
    assert flag.evidence["shared_ip"] == {"ip": "1.2.3.4", "seen_in": ["login"]}
    assert Commission.objects.get(order=public).state == "held"
    assert Commission.objects.get(order=private).state == "pending"
    assert not RiskFlag.objects.filter(order=private).exists()


def test_a_ring_through_the_binding_history_holds(shop: Tenant) -> None:
    # given: b was a's downline, then moved to c; later a bound to b (no current cycle)
    _on(overwrite="always")
    a, b, c = member_make(), member_make(), member_make()
    for member in (a, b, c):
        distributor_make(member=member)
    assert referral_bind(
        member=b, code=distributor_make(member=a).code, trigger="first_visit"
    ).bound
    assert referral_bind(
        member=b, code=distributor_make(member=c).code, trigger="first_visit"
    ).bound
    assert referral_bind(
        member=a, code=distributor_make(member=b).code, trigger="first_visit"
    ).bound
    # when: a buys; b (a's upline now) would earn
    order = _paid(a, device="a-phone", ip="8.8.8.8")
    # then: the money would go round a → b → (was) a: held with the path as evidence
    flag = RiskFlag.objects.get(order=order, member=b)
    assert flag.rules == ["ring"]
    assert flag.evidence["ring"] == {"path": [b.pk, a.pk]}
    assert Commission.objects.get(order=order, beneficiary=b).state == "held"


def test_a_device_used_by_many_accounts_holds_every_beneficiary(shop: Tenant) -> None:
    # given: depth 2, at most 3 accounts per device; three other accounts have logged in on
    # the buyer's tablet
    _on(depth=2, level_rates=[1000, 500], risk_device_accounts_limit=3)
    grand, upline, buyer = _chain(3)
    for _ in range(3):
        MemberLogin.objects.create(member=member_make(), method="phone_code", device_id="tab")
    # when
    order = _paid(buyer, device="tab")
    # then: both levels held for the farm device
    assert set(Commission.objects.filter(order=order).values_list("state", flat=True)) == {"held"}
    flags = RiskFlag.objects.filter(order=order).order_by("member_id")
    assert [flag.member_id for flag in flags] == sorted([grand.pk, upline.pk])
    evidence = flags[0].evidence["device_many_accounts"]
    assert (evidence["accounts"], evidence["limit"]) == (4, 3)
    assert _balance(grand, Kind.COMMISSION_HELD) == 500


def test_buyer_velocity_holds_orders_beyond_the_limit(shop: Tenant) -> None:
    # given: a limit of 2 paid orders a day
    _on(risk_buyer_orders_per_day=2)
    _upline, buyer = _chain(2)
    # when: the buyer pays three orders
    orders = [_paid(buyer, device="b") for _ in range(3)]
    # then: the third is held
    states = [Commission.objects.get(order=order).state for order in orders]
    assert states == ["pending", "pending", "held"]
    flag = RiskFlag.objects.get(order=orders[2])
    assert flag.evidence["buyer_velocity"] == {"paid_orders": 3, "limit": 2, "window_hours": 24}


def test_earner_velocity_holds_a_distributor_earning_on_too_many_orders(shop: Tenant) -> None:
    # given: a distributor may earn on 2 orders an hour; three buyers under them
    _on(risk_earner_orders_per_hour=2)
    upline = member_make()
    code = distributor_make(member=upline).code
    buyers = [member_make() for _ in range(3)]
    for buyer in buyers:
        referral_bind(member=buyer, code=code, trigger="first_visit")
    # when
    orders = [_paid(buyer, device=f"d{buyer.pk}") for buyer in buyers]
    # then
    states = [Commission.objects.get(order=order).state for order in orders]
    assert states == ["pending", "pending", "held"]
    assert RiskFlag.objects.get(order=orders[2]).evidence["earner_velocity"] == {
        "orders": 3,
        "limit": 2,
        "window_hours": 1,
    }


def test_self_purchase_is_not_a_shared_device_with_oneself(shop: Tenant) -> None:
    # given: self-purchase on; the buying distributor's own token on the same phone
    _on(self_purchase=True)
    upline, buyer = _chain(2)
    member_token_issue(member=upline, device_id="upline-own")
    member_token_issue(member=buyer, device_id="own")
    # when
    order = _paid(buyer, device="own")
    # then: the buyer earns level 1, the upline level 2, and nothing is held
    booked = dict(Commission.objects.filter(order=order).values_list("beneficiary_id", "state"))
    assert booked == {buyer.pk: "pending", upline.pk: "pending"}
    assert not RiskFlag.objects.filter(order=order).exists()


def test_release_before_receipt_moves_held_to_pending(shop: Tenant) -> None:
    # given: a held commission
    _on()
    upline, buyer = _chain(2)
    member_token_issue(member=upline, device_id="p")
    order = _paid(buyer, device="p")
    flag = RiskFlag.objects.get(order=order)
    # when
    risk_flag_release(flag_id=flag.pk, actor="account:1", note="family")
    # then
    commission = Commission.objects.get(order=order)
    assert (commission.state, commission.reviewed_by) == ("pending", "account:1")
    assert (_balance(upline, Kind.COMMISSION_HELD), _balance(upline, Kind.COMMISSION_PENDING)) == (
        0,
        1000,
    )
    flag.refresh_from_db()
    assert (flag.status, flag.reviewed_by, flag.note) == ("released", "account:1", "family")
    # and a second review is refused and changes nothing
    with pytest.raises(RiskFlagReviewedError):
        risk_flag_reject(flag_id=flag.pk, actor="account:2")
    assert _balance(upline, Kind.COMMISSION_PENDING) == 1000


def test_release_after_receipt_freezes_from_the_moment_of_receipt(shop: Tenant) -> None:
    # given: a held commission; the order is received (held stays held)
    _on()
    upline, buyer = _chain(2)
    member_token_issue(member=upline, device_id="p")
    order = _paid(buyer, device="p")
    order_ship(order=order, carrier="SF", tracking_number="1", actor="account:1")
    order_receive(order=order, actor=f"member:{buyer.pk}")
    _deliver("order.received", order)
    assert Commission.objects.get(order=order).state == "held"
    order.refresh_from_db()
    assert order.received_at is not None
    # when
    risk_flag_release(flag_id=RiskFlag.objects.get(order=order).pk, actor="account:1")
    # then: frozen, counting its freeze days from the receipt
    commission = Commission.objects.get(order=order)
    assert (commission.state, commission.state_changed_at) == ("frozen", order.received_at)
    assert (_balance(upline, Kind.COMMISSION_HELD), _balance(upline, Kind.COMMISSION_FROZEN)) == (
        0,
        1000,
    )


def test_reject_reverses_the_held_money_to_the_shop(shop: Tenant) -> None:
    # given
    _on()
    upline, buyer = _chain(2)
    member_token_issue(member=upline, device_id="p")
    expense_before = _balance(None, Kind.SHOP_COMMISSION_EXPENSE)
    order = _paid(buyer, device="p")
    # when
    flag = risk_flag_reject(flag_id=RiskFlag.objects.get(order=order).pk, actor="account:1")
    # then
    commission = Commission.objects.get(order=order)
    assert (commission.state, commission.reversed_minor) == ("reversed", 1000)
    assert _balance(upline, Kind.COMMISSION_HELD) == 0
    assert _balance(upline, Kind.COMMISSION_PENDING) == 0
    assert _balance(None, Kind.SHOP_COMMISSION_EXPENSE) == expense_before
    assert flag.status == "rejected"


def test_reviewing_an_unknown_flag_is_refused(shop: Tenant) -> None:
    with pytest.raises(RiskFlagNotFoundError):
        risk_flag_release(flag_id=10**9, actor="account:1")


def test_a_refund_of_a_held_commission_reverses_it_from_held(shop: Tenant) -> None:
    # given: a held commission of 10.00 on 2 units of 50.00
    from shop.orders.services.after_sales import (
        AfterSaleItem,
        after_sale_approve,
        after_sale_request,
    )
    from shop.payments.models import Refund
    from shop.payments.services.refunds import refund_submit

    _on()
    upline, buyer = _chain(2)
    member_token_issue(member=upline, device_id="p")
    order = order_make(member=buyer, items=[(sku_of(product_make(price_minor=5000, stock=50)), 2)])
    Order.objects.filter(pk=order.pk).update(device_id="p")
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    _deliver("order.paid", order)
    assert _balance(upline, Kind.COMMISSION_HELD) == 1000
    # when: one unit is refunded
    after_sale = after_sale_request(
        order=order,
        kind="refund_only",
        reason="x",
        items=[AfterSaleItem(order.lines.get().pk, 1)],
        actor="m",
    )
    after_sale_approve(after_sale=after_sale, actor="account:1")
    for event in OutboxEvent.objects.filter(topic="after_sale.refunding", settled_at__isnull=True):
        event_deliver(event_id=event.pk)
    refund_submit(refund_id=Refund.objects.get(after_sale=after_sale).pk)
    _deliver("order.refunded", order)
    # then: half reversed out of held; releasing moves only what is left
    commission = Commission.objects.get(order=order)
    assert (commission.state, commission.reversed_minor) == ("held", 500)
    assert _balance(upline, Kind.COMMISSION_HELD) == 500
    risk_flag_release(flag_id=RiskFlag.objects.get(order=order).pk, actor="account:1")
    assert (_balance(upline, Kind.COMMISSION_HELD), _balance(upline, Kind.COMMISSION_PENDING)) == (
        0,
        500,
    )


def test_the_risk_check_is_one_query_whatever_the_depth(shop: Tenant) -> None:
    # given: beneficiaries at 1 and at 3 levels
    _on(depth=3, level_rates=[1000, 500, 200])
    short = _chain(2)
    long = _chain(4)
    orders = [
        _order(chain[-1], price_minor=1000, device="x", ip="8.8.8.8") for chain in (short, long)
    ]
    settings = distribution_settings_get()
    counts = []
    for order, chain in zip(orders, (short, long), strict=True):
        with CaptureQueriesContext(connection) as captured:
            risk.risk_holds(
                order=order, member_ids=[member.pk for member in chain[:-1]], settings=settings
            )
        counts.append(len(captured.captured_queries))
    # then
    assert counts == [1, 1]


def test_evidence_older_than_the_lookback_does_not_count(shop: Tenant) -> None:
    # given: the upline used the device long ago
    _on()
    upline, buyer = _chain(2)
    login = MemberLogin.objects.create(member=upline, method="phone_code", device_id="old")
    MemberLogin.objects.filter(pk=login.pk).update(
        created_at=login.created_at - risk.RISK_LOOKBACK - timedelta(days=1)
    )
    # when
    order = _paid(buyer, device="old")
    # then
    assert Commission.objects.get(order=order).state == "pending"


def test_a_rule_set_to_zero_is_off(shop: Tenant) -> None:
    # given: the buyer-velocity rule switched off
    _on(risk_buyer_orders_per_day=0)
    _upline, buyer = _chain(2)
    # when: the buyer pays three orders in a row
    orders = [_paid(buyer, device="b") for _ in range(3)]
    # then: none is held
    states = [Commission.objects.get(order=order).state for order in orders]
    assert states == ["pending", "pending", "pending"]
    assert not RiskFlag.objects.filter(order__in=orders).exists()
