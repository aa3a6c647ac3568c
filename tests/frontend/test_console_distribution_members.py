"""The console's distributor pages: the list (search, status tabs, counts, earnings), a
distributor's page (upline and why, team by level, commissions, appoint / disable / enable), the
applications queue, the commissions with their explanation, the leaderboard; who may act; query
budgets that do not grow with the page size."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext

from distribution.models import Distributor, DistributorApplication, DistributorStatusChange
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.commissions import commissions_book
from distribution.services.qualification import distributor_apply
from distribution.services.regions import region_commissions_book, regional_agent_create
from distribution.services.settings import distribution_settings_update
from infra.db import schema_connection
from shop.customers.models import Member
from shop.customers.phones import phone_encrypt, phone_index
from shop.orders.models import Order
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Account, Role, Tenant
from tests.support.commerce import member_make, order_make, product_make, sku_of
from tests.support.console import console_client

BASE = "/console/alpha/distribution"
# Session, account, membership, the account's shops, status counts, default grade, count, page.
LIST_BUDGET = 8
# Session, account, membership, shops, count, page of orders, their orders, decisions,
# commissions.
COMMISSIONS_BUDGET = 9
# Session, account, membership, shops, the distributor, team count and page, team counts, the
# binding history, the status history, recent commissions, the upline, the ledger balances,
# the commission totals, the latest application, the default grade.
DETAIL_BUDGET = 16


@pytest.fixture
def owner_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.OWNER, "members-owner@example.com")


@pytest.fixture
def staff_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.STAFF, "members-staff@example.com")


def _on(**changes: Any) -> None:
    distribution_settings_update(
        changes={"enabled": True, "depth": 2, "level_rates": [1000, 500], **changes}, actor="a"
    )


def _bind(child: Member, parent: Member) -> None:
    referral_bind(member=child, code=distributor_make(member=parent).code, trigger="first_visit")


def _paid(member: Member, *, price_minor: int) -> Order:
    order = order_make(member=member, items=[(sku_of(product_make(price_minor=price_minor)), 1)])
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    return order


def _queries(request: Callable[[], Any]) -> tuple[int, int]:
    request()  # warm
    with CaptureQueriesContext(schema_connection()) as captured:
        response = request()
    return response.status_code, len(captured.captured_queries)


def _with_phone(member: Member, phone: str) -> Member:
    member.phone_encrypted = phone_encrypt(phone)
    member.phone_index = phone_index(phone)
    member.save(update_fields=["phone_encrypted", "phone_index"])
    return member


def test_the_list_shows_distributors_with_counts_and_earnings(owner_in_shop: Client) -> None:
    # given: 老王 with one direct downline who bought for 100.00 (10 % → 10.00)
    _on()
    top = member_make(nickname="老王")
    buyer = member_make(nickname="小李")
    _bind(buyer, top)
    distributor_make(member=buyer)
    commissions_book(order_id=_paid(buyer, price_minor=10000).pk, event_id="e1")
    # when
    response = owner_in_shop.get(f"{BASE}/distributors/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    row = html[html.index(f'data-distributor="{top.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "老王" in row
    assert '<td class="direct-count">1</td>' in row
    assert '<td class="earned">CN¥10.00</td>' in row
    assert re.search(r'data-status="active"[^>]*>Active <span class="count">2</span>', html)
    assert 'id="appoint"' in html


def test_the_list_searches_by_name_phone_and_code(owner_in_shop: Client) -> None:
    # given
    _on()
    alice = _with_phone(member_make(nickname="Alice"), "+8613800138011")
    bob = member_make(nickname="Bob")
    alice_code = distributor_make(member=alice).code
    distributor_make(member=bob)
    # when
    found = {
        query: re.findall(
            r'data-distributor="(\d+)"',
            owner_in_shop.get(f"{BASE}/distributors/", {"q": query}).content.decode(),
        )
        for query in ("ali", "13800138011", alice_code.lower(), "nobody")
    }
    # then
    assert found == {
        "ali": [str(alice.pk)],
        "13800138011": [str(alice.pk)],
        alice_code.lower(): [str(alice.pk)],
        "nobody": [],
    }


@pytest.mark.parametrize("page_size", ["20", "50"])
def test_the_list_budget_does_not_grow_with_page_size(
    owner_in_shop: Client, page_size: str
) -> None:
    # given: 22 distributors
    _on()
    for _ in range(22):
        distributor_make(member=member_make())
    # when
    status, queries = _queries(
        lambda: owner_in_shop.get(f"{BASE}/distributors/", {"page_size": page_size})
    )
    # then
    assert status == 200
    assert queries <= LIST_BUDGET, queries


def test_the_detail_shows_upline_and_why_team_and_commissions(owner_in_shop: Client) -> None:
    # given: top ← middle ← buyer; the buyer paid 100.00
    _on()
    top = member_make(nickname="老王")
    middle = member_make(nickname="小李")
    buyer = member_make(nickname="买家")
    _bind(middle, top)
    _bind(buyer, middle)
    order = _paid(buyer, price_minor=10000)
    commissions_book(order_id=order.pk, event_id="e1")
    # when
    html = owner_in_shop.get(f"{BASE}/distributors/{middle.pk}/").content.decode()
    level_two = owner_in_shop.get(f"{BASE}/distributors/{top.pk}/?level=2").content.decode()
    # then: the upline and the binding's reason
    assert f"老王 (member {top.pk})" in html
    assert re.search(r'class="muted small binding-reason">bound by first_visit with code', html)
    # the team: the buyer at level 1, with 1 order of 100.00
    team = html[html.index('id="team-members"') :]
    assert f'data-downline="{buyer.pk}"' in team
    assert "CN¥100.00" in team
    # the commission on the order, and the earnings
    assert f'data-commission-order="{order.pk}" data-level="1"' in html
    assert '<dd id="earnings-pending">CN¥10.00</dd>' in html
    # the top distributor sees the buyer at level 2
    assert f'data-downline="{buyer.pk}"' in level_two


def test_disable_and_enable_by_the_owner_with_history(owner_in_shop: Client) -> None:
    # given
    _on()
    member = member_make()
    distributor_make(member=member)
    url = f"{BASE}/distributors/{member.pk}/status/"
    # when
    disabled = owner_in_shop.post(url, {"action": "disable", "note": "刷单"})
    status_after_disable = Distributor.objects.get(member=member).status
    page = owner_in_shop.get(f"{BASE}/distributors/{member.pk}/").content.decode()
    owner_in_shop.post(url, {"action": "enable"})
    # then
    assert disabled.status_code == 302
    assert status_after_disable == "disabled"
    assert 'data-status-reason="disabled"' in page
    assert "刷单" in page
    assert Distributor.objects.get(member=member).status == "active"
    actor = f"account:{Account.objects.get(email='members-owner@example.com').pk}"
    assert list(
        DistributorStatusChange.objects.filter(distributor__member=member).values_list(
            "reason", "actor", "note"
        )
    ) == [("disabled", actor, "刷单"), ("enabled", actor, "")]


@pytest.mark.parametrize("downlines", [1, 22])
def test_the_detail_budget_does_not_grow_with_the_team(
    owner_in_shop: Client, downlines: int
) -> None:
    # given: a distributor with 1 or 22 direct downlines, each with a paid, commissioned order
    _on()
    top = member_make()
    for index in range(downlines):
        buyer = member_make()
        _bind(buyer, top)
        commissions_book(order_id=_paid(buyer, price_minor=1000).pk, event_id=f"e{index}")
    # when
    status, queries = _queries(lambda: owner_in_shop.get(f"{BASE}/distributors/{top.pk}/"))
    # then
    assert status == 200
    assert queries <= DETAIL_BUDGET, queries


def test_staff_may_look_but_not_act(staff_in_shop: Client) -> None:
    # given
    _on(qualification="apply_review")
    member = member_make()
    distributor_make(member=member)
    applicant = member_make()
    application = distributor_apply(member=applicant, name="A", phone="13800138003").application
    assert application is not None
    # when
    pages = [
        staff_in_shop.get(f"{BASE}/{path}").status_code
        for path in (
            "distributors/",
            f"distributors/{member.pk}/",
            "applications/",
            "commissions/",
            "leaderboard/",
        )
    ]
    disable = staff_in_shop.post(f"{BASE}/distributors/{member.pk}/status/", {"action": "disable"})
    approve = staff_in_shop.post(
        f"{BASE}/applications/{application.pk}/decide/", {"decision": "approve"}
    )
    appoint = staff_in_shop.post(f"{BASE}/distributors/appoint/", {"member": str(applicant.pk)})
    # then
    assert pages == [200] * 5
    assert (disable.status_code, approve.status_code, appoint.status_code) == (403, 403, 403)
    assert Distributor.objects.get(member=member).status == "active"
    application.refresh_from_db()
    assert application.status == "submitted"


def test_the_applications_queue_approve_and_reject_with_a_note(owner_in_shop: Client) -> None:
    # given: two applications
    _on(qualification="apply_review")
    first, second = member_make(), member_make()
    one = distributor_apply(member=first, name="张三", phone="13800138004", reason="朋友多")
    two = distributor_apply(member=second, name="李四", phone="13800138005")
    assert one.application is not None
    assert two.application is not None
    # when: the queue, then decisions (a rejection without a note first)
    queue = owner_in_shop.get(f"{BASE}/applications/").content.decode()
    owner_in_shop.post(f"{BASE}/applications/{one.application.pk}/decide/", {"decision": "approve"})
    no_note = owner_in_shop.post(
        f"{BASE}/applications/{two.application.pk}/decide/",
        {"decision": "reject", "note": ""},
        follow=True,
    )
    still = DistributorApplication.objects.get(pk=two.application.pk).status
    owner_in_shop.post(
        f"{BASE}/applications/{two.application.pk}/decide/",
        {"decision": "reject", "note": "资料不全"},
    )
    # then
    assert "张三" in queue
    assert "138****8004" in queue
    assert "朋友多" in queue
    assert "Say why you reject it." in no_note.content.decode()
    assert still == "submitted"
    assert Distributor.objects.get(member=first).status == "active"
    rejected = DistributorApplication.objects.get(pk=two.application.pk)
    assert (rejected.status, rejected.note) == ("rejected", "资料不全")
    assert Distributor.objects.get(member=second).status == "rejected"


def test_appoint_a_member_by_phone(owner_in_shop: Client) -> None:
    # given
    _on(qualification="appointed")
    member = _with_phone(member_make(), "+8613800138006")
    # when
    response = owner_in_shop.post(f"{BASE}/distributors/appoint/", {"member": "13800138006"})
    unknown = owner_in_shop.post(
        f"{BASE}/distributors/appoint/", {"member": "13900000000"}, follow=True
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/distributors/{member.pk}/"
    assert Distributor.objects.get(member=member).status == "active"
    assert "No member of your shop has this number." in unknown.content.decode()


def test_the_commissions_list_explains_who_earned_and_who_did_not(
    owner_in_shop: Client,
) -> None:
    # given: depth 1; top ← upline ← buyer (top is beyond the depth)
    _on(depth=1, level_rates=[1000])
    top = member_make(nickname="老王")
    upline = member_make(nickname="小李")
    buyer = member_make(nickname="买家")
    _bind(upline, top)
    _bind(buyer, upline)
    order = _paid(buyer, price_minor=9999)
    commissions_book(order_id=order.pk, event_id="e1")
    # when
    html = owner_in_shop.get(f"{BASE}/commissions/").content.decode()
    frozen_only = owner_in_shop.get(f"{BASE}/commissions/", {"state": "frozen"}).content.decode()
    # then
    card = html[html.index(f'data-order="{order.pk}"') :]
    assert order.number in card
    assert re.search(
        r'data-commission-level="1" data-reason="earns">.*?小李.*?'
        r'<strong class="commission-amount">CN¥9.99</strong>',
        card,
        re.S,
    )
    assert re.search(
        r'data-commission-level="2" data-reason="depth_limit">.*?老王.*?'
        r"Beyond the levels your settings pay",
        card,
        re.S,
    )
    assert f'data-order="{order.pk}"' not in frozen_only


def test_the_explanation_is_there_as_json_for_the_merchant_s_tools(
    owner_in_shop: Client,
) -> None:
    # given: depth 1 at 10 %; a regional agent of 广东省 at 3 %; top ← upline ← buyer, who
    # ships to 广东省 and pays 99.99
    _on(depth=1, level_rates=[1000])
    top = member_make(nickname="老王")
    upline = member_make(nickname="小李")
    buyer = member_make(nickname="买家")
    agent = member_make(nickname="区代")
    regional_agent_create(member_id=agent.pk, province="广东省", rate_bp=300)
    _bind(upline, top)
    _bind(buyer, upline)
    order = _paid(buyer, price_minor=9999)
    commissions_book(order_id=order.pk, event_id="e1")
    region_commissions_book(order_id=order.pk, event_id="e1")
    # when
    response = owner_in_shop.get(f"{BASE}/orders/{order.pk}/explanation.json")
    missing = owner_in_shop.get(f"{BASE}/orders/{order.pk + 10**6}/explanation.json")
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["order_number"], body["currency"]) == (order.number, "CNY")
    assert [
        (d["role"], d["member_name"], d["reason"], d["net_minor"], d["rate"])
        for d in body["decisions"]
    ] == [
        ("Regional agent", "区代", "regional_agent", 299, 300),
        ("Level 1", "小李", "earns", 999, 1000),
        ("Level 2", "老王", "depth_limit", None, None),
    ]
    assert missing.status_code == 404


@pytest.mark.parametrize("page_size", ["20", "50"])
def test_the_commissions_budget_does_not_grow_with_page_size(
    owner_in_shop: Client, page_size: str
) -> None:
    # given: 22 paid orders with commissions
    _on()
    upline, buyer = member_make(), member_make()
    _bind(buyer, upline)
    sku = sku_of(product_make(price_minor=1000, stock=100))
    for index in range(22):
        order = order_make(member=buyer, items=[(sku, 1)])
        started = payment_start(order=order, method="sandbox", notify_url="http://x/")
        payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
        commissions_book(order_id=order.pk, event_id=f"e{index}")
    # when
    status, queries = _queries(
        lambda: owner_in_shop.get(f"{BASE}/commissions/", {"page_size": page_size})
    )
    # then
    assert status == 200
    assert queries <= COMMISSIONS_BUDGET, queries


def test_the_leaderboard_ranks_by_earnings(owner_in_shop: Client) -> None:
    # given: 甲 earned 30.00 and 乙 10.00 this month
    _on(depth=1, level_rates=[1000])
    first, second = member_make(nickname="甲"), member_make(nickname="乙")
    for earner, price in ((second, 10000), (first, 30000)):
        buyer = member_make()
        _bind(buyer, earner)
        commissions_book(order_id=_paid(buyer, price_minor=price).pk, event_id=f"e{price}")
    # when
    html = owner_in_shop.get(f"{BASE}/leaderboard/?period=all").content.decode()
    # then
    ranks = re.findall(
        r'data-member="(\d+)">\s*<td class="rank">(\d+)</td>.*?<td class="amount">([^<]*)</td>',
        html,
        re.S,
    )
    assert ranks == [(str(first.pk), "1", "CN¥30.00"), (str(second.pk), "2", "CN¥10.00")]
