"""Monthly statements per distributor, from the ledger: opening, earned, reversed (of which
clawback), released, withdrawn, fees, closing; written once by the monthly task, rewritten on
demand; and the member's statements in the API."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from distribution.models import LedgerAccountKind, Statement
from distribution.services.ledger import ledger_account_for, ledger_balances, ledger_post
from distribution.services.settings import distribution_settings_update
from distribution.services.statements import (
    month_bounds,
    statements_for_member,
    statements_generate,
    statements_monthly,
)
from distribution.tasks import statements_monthly_task
from infra.db import schema_connection
from shop.core.selectors import shop_context
from shop.customers.models import Member
from tenants.models import Tenant
from tests.distribution.settlement_support import chain, paid, refund, released
from tests.support.commerce import member_make, member_token

pytestmark = pytest.mark.django_db
Kind = LedgerAccountKind
# The token, its member, the statements.
API_BUDGET = 3


def _withdraw_with_fee(member: Member, *, amount_minor: int, fee_minor: int) -> None:
    """A withdrawal requested and paid as the ledger sees it (available → in progress → withdrawn
    net + the shop's fee)."""
    key = uuid.uuid4().hex
    in_progress = ledger_account_for(member_id=member.pk, kind=Kind.WITHDRAWAL_IN_PROGRESS)
    ledger_post(
        source="test_withdrawal",
        source_id=key,
        purpose="request",
        lines=[
            (
                ledger_account_for(member_id=member.pk, kind=Kind.COMMISSION_AVAILABLE),
                -amount_minor,
            ),
            (in_progress, amount_minor),
        ],
    )
    ledger_post(
        source="test_withdrawal",
        source_id=key,
        purpose="paid",
        lines=[
            (in_progress, -amount_minor),
            (
                ledger_account_for(member_id=member.pk, kind=Kind.WITHDRAWN),
                amount_minor - fee_minor,
            ),
            (
                ledger_account_for(member_id=None, kind=Kind.SHOP_WITHDRAWAL_FEE_INCOME),
                fee_minor,
            ),
        ],
    )


def _this_month() -> date:
    return timezone.localtime(timezone.now(), shop_context().time_zone).date().replace(day=1)


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def _figures(statement: Statement) -> dict[str, int]:
    return {
        name: getattr(statement, name)
        for name in (
            "opening_minor",
            "earned_minor",
            "reversed_minor",
            "clawback_minor",
            "released_minor",
            "withdrawn_minor",
            "fees_minor",
            "closing_minor",
            "closing_available_minor",
        )
    }


def _month_of_activity() -> tuple[Member, Member]:
    """offset_future; 10.00 earned, released, withdrawn with a 0.50 fee, then refunded in full;
    4.00 more earned (pending). (distributor, buyer)"""
    distribution_settings_update(changes={"enabled": True, "clawback": "offset_future"}, actor="a")
    upline, buyer = chain(2)
    first = released(paid(buyer, price_minor=10000))
    _withdraw_with_fee(upline, amount_minor=1000, fee_minor=50)
    paid(buyer, price_minor=4000)
    refund(first, quantity=1)
    return upline, buyer


def test_a_statement_sums_the_months_ledger_entries(shop: Tenant) -> None:
    # given
    upline, buyer = _month_of_activity()
    month = _this_month()
    # when
    statements_generate(month=month)
    statements_generate(month=_next_month(month))
    # then: earned 14.00, reversed 10.00 all of it clawback (it had been withdrawn), released
    # 10.00, withdrawn 9.50 net plus a 0.50 fee; the shop is owed 6.00 at the end
    this, following = Statement.objects.filter(member=upline).order_by("month")
    assert this.month == month
    assert _figures(this) == {
        "opening_minor": 0,
        "earned_minor": 1400,
        "reversed_minor": 1000,
        "clawback_minor": 1000,
        "released_minor": 1000,
        "withdrawn_minor": 950,
        "fees_minor": 50,
        "closing_minor": -600,
        "closing_available_minor": 0,
    }
    # closing = opening + earned - reversed - withdrawn - fees, and equals the balances' sum
    assert this.closing_minor == (
        this.opening_minor
        + this.earned_minor
        - this.reversed_minor
        - this.withdrawn_minor
        - this.fees_minor
    )
    owed = ledger_balances(member_id=upline.pk)
    assert this.closing_minor == sum(
        amount for kind, amount in owed.items() if kind != Kind.WITHDRAWN
    )
    assert owed[Kind.WITHDRAWN] == this.withdrawn_minor
    # the next month opens where this one closed, without activity
    assert _figures(following) == {
        **dict.fromkeys(_figures(following), 0),
        "opening_minor": -600,
        "closing_minor": -600,
    }
    assert not Statement.objects.filter(member=buyer).exists()


def test_the_monthly_task_writes_last_month_once_and_a_rewrite_follows_the_ledger(
    shop: Tenant,
) -> None:
    # given: a month of activity; the shop's next month has begun
    upline, buyer = _month_of_activity()
    month = _this_month()
    start_of_next = month_bounds(_next_month(month))[0]
    # when: the task runs twice after the month ended, then a new commission is booked and the
    # merchant rewrites the month
    written = statements_monthly(at=start_of_next + timedelta(hours=1))
    first = Statement.objects.get(member=upline, month=month)
    again = statements_monthly(at=start_of_next + timedelta(hours=2))
    paid(buyer, price_minor=2000)
    statements_generate(month=month)
    rewritten = Statement.objects.get(member=upline, month=month)
    # then
    assert written >= 1
    assert again == 0
    assert Statement.objects.filter(member=upline).count() == 1
    assert (first.earned_minor, first.closing_minor) == (1400, -600)
    assert (rewritten.earned_minor, rewritten.closing_minor) == (1600, -400)
    assert rewritten.generated_at > first.generated_at


def test_before_the_month_ends_the_task_writes_the_month_before(shop: Tenant) -> None:
    # given: activity this month
    upline, _buyer = _month_of_activity()
    # when: the task runs now (this month has not ended)
    statements_monthly_task()
    # then: only the month before was written (this distributor had nothing then)
    assert not Statement.objects.filter(member=upline).exists()


def test_months_are_the_shops_own(shop: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.setattr(shop, "time_zone", "Asia/Shanghai")
    # when
    start, end = month_bounds(date(2026, 12, 15))
    # then: December in Shanghai is 16:00 UTC on 30 November to 16:00 UTC on 31 December
    utc = ZoneInfo("UTC")
    assert start.astimezone(utc) == datetime(2026, 11, 30, 16, 0, tzinfo=utc)
    assert end.astimezone(utc) == datetime(2026, 12, 31, 16, 0, tzinfo=utc)


def test_the_api_shows_the_members_own_statements(shop: Tenant) -> None:
    # given
    upline, _buyer = _month_of_activity()
    month = _this_month()
    statements_generate(month=month)
    statements_generate(month=_next_month(month))
    api = Client(HTTP_HOST="alpha.localhost")
    headers = member_token(upline)
    # when
    anonymous = api.get("/api/v1/distribution/statements")
    others = api.get("/api/v1/distribution/statements", **member_token(member_make()))
    api.get("/api/v1/distribution/statements", **headers)  # warm
    with CaptureQueriesContext(schema_connection()) as captured:
        response = api.get("/api/v1/distribution/statements", **headers)
    # then: newest month first, in minor units
    assert anonymous.status_code == 401
    assert others.status_code == 200
    assert others.json() == {"results": []}
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [item["month"] for item in results] == [
        f"{_next_month(month):%Y-%m}",
        f"{month:%Y-%m}",
    ]
    assert {
        key: results[1][key] for key in ("earned_minor", "clawback_minor", "closing_minor")
    } == {
        "earned_minor": 1400,
        "clawback_minor": 1000,
        "closing_minor": -600,
    }
    assert results[1]["currency"] == shop.currency
    assert list(statements_for_member(member_id=upline.pk)) == list(
        Statement.objects.filter(member=upline).order_by("-month")
    )
    assert len(captured.captured_queries) <= API_BUDGET, captured.captured_queries
