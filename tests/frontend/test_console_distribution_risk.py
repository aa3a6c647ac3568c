"""The console's risk holds (queue with evidence, release, reject), regional agents (list, appoint,
edit, disable) and team bonus results; owners and admins act, others look."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from distribution.models import Commission, LedgerAccountKind, RegionalAgent, RiskFlag
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.regions import regional_agent_create
from distribution.services.settings import distribution_settings_update
from distribution.services.team import team_bonus_run
from shop.customers.models import Member
from shop.customers.services.tokens import member_token_issue
from shop.orders.models import Order
from shop.orders.services.orders import order_complete, order_receive, order_ship
from tenants.models import Role, Tenant
from tests.distribution.settlement_support import balance, paid
from tests.support.commerce import member_make
from tests.support.console import console_client

RISK = "/console/alpha/distribution/risk/"
REGIONS = "/console/alpha/distribution/regions/"
TEAM = "/console/alpha/distribution/team-bonus/"
Kind = LedgerAccountKind
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def owner_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.OWNER, "risk-owner@example.com")


@pytest.fixture
def staff_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.STAFF, "risk-staff@example.com")


def _held_order(device: str = "shared") -> tuple[Member, Order]:
    """An upline whose token shares the buyer's device: the commission is held."""
    distribution_settings_update(changes={"enabled": True}, actor="t")
    upline, buyer = member_make(nickname="Upline"), member_make(nickname="Buyer")
    referral_bind(member=buyer, code=distributor_make(member=upline).code, trigger="first_visit")
    member_token_issue(member=upline, device_id=device)
    return upline, paid(buyer, price_minor=10_000, device=device)


def test_the_queue_shows_held_commissions_with_their_evidence(
    shop: Tenant, owner_in_shop: Client
) -> None:
    # given
    _upline, order = _held_order(device="phone-9")
    flag = RiskFlag.objects.get(order=order)
    # when
    response = owner_in_shop.get(RISK)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-flag="{flag.pk}"' in html
    assert "Device shared with the buyer" in html
    assert "Device phone-9, also in the distributor&#x27;s signed-in devices." in html
    assert "10.00 CNY" in html
    assert f"/console/alpha/distribution/risk/{flag.pk}/release/" in html
    assert 'id="distribution-tabs"' in html


def test_the_owner_releases_a_hold_with_a_note(shop: Tenant, owner_in_shop: Client) -> None:
    # given
    upline, order = _held_order()
    flag = RiskFlag.objects.get(order=order)
    # when
    response = owner_in_shop.post(f"{RISK}{flag.pk}/release/", {"note": "same household"})
    # then
    assert response.status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.note) == ("released", "same household")
    assert flag.reviewed_by.startswith("account:")
    assert Commission.objects.get(order=order).state == "pending"
    assert (balance(upline, Kind.COMMISSION_HELD), balance(upline, Kind.COMMISSION_PENDING)) == (
        0,
        1000,
    )
    # and the released list shows it, the open one no longer
    assert f'data-flag="{flag.pk}"' in owner_in_shop.get(RISK + "?status=released").content.decode()
    assert f'data-flag="{flag.pk}"' not in owner_in_shop.get(RISK).content.decode()


def test_the_owner_rejects_a_hold(shop: Tenant, owner_in_shop: Client) -> None:
    # given
    upline, order = _held_order()
    flag = RiskFlag.objects.get(order=order)
    # when
    owner_in_shop.post(f"{RISK}{flag.pk}/reject/", {"note": ""})
    # then
    assert Commission.objects.get(order=order).state == "reversed"
    assert balance(upline, Kind.COMMISSION_HELD) == 0
    # and reviewing it again only says so
    response = owner_in_shop.post(f"{RISK}{flag.pk}/release/", follow=True)
    assert "This risk hold has been reviewed already." in response.content.decode()
    assert Commission.objects.get(order=order).state == "reversed"


def test_staff_look_but_cannot_review(shop: Tenant, staff_in_shop: Client) -> None:
    # given
    upline, order = _held_order()
    flag = RiskFlag.objects.get(order=order)
    # when
    page = staff_in_shop.get(RISK).content.decode()
    response = staff_in_shop.post(f"{RISK}{flag.pk}/release/")
    # then
    assert 'id="read-only-note"' in page
    assert "/release/" not in page
    assert response.status_code == 403
    flag.refresh_from_db()
    assert flag.status == "open"
    assert balance(upline, Kind.COMMISSION_HELD) == 1000


def test_reviewing_an_unknown_hold_is_not_found(shop: Tenant, owner_in_shop: Client) -> None:
    assert owner_in_shop.post(f"{RISK}999999999/release/").status_code == 404


