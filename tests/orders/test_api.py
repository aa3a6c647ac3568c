"""The storefront's cart, checkout, pay, orders and after-sale API, end to end with the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import AfterSale, Order, OrderStatus
from shop.payments.models import Payment, Refund
from tests.support.commerce import address_make, member_make, member_token, product_make, sku_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(shop: Any) -> Client:
    return Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="203.0.113.7")


def _post(api: Client, path: str, body: Any, headers: dict[str, Any], **extra: Any) -> Any:
    return api.post(path, body, content_type="application/json", **headers, **extra)


def _deliver(topic: str) -> None:
    for event in OutboxEvent.objects.filter(topic=topic, settled_at__isnull=True):
        event_deliver(event_id=event.pk)


def test_cart_checkout_pay_with_the_sandbox(api: Client) -> None:
    # given
    member = member_make()
    headers = member_token(member)
    address = address_make(member)
    sku = sku_of(product_make(title="Green tea", price_minor=1999, stock=3))
    # when: two units into the cart, then checkout from the cart
    cart = _post(
        api,
        "/api/v1/cart/items",
        {"sku_id": sku.pk, "quantity": 2, "referral_code": "AMY"},
        headers,
    )
    checkout = _post(
        api,
        "/api/v1/checkout",
        {"from_cart": True, "address_id": address.pk, "device_id": "d-9"},
        headers,
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    # then
    assert cart.status_code == 200, cart.content
    assert cart.json()["quote"]["total_minor"] == 3998
    assert checkout.status_code == 201, checkout.content
    number = checkout.json()["number"]
    order = Order.objects.get(number=number)
    assert (order.total_minor, order.device_id, order.ip) == (3998, "d-9", "203.0.113.7")
    assert order.lines.get().referral_code == "AMY"
    assert api.get("/api/v1/cart", **headers).json()["items"] == []
    # when: pay with the sandbox and confirm
    pay = _post(api, f"/api/v1/orders/{number}/pay", {"method": "sandbox"}, headers)
    assert pay.status_code == 201, pay.content
    confirm = _post(api, pay.json()["client_params"]["confirm_path"], {}, headers)
    # then
    assert confirm.status_code == 200, confirm.content
    assert confirm.json()["status"] == "succeeded"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert OutboxEvent.objects.filter(topic="order.paid", payload__order_id=order.pk).count() == 1
    sku.refresh_from_db()
    assert sku.stock == 1


def test_repeated_idempotency_key_returns_the_first_order(api: Client) -> None:
    # given
    member = member_make()
    headers = member_token(member)
    address = address_make(member)
    sku = sku_of(product_make(stock=5))
    body = {"items": [{"sku_id": sku.pk, "quantity": 1}], "address_id": address.pk}
    # when
    first = _post(api, "/api/v1/checkout", body, headers, HTTP_IDEMPOTENCY_KEY="same")
    second = _post(api, "/api/v1/checkout", body, headers, HTTP_IDEMPOTENCY_KEY="same")
    other = _post(
        api, "/api/v1/checkout", {**body, "buyer_note": "x"}, headers, HTTP_IDEMPOTENCY_KEY="same"
    )
    # then
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.filter(member=member).count() == 1
    sku.refresh_from_db()
    assert sku.stock == 4


def test_sold_out_checkout_answers_409_and_creates_nothing(api: Client) -> None:
    # given
    member = member_make()
    headers = member_token(member)
    address = address_make(member)
    sku = sku_of(product_make(stock=1))
    # when
    response = _post(
        api,
        "/api/v1/checkout",
        {"items": [{"sku_id": sku.pk, "quantity": 2}], "address_id": address.pk},
        headers,
    )
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sold_out"
    assert not Order.objects.filter(member=member).exists()


def test_member_cancels_an_unpaid_order_and_the_stock_returns(api: Client) -> None:
    # given
    member = member_make()
    headers = member_token(member)
    address = address_make(member)
    sku = sku_of(product_make(stock=5))
    number = _post(
        api,
        "/api/v1/checkout",
        {"items": [{"sku_id": sku.pk, "quantity": 2}], "address_id": address.pk},
        headers,
    ).json()["number"]
    # when
    response = _post(api, f"/api/v1/orders/{number}/cancel", {}, headers)
    # then
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    sku.refresh_from_db()
    assert sku.stock == 5
    again = _post(api, f"/api/v1/orders/{number}/cancel", {}, headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_state_invalid"
    sku.refresh_from_db()
    assert sku.stock == 5


def test_another_members_order_is_not_found(api: Client) -> None:
    # given
    owner = member_make()
    address = address_make(owner)
    sku = sku_of(product_make())
    number = _post(
        api,
        "/api/v1/checkout",
        {"items": [{"sku_id": sku.pk, "quantity": 1}], "address_id": address.pk},
        member_token(owner),
    ).json()["number"]
    stranger = member_token(member_make())
    # when
    detail = api.get(f"/api/v1/orders/{number}", **stranger)
    cancel = _post(api, f"/api/v1/orders/{number}/cancel", {}, stranger)
    # then
    assert (detail.status_code, cancel.status_code) == (404, 404)
    assert Order.objects.get(number=number).status == OrderStatus.PENDING_PAYMENT


def test_refund_only_after_sale_refunds_through_the_sandbox_and_restocks(api: Client) -> None:
    # given: a paid order of 3 units, not shipped
    member = member_make()
    headers = member_token(member)
    address = address_make(member)
    sku = sku_of(product_make(price_minor=1000, stock=10))
    number = _post(
        api,
        "/api/v1/checkout",
        {"items": [{"sku_id": sku.pk, "quantity": 3}], "address_id": address.pk},
        headers,
    ).json()["number"]
    pay = _post(api, f"/api/v1/orders/{number}/pay", {"method": "sandbox"}, headers).json()
    _post(api, pay["client_params"]["confirm_path"], {}, headers)
    order = Order.objects.get(number=number)
    line = order.lines.get()
    # when: the member asks for 1 unit back and the merchant approves
    created = _post(
        api,
        f"/api/v1/orders/{number}/after-sales",
        {
            "kind": "refund_only",
            "reason": "Changed my mind",
            "items": [{"line_id": line.pk, "quantity": 1}],
        },
        headers,
    )
    assert created.status_code == 201, created.content
    from shop.orders.services.after_sales import after_sale_approve

    after_sale = AfterSale.objects.get(pk=created.json()["id"])
    after_sale_approve(after_sale=after_sale, actor="account:1")
    _deliver("after_sale.refunding")
    # then: the refund is created; the sandbox refunds at once when it is sent
    refund = Refund.objects.get(after_sale=after_sale)
    from shop.payments.services.refunds import refund_submit

    refund_submit(refund_id=refund.pk)
    refund.refresh_from_db()
    after_sale.refresh_from_db()
    line.refresh_from_db()
    order.refresh_from_db()
    sku.refresh_from_db()
    assert (refund.amount_minor, refund.status) == (1000, "succeeded")
    assert after_sale.status == "refunded"
    assert (line.refunded_quantity, line.refunded_minor) == (1, 1000)
    assert (order.refunded_minor, order.status) == (1000, OrderStatus.PAID)
    assert sku.stock == 8
    assert Payment.objects.get(order=order, paid_order=True).refunded_minor == 1000


def test_the_sandbox_is_refused_where_it_is_off(api: Client) -> None:
    # given: settings as in production (no sandbox)
    from django.test import override_settings

    member = member_make()
    headers = member_token(member)
    address = address_make(member)
    sku = sku_of(product_make())
    number = _post(
        api,
        "/api/v1/checkout",
        {"items": [{"sku_id": sku.pk, "quantity": 1}], "address_id": address.pk},
        headers,
    ).json()["number"]
    # when
    with override_settings(SANDBOX_PAYMENTS=False):
        response = _post(api, f"/api/v1/orders/{number}/pay", {"method": "sandbox"}, headers)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "payment_method_unavailable"
    assert not Payment.objects.filter(order__number=number).exists()


def test_a_repeated_after_sale_request_with_its_key_is_made_once(api: Client) -> None:
    # given: a paid order of 2 units
    member = member_make()
    headers = member_token(member)
    address = address_make(member)
    sku = sku_of(product_make(stock=5))
    number = _post(
        api,
        "/api/v1/checkout",
        {"items": [{"sku_id": sku.pk, "quantity": 2}], "address_id": address.pk},
        headers,
    ).json()["number"]
    pay = _post(api, f"/api/v1/orders/{number}/pay", {"method": "sandbox"}, headers).json()
    _post(api, pay["client_params"]["confirm_path"], {}, headers)
    line_id = Order.objects.get(number=number).lines.get().pk
    body = {"kind": "refund_only", "reason": "Late", "items": [{"line_id": line_id, "quantity": 1}]}
    # when
    first = _post(
        api, f"/api/v1/orders/{number}/after-sales", body, headers, HTTP_IDEMPOTENCY_KEY="a"
    )
    again = _post(
        api, f"/api/v1/orders/{number}/after-sales", body, headers, HTTP_IDEMPOTENCY_KEY="a"
    )
    # then
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert AfterSale.objects.filter(order__number=number).count() == 1


def test_the_quote_prices_items_and_shipping_for_the_address(api: Client) -> None:
    # given: ¥8 for the first item and ¥2 for each further one
    from shop.catalog.models import ShippingTemplate

    ShippingTemplate.objects.create(
        name="Flat", first_fee_minor=800, additional_fee_minor=200, is_default=True
    )
    member = member_make()
    headers = member_token(member)
    address = address_make(member)
    sku = sku_of(product_make(price_minor=1500, stock=5))
    # when
    response = _post(
        api,
        "/api/v1/checkout/quote",
        {"items": [{"sku_id": sku.pk, "quantity": 3}], "address_id": address.pk},
        headers,
    )
    # then
    assert response.status_code == 200, response.content
    assert {k: response.json()[k] for k in ("items_minor", "shipping_minor", "total_minor")} == {
        "items_minor": 4500,
        "shipping_minor": 1200,
        "total_minor": 5700,
    }
    assert not Order.objects.filter(member=member).exists()
