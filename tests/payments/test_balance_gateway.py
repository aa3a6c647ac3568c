"""Paying an order with the member's store balance, end to end through the storefront API:
the debit and the order's payment in one transaction, refusals that change nothing, replays
that debit once, and refunds that credit the balance back through the normal refund path."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from shop.customers.errors import StoreBalanceInsufficientError
from shop.customers.models import Member, StoreBalanceEntry
from shop.customers.selectors.store_balance import store_balance_entries_total
from shop.customers.services.store_balance import store_balance_credit
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import AfterSale, Order, OrderStatus
from shop.orders.services.after_sales import AfterSaleItem, after_sale_approve, after_sale_request
from shop.payments.models import Gateway, Payment, Refund
from shop.payments.services.payments import payment_start
from shop.payments.services.refunds import refund_submit
from tenants.models import Tenant
from tests.support.commerce import member_make, member_token, order_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(shop: Tenant) -> Client:
    return Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="203.0.113.7")


def _funded(amount_minor: int) -> Member:
    member = member_make()
    store_balance_credit(
        member_id=member.pk,
        amount_minor=amount_minor,
        source="withdrawal",
        source_id=f"w-{member.pk}",
    )
    return member


def _balance(member: Member) -> int:
    return Member.objects.values_list("store_balance_minor", flat=True).get(pk=member.pk)


def _pay(api: Client, member: Member, order: Order, **extra: Any) -> Any:
    return api.post(
        f"/api/v1/orders/{order.number}/pay",
        {"method": "store_balance"},
        content_type="application/json",
        **member_token(member),
        **extra,
    )


def test_an_order_is_paid_in_full_from_the_store_balance(api: Client) -> None:
    # given
    member = _funded(5000)
    order = order_make(member=member, price_minor=1999)
    # when
    response = _pay(api, member, order)
    # then: the payment succeeded at once and the order is paid
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["payment"]["method"] == "store_balance"
    assert body["payment"]["gateway"] == "balance"
    assert body["payment"]["status"] == "succeeded"
    assert body["payment"]["amount_minor"] == 1999
    assert body["client_params"] == {
        "store_balance": True,
        "paid": True,
        "balance_after_minor": 3001,
    }
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.paid_order) == (Payment.Status.SUCCEEDED, True)
    assert OutboxEvent.objects.filter(topic="order.paid", payload__order_id=order.pk).count() == 1
    # and the balance was debited once, keyed by the attempt
    debit = StoreBalanceEntry.objects.get(source="payment", source_id=payment.out_trade_no)
    assert (debit.member_id, debit.amount_minor, debit.balance_after_minor) == (
        member.pk,
        -1999,
        3001,
    )
    assert payment.provider_ref == f"store_balance_entry:{debit.pk}"
    assert _balance(member) == store_balance_entries_total(member_id=member.pk) == 3001
    # and the profile shows what is left
    assert api.get("/api/v1/me", **member_token(member)).json()["store_balance_minor"] == 3001


def test_exactly_the_whole_balance_pays(api: Client) -> None:
    # given
    member = _funded(1999)
    order = order_make(member=member, price_minor=1999)
    # when
    response = _pay(api, member, order)
    # then
    assert response.status_code == 201, response.content
    assert _balance(member) == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_not_enough_balance_is_refused_and_changes_nothing(api: Client) -> None:
    # given
    member = _funded(1998)
    order = order_make(member=member, price_minor=1999)
    # when
    response = _pay(api, member, order, HTTP_IDEMPOTENCY_KEY="pay-short")
    # then
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "insufficient_store_balance"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert not Payment.objects.filter(order=order).exists()
    assert not OutboxEvent.objects.filter(topic="order.paid", payload__order_id=order.pk).exists()
    assert _balance(member) == 1998
    assert StoreBalanceEntry.objects.filter(member=member).count() == 1


def test_without_a_balance_the_order_can_still_be_paid_otherwise(api: Client) -> None:
    # given: a refused balance payment
    member = member_make()
    order = order_make(member=member, price_minor=500)
    assert _pay(api, member, order).status_code == 409
    # when
    response = api.post(
        f"/api/v1/orders/{order.number}/pay",
        {"method": "sandbox"},
        content_type="application/json",
        **member_token(member),
    )
    # then
    assert response.status_code == 201, response.content
    assert response.json()["payment"]["status"] == "pending"


def test_a_replayed_pay_debits_once(api: Client) -> None:
    # given
    member = _funded(5000)
    order = order_make(member=member, price_minor=1200)
    first = _pay(api, member, order, HTTP_IDEMPOTENCY_KEY="pay-1")
    # when: the same request again with its key, then again without one
    replay = _pay(api, member, order, HTTP_IDEMPOTENCY_KEY="pay-1")
    again = _pay(api, member, order)
    # then
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_not_payable"
    assert Payment.objects.filter(order=order).count() == 1
    assert StoreBalanceEntry.objects.filter(member=member, source="payment").count() == 1
    assert _balance(member) == 3800
    assert OutboxEvent.objects.filter(topic="order.paid", payload__order_id=order.pk).count() == 1


def test_only_the_orders_member_pays_with_their_own_balance(api: Client) -> None:
    # given: a rich member and someone else's order
    rich = _funded(10_000)
    order = order_make(price_minor=700)
    # when
    response = _pay(api, rich, order)
    # then
    assert response.status_code == 404
    assert _balance(rich) == 10_000
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_the_service_leaves_a_failed_attempt_when_the_balance_is_short(shop: Tenant) -> None:
    # given
    member = _funded(100)
    order = order_make(member=member, price_minor=1000)
    # when
    with pytest.raises(StoreBalanceInsufficientError) as refused:
        payment_start(order=order, method="store_balance", notify_url="http://alpha.localhost/")
    # then
    assert refused.value.code == "insufficient_store_balance"
    assert list(Payment.objects.filter(order=order).values_list("status", flat=True)) == [
        Payment.Status.FAILED
    ]
    assert _balance(member) == 100


def test_a_refund_of_a_balance_payment_credits_the_balance_back(api: Client) -> None:
    # given: an order of two units of 1000, paid from a balance of 5000
    member = _funded(5000)
    order = order_make(member=member, price_minor=1000, quantity=2)
    assert _pay(api, member, order).status_code == 201
    payment = Payment.objects.get(order=order)
    # when: one unit is refunded through the after-sale and refund path
    after_sale = after_sale_request(
        order=order,
        kind=AfterSale.Kind.REFUND_ONLY,
        reason="Not needed",
        items=[AfterSaleItem(order.lines.get().pk, 1)],
        actor=f"member:{member.pk}",
    )
    after_sale_approve(after_sale=after_sale, actor="account:1")
    for event in OutboxEvent.objects.filter(topic="after_sale.refunding", settled_at__isnull=True):
        event_deliver(event_id=event.pk)
    refund = Refund.objects.get(after_sale=after_sale)
    state = refund_submit(refund_id=refund.pk)
    again = refund_submit(refund_id=refund.pk)
    # then: the refund succeeded at once and the balance got it back, once
    assert state is not None
    assert state.status == "succeeded"
    assert again is None
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    credit = StoreBalanceEntry.objects.get(source="refund", source_id=refund.out_refund_no)
    assert (credit.member_id, credit.amount_minor) == (member.pk, 1000)
    assert refund.provider_ref == f"store_balance_entry:{credit.pk}"
    payment.refresh_from_db()
    assert payment.refunded_minor == 1000
    assert _balance(member) == store_balance_entries_total(member_id=member.pk) == 4000
    after_sale.refresh_from_db()
    assert after_sale.status == AfterSale.Status.REFUNDED


def test_the_balance_gateway_is_a_registered_method(shop: Tenant) -> None:
    # given / when
    from shop.payments.gateways import gateway_get
    from shop.payments.services.payments import METHOD_GATEWAY

    # then
    assert METHOD_GATEWAY[Payment.Method.STORE_BALANCE] == Gateway.BALANCE
    assert gateway_get(Gateway.BALANCE).name == "balance"


def test_the_console_order_page_names_the_store_balance(api: Client, shop: Tenant) -> None:
    # given: an order paid from the balance, and a staff member of the shop
    from tenants.models import Account, Membership, Role

    member = _funded(5000)
    order = order_make(member=member, price_minor=1500)
    assert _pay(api, member, order).status_code == 201
    account = Account.objects.create_user(email="staff@example.com", password="pw-123456789")
    Membership.objects.create(account=account, tenant=shop, role=Role.STAFF)
    console = Client(HTTP_ACCEPT_LANGUAGE="en")
    console.force_login(account)
    # when
    response = console.get(f"/console/alpha/orders/{order.pk}/")
    # then
    assert response.status_code == 200
    assert "<strong>Store balance</strong>" in response.content.decode()
