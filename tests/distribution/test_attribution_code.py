"""Attribution priority, typed code > share link > bound upline: a distributor's referral code
(推荐码) typed at checkout is kept on the order and in its events, earns over the share link the
lines carry and over the buyer's bound upline, and the ones passed over are told why; at the
first order the typed code binds the buyer (source "code")."""

from __future__ import annotations

import pytest
from django.test import Client

from distribution.models import Binding, BindingChange, Commission
from distribution.selectors import order_commission_explanation
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.commissions import commissions_book
from distribution.services.settings import distribution_settings_update
from shop.customers.models import Member
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.orders.services.checkout import CheckoutItem, order_checkout
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.support.commerce import (
    address_make,
    member_make,
    member_token,
    product_make,
    sku_of,
)

pytestmark = pytest.mark.django_db


def _settings(**changes: object) -> None:
    distribution_settings_update(
        changes={"enabled": True, "depth": 2, "level_rates": [1000, 500], **changes}, actor="a"
    )


def _distributor_with_upline() -> tuple[Member, Member, str]:
    """A distributor (returned with their own upline, also a distributor) and their code."""
    upline, member = member_make(), member_make()
    referral_bind(member=member, code=distributor_make(member=upline).code, trigger="first_visit")
    return member, upline, distributor_make(member=member).code


def _order(buyer: Member, *, link: str = "", typed: str = "") -> Order:
    address = Member.objects.get(pk=buyer.pk).addresses.first() or address_make(buyer)
    return order_checkout(
        member=buyer,
        items=[CheckoutItem(sku_of(product_make(price_minor=10000, stock=5)).pk, 1, link)],
        address_id=address.pk,
        referral_code=typed,
    )


def _pay(order: Order) -> None:
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)


def _booked(order: Order) -> dict[int, tuple[int, int]]:
    return {
        c.level: (c.beneficiary_id, c.amount_minor) for c in Commission.objects.filter(order=order)
    }


def _reasons(order: Order) -> set[tuple[int, int | None, str]]:
    return {
        (item["level"], item["member_id"], item["reason"])
        for item in order_commission_explanation(order_id=order.pk)
    }


def test_a_typed_code_beats_the_share_link_and_the_bound_upline(shop: Tenant) -> None:
    # given: the buyer is bound to `bound`, comes through `linker`'s link, and types `coder`'s
    _settings()
    bound, _bound_upline, bound_code = _distributor_with_upline()
    linker, _linker_upline, link_code = _distributor_with_upline()
    coder, coder_upline, typed_code = _distributor_with_upline()
    buyer = member_make()
    referral_bind(member=buyer, code=bound_code, trigger="first_visit")
    order = _order(buyer, link=link_code, typed=f" {typed_code.lower()} ")
    _pay(order)
    # when
    commissions_book(order_id=order.pk, event_id="e1")
    # then: the code's owner and their upline earn; the link's owner and the bound upline are
    # each told why not
    assert _booked(order) == {1: (coder.pk, 1000), 2: (coder_upline.pk, 500)}
    reasons = _reasons(order)
    assert (0, bound.pk, "code_priority") in reasons
    assert (0, linker.pk, "code_over_link") in reasons
    assert (1, coder.pk, "earns") in reasons
    assert (2, coder_upline.pk, "earns") in reasons
    assert not any(reason == "link_priority" for _level, _member, reason in reasons)


def test_without_a_typed_code_the_share_link_beats_the_bound_upline(shop: Tenant) -> None:
    # given
    _settings()
    bound, _bound_upline, bound_code = _distributor_with_upline()
    linker, linker_upline, link_code = _distributor_with_upline()
    buyer = member_make()
    referral_bind(member=buyer, code=bound_code, trigger="first_visit")
    order = _order(buyer, link=link_code)
    _pay(order)
    # when
    commissions_book(order_id=order.pk, event_id="e1")
    # then
    assert _booked(order) == {1: (linker.pk, 1000), 2: (linker_upline.pk, 500)}
    reasons = _reasons(order)
    assert (0, bound.pk, "link_priority") in reasons
    assert not any(reason.startswith("code_") for _level, _member, reason in reasons)


