"""Regional agents: the most specific active agent of the shipping region earns a share of the
order's real sales, booked, held, frozen and reversed like every other commission."""

from __future__ import annotations

import pytest

from distribution.errors import RegionalAgentNotFoundError, RegionTakenError
from distribution.models import Commission, LedgerAccountKind, RegionalAgent, RiskFlag
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.ledger import ledger_account_for, ledger_balance
from distribution.services.regions import (
    region_commissions_book,
    regional_agent_create,
    regional_agent_disable,
    regional_agent_update,
)
from distribution.services.settings import distribution_settings_update
from infra.errors import ValidationFailed
from shop.customers.models import Member
from shop.customers.services.tokens import member_token_issue
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.support.commerce import member_make, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db
Kind = LedgerAccountKind


def _paid(
    member: Member,
    *,
    price_minor: int = 10000,
    quantity: int = 1,
    region: tuple[str, str, str] = ("广东省", "深圳市", "南山区"),
    device: str = "",
) -> Order:
    order = order_make(
        member=member,
        items=[(sku_of(product_make(price_minor=price_minor, stock=50)), quantity)],
    )
    province, city, district = region
    Order.objects.filter(pk=order.pk).update(
        province=province, city=city, district=district, device_id=device
    )
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    for event in OutboxEvent.objects.filter(
        topic="order.paid", payload__order_id=order.pk, settled_at__isnull=True
    ):
        event_deliver(event_id=event.pk)
    return order


def _balance(member: Member | None, kind: str) -> int:
    return ledger_balance(
        account=ledger_account_for(member_id=member.pk if member else None, kind=kind)
    )


def _region_earner(order: Order) -> dict[int, int]:
    return dict(
        Commission.objects.filter(order=order, kind="region").values_list(
            "beneficiary_id", "amount_minor"
        )
    )


def test_the_most_specific_active_agent_of_the_region_earns(shop: Tenant) -> None:
    # given: agents of the province (1 %), the city (2 %) and the district (3 %)
    distribution_settings_update(changes={"enabled": True}, actor="t")
    province, city, district = member_make(), member_make(), member_make()
    regional_agent_create(member_id=province.pk, province="广东省", rate_bp=100)
    city_agent = regional_agent_create(
        member_id=city.pk, province="广东省", city="深圳市", rate_bp=200
    )
    district_agent = regional_agent_create(
        member_id=district.pk, province="广东省", city="深圳市", district="南山区", rate_bp=333
    )
    buyer = member_make()
    # when: orders of 100.00 to the district, to another district of the city, to another city
    in_district = _paid(buyer, region=("广东省", "深圳市", "南山区"))
    in_city = _paid(buyer, region=("广东省", "深圳市", "福田区"))
    in_province = _paid(buyer, region=("广东省", "广州市", "天河区"))
    elsewhere = _paid(buyer, region=("浙江省", "杭州市", "西湖区"))
    # then: 3.33 % of 100.00 = 3.33; 2 % = 2.00; 1 % = 1.00; nobody outside
    assert _region_earner(in_district) == {district.pk: 333}
    assert _region_earner(in_city) == {city.pk: 200}
    assert _region_earner(in_province) == {province.pk: 100}
    assert _region_earner(elsewhere) == {}
    commission = Commission.objects.get(order=in_district, kind="region")
    assert (commission.level, commission.state, commission.rate) == (0, "pending", 333)
    assert commission.rule["agent_id"] == district_agent.pk
    assert _balance(district, Kind.COMMISSION_PENDING) == 333
    # and a disabled district agent leaves the district to the city's agent
    regional_agent_disable(agent_id=district_agent.pk)
    assert _region_earner(_paid(buyer, region=("广东省", "深圳市", "南山区"))) == {city.pk: 200}
    assert city_agent.active


def test_region_share_rounds_down_and_beside_level_commissions(shop: Tenant) -> None:
    # given: a bound buyer (10 % to the upline) in a city with a 1.5 % agent
    distribution_settings_update(changes={"enabled": True}, actor="t")
    upline, agent, buyer = member_make(), member_make(), member_make()
    referral_bind(member=buyer, code=distributor_make(member=upline).code, trigger="first_visit")
    regional_agent_create(member_id=agent.pk, province="广东省", city="深圳市", rate_bp=150)
    # when: 3 units of 9.99 = 29.97
    order = _paid(buyer, price_minor=999, quantity=3)
    # then: 1.5 % of 29.97 = 0.44955 → 0.44; the upline's level commission is booked too
    assert _region_earner(order) == {agent.pk: 44}
    level = Commission.objects.get(order=order, kind="level")
    assert (level.beneficiary_id, level.amount_minor) == (upline.pk, 299)