def test_the_queue_does_not_grow_queries_with_its_length(
    shop: Tenant, owner_in_shop: Client
) -> None:
    # given: one held order, then three more
    _held_order(device="a")

    def count() -> int:
        owner_in_shop.get(RISK)
        with CaptureQueriesContext(connection) as captured:
            assert owner_in_shop.get(RISK).status_code == 200
        return len(captured.captured_queries)

    one = count()
    for device in ("b", "c", "d"):
        _held_order(device=device)
    # then
    assert count() == one
    assert one <= 8


def test_the_owner_appoints_edits_and_disables_a_regional_agent(
    shop: Tenant, owner_in_shop: Client
) -> None:
    # given
    agent_member = member_make(nickname="Agent Li")
    # when: appointed for a city at 3.50 %
    response = owner_in_shop.post(
        REGIONS + "new/",
        {
            "member": str(agent_member.pk),
            "province": "广东省",
            "city": "深圳市",
            "district": "",
            "rate": "3.50",
            "active": "on",
        },
    )
    # then
    assert response.status_code == 302
    agent = RegionalAgent.objects.get(member=agent_member)
    assert (agent.province, agent.city, agent.district, agent.rate_bp) == (
        "广东省",
        "深圳市",
        "",
        350,
    )
    page = owner_in_shop.get(REGIONS).content.decode()
    assert "广东省/深圳市" in page
    assert "Agent Li" in page
    assert "3.50 %" in page
    # when: edited to 4.00 %
    response = owner_in_shop.post(
        f"{REGIONS}{agent.pk}/",
        {
            "member": str(agent_member.pk),
            "province": "广东省",
            "city": "深圳市",
            "district": "南山区",
            "rate": "4.00",
            "active": "on",
        },
    )
    agent.refresh_from_db()
    assert response.status_code == 302
    assert (agent.district, agent.rate_bp) == ("南山区", 400)
    # when: disabled
    owner_in_shop.post(f"{REGIONS}{agent.pk}/disable/")
    agent.refresh_from_db()
    assert agent.active is False


def test_a_taken_region_or_unknown_member_is_refused_on_the_form(
    shop: Tenant, owner_in_shop: Client
) -> None:
    # given: 广东省 has an agent
    regional_agent_create(member_id=member_make().pk, province="广东省", rate_bp=100)
    # when
    taken = owner_in_shop.post(
        REGIONS + "new/",
        {"member": str(member_make().pk), "province": "广东省", "rate": "1.00"},
    )
    unknown = owner_in_shop.post(
        REGIONS + "new/", {"member": "NOSUCHCODE", "province": "浙江省", "rate": "1.00"}
    )
    # then
    assert taken.status_code == 400
    assert "This region already has an active agent." in taken.content.decode()
    assert unknown.status_code == 400
    assert "No member has this id or share code." in unknown.content.decode()
    assert RegionalAgent.objects.count() == 1


def test_staff_cannot_appoint_agents(shop: Tenant, staff_in_shop: Client) -> None:
    response = staff_in_shop.post(
        REGIONS + "new/", {"member": str(member_make().pk), "province": "广东省", "rate": "1.00"}
    )
    assert response.status_code == 403
    assert not RegionalAgent.objects.exists()


def test_the_team_bonus_page_shows_a_months_results(shop: Tenant, owner_in_shop: Client) -> None:
    # given: a paid October (5 % of 100.00 completed by the downline)
    distribution_settings_update(
        changes={"enabled": True, "team_bonus_bp": 500}, actor="owner", acknowledge_risks=True
    )
    top, buyer = member_make(nickname="Top"), member_make()
    referral_bind(
        member=buyer,
        code=distributor_make(member=top).code,
        trigger="first_visit",
        now=datetime(2026, 9, 1, tzinfo=SHANGHAI),
    )
    order = paid(buyer, price_minor=10_000)
    order_ship(order=order, carrier="SF", tracking_number="1", actor="account:1")
    order_receive(order=order, actor=f"member:{buyer.pk}")
    order.refresh_from_db()
    order_complete(order=order)
    Order.objects.filter(pk=order.pk).update(
        completed_at=datetime(2026, 10, 10, 12, 0, tzinfo=SHANGHAI)
    )
    team_bonus_run(now=datetime(2026, 11, 2, tzinfo=SHANGHAI))
    # when
    html = owner_in_shop.get(TEAM + "?month=2026-10").content.decode()
    # then
    assert 'data-month="2026-10"' in html
    assert f'data-member="{top.pk}"' in html
    assert "Top" in html
    assert "100.00" in html
    assert "5.00" in html
