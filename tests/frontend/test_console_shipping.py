"""The console's shipping templates (运费模板): list, create and edit with region rules, errors on
their fields, delete, default, products given a template; who may change them; shops apart."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from infra.db import tenant_schema
from shop.catalog.models import Product, ShippingRegionRule, ShippingTemplate
from shop.catalog.services.shipping import (
    RegionRuleSpec,
    ShippingTemplateSpec,
    product_shipping_template_set,
    shipping_template_create,
)
from tenants.models import Role, Tenant
from tests.support.commerce import product_make
from tests.support.console import console_client

BASE = "/console/alpha/orders/shipping"
XINJIANG = "新疆维吾尔自治区"
TIBET = "西藏自治区"


@pytest.fixture
def staff_client(shop: Tenant) -> Client:
    return console_client(shop, Role.STAFF, "staff@example.com")


@pytest.fixture
def clerk_client(shop: Tenant) -> Client:
    return console_client(shop, Role.CLERK, "clerk@example.com")


def _form(**overrides: Any) -> dict[str, Any]:
    """A posted template with no rule (one blank rule form, as the page sends it)."""
    data: dict[str, Any] = {
        "name": "Standard",
        "basis": "count",
        "first_units": "1",
        "first_fee": "8.00",
        "additional_units": "1",
        "additional_fee": "2.50",
        "free_over": "",
        "excluded_other": "",
        "rule-TOTAL_FORMS": "1",
        "rule-INITIAL_FORMS": "0",
        "rule-MIN_NUM_FORMS": "0",
        "rule-MAX_NUM_FORMS": "50",
        "rule-0-regions_other": "",
        "rule-0-first_units": "1",
        "rule-0-first_fee": "",
        "rule-0-additional_units": "1",
        "rule-0-additional_fee": "",
    }
    data.update(overrides)
    return data


def _rule(index: int, **fields: Any) -> dict[str, Any]:
    values = {
        "regions_other": "",
        "first_units": "1",
        "first_fee": "0",
        "additional_units": "1",
        "additional_fee": "0",
        **fields,
    }
    return {f"rule-{index}-{name}": value for name, value in values.items()}


def _field_errors(html: str, field: str) -> list[str]:
    match = re.search(rf'data-field="{field}">.*?<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def _rules(template: ShippingTemplate) -> list[tuple[list[str], int, int, int, int]]:
    return list(
        ShippingRegionRule.objects.filter(template=template)
        .order_by("position")
        .values_list(
            "regions", "first_units", "first_fee_minor", "additional_units", "additional_fee_minor"
        )
    )


def test_the_list_shows_each_template_with_its_fees(staff_client: Client) -> None:
    # given
    standard = shipping_template_create(
        spec=ShippingTemplateSpec(
            name="Standard",
            first_fee_minor=800,
            additional_fee_minor=250,
            free_over_minor=9900,
            excluded_regions=[TIBET],
            rules=[RegionRuleSpec([XINJIANG], 1, 2000, 1, 1000)],
        ),
        is_default=True,
    )
    heavy = shipping_template_create(
        spec=ShippingTemplateSpec(
            name="Heavy",
            basis="weight",
            first_units=1000,
            first_fee_minor=1200,
            additional_units=500,
            additional_fee_minor=300,
        )
    )
    product_shipping_template_set(product=product_make(), template=heavy)
    # when
    response = staff_client.get(f"{BASE}/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<li class="card template-card" data-template="{standard.pk}">' in html
    assert html.index(f'data-template="{standard.pk}"') < html.index(f'data-template="{heavy.pk}"')
    assert 'Standard</a> <span class="badge ok">Default</span>' in html
    assert "first 1 items CN¥8.00, each further 1 items CN¥2.50" in html
    assert "first 1000 g CN¥12.00, each further 500 g CN¥3.00" in html
    assert "Free from CN¥99.00" in html
    assert f"<strong>{XINJIANG}</strong>: first 1 items CN¥20.00" in html
    assert f"Not delivered to {TIBET}" in html
    assert ">1 product</a>" in html
    assert '<a href="/console/alpha/orders/shipping/" aria-current="page">' in html


def test_without_templates_the_list_says_shipping_is_free(staff_client: Client) -> None:
    # when
    html = staff_client.get(f"{BASE}/").content.decode()
    # then
    assert 'id="no-templates"' in html
    assert "Shipping is free for now" in html


def test_a_template_is_created_with_provinces_and_rules(staff_client: Client) -> None:
    # given
    data = _form(
        name="Mainland",
        basis="weight",
        first_units="1000",
        first_fee="10",
        additional_units="500",
        additional_fee="3.00",
        free_over="300",
        excluded=[TIBET],
        excluded_other="Hong Kong, Macau",
        is_default="on",
        **{"rule-TOTAL_FORMS": "2"},
        **_rule(0, regions=[XINJIANG, "青海省"], first_fee="20", additional_fee="8"),
        **_rule(1, first_fee="", additional_fee=""),  # the blank rule the page adds: skipped
    )
    # when
    response = staff_client.post(f"{BASE}/new/", data)
    # then
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/"
    template = ShippingTemplate.objects.get()
    assert (template.name, template.basis, template.is_default) == ("Mainland", "weight", True)
    assert (template.first_units, template.first_fee_minor) == (1000, 1000)
    assert (template.additional_units, template.additional_fee_minor) == (500, 300)
    assert template.free_over_minor == 30000
    assert template.excluded_regions == [TIBET, "Hong Kong", "Macau"]
    assert _rules(template) == [([XINJIANG, "青海省"], 1, 2000, 1, 800)]


def test_add_a_rule_shows_one_more_rule_and_saves_nothing(staff_client: Client) -> None:
    # when
    response = staff_client.post(f"{BASE}/new/", {**_form(), "add_rule": "1"})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-rule="1"' in html
    assert 'name="rule-TOTAL_FORMS" value="2"' in html
    assert 'value="Standard"' in html
    assert not ShippingTemplate.objects.exists()


def test_errors_show_next_to_their_fields_and_rules(staff_client: Client) -> None:
    # given: 新疆 in two rules; Tibet both refused and in a rule; 3 decimals
    data = _form(
        first_fee="1.005",
        excluded=[TIBET],
        **{"rule-TOTAL_FORMS": "2"},
        **_rule(0, regions=[XINJIANG]),
        **_rule(1, regions=[XINJIANG, TIBET]),
    )
    fixed = {**data, "first_fee": "1.00"}
    # when
    shape = staff_client.post(f"{BASE}/new/", data)
    rules = staff_client.post(f"{BASE}/new/", fixed)
    # then
    assert (shape.status_code, rules.status_code) == (400, 400)
    assert _field_errors(shape.content.decode(), "first_fee") == ["Use at most 2 decimal places."]
    html = rules.content.decode()
    second_rule = html[html.index('data-rule="1"') :]
    assert _field_errors(second_rule, "regions") == [
        f"{XINJIANG} is in another rule already.",
        f"{TIBET} is not delivered to: it cannot have a rule.",
    ]
    assert not ShippingTemplate.objects.exists()


def test_a_taken_name_shows_on_the_name(staff_client: Client) -> None:
    # given
    shipping_template_create(spec=ShippingTemplateSpec(name="Standard"))
    # when
    response = staff_client.post(f"{BASE}/new/", _form(name="Standard"))
    # then
    assert response.status_code == 400
    assert _field_errors(response.content.decode(), "name") == ["Another template has this name."]
    assert ShippingTemplate.objects.count() == 1


def test_the_edit_page_shows_the_template_and_saves_changes(staff_client: Client) -> None:
    # given
    template = shipping_template_create(
        spec=ShippingTemplateSpec(
            name="Standard",
            first_fee_minor=1250,
            excluded_regions=[TIBET, "Overseas"],
            rules=[
                RegionRuleSpec([XINJIANG], 1, 2000, 1, 1000),
                RegionRuleSpec(["青海省"], 1, 1500, 1, 500),
            ],
        )
    )
    # when
    page = staff_client.get(f"{BASE}/{template.pk}/").content.decode()
    response = staff_client.post(
        f"{BASE}/{template.pk}/",
        _form(
            name="Standard 2",
            first_fee="13",
            excluded=[TIBET],
            **{"rule-TOTAL_FORMS": "3", "rule-INITIAL_FORMS": "2"},
            **_rule(0, regions=[XINJIANG], first_fee="20", additional_fee="10", DELETE="on"),
            **_rule(1, regions=["青海省"], first_fee="16", additional_fee="5"),
            **_rule(2, first_fee="", additional_fee=""),
        ),
    )
    # then
    assert 'name="first_fee" value="12.50"' in page
    assert re.search(rf'value="{TIBET}"[^>]*checked', page)
    assert 'value="Overseas"' in page
    assert page.count('class="rule"') == 3  # two rules and a blank one
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.first_fee_minor, template.excluded_regions) == (
        "Standard 2",
        1300,
        [TIBET],
    )
    assert _rules(template) == [(["青海省"], 1, 1600, 1, 500)]


def test_delete_moves_products_to_the_default_and_default_can_move(
    staff_client: Client,
) -> None:
    # given
    standard = shipping_template_create(spec=ShippingTemplateSpec(name="Standard"), is_default=True)
    express = shipping_template_create(spec=ShippingTemplateSpec(name="Express"))
    tea = product_make(title="Tea")
    product_shipping_template_set(product=tea, template=express)
    # when
    made_default = staff_client.post(f"{BASE}/{express.pk}/default/")
    express.refresh_from_db()
    standard.refresh_from_db()
    defaults = (standard.is_default, express.is_default)
    deleted = staff_client.post(f"{BASE}/{express.pk}/delete/", follow=True)
    # then
    assert made_default.status_code == 302
    assert defaults == (False, True)
    assert "Express is deleted. 1 product is now charged by the default template." in (
        deleted.content.decode()
    )
    assert list(ShippingTemplate.objects.values_list("name", flat=True)) == ["Standard"]
    tea.refresh_from_db()
    assert tea.shipping_template_id is None


def test_products_are_found_and_given_the_template_or_released(staff_client: Client) -> None:
    # given
    express = shipping_template_create(spec=ShippingTemplateSpec(name="Express"))
    tea = product_make(title="乌龙茶")
    green = product_make(title="绿茶")
    mug = product_make(title="Mug")
    # when
    found = staff_client.get(f"{BASE}/{express.pk}/products/", {"q": "茶"}).content.decode()
    assigned = staff_client.post(
        f"{BASE}/{express.pk}/products/?q=茶", {"product": [tea.pk, green.pk]}
    )
    after_assign = dict(Product.objects.values_list("title", "shipping_template_id"))
    released = staff_client.post(
        f"{BASE}/{express.pk}/products/", {"product": [green.pk], "release": "on"}, follow=True
    )
    # then
    assert f'data-product="{tea.pk}"' in found
    assert f'data-product="{mug.pk}"' not in found
    assert assigned.status_code == 302
    assert assigned["Location"] == f"{BASE}/{express.pk}/products/?q=%E8%8C%B6"
    assert after_assign == {"乌龙茶": express.pk, "绿茶": express.pk, "Mug": None}
    html = released.content.decode()
    assert "1 product is now charged by the default template." in html
    assert "1 product uses it" in html
    assert dict(Product.objects.values_list("title", "shipping_template_id")) == {
        "乌龙茶": express.pk,
        "绿茶": None,
        "Mug": None,
    }


def test_a_clerk_may_look_but_changes_nothing(clerk_client: Client) -> None:
    # given
    template = shipping_template_create(spec=ShippingTemplateSpec(name="Standard"))
    tea = product_make(title="Tea")
    # when
    listing = clerk_client.get(f"{BASE}/").content.decode()
    edit = clerk_client.get(f"{BASE}/{template.pk}/").content.decode()
    writes = {
        f"{BASE}/new/": _form(name="New"),
        f"{BASE}/{template.pk}/": _form(name="Renamed"),
        f"{BASE}/{template.pk}/default/": {},
        f"{BASE}/{template.pk}/products/": {"product": [tea.pk]},
        f"{BASE}/{template.pk}/delete/": {},
    }
    statuses = {url: clerk_client.post(url, data).status_code for url, data in writes.items()}
    # then
    assert 'id="read-only-note"' in listing
    assert 'id="new-template"' not in listing
    assert re.search(r'<input type="text" name="name"[^>]* disabled', edit)
    assert statuses == dict.fromkeys(writes, 403)
    assert list(ShippingTemplate.objects.values_list("name", "is_default")) == [("Standard", False)]
    tea.refresh_from_db()
    assert tea.shipping_template_id is None


def test_a_template_of_another_shop_is_not_found(staff_client: Client, other_shop: Tenant) -> None:
    # given
    with tenant_schema(other_shop):
        foreign = shipping_template_create(spec=ShippingTemplateSpec(name="Beta"))
    assert not ShippingTemplate.objects.filter(pk=foreign.pk).exists()
    # when
    responses = [
        staff_client.get(f"{BASE}/{foreign.pk}/"),
        staff_client.post(f"{BASE}/{foreign.pk}/", _form(name="Stolen")),
        staff_client.post(f"{BASE}/{foreign.pk}/delete/"),
        staff_client.post(f"{BASE}/{foreign.pk}/default/"),
    ]
    # then
    assert [response.status_code for response in responses] == [404, 404, 404, 404]
    with tenant_schema(other_shop):
        assert list(ShippingTemplate.objects.values_list("name", "is_default")) == [("Beta", False)]
