"""The console's distributor statements: a month's statements with totals, one distributor's
months, the CSV download, writing a month on demand (owner and admins only), the settlement
runs; queries that do not grow with the number of distributors."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from distribution.models import LedgerAccountKind, Statement
from distribution.services.ledger import ledger_account_for, ledger_post
from distribution.services.statements import statements_generate
from shop.core.selectors import shop_context
from shop.customers.models import Member
from tenants.models import Role, Tenant
from tests.frontend.test_console_orders import _queries
from tests.support.commerce import member_make
from tests.support.console import console_client

URL = "/console/alpha/distribution/statements/"
GENERATE = "/console/alpha/distribution/statements/generate/"
CSV_URL = "/console/alpha/distribution/statements/csv/"
Kind = LedgerAccountKind
# Session, account, membership, the account's shops, the months, the month's statements with
# their members, the settlement runs.
PAGE_BUDGET = 8


@pytest.fixture
def owner_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.OWNER, "statements-owner@example.com")


@pytest.fixture
def staff_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.STAFF, "statements-staff@example.com")


def _earned(amount_minor: int, nickname: str) -> Member:
    """A distributor with `amount_minor` booked to pending (the ledger's booking posting)."""
    member = member_make(nickname=nickname)
    ledger_post(
        source="order",
        source_id=uuid.uuid4().hex,
        purpose="commission_book",
        lines=[
            (ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE), -amount_minor),
            (ledger_account_for(member_id=member.pk, kind=Kind.COMMISSION_PENDING), amount_minor),
        ],
    )
    return member


def _this_month() -> date:
    return timezone.localtime(timezone.now(), shop_context().time_zone).date().replace(day=1)


def test_the_month_lists_each_distributor_with_totals(owner_in_shop: Client) -> None:
    # given: two distributors earned 12.34 and 5.00 this month
    alice = _earned(1234, "Alice")
    bob = _earned(500, "Bob")
    month = _this_month()
    statements_generate(month=month)
    # when
    response = owner_in_shop.get(URL, {"month": f"{month:%Y-%m}"})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Statements</h1>" in html
    assert f'data-month="{month:%Y-%m}"' in html
    alice_row = html[html.index(f'<tr data-member="{alice.pk}">') :]
    assert "Alice" in alice_row[: alice_row.index("</tr>")]
    assert '<td class="earned">12.34</td>' in alice_row[: alice_row.index("</tr>")]
    assert f'<tr data-member="{bob.pk}">' in html
    assert 'id="statements-generate"' in html
    assert f"/console/alpha/distribution/statements/members/{alice.pk}/" in html
    assert 'aria-current="page">Statements</a>' in html


def test_the_page_queries_do_not_grow_with_distributors(owner_in_shop: Client) -> None:
    # given
    month = _this_month()
    _earned(100, "One")
    statements_generate(month=month)
    status_one, one = _queries(lambda: owner_in_shop.get(URL, {"month": f"{month:%Y-%m}"}))
    for index in range(5):
        _earned(100, f"More {index}")
    statements_generate(month=month)
    # when
    status_many, many = _queries(lambda: owner_in_shop.get(URL, {"month": f"{month:%Y-%m}"}))
    # then
    assert (status_one, status_many) == (200, 200)
    assert many == one
    assert many <= PAGE_BUDGET


def test_the_csv_has_one_row_per_distributor_in_major_units(owner_in_shop: Client) -> None:
    # given
    alice = _earned(1234, "Alice")
    month = _this_month()
    statements_generate(month=month)
    # when
    response = owner_in_shop.get(CSV_URL, {"month": f"{month:%Y-%m}"})
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="statements-alpha-{month:%Y-%m}.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    mine = [row for row in rows if row["member_id"] == str(alice.pk)]
    assert len(mine) == 1
    assert {key: mine[0][key] for key in ("month", "member", "earned", "closing")} == {
        "month": f"{month:%Y-%m}",
        "member": "Alice",
        "earned": "12.34",
        "closing": "12.34",
    }


def test_a_distributors_page_lists_their_months(owner_in_shop: Client) -> None:
    # given: statements of this month and the next
    alice = _earned(700, "Alice")
    month = _this_month()
    following = (month + timedelta(days=32)).replace(day=1)
    statements_generate(month=month)
    statements_generate(month=following)
    # when
    response = owner_in_shop.get(f"/console/alpha/distribution/statements/members/{alice.pk}/")
    # then: newest first; the next month opens at this month's close
    html = response.content.decode()
    assert response.status_code == 200
    assert "Statements of Alice" in html
    assert html.index(f'data-month="{following:%Y-%m}"') < html.index(f'data-month="{month:%Y-%m}"')
    next_row = html[html.index(f'data-month="{following:%Y-%m}"') :]
    assert '<td class="opening">7.00</td>' in next_row[: next_row.index("</tr>")]


def test_the_owner_writes_a_month_on_demand(owner_in_shop: Client) -> None:
    # given
    alice = _earned(300, "Alice")
    month = _this_month()
    # when
    response = owner_in_shop.post(GENERATE, {"month": f"{month:%Y-%m}"})
    bad = owner_in_shop.post(GENERATE, {"month": "2026-13"})
    future = owner_in_shop.post(
        GENERATE, {"month": f"{(month + timedelta(days=40)).replace(day=1):%Y-%m}"}
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?month={month:%Y-%m}"
    assert Statement.objects.get(member=alice, month=month).earned_minor == 300
    assert bad.status_code == 400
    assert "Enter a month like 2026-01." in bad.content.decode()
    assert future.status_code == 400
    assert Statement.objects.count() == Statement.objects.filter(month=month).count()


def test_staff_may_look_but_not_write(staff_in_shop: Client) -> None:
    # given
    alice = _earned(300, "Alice")
    month = _this_month()
    # when
    page = staff_in_shop.get(URL)
    refused = staff_in_shop.post(GENERATE, {"month": f"{month:%Y-%m}"})
    # then
    assert page.status_code == 200
    assert 'id="statements-generate"' not in page.content.decode()
    assert refused.status_code == 403
    assert not Statement.objects.filter(member=alice).exists()


def test_the_page_lists_the_settlement_runs_that_released_money(owner_in_shop: Client) -> None:
    # given: a commission released by the hourly unfreeze job; an hour that released nothing
    from distribution.services.settings import distribution_settings_update
    from distribution.services.settlement import settlement_unfreeze
    from tests.distribution.settlement_support import chain, paid, released

    distribution_settings_update(changes={"enabled": True}, actor="a")
    _upline, buyer = chain(2)
    released(paid(buyer, price_minor=5000))
    settlement_unfreeze(at=timezone.now() - timedelta(days=30))
    # when
    html = owner_in_shop.get(URL).content.decode()
    # then
    assert html.count('data-run="unfreeze:') == 1
    assert "Commissions released: 1 · distributors: 1" in html
