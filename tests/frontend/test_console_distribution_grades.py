"""The console's distributor grades: the list, creating and editing a grade with rates typed as
percentages or amounts and its conditions, refusals shown next to their fields, deleting only an
unused grade, the manual override with its note (locked, audited) and the history; owners and
admins change, others look."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from distribution.models import Distributor, Grade, GradeChange, ProductCommissionRate
from distribution.services.bindings import distributor_make
from distribution.services.grades import grade_create, grade_set_manual
from distribution.services.rates import product_rate_set
from distribution.services.settings import distribution_settings_get
from tenants.models import Role, Tenant
from tests.frontend.test_console_orders import _queries
from tests.support.commerce import member_make, product_make, sku_of
from tests.support.console import console_client

URL = "/console/alpha/distribution/grades/"
NEW = "/console/alpha/distribution/grades/new/"
OVERRIDE = "/console/alpha/distribution/grades/override/"


@pytest.fixture
def owner_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.OWNER, "grades-owner@example.com")


@pytest.fixture
def staff_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.STAFF, "grades-staff@example.com")


def _form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "VIP",
        "rank": "10",
        "rate_kind": "percentage",
        "rate_1": "15.00",
        "rate_2": "5.50",
        "rate_3": "",
        "condition_mode": "all",
        "invites_min": "3",
        "own_spend_min": "100.00",
        "own_orders_min": "",
        "team_spend_min": "",
        "team_orders_min": "",
        "product_ids": "",
        "retention_days": "30",
        "retention_own_spend_min": "50.00",
        "retention_team_spend_min": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _field_errors(html: str, field: str) -> list[str]:
    match = re.search(rf'data-field="{field}">.*?<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def test_the_owner_creates_a_grade_with_rates_conditions_and_retention(
    owner_in_shop: Client,
) -> None:
    # when
    response = owner_in_shop.post(NEW, _form())
    # then
    assert response.status_code == 302
    assert response["Location"] == URL
    grade = Grade.objects.get(name="VIP")
    assert (grade.rank, grade.rate_kind, list(grade.level_rates)) == (10, "percentage", [1500, 550])
    assert (grade.condition_mode, grade.invites_min, grade.own_spend_min_minor) == ("all", 3, 10000)
    assert (grade.own_orders_min, grade.team_spend_min_minor) == (None, None)
    assert (grade.retention_days, grade.retention_own_spend_min_minor) == (30, 5000)
    html = owner_in_shop.get(URL).content.decode()
    assert "VIP is created." in html
    row = html[html.index(f'data-grade="{grade.pk}"') :]
    assert '<td class="grade-rates">15.00 % / 5.50 %</td>' in row
    assert "Re-checked after 30 days" in row
    assert 'id="distribution-tabs"' in html
    assert 'aria-current="page">Grades</a>' in html


def test_the_edit_form_shows_the_grade_in_the_units_typed(owner_in_shop: Client) -> None:
    # given
    grade = grade_create(
        values={
            "name": "店长",
            "rank": 5,
            "rate_kind": "fixed",
            "level_rates": [350, 120],
            "team_spend_min_minor": 123456,
            "product_ids": [],
        }
    )
    # when
    html = owner_in_shop.get(f"{URL}{grade.pk}/").content.decode()
    # then
    assert 'name="rate_1" value="3.50"' in html
    assert 'name="rate_2" value="1.20"' in html
    assert 'name="team_spend_min" value="1234.56"' in html
    assert 'name="name" value="店长"' in html


def test_the_owner_edits_a_grade_to_fixed_rates(owner_in_shop: Client) -> None:
    # given
    grade = grade_create(values={"name": "VIP", "rank": 10, "level_rates": [1000]})
    # when
    response = owner_in_shop.post(
        f"{URL}{grade.pk}/", _form(rate_kind="fixed", rate_1="2.00", rate_2="", rank="11")
    )
    # then
    assert response.status_code == 302
    grade.refresh_from_db()
    assert (grade.rank, grade.rate_kind, list(grade.level_rates)) == (11, "fixed", [200])


def test_refusals_are_shown_next_to_their_fields_and_change_nothing(
    owner_in_shop: Client,
) -> None:
    # given
    grade_create(values={"name": "VIP", "rank": 10})
    # when: a taken rank; rates over the whole sale; a gap in the levels; a bad product list
    taken = owner_in_shop.post(NEW, _form(name="SVIP"))
    over = owner_in_shop.post(NEW, _form(name="SVIP", rank="20", rate_1="80.00", rate_2="30.00"))
    gap = owner_in_shop.post(NEW, _form(name="SVIP", rank="20", rate_2="", rate_3="1.00"))
    products = owner_in_shop.post(NEW, _form(name="SVIP", rank="20", product_ids="12, tea"))
    # then
    assert [r.status_code for r in (taken, over, gap, products)] == [400, 400, 400, 400]
    assert _field_errors(taken.content.decode(), "rank") == ["Another grade has this rank."]
    assert _field_errors(over.content.decode(), "rate_1") == [
        "All levels together cannot take more than the whole sale."
    ]
    assert _field_errors(gap.content.decode(), "rate_2") == [
        "Give this level&#x27;s rate, or none for the levels above."
    ]
    assert _field_errors(products.content.decode(), "product_ids") == [
        "Give product ids like 12, 15."
    ]
    assert list(Grade.objects.values_list("name", flat=True)) == ["VIP"]


def test_a_tampered_fourth_level_does_not_exist_in_the_form(owner_in_shop: Client) -> None:
    # when: a rate_4 field is posted
    response = owner_in_shop.post(NEW, _form(rate_3="1.00", rate_4="1.00"))
    # then: three levels are saved, never four
    assert response.status_code == 302
    assert list(Grade.objects.get(name="VIP").level_rates) == [1500, 550, 100]


def test_staff_see_the_grades_read_only_and_may_not_change_them(
    staff_in_shop: Client,
) -> None:
    # given
    grade = grade_create(values={"name": "VIP", "rank": 10})
    member = member_make()
    distributor_make(member=member)
    # when
    page = staff_in_shop.get(URL)
    form = staff_in_shop.get(f"{URL}{grade.pk}/")
    created = staff_in_shop.post(NEW, _form(name="SVIP", rank="20"))
    edited = staff_in_shop.post(f"{URL}{grade.pk}/", _form(rank="99"))
    deleted = staff_in_shop.post(f"{URL}{grade.pk}/delete/")
    overridden = staff_in_shop.post(
        OVERRIDE, {"member": str(member.pk), "grade": str(grade.pk), "note": "x"}
    )
    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="read-only-note"' in html
    assert 'id="new-grade"' not in html
    assert "Set the grade</button>" not in html
    assert form.status_code == 200
    assert "Save the grade" not in form.content.decode()
    assert [r.status_code for r in (created, edited, deleted, overridden)] == [403, 403, 403, 403]
    grade.refresh_from_db()
    assert grade.rank == 10
    assert list(Grade.objects.values_list("name", flat=True)) == ["VIP"]
    assert not GradeChange.objects.exists()


def test_only_an_unused_grade_can_be_deleted(owner_in_shop: Client) -> None:
    # given
    held = grade_create(values={"name": "VIP", "rank": 10})
    unused = grade_create(values={"name": "Old", "rank": 5})
    member = member_make()
    distributor_make(member=member)
    grade_set_manual(member_id=member.pk, grade_id=held.pk, actor="a")
    # when
    page = owner_in_shop.get(URL).content.decode()
    refused = owner_in_shop.post(f"{URL}{held.pk}/delete/")
    done = owner_in_shop.post(f"{URL}{unused.pk}/delete/")
    # then: the page offers to delete only the unused one
    assert f'action="{URL}{unused.pk}/delete/"' in page
    assert f'action="{URL}{held.pk}/delete/"' not in page
    assert (refused.status_code, done.status_code) == (302, 302)
    assert list(Grade.objects.values_list("name", flat=True)) == ["VIP"]
    html = owner_in_shop.get(URL).content.decode()
    assert "Old is deleted." in html
    assert "Distributors hold this grade: give them another grade first." in html


def test_the_manual_override_sets_locks_audits_and_shows_in_the_history(
    owner_in_shop: Client,
) -> None:
    # given
    vip = grade_create(values={"name": "VIP", "rank": 10})
    member = member_make(nickname="小李")
    code = distributor_make(member=member).code
    # when: by share code, with a note
    response = owner_in_shop.post(
        OVERRIDE, {"member": code.lower(), "grade": str(vip.pk), "note": "年度合作", "lock": "on"}
    )
    # then
    assert response.status_code == 302
    distributor = Distributor.objects.get(member=member)
    assert (distributor.grade_id, distributor.grade_locked) == (vip.pk, True)
    change = GradeChange.objects.get(member=member)
    assert (change.reason, change.to_grade_name, change.note) == ("manual", "VIP", "年度合作")
    assert change.actor.startswith("account:")
    assert change.actor.endswith("grades-owner@example.com")
    html = owner_in_shop.get(URL).content.decode()
    assert "小李 is now VIP." in html
    record = html[html.index(f'data-change="{change.pk}"') :]
    assert '<span class="change-grades">— → VIP</span>' in record
    assert '<span class="change-note">年度合作</span>' in record
    assert "Set by hand" in record
    # when: the history of that member only
    filtered = owner_in_shop.get(URL, {"member": str(member.pk)}).content.decode()
    # then
    assert f"member #{member.pk}" in filtered
    assert f'data-change="{change.pk}"' in filtered


def test_the_override_of_an_unknown_distributor_is_refused(owner_in_shop: Client) -> None:
    # given
    vip = grade_create(values={"name": "VIP", "rank": 10})
    # when
    response = owner_in_shop.post(
        OVERRIDE, {"member": "NOPE1234", "grade": str(vip.pk), "note": "x"}
    )
    missing_note = owner_in_shop.post(OVERRIDE, {"member": "NOPE1234", "grade": str(vip.pk)})
    # then
    assert response.status_code == 400
    assert _field_errors(response.content.decode(), "member") == [
        "There is no such distributor in this shop."
    ]
    assert missing_note.status_code == 400
    assert _field_errors(missing_note.content.decode(), "note") == ["This field is required."]
    assert not GradeChange.objects.exists()


# --- Where rates come from, and the rates of products


def test_the_owner_chooses_the_rate_source(owner_in_shop: Client) -> None:
    # when
    response = owner_in_shop.post(f"{URL}rate-source/", {"rate_source": "grade"})
    # then
    assert response.status_code == 302
    assert distribution_settings_get().rate_source == "grade"
    html = owner_in_shop.get(URL).content.decode()
    assert "Commissions are now paid at the rates of: The distributor&#x27;s grade." in html


def test_the_owner_sets_and_removes_a_skus_own_rates(owner_in_shop: Client) -> None:
    # given
    product = product_make(title="龙井", price_minor=10000, stock=5)
    sku = sku_of(product)
    # when
    saved = owner_in_shop.post(
        f"{URL}product-rates/",
        {
            "product": str(product.pk),
            "sku_code": sku.code,
            "rate_kind": "fixed",
            "rate_1": "3.00",
            "rate_2": "1.00",
        },
    )
    # then
    assert saved.status_code == 302
    rate = ProductCommissionRate.objects.get()
    assert (rate.product_id, rate.sku_id, rate.rate_kind) == (product.pk, sku.pk, "fixed")
    assert list(rate.level_rates) == [300, 100]
    html = owner_in_shop.get(URL).content.decode()
    row = html[html.index(f'data-product-rate="{rate.pk}"') :]
    assert '<td class="product-rate-rates">3.00 / 1.00</td>' in row
    assert "龙井" in row
    # when
    removed = owner_in_shop.post(f"{URL}product-rates/{rate.pk}/delete/")
    # then
    assert removed.status_code == 302
    assert not ProductCommissionRate.objects.exists()


def test_a_product_rate_for_an_unknown_target_is_refused(owner_in_shop: Client) -> None:
    # given
    product = product_make(price_minor=100, stock=1)
    # when
    response = owner_in_shop.post(
        f"{URL}product-rates/",
        {"product": str(product.pk), "sku_code": "NOPE", "rate_kind": "percentage", "rate_1": "5"},
    )
    # then
    assert response.status_code == 400
    assert _field_errors(response.content.decode(), "product") == [
        "Choose an existing product, and only one of its own SKUs."
    ]
    assert not ProductCommissionRate.objects.exists()


def test_staff_may_not_change_where_rates_come_from_or_product_rates(
    staff_in_shop: Client,
) -> None:
    # given
    product = product_make(price_minor=100, stock=1)
    # when
    source = staff_in_shop.post(f"{URL}rate-source/", {"rate_source": "grade"})
    rate = staff_in_shop.post(
        f"{URL}product-rates/",
        {"product": str(product.pk), "rate_kind": "percentage", "rate_1": "5"},
    )
    # then
    assert (source.status_code, rate.status_code) == (403, 403)
    assert distribution_settings_get().rate_source == "global"
    assert not ProductCommissionRate.objects.exists()


# Session, account, membership, the account's shops, settings, grades (2), product rates,
# grade changes.
GRADES_PAGE_BUDGET = 9


def test_the_grades_page_keeps_its_query_budget_whatever_it_lists(owner_in_shop: Client) -> None:
    # given: one of each
    first = grade_create(values={"name": "VIP", "rank": 10, "is_default": True})
    member = member_make()
    distributor_make(member=member)
    grade_set_manual(member_id=member.pk, grade_id=first.pk, actor="a", note="n")
    product_rate_set(
        product_id=product_make(price_minor=100, stock=1).pk,
        rate_kind="percentage",
        level_rates=[100],
    )
    status, few = _queries(lambda: owner_in_shop.get(URL))
    # given: several of each
    for rank in range(1, 6):
        grade = grade_create(values={"name": f"G{rank}", "rank": rank})
        other = member_make()
        distributor_make(member=other)
        grade_set_manual(member_id=other.pk, grade_id=grade.pk, actor="a", note="n")
        product_rate_set(
            product_id=product_make(price_minor=100, stock=1).pk,
            rate_kind="fixed",
            level_rates=[100, 50],
        )
    # when
    status_many, many = _queries(lambda: owner_in_shop.get(URL))
    # then
    assert (status, status_many) == (200, 200)
    assert few == many <= GRADES_PAGE_BUDGET, (few, many)
