"""Bindings made at the moment the settings name: a visit or registration (API), the first order
or the first payment (order events, with the share code the order's lines carried)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext

from distribution.models import Binding, Commission
from distribution.services.bindings import distributor_make
from distribution.services.settings import distribution_settings_update
from infra.db import schema_connection
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.support.commerce import member_make, member_token, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db


def _deliver(topic: str, order: Order) -> None:
    for event in OutboxEvent.objects.filter(topic=topic, payload__order_id=order.pk):
        event_deliver(event_id=event.pk)


def _pay(order: Order) -> None:
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)


def test_a_visit_through_the_api_binds_the_member(shop: Tenant) -> None:
    # given
    distribution_settings_update(changes={"enabled": True}, actor="a")
    upline, member = member_make(), member_make()
    code = distributor_make(member=upline).code
    api = Client(HTTP_HOST="alpha.localhost")
    # when
    response = api.post(
        "/api/v1/distribution/visits",
        {"code": code, "trigger": "first_visit"},
        content_type="application/json",
        **member_token(member),
    )
    headers = member_token(member)
    with CaptureQueriesContext(schema_connection()) as captured:
        again = api.post(
            "/api/v1/distribution/visits",
            {"code": code, "trigger": "first_visit"},
            content_type="application/json",
            **headers,
        )
    # then
    assert response.status_code == 200, response.content
    assert response.json() == {"bound": True, "reason": "bound"}
    assert again.json() == {"bound": False, "reason": "already_bound_here"}
    assert Binding.objects.get(member=member).upline_id == upline.pk
    # token (+ touch), settings, distributor, graph lock, the binding: the endpoint's budget
    assert len(captured.captured_queries) <= 9, captured.captured_queries


def test_the_first_payment_binds_and_the_paying_order_earns(shop: Tenant) -> None:
    # given: binding at first payment; the order came through a share link
    distribution_settings_update(
        changes={"enabled": True, "binding_trigger": "first_payment"}, actor="a"
    )
    upline, buyer = member_make(), member_make()
    code = distributor_make(member=upline).code
    order = order_make(
        member=buyer,
        items=[(sku_of(product_make(price_minor=10000, stock=5)), 1)],
        referral_code=code,
    )
    _deliver("order.created", order)
    assert not Binding.objects.filter(member=buyer).exists()  # not at the order: at payment
    # when
    _pay(order)
    _deliver("order.paid", order)
    # then
    assert Binding.objects.get(member=buyer).upline_id == upline.pk
    assert Commission.objects.get(order=order).beneficiary_id == upline.pk


def test_the_first_order_binds_but_a_later_order_does_not(shop: Tenant) -> None:
    # given: binding at first order; one buyer's first order carries a code, another's not
    distribution_settings_update(
        changes={"enabled": True, "binding_trigger": "first_order"}, actor="a"
    )
    upline, other = member_make(), member_make()
    bound_buyer, late_buyer = member_make(), member_make()
    with_code = order_make(member=bound_buyer, referral_code=distributor_make(member=upline).code)
    without_code = order_make(member=late_buyer)
    # when: both first orders, then the second buyer's later order with a code
    _deliver("order.created", with_code)
    _deliver("order.created", without_code)
    later = order_make(member=late_buyer, referral_code=distributor_make(member=other).code)
    _deliver("order.created", later)
    # then
    assert Binding.objects.get(member=bound_buyer).upline_id == upline.pk
    assert not Binding.objects.filter(member=late_buyer).exists()
