"""Team performance bonus: a rate of the team's real sales in a month (completed orders net of
refunds, downlines within the depth), paid once per month in the shop's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from distribution.errors import TeamBonusMonthOpenError
from distribution.models import LedgerAccountKind, LedgerEntry, TeamBonus, TeamBonusRun
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.ledger import ledger_account_for, ledger_balance
from distribution.services.settings import distribution_settings_update
from distribution.services.team import team_bonus_last_month, team_bonus_run
from shop.customers.models import Member
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.orders.services.orders import order_complete, order_receive, order_ship
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.support.commerce import member_make, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db
Kind = LedgerAccountKind
SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER = date(2026, 10, 1)
IN_OCTOBER = datetime(2026, 10, 15, 12, 0, tzinfo=SHANGHAI)
AFTER_OCTOBER = datetime(2026, 11, 5, 12, 0, tzinfo=SHANGHAI)


def _bind(member: Member, upline: Member) -> None:
    # bound before the months the tests pay
    referral_bind(
        member=member,
        code=distributor_make(member=upline).code,
        trigger="first_visit",
        now=datetime(2026, 9, 1, tzinfo=SHANGHAI),
    )


def _paid(member: Member, price_minor: int, quantity: int = 1) -> Order:
    order = order_make(
        member=member, items=[(sku_of(product_make(price_minor=price_minor, stock=50)), quantity)]
    )
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    return order


def _refund_one_unit(order: Order) -> None:
    from shop.orders.services.after_sales import (
        AfterSaleItem,
        after_sale_approve,
        after_sale_request,
    )
    from shop.payments.models import Refund
    from shop.payments.services.refunds import refund_submit

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


def _received(order: Order) -> Order:
    order_ship(order=order, carrier="SF", tracking_number="1", actor="account:1")
    order_receive(order=order, actor=f"member:{order.member_id}")
    order.refresh_from_db()
    return order


def _completed(order: Order, at: datetime) -> Order:
    _received(order)
    assert order_complete(order=order)
    Order.objects.filter(pk=order.pk).update(completed_at=at)  # when it completed
    order.refresh_from_db()
    return order


def _team_bonus_on(bp: int = 500) -> None:
    distribution_settings_update(
        changes={"enabled": True, "depth": 2, "level_rates": [1000, 500], "team_bonus_bp": bp},
        actor="owner",
        acknowledge_risks=True,
    )


def _available(member: Member) -> int:
    return ledger_balance(
        account=ledger_account_for(member_id=member.pk, kind=Kind.COMMISSION_AVAILABLE)
    )


def test_only_completed_sales_of_the_team_within_the_depth_count_net_of_refunds(
    shop: Tenant,
) -> None:
    # given: top ← mid ← buyer ← deep, top ← direct; 5 % team bonus, depth 2
    _team_bonus_on()
    top, mid, buyer, deep, direct = (member_make() for _ in range(5))
    _bind(mid, top)
    _bind(buyer, mid)
    _bind(deep, buyer)
    _bind(direct, top)
    # buyer: 2 x 50.00, one unit refunded → 50.00 net; completed in October
    order = _paid(buyer, 5000, quantity=2)
    _refund_one_unit(order)
    _completed(order, IN_OCTOBER)
    _completed(_paid(deep, 3000), IN_OCTOBER)  # mid's level 2, top's level 3 (beyond)
    _completed(_paid(direct, 4000), IN_OCTOBER)
    _received(_paid(direct, 9000))  # received, not completed: not yet a real sale
    _paid(direct, 8000)  # paid only
    _completed(_paid(top, 7000), IN_OCTOBER)  # top's own order is not their team's
    available_before = (_available(top), _available(mid))
    # when: the job runs for October, in November
    run = team_bonus_run(now=AFTER_OCTOBER)
    # then: mid 50.00 + 30.00 = 80.00 → 4.00; top 50.00 (level 2) + 40.00 = 90.00 → 4.50;
    # buyer (a distributor since deep bound to them) 30.00 → 1.50
    assert run is not None
    assert (run.month, run.rate_bp, run.paid_count, run.paid_minor) == (OCTOBER, 500, 3, 1000)
    bonuses = {b.member_id: b for b in TeamBonus.objects.filter(month=OCTOBER)}
    assert set(bonuses) == {top.pk, mid.pk, buyer.pk}
    assert bonuses[buyer.pk].amount_minor == 150
    assert (bonuses[mid.pk].team_sales_minor, bonuses[mid.pk].amount_minor) == (8000, 400)
    assert (bonuses[top.pk].team_sales_minor, bonuses[top.pk].amount_minor) == (9000, 450)
    assert bonuses[mid.pk].detail["by_level"] == {"1": 5000, "2": 3000}
    assert bonuses[mid.pk].detail["refunded_minor"] == 5000
    assert (bonuses[top.pk].detail["orders"], bonuses[top.pk].detail["members"]) == (2, 2)
    assert (_available(top), _available(mid)) == (
        available_before[0] + 450,
        available_before[1] + 400,
    )
    posted = LedgerEntry.objects.filter(
        transaction__source="team_bonus", transaction__source_id="2026-10"
    )
    assert sum(entry.amount_minor for entry in posted) == 0
    assert len(posted) == 4


def test_the_monthly_run_is_idempotent(shop: Tenant) -> None:
    # given: a paid October
    _team_bonus_on()
    top, buyer = member_make(), member_make()
    _bind(buyer, top)
    _completed(_paid(buyer, 10000), IN_OCTOBER)
    first = team_bonus_run(now=AFTER_OCTOBER)
    after_first = _available(top)
    # when: the job runs again (the next hour, the next day)
    second = team_bonus_run(now=AFTER_OCTOBER)
    third = team_bonus_run(month=OCTOBER, now=datetime(2026, 11, 20, tzinfo=SHANGHAI))
    # then: paid once
    assert first is not None
    assert first.paid_minor == 500
    assert (second, third) == (None, None)
    assert _available(top) == after_first
    assert TeamBonus.objects.filter(member=top).count() == 1
    assert TeamBonusRun.objects.filter(month=OCTOBER).count() == 1


def test_the_month_boundary_is_the_shops_midnight(shop: Tenant) -> None:
    # given: Asia/Shanghai; one order completed 23:30 on 31 October local time, one at 00:10 on
    # 1 November local time (still 31 October in UTC)
    _team_bonus_on()
    top, buyer = member_make(), member_make()
    _bind(buyer, top)
    _completed(_paid(buyer, 10000), datetime(2026, 10, 31, 23, 30, tzinfo=SHANGHAI))
    _completed(_paid(buyer, 20000), datetime(2026, 11, 1, 0, 10, tzinfo=SHANGHAI))
    # when: the job runs at 00:30 on 1 November local (16:30 UTC on 31 October)
    now = datetime(2026, 11, 1, 0, 30, tzinfo=SHANGHAI)
    month = team_bonus_last_month(now=now)
    october = team_bonus_run(now=now)
    # then: October holds only the first order
    assert month == OCTOBER
    assert october is not None
    assert october.paid_minor == 500
    assert TeamBonus.objects.get(member=top, month=OCTOBER).team_sales_minor == 10000
    # and November is refused until it is over, then holds the second
    with pytest.raises(TeamBonusMonthOpenError):
        team_bonus_run(month=date(2026, 11, 1), now=now)
    assert not TeamBonusRun.objects.filter(month=date(2026, 11, 1)).exists()
    november = team_bonus_run(now=datetime(2026, 12, 1, 0, 5, tzinfo=SHANGHAI))
    assert november is not None
    assert november.paid_minor == 1000


def test_nothing_is_paid_while_the_bonus_is_off(shop: Tenant) -> None:
    # given: distribution on, team bonus 0
    distribution_settings_update(changes={"enabled": True}, actor="owner")
    top, buyer = member_make(), member_make()
    _bind(buyer, top)
    _completed(_paid(buyer, 10000), IN_OCTOBER)
    before = _available(top)
    # when
    run = team_bonus_run(now=AFTER_OCTOBER)
    # then: the month is marked done with nothing paid
    assert run is not None
    assert (run.rate_bp, run.paid_count, run.paid_minor) == (0, 0, 0)
    assert not TeamBonus.objects.filter(month=OCTOBER).exists()
    assert _available(top) == before


def test_a_bonus_first_pays_what_the_distributor_owes_back(shop: Tenant) -> None:
    # given: top owes 3.00 back (a clawback receivable) and earns a 5.00 bonus for October
    from distribution.services.ledger import ledger_post

    _team_bonus_on()
    top, buyer = member_make(), member_make()
    _bind(buyer, top)
    _completed(_paid(buyer, 10000), IN_OCTOBER)
    receivable = ledger_account_for(member_id=top.pk, kind=Kind.CLAWBACK_RECEIVABLE)
    expense = ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE)
    ledger_post(
        source="test",
        source_id="owed",
        purpose="clawback",
        lines=[(receivable, -300), (expense, 300)],
    )
    available_before = _available(top)
    # when
    team_bonus_run(now=AFTER_OCTOBER)
    # then: 3.00 settles the receivable, 2.00 becomes available
    assert ledger_balance(account=receivable) == 0
    assert _available(top) - available_before == 200
    bonus = TeamBonus.objects.get(member=top, month=OCTOBER)
    assert (bonus.amount_minor, bonus.detail["offset_minor"]) == (500, 300)


def test_orders_of_excluded_types_are_not_team_sales(shop: Tenant) -> None:
    # given: flash sales earn nothing in this shop; a downline completed one normal order of
    # 40.00 and one flash-sale order of 90.00 in October
    _team_bonus_on()
    distribution_settings_update(changes={"excluded_order_types": ["flash_sale"]}, actor="owner")
    top, buyer = member_make(), member_make()
    _bind(buyer, top)
    _completed(_paid(buyer, 4000), IN_OCTOBER)
    flash = _completed(_paid(buyer, 9000), IN_OCTOBER)
    Order.objects.filter(pk=flash.pk).update(order_type="flash_sale")
    # when
    team_bonus_run(month=OCTOBER, now=AFTER_OCTOBER)
    # then: 5 % of the normal order only
    assert TeamBonus.objects.get(member=top).amount_minor == 200