@pytest.mark.parametrize("typed", ["NOSUCHCODE", "buyer's own"])
def test_a_typed_code_that_names_no_other_distributor_leaves_the_link_in_charge(
    shop: Tenant, typed: str
) -> None:
    # given: the buyer is a distributor too; they type an unknown code or their own
    _settings()
    linker, linker_upline, link_code = _distributor_with_upline()
    buyer = member_make()
    own_code = distributor_make(member=buyer).code
    order = _order(buyer, link=link_code, typed=own_code if typed == "buyer's own" else typed)
    _pay(order)
    # when
    commissions_book(order_id=order.pk, event_id="e1")
    # then
    assert _booked(order) == {1: (linker.pk, 1000), 2: (linker_upline.pk, 500)}
    assert not any(reason.startswith("code_") for _level, _member, reason in _reasons(order))


def test_the_checkout_api_keeps_the_typed_code_on_the_order_and_in_its_events(
    shop: Tenant,
) -> None:
    # given
    buyer = member_make()
    address = address_make(buyer)
    sku = sku_of(product_make(price_minor=5000, stock=5))
    # when
    response = Client(HTTP_HOST="alpha.localhost").post(
        "/api/v1/checkout",
        {
            "items": [{"sku_id": sku.pk, "quantity": 1, "referral_code": "LINKCODE"}],
            "address_id": address.pk,
            "referral_code": "TYPED123",
        },
        content_type="application/json",
        **member_token(buyer),
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(number=response.json()["number"])
    _pay(order)
    # then
    assert order.referral_code == "TYPED123"
    created = OutboxEvent.objects.get(topic="order.created", payload__order_id=order.pk)
    paid = OutboxEvent.objects.get(topic="order.paid", payload__order_id=order.pk)
    assert created.payload["referral_code"] == paid.payload["referral_code"] == "TYPED123"
    assert created.payload["lines"][0]["referral_code"] == "LINKCODE"


def test_a_too_long_typed_code_is_refused_by_the_checkout_api(shop: Tenant) -> None:
    # given
    buyer = member_make()
    address = address_make(buyer)
    sku = sku_of(product_make(price_minor=5000, stock=5))
    # when
    response = Client(HTTP_HOST="alpha.localhost").post(
        "/api/v1/checkout",
        {
            "items": [{"sku_id": sku.pk, "quantity": 1}],
            "address_id": address.pk,
            "referral_code": "X" * 65,
        },
        content_type="application/json",
        **member_token(buyer),
    )
    # then
    assert response.status_code == 400
    assert not Order.objects.filter(member=buyer).exists()


def test_the_first_order_binds_the_buyer_to_the_typed_codes_distributor(shop: Tenant) -> None:
    # given: binding at the first order; the order carries a link and a typed code
    _settings(binding_trigger="first_order")
    _linker, _linker_upline, link_code = _distributor_with_upline()
    coder, _coder_upline, typed_code = _distributor_with_upline()
    buyer = member_make()
    order = _order(buyer, link=link_code, typed=typed_code)
    # when
    for event in OutboxEvent.objects.filter(topic="order.created", payload__order_id=order.pk):
        event_deliver(event_id=event.pk)
    # then
    binding = Binding.objects.get(member=buyer)
    assert (binding.upline_id, binding.source) == (coder.pk, "code")
    assert BindingChange.objects.get(member=buyer).source == "code"


def test_an_unknown_typed_code_binds_through_the_link_instead(shop: Tenant) -> None:
    # given
    _settings(binding_trigger="first_order")
    linker, _linker_upline, link_code = _distributor_with_upline()
    buyer = member_make()
    order = _order(buyer, link=link_code, typed="NOSUCHCODE")
    # when
    for event in OutboxEvent.objects.filter(topic="order.created", payload__order_id=order.pk):
        event_deliver(event_id=event.pk)
    # then
    binding = Binding.objects.get(member=buyer)
    assert (binding.upline_id, binding.source) == (linker.pk, "link")
