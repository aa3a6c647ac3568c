"""The distributor center API: profile, apply, earnings by state, team by level, the orders that
earned commissions, the ranking; member auth, stable error codes and query budgets that do not
grow with the page size."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.test.utils import CaptureQueriesContext

from distribution.models import Commission, Distributor, DistributorApplication
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.qualification import distributor_application_reject
from distribution.services.settings import distribution_settings_update
from infra.db import schema_connection
from shop.customers.models import Member
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.orders.services.orders import order_receive, order_ship
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.support.commerce import member_make, member_token, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db

# The token, the distributor, the page's count, the page (per-row figures are subqueries).
TEAM_BUDGET = 4
ORDERS_BUDGET = 4
# The token, the distributor, the ledger balances, the commission totals, the team counts.
EARNINGS_BUDGET = 5
# The token, the distributor; the board and the member's rank come from the cache.
RANKING_CACHED_BUDGET = 2
# The token, the settings, the distributor (with grade), the default grade, the spend (two),
# the upline, the latest application.
ME_BUDGET = 8


@pytest.fixture
def api(shop: Tenant) -> Client:
    return Client(HTTP_HOST="alpha.localhost")


def _on(**changes: Any) -> None:
    distribution_settings_update(
        changes={"enabled": True, "depth": 3, "level_rates": [1000, 500, 200], **changes},
        actor="a",
    )


def _bind(child: Member, parent: Member) -> None:
    referral_bind(member=child, code=distributor_make(member=parent).code, trigger="first_visit")


def _paid(member: Member, *, price_minor: int, quantity: int = 1) -> Order:
    order = order_make(
        member=member, items=[(sku_of(product_make(price_minor=price_minor, stock=50)), quantity)]
    )
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    return order


def _deliver(topic: str) -> None:
    for event in OutboxEvent.objects.filter(topic=topic, settled_at__isnull=True):
        event_deliver(event_id=event.pk)


def _queries(request: Any) -> tuple[int, Any]:
    request()  # warm
    with CaptureQueriesContext(schema_connection()) as captured:
        response = request()
    assert response.status_code == 200, response.content
    return len(captured.captured_queries), response.json()


def test_every_endpoint_needs_a_member_token(api: Client) -> None:
    # when
    statuses = {
        path: api.get(f"/api/v1/distribution/{path}").status_code
        for path in ("me", "earnings", "team", "orders", "ranking")
    }
    applied = api.post("/api/v1/distribution/apply", {}, content_type="application/json")
    # then
    assert set(statuses.values()) == {401}
    assert applied.status_code == 401


def test_a_non_distributor_gets_a_clear_error_code(api: Client) -> None:
    # given
    _on(qualification="apply_review")
    headers = member_token(member_make())
    # when
    responses = [
        api.get(f"/api/v1/distribution/{path}", **headers)
        for path in ("earnings", "team", "orders", "ranking")
    ]
    # then
    for response in responses:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_a_distributor"


def test_me_shows_a_member_how_to_become_one(api: Client) -> None:
    # given: spend 100.00 to qualify; the member spent 30.00
    _on(qualification="spend_threshold", qualification_spend_minor=10000)
    member = member_make()
    _paid(member, price_minor=3000)
    # when
    body = api.get("/api/v1/distribution/me", **member_token(member)).json()
    # then
    assert body["status"] == "none"
    assert (body["code"], body["grade"], body["upline"], body["application"]) == (
        None,
        None,
        None,
        None,
    )
    assert body["qualification"] == {
        "mode": "spend_threshold",
        "qualified": False,
        "spend_minor": 3000,
        "threshold_minor": 10000,
        "product_ids": [],
    }


def test_me_of_a_distributor_with_their_upline(api: Client) -> None:
    # given
    _on()
    upline, member = member_make(nickname="上家"), member_make()
    _bind(member, upline)
    distributor = distributor_make(member=member)
    # when
    body = api.get("/api/v1/distribution/me", **member_token(member)).json()
    # then
    assert (body["status"], body["code"]) == ("active", distributor.code)
    assert body["upline"]["member_id"] == upline.pk
    assert body["upline"]["nickname"] == "上家"
    assert body["upline"]["binding_source"] == "link"
    assert "grade" in body


def test_me_budget(api: Client) -> None:
    # given: a distributor with an upline, in a spend-threshold shop
    _on(qualification="spend_threshold", qualification_spend_minor=100)
    upline, member = member_make(), member_make()
    _bind(member, upline)
    distributor_make(member=member)
    headers = member_token(member)
    # when
    queries, body = _queries(lambda: api.get("/api/v1/distribution/me", **headers))
    # then
    assert body["status"] == "active"
    assert queries <= ME_BUDGET, queries


def test_apply_for_review_then_see_the_rejection_and_apply_again(api: Client) -> None:
    # given
    _on(qualification="apply_review")
    member = member_make()
    headers = member_token(member)
    # when: missing fields
    bad = api.post(
        "/api/v1/distribution/apply",
        {"name": "", "phone": "1"},
        content_type="application/json",
        **headers,
    )
    # then
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_failed"
    assert set(bad.json()["error"]["fields"]) == {"name", "phone"}
    assert not DistributorApplication.objects.filter(member=member).exists()
    # when: a proper application
    applied = api.post(
        "/api/v1/distribution/apply",
        {"name": "李雷", "phone": "13800138000", "reason": "朋友多"},
        content_type="application/json",
        **headers,
    )
    # then
    assert applied.status_code == 201, applied.content
    assert applied.json()["status"] == "applied"
    assert applied.json()["application"]["status"] == "submitted"
    again = api.post(
        "/api/v1/distribution/apply",
        {"name": "李雷", "phone": "13800138000"},
        content_type="application/json",
        **headers,
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "application_pending")
    # when: rejected with a note, the member sees it and may apply again
    application = DistributorApplication.objects.get(member=member)
    distributor_application_reject(application_id=application.pk, actor="a", note="资料不全")
    seen = api.get("/api/v1/distribution/me", **headers).json()
    retry = api.post(
        "/api/v1/distribution/apply",
        {"name": "李雷", "phone": "13800138000", "reason": "补充资料"},
        content_type="application/json",
        **headers,
    )
    # then
    assert (seen["status"], seen["application"]["note"]) == ("rejected", "资料不全")
    assert retry.status_code == 201


def test_apply_when_everyone_may_and_when_only_appointed(api: Client) -> None:
    # given
    _on(qualification="everyone")
    member = member_make()
    # when
    response = api.post(
        "/api/v1/distribution/apply", {}, content_type="application/json", **member_token(member)
    )
    # then
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert response.json()["code"] == Distributor.objects.get(member=member).code
    # given: only appointed
    _on(qualification="appointed")
    other = member_make()
    refused = api.post(
        "/api/v1/distribution/apply", {}, content_type="application/json", **member_token(other)
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409,
        "qualification_appointed_only",
    )
    assert not Distributor.objects.filter(member=other).exists()


def test_earnings_by_state_from_the_ledger(api: Client) -> None:
    # given: upline ← buyer; two orders of 100.00 at 10 %: one received (frozen), one pending
    _on()
    upline, buyer = member_make(), member_make()
    _bind(buyer, upline)
    received = _paid(buyer, price_minor=10000)
    _paid(buyer, price_minor=10000)
    _deliver("order.paid")
    order_ship(order=received, carrier="SF", tracking_number="1", actor="account:1")
    order_receive(order=received, actor=f"member:{buyer.pk}")
    _deliver("order.received")
    headers = member_token(upline)
    # when
    queries, body = _queries(lambda: api.get("/api/v1/distribution/earnings", **headers))
    # then
    assert (body["pending_minor"], body["frozen_minor"], body["available_minor"]) == (
        1000,
        1000,
        0,
    )
    assert (body["earned_minor"], body["reversed_minor"], body["net_earned_minor"]) == (
        2000,
        0,
        2000,
    )
    assert (body["clawback_owed_minor"], body["currency"]) == (0, "CNY")
    assert body["team"] == {"1": 1, "2": 0, "3": 0}
    assert queries <= EARNINGS_BUDGET, queries


def test_team_by_level_with_orders_and_spend(api: Client) -> None:
    # given: top ← a ← b ← c; b paid 2 orders (50.00 + 30.00)
    _on()
    top, a, b, c = (member_make(nickname=name) for name in ("top", "a", "b", "c"))
    _bind(a, top)
    _bind(b, a)
    _bind(c, b)
    _paid(b, price_minor=5000)
    _paid(b, price_minor=3000)
    _deliver("order.paid")
    headers = member_token(top)
    # when
    levels = {
        level: api.get(f"/api/v1/distribution/team?level={level}", **headers).json()
        for level in (1, 2, 3)
    }
    bad = api.get("/api/v1/distribution/team?level=4", **headers)
    counts = api.get("/api/v1/distribution/earnings", **headers).json()["team"]
    # then
    assert [row["nickname"] for row in levels[1]["results"]] == ["a"]
    second = levels[2]["results"]
    assert [(row["nickname"], row["order_count"], row["spend_minor"]) for row in second] == [
        ("b", 2, 8000)
    ]
    # top earned level 2 (5 %) on b's orders: 250 + 150
    assert second[0]["earned_minor"] == 400
    assert second[0]["is_distributor"] is True
    assert [row["nickname"] for row in levels[3]["results"]] == ["c"]
    assert counts == {"1": 1, "2": 1, "3": 1}
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "validation_failed")


@pytest.mark.parametrize("page_size", [2, 20])
def test_team_budget_does_not_grow_with_page_size(api: Client, page_size: int) -> None:
    # given: 22 direct downlines, each with a paid order
    _on()
    top = member_make()
    code = distributor_make(member=top).code
    for _ in range(22):
        member = member_make()
        referral_bind(member=member, code=code, trigger="first_visit")
        order_make(member=member)
    headers = member_token(top)
    # when
    queries, body = _queries(
        lambda: api.get(f"/api/v1/distribution/team?level=1&page_size={page_size}", **headers)
    )
    # then
    assert (len(body["results"]), body["count"]) == (page_size, 22)
    assert queries <= TEAM_BUDGET, queries


def test_orders_that_earned_with_amount_level_and_state(api: Client) -> None:
    # given: top ← upline ← buyer; 2 orders, the second partly refunded
    _on()
    top, upline, buyer = member_make(), member_make(), member_make(nickname="买家")
    _bind(upline, top)
    _bind(buyer, upline)
    first = _paid(buyer, price_minor=10000)
    second = _paid(buyer, price_minor=2000)
    _deliver("order.paid")
    Commission.objects.filter(order=second, beneficiary=top).update(reversed_minor=50)
    # when
    body = api.get("/api/v1/distribution/orders", **member_token(top)).json()
    # then: newest first, level 2 (5 %)
    assert body["count"] == 2
    assert [
        (row["order_number"], row["level"], row["amount_minor"], row["net_minor"], row["state"])
        for row in body["results"]
    ] == [(second.number, 2, 100, 50, "pending"), (first.number, 2, 500, 500, "pending")]
    assert body["results"][0]["buyer_nickname"] == "买家"


@pytest.mark.parametrize("page_size", [2, 20])
def test_orders_budget_does_not_grow_with_page_size(api: Client, page_size: int) -> None:
    # given: 22 paid orders of a downline
    _on()
    upline, buyer = member_make(), member_make()
    _bind(buyer, upline)
    sku = sku_of(product_make(price_minor=1000, stock=100))
    for _ in range(22):
        order = order_make(member=buyer, items=[(sku, 1)])
        started = payment_start(order=order, method="sandbox", notify_url="http://x/")
        payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    _deliver("order.paid")
    headers = member_token(upline)
    # when
    queries, body = _queries(
        lambda: api.get(f"/api/v1/distribution/orders?page_size={page_size}", **headers)
    )
    # then
    assert (len(body["results"]), body["count"]) == (page_size, 22)
    assert queries <= ORDERS_BUDGET, queries


def test_ranking_this_month_with_my_rank_and_cached(api: Client) -> None:
    # given: three distributors who earned 30.00, 10.00 and 20.00 this month
    _on(depth=1, level_rates=[1000])
    earners = [member_make(nickname=name) for name in ("甲", "乙", "丙")]
    for earner, price in zip(earners, (30000, 10000, 20000), strict=True):
        buyer = member_make()
        _bind(buyer, earner)
        _paid(buyer, price_minor=price)
    _deliver("order.paid")
    cache.clear()
    headers = member_token(earners[2])
    # when
    body = api.get("/api/v1/distribution/ranking?period=month", **headers).json()
    queries, cached = _queries(lambda: api.get("/api/v1/distribution/ranking", **headers))
    bad = api.get("/api/v1/distribution/ranking?period=year", **headers)
    # then
    board = [(entry["rank"], entry["nickname"], entry["amount_minor"]) for entry in body["entries"]]
    assert board[:3] == [(1, "甲", 3000), (2, "丙", 2000), (3, "乙", 1000)]
    assert body["mine"] == {"rank": 2, "amount_minor": 2000}
    assert cached == body
    assert queries <= RANKING_CACHED_BUDGET, queries
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "validation_failed")


def test_a_distributor_sees_why_they_earned_or_not_on_an_order_and_nothing_else(
    api: Client,
) -> None:
    # given: depth 2 at 10 % / 5 %; top ← grand ← upline ← buyer; the buyer pays 100.00
    _on(depth=2, level_rates=[1000, 500])
    top, grand, upline, buyer = (member_make() for _ in range(4))
    _bind(grand, top)
    _bind(upline, grand)
    _bind(buyer, upline)
    order = _paid(buyer, price_minor=10000)
    _deliver("order.paid")
    url = f"/api/v1/distribution/orders/{order.number}/explanation"
    # when
    earned = api.get(url, **member_token(upline))
    beyond = api.get(url, **member_token(top))
    stranger = api.get(url, **member_token(member_make()))
    unknown = api.get("/api/v1/distribution/orders/NO-SUCH/explanation", **member_token(upline))
    # then: the upline sees their own level-1 commission and its rate, no one else's
    assert earned.status_code == 200, earned.content
    assert earned.json() == [
        {
            "level": 1,
            "reason": "earns",
            "amount_minor": 1000,
            "reversed_minor": 0,
            "rate": 1000,
            "rate_kind": "percentage",
        }
    ]
    # the member beyond the depth learns why they did not earn
    assert [(row["level"], row["reason"], row["amount_minor"]) for row in beyond.json()] == [
        (3, "depth_limit", None)
    ]
    # others (and unknown orders) get the same not-found answer
    for response in (stranger, unknown):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "explanation_not_found"