def test_booking_the_region_twice_books_once(shop: Tenant) -> None:
    # given
    distribution_settings_update(changes={"enabled": True}, actor="t")
    agent = member_make()
    regional_agent_create(member_id=agent.pk, province="广东省", rate_bp=100)
    order = _paid(member_make())
    # when: the subscriber runs again
    again = region_commissions_book(order_id=order.pk, event_id="replay")
    # then
    assert again == []
    assert Commission.objects.filter(order=order, kind="region").count() == 1
    assert _balance(agent, Kind.COMMISSION_PENDING) == 100


def test_no_region_share_while_distribution_is_off_or_for_the_agents_own_order(
    shop: Tenant,
) -> None:
    # given: an agent; distribution off
    agent = member_make()
    regional_agent_create(member_id=agent.pk, province="广东省", rate_bp=100)
    off = _paid(member_make())
    # when: on, the agent buys into their own region (self-purchase off)
    distribution_settings_update(changes={"enabled": True}, actor="t")
    own = _paid(agent)
    # then
    assert _region_earner(off) == {}
    assert _region_earner(own) == {}


def test_a_refund_reverses_the_region_share_pro_rata(shop: Tenant) -> None:
    # given: 2 units of 50.00, a 10 % agent: 10.00 booked
    from shop.orders.services.after_sales import (
        AfterSaleItem,
        after_sale_approve,
        after_sale_request,
    )
    from shop.payments.models import Refund
    from shop.payments.services.refunds import refund_submit

    distribution_settings_update(changes={"enabled": True}, actor="t")
    agent = member_make()
    regional_agent_create(member_id=agent.pk, province="广东省", rate_bp=1000)
    order = _paid(member_make(), price_minor=5000, quantity=2)
    line = order.lines.get()
    # when: both units are refunded, one at a time
    for _unit in range(2):
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
        for event in OutboxEvent.objects.filter(topic="order.refunded", settled_at__isnull=True):
            event_deliver(event_id=event.pk)
        if _unit == 0:
            half = _balance(agent, Kind.COMMISSION_PENDING)
    # then: half, then all of it
    commission = Commission.objects.get(order=order, kind="region")
    assert half == 500
    assert (commission.reversed_minor, commission.state) == (1000, "reversed")
    assert _balance(agent, Kind.COMMISSION_PENDING) == 0


def test_a_region_share_is_held_when_the_agent_shares_the_buyers_device(shop: Tenant) -> None:
    # given
    distribution_settings_update(changes={"enabled": True}, actor="t")
    agent = member_make()
    regional_agent_create(member_id=agent.pk, province="广东省", rate_bp=100)
    member_token_issue(member=agent, device_id="shared")
    # when
    order = _paid(member_make(), device="shared")
    # then
    commission = Commission.objects.get(order=order, kind="region")
    assert (commission.state, commission.hold_reason) == ("held", "shared_device")
    assert _balance(agent, Kind.COMMISSION_HELD) == 100
    flag = RiskFlag.objects.get(order=order)
    assert (flag.kind, flag.member_id) == ("region", agent.pk)


def test_a_region_has_one_active_agent_and_bad_input_changes_nothing(shop: Tenant) -> None:
    # given
    first, second = member_make(), member_make()
    agent = regional_agent_create(member_id=first.pk, province="广东省", city="深圳市", rate_bp=100)
    # when / then: the same region again is refused
    with pytest.raises(RegionTakenError):
        regional_agent_create(member_id=second.pk, province="广东省", city="深圳市", rate_bp=100)
    # a district without its city, a rate above 100 %, an unknown member
    with pytest.raises(ValidationFailed) as refused:
        regional_agent_create(member_id=10**9, province="广东省", district="南山区", rate_bp=10001)
    assert set(refused.value.fields) == {"city", "rate_bp", "member_id"}
    assert RegionalAgent.objects.count() == 1
    # editing: another rate and member; disabling frees the region
    updated = regional_agent_update(
        agent_id=agent.pk, member_id=second.pk, province="广东省", city="深圳市", rate_bp=250
    )
    assert (updated.member_id, updated.rate_bp, updated.active) == (second.pk, 250, True)
    regional_agent_disable(agent_id=agent.pk)
    regional_agent_create(member_id=first.pk, province="广东省", city="深圳市", rate_bp=100)
    with pytest.raises(RegionalAgentNotFoundError):
        regional_agent_disable(agent_id=10**9)
