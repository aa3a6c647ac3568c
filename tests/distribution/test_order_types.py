"""Order types: checkout makes normal orders and says so in the order's events; the settings may
exclude types (only those orders can have), and an excluded order earns nobody anything (levels,
regional agent, invite reward), with a decision saying why."""

from __future__ import annotations

import pytest

from distribution.models import Commission, CommissionDecision, DistributionSettings
from distribution.selectors import order_commission_explanation
from distribution.services.commissions import commissions_book
from distribution.services.regions import regional_agent_create
from distribution.services.settings import distribution_settings_get, distribution_settings_update
from infra.errors import ValidationFailed
from shop.customers.models import Member
from shop.events.models import OutboxEvent
from shop.orders.models import Order, OrderType
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.distribution.settlement_support import chain, deliver
from tests.support.commerce import member_make, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db


def _paid(member: Member, *, order_type: str = OrderType.NORMAL, price_minor: int = 10000) -> Order:
    """A paid order of the given type (as a marketing feature would make it), order.paid
    delivered to every subscriber."""
    order = order_make(
        member=member, items=[(sku_of(product_make(price_minor=price_minor, stock=50)), 1)]
    )
    Order.objects.filter(pk=order.pk).update(order_type=order_type, device_id="")
    order.refresh_from_db()
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    deliver("order.paid", order)
    return order


def test_checkout_makes_normal_orders_and_the_events_carry_the_type(shop: Tenant) -> None:
    # when
    order = order_make()
    # then
    assert order.order_type == "normal"
    created = OutboxEvent.objects.get(topic="order.created", payload__order_id=order.pk)
    assert created.payload["order_type"] == "normal"
    assert set(OrderType.values) == {
        "normal",
        "group_buy",
        "bargain",
        "flash_sale",
        "points_exchange",
    }


def test_only_known_order_types_can_be_excluded(shop: Tenant) -> None:
    # given
    before = list(distribution_settings_get().excluded_order_types)
    # when: a type no order can have
    with pytest.raises(ValidationFailed) as refused:
        distribution_settings_update(
            changes={"excluded_order_types": ["flash_sale", "gift"]}, actor="t"
        )
    # then
    assert refused.value.fields["excluded_order_types"][0]["code"] == "invalid_choice"
    assert list(DistributionSettings.objects.get().excluded_order_types) == before
    # when: known types
    saved = distribution_settings_update(
        changes={"excluded_order_types": ["flash_sale", "points_exchange"]}, actor="t"
    )
    # then
    assert list(saved.excluded_order_types) == ["flash_sale", "points_exchange"]


def test_an_excluded_order_type_earns_nothing_and_says_why(shop: Tenant) -> None:
    # given: a bound buyer, a regional agent of the order's province, invite rewards on;
    # flash sales excluded
    distribution_settings_update(
        changes={
            "enabled": True,
            "excluded_order_types": ["flash_sale"],
            "invite_reward_minor": 500,
            "invite_reward_daily_cap": 5,
        },
        actor="t",
        acknowledge_risks=True,
    )
    upline, buyer = chain(2)
    agent = member_make()
    regional_agent_create(member_id=agent.pk, province="广东省", rate_bp=100)
    # when: the buyer's first paid order is a flash sale, then a normal order
    flash = _paid(buyer, order_type=OrderType.FLASH_SALE)
    normal = _paid(buyer)
    # then: nobody earns on the flash sale (no level, region or invite commission)
    assert not Commission.objects.filter(order=flash).exists()
    assert order_commission_explanation(order_id=flash.pk) == [
        {"level": 0, "member_id": None, "reason": "excluded_order_type"}
    ]
    # and the normal order earns its level and regional commissions; being the second paid
    # order it earns no invite reward
    assert sorted(
        Commission.objects.filter(order=normal).values_list("kind", "beneficiary_id")
    ) == [("level", upline.pk), ("region", agent.pk)]


def test_booking_an_excluded_order_again_books_nothing(shop: Tenant) -> None:
    # given
    distribution_settings_update(
        changes={"enabled": True, "excluded_order_types": ["group_buy"]}, actor="t"
    )
    _upline, buyer = chain(2)
    order = _paid(buyer, order_type=OrderType.GROUP_BUY)
    # when
    again = commissions_book(order_id=order.pk, event_id="replay")
    # then
    assert again == []
    assert list(CommissionDecision.objects.filter(order=order).values_list("level", "reason")) == [
        (0, "excluded_order_type")
    ]
