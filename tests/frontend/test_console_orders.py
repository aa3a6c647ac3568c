"""The console's order pages: the list (tabs, search, dates, pages, query budget), an order's
page and its actions (ship, cancel, refund units, offline payment, note), after-sales; who may do
what; shops kept apart."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from infra.db import schema_connection, tenant_schema
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import AfterSale, Order, OrderLine, OrderTransition
from shop.orders.services.after_sales import AfterSaleItem, after_sale_request
from shop.orders.services.orders import order_ship
from shop.payments.models import Payment, Refund
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from shop.payments.services.refunds import refund_submit
from tenants.models import Account, Role, Tenant
from tests.support.commerce import member_make, order_make, product_make, sku_of
from tests.support.console import console_client, console_login

BASE = "/console/alpha/orders"


def _key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def staff(shop: Tenant) -> tuple[Client, Account]:
    return console_login(shop, Role.STAFF, "staff@example.com")


@pytest.fixture
def staff_client(staff: tuple[Client, Account]) -> Client:
    return staff[0]


@pytest.fixture
def admin_client(shop: Tenant) -> Client:
    return console_client(shop, Role.ADMIN, "admin@example.com")


@pytest.fixture
def clerk_client(shop: Tenant) -> Client:
    return console_client(shop, Role.CLERK, "clerk@example.com")


def _pay(order: Order) -> Payment:
    started = payment_start(order=order, method="sandbox", notify_url="http://alpha.localhost/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    return Payment.objects.get(pk=started.payment.pk)


def _paid_order(**kwargs: Any) -> Order:
    order = order_make(**kwargs)
    _pay(order)
    return order


def _errors(html: str) -> list[str]:
    return re.findall(r'<div class="form-errors" role="alert"><ul>(?:<li>(.*?)</li>)+', html)


def _field_errors(html: str, field: str) -> list[str]:
    match = re.search(rf'data-field="{field}">.*?<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def _order_rows(html: str) -> list[str]:
    """The order numbers listed, in order."""
    return re.findall(r'<a class="order-number" href="[^"]+">([^<]+)</a>', html)


# --- The list


def test_the_list_shows_orders_with_status_tabs_and_money(staff_client: Client) -> None:
    # given: one unpaid, two paid (one shipped)
    unpaid = order_make(price_minor=1250, quantity=2)
    paid = _paid_order(price_minor=9900)
    shipped = _paid_order(price_minor=500)
    order_ship(order=shipped, carrier="SF", tracking_number="SF100", actor="account:1")
    # when
    everything = staff_client.get(f"{BASE}/")
    to_ship = staff_client.get(f"{BASE}/", {"status": "paid"})
    # then
    html = everything.content.decode()
    assert everything.status_code == 200
    assert _order_rows(html) == [shipped.number, paid.number, unpaid.number]
    assert '<a href="/console/alpha/orders/" aria-current="page">' in html
    assert f'<li class="order-row" data-order="{unpaid.pk}">' in html
    assert "CN¥25.00" in html
    assert "CN¥99.00" in html
    assert re.search(r'data-status="" aria-current="page">All <span class="count">3</span>', html)
    assert 'data-status="pending_payment">Awaiting payment <span class="count">1</span>' in html
    assert 'data-status="paid">To ship <span class="count">1</span>' in html
    assert 'data-status="shipped">Shipped <span class="count">1</span>' in html
    assert "SF SF100" in html
    assert _order_rows(to_ship.content.decode()) == [paid.number]


def test_the_list_speaks_chinese_with_yuan(shop: Tenant) -> None:
    # given
    order_make(price_minor=1250)
    client, _account = console_login(shop, Role.STAFF, "zh@example.com")
    client.defaults.pop("HTTP_ACCEPT_LANGUAGE")
    # when
    html = client.get(f"{BASE}/").content.decode()
    # then
    assert "¥12.50" in html
    assert "CN¥" not in html


def test_the_list_searches_by_number_recipient_and_tracking_and_by_dates(
    staff_client: Client,
) -> None:
    # given
    first = _paid_order()
    second = order_make()
    third = _paid_order()
    order_ship(order=third, carrier="YTO", tracking_number="YT778899", actor="account:1")
    Order.objects.filter(pk=second.pk).update(recipient_name="李四")
    Order.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=10))
    today = timezone.localdate(timezone=timezone.get_fixed_timezone(480)).isoformat()
    # when
    by_number = staff_client.get(f"{BASE}/", {"q": first.number})
    by_recipient = staff_client.get(f"{BASE}/", {"q": "李四"})
    by_tracking = staff_client.get(f"{BASE}/", {"q": "YT778899"})
    since_today = staff_client.get(f"{BASE}/", {"created_from": today})
    until_yesterday = staff_client.get(
        f"{BASE}/", {"created_to": (timezone.now() - timedelta(days=2)).date().isoformat()}
    )
    nothing = staff_client.get(f"{BASE}/", {"q": "nobody"})
    # then
    assert _order_rows(by_number.content.decode()) == [first.number]
    assert _order_rows(by_recipient.content.decode()) == [second.number]
    assert _order_rows(by_tracking.content.decode()) == [third.number]
    assert _order_rows(since_today.content.decode()) == [third.number, second.number]
    assert _order_rows(until_yesterday.content.decode()) == [first.number]
    assert 'id="no-match"' in nothing.content.decode()


def test_the_list_pages_keep_the_filters(staff_client: Client) -> None:
    # given
    sku = sku_of(product_make(stock=100))
    member = member_make()
    orders = [order_make(member=member, items=[(sku, 1)]) for _ in range(23)]
    # when
    first = staff_client.get(f"{BASE}/", {"status": "pending_payment"}).content.decode()
    second = staff_client.get(
        f"{BASE}/", {"status": "pending_payment", "page": "2"}
    ).content.decode()
    # then
    assert len(_order_rows(first)) == 20
    assert _order_rows(second) == [order.number for order in orders[:3]][::-1]
    assert 'href="?status=pending_payment&amp;page=2" rel="next"' in first
    assert "Page 1 of 2 · 23 orders" in first


def test_an_htmx_filter_returns_only_the_results(staff_client: Client) -> None:
    # given
    order = order_make()
    # when
    response = staff_client.get(f"{BASE}/", {"q": order.number}, HTTP_HX_REQUEST="true")
    # then
    html = response.content.decode()
    assert html.startswith('<div id="order-results">')
    assert _order_rows(html) == [order.number]
    assert "<html" not in html


def _queries(request: Callable[[], Any]) -> tuple[int, int]:
    request()  # warm: routing and sessions as a running process has them
    with CaptureQueriesContext(schema_connection()) as captured:
        response = request()
    return response.status_code, len(captured.captured_queries)


# Session, account, membership, the account's shops, status counts, count, page, lines.
ORDER_LIST_BUDGET = 8


@pytest.mark.parametrize(
    "params",
    [{}, {"status": "pending_payment", "q": "张三"}, {"created_from": "2020-01-01"}],
    ids=["plain", "status-search", "dates"],
)
def test_the_order_list_budget_does_not_grow_with_the_page_size(
    staff_client: Client, params: dict[str, str]
) -> None:
    # given: 30 orders of two lines each
    skus = [sku_of(product_make(title=f"Tea {n}", stock=100)) for n in range(2)]
    member = member_make()
    for _ in range(30):
        order_make(member=member, items=[(skus[0], 1), (skus[1], 2)])
    # when
    small = _queries(lambda: staff_client.get(f"{BASE}/", {**params, "page_size": "20"}))
    large = _queries(lambda: staff_client.get(f"{BASE}/", {**params, "page_size": "50"}))
    # then
    assert (small[0], large[0]) == (200, 200)
    assert small[1] == large[1]
    assert large[1] <= ORDER_LIST_BUDGET, large[1]
    listed = staff_client.get(f"{BASE}/", {**params, "page_size": "50"}).content.decode()
    assert len(_order_rows(listed)) == 30


# --- An order's page


# Session, account, membership, order, lines, history, after-sales, their lines, the account's
# shops, payments, refunds, units in open requests, the shop's people (names in the history),
# the order's commissions and their decisions (with the members).
ORDER_PAGE_BUDGET = 15


def test_the_order_page_budget_does_not_grow_with_lines_and_requests(
    admin_client: Client,
) -> None:
    # given: a one-line order with one request, and a four-line order with three
    skus = [sku_of(product_make(title=f"Tea {n}", stock=100)) for n in range(4)]
    small = _paid_order(items=[(skus[0], 3)])
    large = _paid_order(items=[(sku, 3) for sku in skus])
    _requested(small)
    for _ in range(3):
        _requested(large)
    # when
    one = _queries(lambda: admin_client.get(f"{BASE}/{small.pk}/"))
    many = _queries(lambda: admin_client.get(f"{BASE}/{large.pk}/"))
    # then
    assert (one[0], many[0]) == (200, 200)
    assert one[1] == many[1]
    assert many[1] <= ORDER_PAGE_BUDGET, many[1]


def test_the_order_page_shows_lines_amounts_masked_phone_and_history(
    staff_client: Client,
) -> None:
    # given
    order = _paid_order(price_minor=1999, quantity=3)
    Order.objects.filter(pk=order.pk).update(buyer_note="请周末送")
    # when
    response = staff_client.get(f"{BASE}/{order.pk}/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<h1>Order {order.number}</h1>" in html
    assert '<span class="badge large status-paid" id="order-status">To ship</span>' in html
    assert "CN¥19.99 \u00d7 3" in html
    assert '<strong id="order-total">CN¥59.97</strong>' in html
    assert '<span id="recipient-phone">138****8000</span>' in html
    assert "13800138000" not in html
    assert '<p id="buyer-note">请周末送</p>' in html
    assert "Sandbox (test)" in html
    assert '<li data-to="pending_payment">' in html
    assert '<li data-to="paid">' in html
    assert 'id="ship-form"' in html
    assert 'id="cancel-form"' not in html
    assert 'id="refund-form"' not in html  # staff may not refund


def test_shipping_a_paid_order_records_the_tracking_number(
    staff: tuple[Client, Account],
) -> None:
    # given
    client, account = staff
    order = _paid_order()
    # when
    response = client.post(
        f"{BASE}/{order.pk}/ship/", {"carrier": "顺丰速运", "tracking_number": " SF1234567 "}
    )
    # then
    order.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/{order.pk}/"
    assert (order.status, order.carrier, order.tracking_number) == (
        "shipped",
        "顺丰速运",
        "SF1234567",
    )
    transition = OrderTransition.objects.filter(order=order).last()
    assert transition is not None
    assert (transition.to_status, transition.actor) == ("shipped", f"account:{account.pk}")
    page = client.get(f"{BASE}/{order.pk}/").content.decode()
    assert '<dd id="tracking-number"><code>SF1234567</code></dd>' in page
    assert f"Order {order.number} is shipped with 顺丰速运 SF1234567." in page
    assert "staff@example.com" in page  # the history names who shipped


def test_shipping_an_unpaid_order_shows_the_error_and_changes_nothing(
    staff_client: Client,
) -> None:
    # given
    order = order_make()
    transitions = OrderTransition.objects.filter(order=order).count()
    # when
    response = staff_client.post(
        f"{BASE}/{order.pk}/ship/", {"carrier": "SF", "tracking_number": "SF1"}
    )
    # then
    html = response.content.decode()
    assert response.status_code == 400
    assert _errors(html) == ["Only a paid order can be shipped."]
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == ("pending_payment", "", "")
    assert OrderTransition.objects.filter(order=order).count() == transitions


def test_shipping_needs_a_carrier_and_a_tracking_number(staff_client: Client) -> None:
    # given
    order = _paid_order()
    # when
    response = staff_client.post(f"{BASE}/{order.pk}/ship/", {"carrier": "", "tracking_number": ""})
    # then
    html = response.content.decode()
    assert response.status_code == 400
    assert _field_errors(html, "carrier") == ["This field is required."]
    assert _field_errors(html, "tracking_number") == ["This field is required."]
    order.refresh_from_db()
    assert order.status == "paid"


def test_cancelling_an_unpaid_order_restocks_it(staff_client: Client) -> None:
    # given
    sku = sku_of(product_make(stock=10))
    order = order_make(items=[(sku, 4)])
    # when
    response = staff_client.post(f"{BASE}/{order.pk}/cancel/", {"reason": "买家要求"})
    # then
    order.refresh_from_db()
    sku.refresh_from_db()
    assert response.status_code == 302
    assert (order.status, order.cancel_reason) == ("cancelled", "买家要求")
    assert sku.stock == 10


def test_a_paid_order_cannot_be_cancelled(staff_client: Client) -> None:
    # given
    order = _paid_order()
    # when
    response = staff_client.post(f"{BASE}/{order.pk}/cancel/", {"reason": ""})
    # then
    assert response.status_code == 400
    assert _errors(response.content.decode()) == [
        "Only an order that is not paid yet can be cancelled."
    ]
    order.refresh_from_db()
    assert order.status == "paid"


def test_refunding_one_unit_creates_the_after_sale_and_the_refund(
    admin_client: Client,
) -> None:
    # given: 3 units of 10.00 paid
    order = _paid_order(price_minor=1000, quantity=3)
    line = OrderLine.objects.get(order=order)
    page = admin_client.get(f"{BASE}/{order.pk}/").content.decode()
    assert 'id="refund-form"' in page
    # when
    response = admin_client.post(
        f"{BASE}/{order.pk}/refund/",
        {f"line_{line.pk}": "1", "reason": "破损", "idempotency_key": _key()},
    )
    event = OutboxEvent.objects.get(topic="after_sale.refunding", payload__order_id=order.pk)
    event_deliver(event_id=event.pk)
    refund = Refund.objects.get(order=order)
    refund_submit(refund_id=refund.pk)
    # then
    assert response.status_code == 302
    after_sale = AfterSale.objects.get(order=order)
    assert (after_sale.kind, after_sale.amount_minor, after_sale.reason) == (
        "refund_only",
        1000,
        "破损",
    )
    assert list(after_sale.lines.values_list("order_line_id", "quantity")) == [(line.pk, 1)]
    refund.refresh_from_db()
    assert (refund.amount_minor, refund.reason, refund.status) == (1000, "after_sale", "succeeded")
    order.refresh_from_db()
    line.refresh_from_db()
    after_sale.refresh_from_db()
    assert (order.refunded_minor, line.refunded_quantity, after_sale.status) == (
        1000,
        1,
        "refunded",
    )
    shown = admin_client.get(f"{BASE}/{order.pk}/").content.decode()
    assert f'<li class="record" data-refund="{refund.pk}">' in shown
    assert '<dd id="order-refunded">CN¥10.00</dd>' in shown


def test_refunding_more_units_than_are_left_is_refused(admin_client: Client) -> None:
    # given
    order = _paid_order(price_minor=1000, quantity=2)
    line = OrderLine.objects.get(order=order)
    # when
    response = admin_client.post(
        f"{BASE}/{order.pk}/refund/",
        {f"line_{line.pk}": "3", "reason": "破损", "idempotency_key": _key()},
    )
    nothing = admin_client.post(
        f"{BASE}/{order.pk}/refund/",
        {f"line_{line.pk}": "0", "reason": "x", "idempotency_key": _key()},
    )
    # then
    assert (response.status_code, nothing.status_code) == (400, 400)
    assert "Ensure this value is less than or equal to 2." in response.content.decode()
    assert _errors(nothing.content.decode()) == ["Choose at least one unit to refund."]
    assert not AfterSale.objects.filter(order=order).exists()


def test_a_clerk_may_look_but_not_refund_nor_act(clerk_client: Client) -> None:
    # given
    order = _paid_order(price_minor=1000, quantity=2)
    line = OrderLine.objects.get(order=order)
    pending = order_make()
    payment = payment_start(
        order=pending, method="cash_on_pickup", notify_url="http://alpha.localhost/"
    ).payment
    # when
    listing = clerk_client.get(f"{BASE}/")
    page = clerk_client.get(f"{BASE}/{order.pk}/")
    writes = {
        f"{BASE}/{order.pk}/refund/": {
            f"line_{line.pk}": "1",
            "reason": "x",
            "idempotency_key": _key(),
        },
        f"{BASE}/{order.pk}/ship/": {"carrier": "SF", "tracking_number": "1"},
        f"{BASE}/{order.pk}/note/": {"merchant_note": "x"},
        f"{BASE}/{pending.pk}/cancel/": {},
        f"{BASE}/{pending.pk}/payments/{payment.pk}/confirm/": {},
    }
    statuses = {url: clerk_client.post(url, data).status_code for url, data in writes.items()}
    # then
    assert (listing.status_code, page.status_code) == (200, 200)
    assert 'id="read-only-note"' in page.content.decode()
    assert 'id="ship-form"' not in page.content.decode()
    assert statuses == dict.fromkeys(writes, 403)
    order.refresh_from_db()
    pending.refresh_from_db()
    assert (order.status, order.refunded_minor, order.merchant_note) == ("paid", 0, "")
    assert pending.status == "pending_payment"
    assert not AfterSale.objects.filter(order=order).exists()
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_staff_cannot_refund(staff_client: Client) -> None:
    # given
    order = _paid_order()
    line = OrderLine.objects.get(order=order)
    # when
    response = staff_client.post(
        f"{BASE}/{order.pk}/refund/",
        {f"line_{line.pk}": "1", "reason": "x", "idempotency_key": _key()},
    )
    # then
    assert response.status_code == 403
    assert not AfterSale.objects.filter(order=order).exists()


def test_confirming_an_offline_payment_marks_the_order_paid(
    staff: tuple[Client, Account],
) -> None:
    # given
    client, account = staff
    order = order_make(price_minor=3000)
    payment = payment_start(
        order=order, method="bank_transfer", notify_url="http://alpha.localhost/"
    ).payment
    page = client.get(f"{BASE}/{order.pk}/").content.decode()
    assert f'id="confirm-payment-{payment.pk}"' in page
    # when
    response = client.post(f"{BASE}/{order.pk}/payments/{payment.pk}/confirm/")
    again = client.post(f"{BASE}/{order.pk}/payments/{payment.pk}/confirm/")
    # then
    assert (response.status_code, again.status_code) == (302, 302)
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == "paid"
    assert (payment.status, payment.paid_order, payment.confirmed_by) == (
        "succeeded",
        True,
        f"account:{account.pk}",
    )
    shown = client.get(f"{BASE}/{order.pk}/").content.decode()
    assert f'id="confirm-payment-{payment.pk}"' not in shown
    assert "confirmed by staff@example.com" in shown


def test_an_online_payment_cannot_be_confirmed_by_hand(staff_client: Client) -> None:
    # given
    order = order_make()
    payment = payment_start(order=order, method="sandbox", notify_url="http://x/").payment
    # when
    response = staff_client.post(f"{BASE}/{order.pk}/payments/{payment.pk}/confirm/", follow=True)
    # then
    assert "This payment does not exist." in response.content.decode()
    order.refresh_from_db()
    assert order.status == "pending_payment"
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_the_merchant_note_is_saved(staff_client: Client) -> None:
    # given
    order = order_make()
    # when
    response = staff_client.post(f"{BASE}/{order.pk}/note/", {"merchant_note": " 老客户，送小样 "})
    too_long = staff_client.post(f"{BASE}/{order.pk}/note/", {"merchant_note": "x" * 501})
    # then
    assert (response.status_code, too_long.status_code) == (302, 400)
    order.refresh_from_db()
    assert order.merchant_note == "老客户，送小样"


def test_an_order_of_another_shop_is_not_found(admin_client: Client, other_shop: Tenant) -> None:
    # given
    with tenant_schema(other_shop):
        foreign = order_make()
        _pay(foreign)
        line = OrderLine.objects.get(order=foreign)
    assert not Order.objects.filter(pk=foreign.pk).exists()
    # when
    responses = [
        admin_client.get(f"{BASE}/{foreign.pk}/"),
        admin_client.post(f"{BASE}/{foreign.pk}/ship/", {"carrier": "SF", "tracking_number": "1"}),
        admin_client.post(
            f"{BASE}/{foreign.pk}/refund/",
            {f"line_{line.pk}": "1", "reason": "x", "idempotency_key": _key()},
        ),
        admin_client.post(f"{BASE}/{foreign.pk}/cancel/", {}),
    ]
    # then
    assert [response.status_code for response in responses] == [404, 404, 404, 404]
    with tenant_schema(other_shop):
        foreign.refresh_from_db()
        assert (foreign.status, foreign.tracking_number) == ("paid", "")
        assert not AfterSale.objects.exists()


# --- After-sales


def _requested(order: Order, *, kind: str = "refund_only", quantity: int = 1) -> AfterSale:
    """A member's request for `quantity` units of each line of the order."""
    return after_sale_request(
        order=order,
        kind=kind,
        reason="不想要了",
        items=[
            AfterSaleItem(line_id=line_id, quantity=quantity)
            for line_id in OrderLine.objects.filter(order=order).values_list("pk", flat=True)
        ],
        actor=f"member:{order.member_id}",
    )


