"""The console's distribution section: the settings page (depth 1 to 3 only, rates as percentages
or amounts, risky settings only with an acknowledgement, the compliance report), who may change
it, and the commission explanation on an order's page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from distribution.selectors import (
    order_commission_explanation,
    order_commission_explanation_for_console,
)
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.commissions import commissions_book
from distribution.services.settings import distribution_settings_get, distribution_settings_update
from shop.customers.models import Member
from shop.orders.models import Order
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Role, Tenant
from tests.frontend.test_console_orders import ORDER_PAGE_BUDGET, _queries
from tests.support.commerce import member_make, order_make
from tests.support.console import console_client

URL = "/console/alpha/distribution/"
SAVE = "/console/alpha/distribution/settings/"


@pytest.fixture
def owner_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.OWNER, "dist-owner@example.com")


@pytest.fixture
def staff_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.STAFF, "dist-staff@example.com")


def _form(**overrides: Any) -> dict[str, Any]:
    """A complete settings form as the page posts it (the defaults of a new shop)."""
    data: dict[str, Any] = {
        "enabled": "on",
        "qualification": "everyone",
        "qualification_spend": "",
        "binding_trigger": "first_visit",
        "binding_scope": "without_upline",
        "binding_days": "",
        "overwrite": "never",
        "snatch_protection_days": "0",
        "depth": "2",
        "rate_source": "global",
        "rate_kind": "percentage",
        "rate_1": "10.00",
        "rate_2": "5.00",
        "rate_3": "",
        "commission_base": "paid_excl_shipping",
        "freeze_days": "7",
        "settlement_day": "",
        "clawback": "reverse_pending",
        "withdrawal_min": "1.00",
        "withdrawal_fee": "0.00",
        "withdrawal_channels": ["wechat_balance"],
        "withdrawal_review": "on",
        "withdrawal_daily_limit": "",
        "invite_reward": "0.00",
        "invite_reward_daily_cap": "0",
        "paid_entry": "0.00",
        "team_bonus": "0.00",
        "risk_device_accounts_limit": "3",
        "risk_buyer_orders_per_day": "20",
        "risk_earner_orders_per_hour": "200",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _field_errors(html: str, field: str) -> list[str]:
    match = re.search(rf'data-field="{field}">.*?<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def _snapshot() -> dict[str, Any]:
    settings = distribution_settings_get()
    return {
        "enabled": settings.enabled,
        "depth": settings.depth,
        "level_rates": list(settings.level_rates),
        "team_bonus_bp": settings.team_bonus_bp,
        "risk_acknowledged": list(settings.risk_acknowledged),
    }


def test_the_owner_sees_the_settings_form_and_the_compliance_report(
    owner_in_shop: Client,
) -> None:
    # when
    response = owner_in_shop.get(URL)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Distribution</h1>" in html
    assert 'id="distribution-form"' in html
    assert "Save the distribution settings" in html
    depth_select = html[
        html.index('name="depth"') : html.index("</select>", html.index('name="depth"'))
    ]
    assert re.findall(r'<option value="([^"]*)"', depth_select) == ["1", "2", "3"]
    assert 'name="rate_1" value="10.00"' in html
    assert 'name="rate_2" value="5.00"' in html
    assert 'id="risk-warning"' in html
    assert 'name="acknowledge_risks"' in html
    assert '<li class="record" data-compliance="depth" data-level="info">' in html
    assert "Commissions go 2 level(s) up (the law allows at most 3)." in html
    assert 'id="read-only-note"' not in html


def test_staff_see_the_settings_read_only_and_may_not_post(staff_in_shop: Client) -> None:
    # given
    before = _snapshot()
    # when
    page = staff_in_shop.get(URL)
    posted = staff_in_shop.post(SAVE, _form(depth="3", rate_3="1.00"))
    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="read-only-note"' in html
    assert "Save the distribution settings" not in html
    assert re.search(r'<select name="depth"[^>]* disabled', html)
    assert posted.status_code == 403
    assert _snapshot() == before


def test_the_owner_saves_three_levels_with_their_rates(owner_in_shop: Client) -> None:
    # when
    response = owner_in_shop.post(
        SAVE,
        _form(depth="3", rate_1="12.50", rate_2="5.00", rate_3="2.25", withdrawal_fee="1.50"),
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == URL
    settings = distribution_settings_get()
    assert (settings.enabled, settings.depth) == (True, 3)
    assert list(settings.level_rates) == [1250, 500, 225]
    assert settings.withdrawal_fee_bp == 150
    assert list(settings.withdrawal_channels) == ["wechat_balance"]
    html = owner_in_shop.get(URL).content.decode()
    assert "Your distribution settings are saved." in html
    assert 'name="rate_3" value="2.25"' in html
    assert "Commissions go 3 level(s) up (the law allows at most 3)." in html


def test_the_owner_chooses_grade_rates_and_the_risk_thresholds(owner_in_shop: Client) -> None:
    # when: rates from grades; the device rule off, the buyer rule at 5 a day
    response = owner_in_shop.post(
        SAVE,
        _form(
            rate_source="grade",
            risk_device_accounts_limit="0",
            risk_buyer_orders_per_day="5",
        ),
    )
    # then
    assert response.status_code == 302
    settings = distribution_settings_get()
    assert settings.rate_source == "grade"
    assert (
        settings.risk_device_accounts_limit,
        settings.risk_buyer_orders_per_day,
        settings.risk_earner_orders_per_hour,
    ) == (0, 5, 200)
    html = owner_in_shop.get(URL).content.decode()
    assert 'name="risk_buyer_orders_per_day" value="5"' in html
    assert '<option value="grade" selected>' in html


def test_a_negative_risk_threshold_is_refused_and_changes_nothing(owner_in_shop: Client) -> None:
    # when
    response = owner_in_shop.post(SAVE, _form(risk_buyer_orders_per_day="-1"))
    # then
    assert response.status_code == 400
    assert distribution_settings_get().risk_buyer_orders_per_day == 20


def test_fixed_rates_are_amounts_in_major_units(owner_in_shop: Client) -> None:
    # when
    response = owner_in_shop.post(
        SAVE, _form(depth="1", rate_kind="fixed", rate_1="3.50", rate_2="")
    )
    # then
    assert response.status_code == 302
    settings = distribution_settings_get()
    assert (settings.rate_kind, list(settings.level_rates)) == ("fixed", [350])


def test_a_tampered_depth_of_four_is_refused_and_changes_nothing(owner_in_shop: Client) -> None:
    # given
    before = _snapshot()
    # when
    response = owner_in_shop.post(
        SAVE, _form(depth="4", rate_1="10.00", rate_2="5.00", rate_3="2.00")
    )
    # then
    html = response.content.decode()
    assert response.status_code == 400
    assert _field_errors(html, "depth") == ["Commissions go 1 to 3 levels up, never more."]
    assert _snapshot() == before


def test_a_risky_setting_needs_the_acknowledgement(owner_in_shop: Client) -> None:
    # given
    before = _snapshot()
    # when: a team bonus without "I understand"
    refused = owner_in_shop.post(SAVE, _form(team_bonus="2.00"))
    # then
    html = refused.content.decode()
    assert refused.status_code == 400
    message = "This setting can break anti-pyramid rules: confirm that you understand the risk."
    assert _field_errors(html, "team_bonus") == [message]
    assert _field_errors(html, "acknowledge_risks") == [
        "These settings can break anti-pyramid rules: confirm that you understand the risk."
    ]
    assert _snapshot() == before
    # when: with it
    saved = owner_in_shop.post(SAVE, _form(team_bonus="2.00", acknowledge_risks="on"))
    # then
    assert saved.status_code == 302
    settings = distribution_settings_get()
    assert settings.team_bonus_bp == 200
    assert list(settings.risk_acknowledged) == ["team_bonus"]
    assert settings.risk_acknowledged_by.startswith("account:")
    page = owner_in_shop.get(URL).content.decode()
    assert '<li class="record" data-compliance="team_bonus" data-level="risk">' in page
    assert (
        "Uplines earn on their team&#x27;s sales (a team bonus must come from real sales only)."
        in page
    )
    assert 'id="risk-acknowledged"' in page


def test_an_invalid_rate_is_shown_next_to_its_field_and_changes_nothing(
    owner_in_shop: Client,
) -> None:
    # given
    before = _snapshot()
    # when: 60 % + 50 % is more than the sale
    response = owner_in_shop.post(SAVE, _form(rate_1="60.00", rate_2="50.00"))
    # then
    assert response.status_code == 400
    assert _field_errors(response.content.decode(), "rate_1") == [
        "All levels together cannot take more than the whole sale."
    ]
    assert _snapshot() == before


# --- An order's commissions


def _paid(member: Member, *, price_minor: int) -> Order:
    order = order_make(member=member, price_minor=price_minor)
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    return order


def test_the_order_page_explains_who_earned_and_who_did_not(owner_in_shop: Client) -> None:
    # given: depth 2; a non-distributor above the upline's upline's … chain: top ← upline ← buyer
    distribution_settings_update(
        changes={"enabled": True, "depth": 2, "level_rates": [1000, 500]}, actor="a"
    )
    top = member_make(nickname="老王")
    upline = member_make(nickname="小李")
    buyer = member_make(nickname="买家")
    referral_bind(member=upline, code=distributor_make(member=top).code, trigger="first_visit")
    referral_bind(member=buyer, code=distributor_make(member=upline).code, trigger="first_visit")
    order = _paid(buyer, price_minor=9999)
    commissions_book(order_id=order.pk, event_id="e1")
    # when
    response = owner_in_shop.get(f"/console/alpha/orders/{order.pk}/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    card = html[
        html.index('id="commissions"') : html.index("</section>", html.index('id="commissions"'))
    ]
    rows = re.findall(
        r'data-commission-level="(\d)" data-reason="([a-z_]+)">.*?'
        r'<span class="commission-member">([^<]*)</span>.*?'
        r'(?:<strong class="commission-amount">([^<]*)</strong>|'
        r'<div class="muted small commission-reason">([^<]*)</div>)',
        card,
        re.S,
    )
    assert rows == [
        ("1", "earns", "小李", "CN¥9.99", ""),
        ("2", "earns", "老王", "CN¥4.99", ""),
    ]


def test_the_order_page_budget_holds_with_commissions(owner_in_shop: Client) -> None:
    # given: a two-level chain earning on a paid order
    distribution_settings_update(
        changes={"enabled": True, "depth": 2, "level_rates": [1000, 500]}, actor="a"
    )
    top, upline, buyer = member_make(), member_make(), member_make()
    referral_bind(member=upline, code=distributor_make(member=top).code, trigger="first_visit")
    referral_bind(member=buyer, code=distributor_make(member=upline).code, trigger="first_visit")
    order = _paid(buyer, price_minor=9999)
    commissions_book(order_id=order.pk, event_id="e1")
    # when
    status, queries = _queries(lambda: owner_in_shop.get(f"/console/alpha/orders/{order.pk}/"))
    # then
    assert status == 200
    assert queries <= ORDER_PAGE_BUDGET, queries


def test_the_order_page_says_why_nobody_earned(owner_in_shop: Client) -> None:
    # given: the buyer has no upline
    distribution_settings_update(changes={"enabled": True}, actor="a")
    order = _paid(member_make(nickname="独行"), price_minor=5000)
    commissions_book(order_id=order.pk, event_id="e1")
    # when
    html = owner_in_shop.get(f"/console/alpha/orders/{order.pk}/").content.decode()
    # then
    assert 'data-commission-level="1" data-reason="no_upline">' in html
    assert '<div class="muted small commission-reason">The buyer has no upline</div>' in html
    assert 'class="commission-amount"' not in html


def test_the_console_explanation_matches_the_service(shop: Tenant) -> None:
    # given
    distribution_settings_update(
        changes={"enabled": True, "depth": 1, "level_rates": [1000]}, actor="a"
    )
    top, upline, buyer = member_make(), member_make(), member_make()
    referral_bind(member=upline, code=distributor_make(member=top).code, trigger="first_visit")
    referral_bind(member=buyer, code=distributor_make(member=upline).code, trigger="first_visit")
    order = _paid(buyer, price_minor=2000)
    commissions_book(order_id=order.pk, event_id="e1")
    # when
    console = order_commission_explanation_for_console(order_id=order.pk)
    # then
    assert [
        {key: value for key, value in item.items() if key != "member"} for item in console
    ] == order_commission_explanation(order_id=order.pk)
    assert [item["member"] for item in console] == [upline, top]
    assert [item["reason"] for item in console] == ["earns", "depth_limit"]


# --- The settings knobs: excluded order types, invite rewards (capped), paid entry


def test_the_owner_excludes_order_types_with_checkboxes(owner_in_shop: Client) -> None:
    # given
    page = owner_in_shop.get(URL).content.decode()
    assert re.findall(r'name="excluded_order_types" value="([a-z_]+)"', page) == [
        "normal",
        "group_buy",
        "bargain",
        "flash_sale",
        "points_exchange",
    ]
    # when
    saved = owner_in_shop.post(SAVE, _form(excluded_order_types=["flash_sale", "bargain"]))
    # then
    assert saved.status_code == 302
    assert list(distribution_settings_get().excluded_order_types) == ["flash_sale", "bargain"]
    page = owner_in_shop.get(URL).content.decode()
    assert re.search(r'name="excluded_order_types" value="flash_sale"[^>]*checked', page)
    assert not re.search(r'name="excluded_order_types" value="normal"[^>]*checked', page)


def test_a_tampered_order_type_is_refused_and_changes_nothing(owner_in_shop: Client) -> None:
    # when
    response = owner_in_shop.post(SAVE, _form(excluded_order_types=["gift"]))
    # then
    assert response.status_code == 400
    assert list(distribution_settings_get().excluded_order_types) == []


def test_an_invite_reward_needs_a_daily_cap_and_the_acknowledgement(
    owner_in_shop: Client,
) -> None:
    # given
    before = _snapshot()
    # when: 5.00 per new buyer, acknowledged, but no cap
    uncapped = owner_in_shop.post(
        SAVE, _form(invite_reward="5.00", invite_reward_daily_cap="0", acknowledge_risks="on")
    )
    # then
    assert uncapped.status_code == 400
    assert _field_errors(uncapped.content.decode(), "invite_reward_daily_cap") == [
        "Cap the invite rewards an upline can earn per day (at least 1)."
    ]
    assert _snapshot() == before
    # when: capped, without the acknowledgement; then with it
    refused = owner_in_shop.post(SAVE, _form(invite_reward="5.00", invite_reward_daily_cap="3"))
    saved = owner_in_shop.post(
        SAVE, _form(invite_reward="5.00", invite_reward_daily_cap="3", acknowledge_risks="on")
    )
    # then
    assert refused.status_code == 400
    assert saved.status_code == 302
    settings = distribution_settings_get()
    assert (settings.invite_reward_minor, settings.invite_reward_daily_cap) == (500, 3)
    assert list(settings.risk_acknowledged) == ["invite_reward"]


def test_the_owner_sets_an_entry_fee_with_the_acknowledgement(owner_in_shop: Client) -> None:
    # when
    saved = owner_in_shop.post(SAVE, _form(paid_entry="9.90", acknowledge_risks="on"))
    # then
    assert saved.status_code == 302
    assert distribution_settings_get().paid_entry_minor == 990
    page = owner_in_shop.get(URL).content.decode()
    assert 'name="paid_entry" value="9.90"' in page
    assert "Paid from the member&#x27;s store balance when they join." in page


def _order_rows(html: str) -> list[tuple[str, ...]]:
    card = html[
        html.index('id="commissions"') : html.index("</section>", html.index('id="commissions"'))
    ]
    return re.findall(
        r'data-commission-level="(\d)" data-reason="([a-z_]+)">\s*<div>\s*<strong>([^<]*)</strong>'
        r".*?(?:<strong class=\"commission-amount\">([^<]*)</strong>|"
        r'<div class="muted small commission-reason">([^<]*)</div>)',
        card,
        re.S,
    )


def test_the_order_page_explains_an_invite_reward_and_an_excluded_order(
    owner_in_shop: Client,
) -> None:
    # given: 5.00 per new buyer; flash sales excluded; a buyer bound to an upline
    from distribution.services.invites import invite_reward_book

    distribution_settings_update(
        changes={
            "enabled": True,
            "depth": 1,
            "level_rates": [1000],
            "invite_reward_minor": 500,
            "invite_reward_daily_cap": 2,
            "excluded_order_types": ["flash_sale"],
        },
        actor="a",
        acknowledge_risks=True,
    )
    upline = member_make(nickname="小李")
    buyer = member_make(nickname="买家")
    referral_bind(member=buyer, code=distributor_make(member=upline).code, trigger="first_visit")
    first = _paid(buyer, price_minor=2000)
    Order.objects.filter(pk=first.pk).update(device_id="")
    commissions_book(order_id=first.pk, event_id="e1")
    invite_reward_book(order_id=first.pk, event_id="e1")
    flash = _paid(buyer, price_minor=2000)
    Order.objects.filter(pk=flash.pk).update(order_type="flash_sale")
    commissions_book(order_id=flash.pk, event_id="e2")
    # when
    first_page = owner_in_shop.get(f"/console/alpha/orders/{first.pk}/").content.decode()
    flash_page = owner_in_shop.get(f"/console/alpha/orders/{flash.pk}/").content.decode()
    # then
    assert [row[:4] for row in _order_rows(first_page)] == [
        ("0", "invite_reward", "Invite reward", "CN¥5.00"),
        ("1", "earns", "Level 1", "CN¥2.00"),
    ]
    assert _order_rows(flash_page) == [
        (
            "0",
            "excluded_order_type",
            "Order",
            "",
            "Your settings exclude this type of order from commissions",
        )
    ]


def test_reasons_are_labelled_in_the_order_explanation() -> None:
    # given: every reason a decision can have
    from distribution.models import CommissionDecision
    from frontend.console_distribution import COMMISSION_REASONS

    # then: each has a label (held, the code reasons and the new ones included)
    assert set(CommissionDecision.Reason.values) <= set(COMMISSION_REASONS)


def test_the_commissions_list_labels_the_code_and_link_reasons(owner_in_shop: Client) -> None:
    # given: a buyer bound to one distributor, coming through a second one's share link, who
    # types a third one's referral code at checkout
    distribution_settings_update(
        changes={"enabled": True, "depth": 1, "level_rates": [1000]}, actor="a"
    )
    bound = member_make(nickname="绑定")
    linked = member_make(nickname="链接")
    typed = member_make(nickname="推荐")
    buyer = member_make()
    referral_bind(member=buyer, code=distributor_make(member=bound).code, trigger="first_visit")
    order = order_make(member=buyer, referral_code=distributor_make(member=linked).code)
    Order.objects.filter(pk=order.pk).update(referral_code=distributor_make(member=typed).code)
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    commissions_book(order_id=order.pk, event_id="e1")
    # when
    html = owner_in_shop.get("/console/alpha/distribution/commissions/").content.decode()
    # then
    card = html[html.index(f'data-order="{order.pk}"') :]
    rows = re.findall(
        r'data-commission-level="(\d)" data-reason="([a-z_]+)">\s*<div>\s*<strong>([^<]*)</strong>'
        r'.*?class="commission-member"[^>]*>([^<]*)</a>.*?'
        r'<div class="muted small commission-reason">([^<]*)</div>',
        card,
        re.S,
    )
    assert rows == [
        (
            "0",
            "code_priority",
            "Bound upline",
            "绑定",
            "Bound upline, but the buyer typed another distributor&#x27;s referral code",
        ),
        (
            "0",
            "code_over_link",
            "Share link",
            "链接",
            "The order came through this share link, but the buyer typed another "
            "distributor&#x27;s referral code",
        ),
        ("1", "earns", "Level 1", "推荐", "Earns"),
    ]


def test_the_distributor_page_shows_the_entry_fee_paid(owner_in_shop: Client) -> None:
    # given: an entry fee of 9.90, paid from the member's store balance when they joined
    from distribution.services.qualification import distributor_apply
    from shop.customers.services.store_balance import store_balance_credit

    distribution_settings_update(
        changes={"enabled": True, "paid_entry_minor": 990}, actor="a", acknowledge_risks=True
    )
    member = member_make(nickname="付费")
    store_balance_credit(member_id=member.pk, amount_minor=990, source="test_topup", source_id="1")
    distributor_apply(member=member)
    # when
    html = owner_in_shop.get(f"/console/alpha/distribution/distributors/{member.pk}/")
    # then
    assert html.status_code == 200
    assert (
        '<div class="muted small entry-fee">Entry fee paid from the store balance: CN¥9.90</div>'
        in html.content.decode()
    )