def test_the_after_sales_page_lists_open_requests_by_stage(staff_client: Client) -> None:
    # given
    to_review = _requested(_paid_order(price_minor=800, quantity=2))
    shipped = _paid_order()
    order_ship(order=shipped, carrier="SF", tracking_number="1", actor="system")
    returning = _requested(shipped, kind="return_refund")
    AfterSale.objects.filter(pk=returning.pk).update(status="return_shipped")
    # when
    review = staff_client.get(f"{BASE}/after-sales/").content.decode()
    returns = staff_client.get(f"{BASE}/after-sales/", {"tab": "returns"}).content.decode()
    # then
    assert f'data-after-sale="{to_review.pk}"' in review
    assert f'data-after-sale="{returning.pk}"' not in review
    assert "CN¥8.00" in review
    assert "不想要了" in review
    assert 'data-tab="review" aria-current="page">To review <span class="count">1</span>' in review
    assert 'data-tab="returns">Returns <span class="count">1</span>' in review
    assert "Approve and refund" not in review  # staff may reject, not approve
    assert ">Reject</button>" in review
    assert f'data-after-sale="{returning.pk}"' in returns


def test_approving_a_refund_request_sends_the_refund(admin_client: Client) -> None:
    # given
    order = _paid_order(price_minor=1500, quantity=2)
    after_sale = _requested(order)
    # when
    response = admin_client.post(
        f"{BASE}/after-sales/{after_sale.pk}/approve/", {f"as{after_sale.pk}-note": "好的"}
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/after-sales/"
    after_sale.refresh_from_db()
    assert (after_sale.status, after_sale.merchant_note) == ("refunding", "好的")
    assert OutboxEvent.objects.filter(
        topic="after_sale.refunding", payload__after_sale_id=after_sale.pk
    ).exists()


def test_rejecting_needs_a_note_shown_on_the_card(staff_client: Client) -> None:
    # given
    order = _paid_order()
    after_sale = _requested(order)
    # when
    blank = staff_client.post(
        f"{BASE}/after-sales/{after_sale.pk}/reject/", {f"as{after_sale.pk}-note": " "}
    )
    rejected = staff_client.post(
        f"{BASE}/after-sales/{after_sale.pk}/reject/",
        {f"as{after_sale.pk}-note": "已发货", f"as{after_sale.pk}-next": "order"},
    )
    # then
    assert blank.status_code == 400
    assert _errors(blank.content.decode()) == ["Tell the member why the request is rejected."]
    assert rejected.status_code == 302
    assert rejected["Location"] == f"{BASE}/{order.pk}/"
    after_sale.refresh_from_db()
    assert (after_sale.status, after_sale.merchant_note) == ("rejected", "已发货")


def test_staff_cannot_approve_or_take_a_return_back(staff_client: Client) -> None:
    # given
    after_sale = _requested(_paid_order())
    # when
    approve = staff_client.post(f"{BASE}/after-sales/{after_sale.pk}/approve/", {})
    receive = staff_client.post(f"{BASE}/after-sales/{after_sale.pk}/receive/", {})
    # then
    assert (approve.status_code, receive.status_code) == (403, 403)
    after_sale.refresh_from_db()
    assert after_sale.status == "requested"


def test_a_received_return_is_refunded(admin_client: Client) -> None:
    # given
    order = _paid_order()
    order_ship(order=order, carrier="SF", tracking_number="1", actor="system")
    after_sale = _requested(order, kind="return_refund")
    admin_client.post(f"{BASE}/after-sales/{after_sale.pk}/approve/", {})
    after_sale.refresh_from_db()
    assert after_sale.status == "awaiting_return"
    # when
    response = admin_client.post(f"{BASE}/after-sales/{after_sale.pk}/receive/", {})
    # then
    assert response.status_code == 302
    after_sale.refresh_from_db()
    assert after_sale.status == "refunding"


def test_the_orders_pages_link_each_other(staff_client: Client) -> None:
    # when
    html = staff_client.get(f"{BASE}/after-sales/").content.decode()
    # then
    start = html.index('<nav class="section-tabs"')
    tabs = html[start : html.index("</nav>", start)]
    assert re.findall(r'href="([^"]+)"', tabs) == [
        f"{BASE}/",
        f"{BASE}/after-sales/",
        f"{BASE}/shipping/",
        f"{BASE}/reconciliation/",
    ]


def test_a_resubmitted_refund_form_refunds_once(admin_client: Client) -> None:
    # given: 3 units paid, and one rendered refund form (one key)
    order = _paid_order(price_minor=1000, quantity=3)
    line = OrderLine.objects.get(order=order)
    form = {f"line_{line.pk}": "1", "reason": "破损", "idempotency_key": _key()}
    # when: it is sent twice (a double click, a resubmitted page)
    first = admin_client.post(f"{BASE}/{order.pk}/refund/", form)
    second = admin_client.post(f"{BASE}/{order.pk}/refund/", form)
    # then
    assert (first.status_code, second.status_code) == (302, 302)
    assert AfterSale.objects.filter(order=order).count() == 1
    assert (
        OutboxEvent.objects.filter(topic="after_sale.refunding", payload__order_id=order.pk).count()
        == 1
    )
