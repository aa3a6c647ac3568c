"""Shipping templates (运费模板): create, update, delete with validation, one default at most,
region rules; which template a product uses; checkout charges what the template says."""

from __future__ import annotations

from typing import Any

import pytest

from infra.db import tenant_schema
from infra.errors import ValidationFailed
from shop.catalog.errors import ShippingTemplateNotFoundError
from shop.catalog.models import Product, ShippingRegionRule, ShippingTemplate
from shop.catalog.services.products import product_delete
from shop.catalog.services.shipping import (
    RegionRuleSpec,
    ShippingTemplateSpec,
    product_shipping_template_set,
    products_shipping_template_set,
    shipping_template_create,
    shipping_template_default_set,
    shipping_template_delete,
    shipping_template_update,
)
from shop.orders.services.checkout import CheckoutItem, order_checkout
from tenants.models import Tenant
from tests.support.commerce import address_make, member_make, product_make, sku_of
from tests.support.threads import committed, run_in_threads

pytestmark = pytest.mark.django_db

XINJIANG = "新疆维吾尔自治区"
TIBET = "西藏自治区"


def _rules(template: ShippingTemplate) -> list[tuple[list[str], int, int, int, int, int]]:
    return list(
        ShippingRegionRule.objects.filter(template=template)
        .order_by("position")
        .values_list(
            "regions",
            "first_units",
            "first_fee_minor",
            "additional_units",
            "additional_fee_minor",
            "position",
        )
    )


def _codes(error: ValidationFailed) -> dict[str, list[str]]:
    return {name: [item["code"] for item in items] for name, items in error.fields.items()}


def _defaults() -> list[str]:
    return list(ShippingTemplate.objects.filter(is_default=True).values_list("name", flat=True))


def test_a_template_is_created_with_its_rules_and_checkout_charges_by_it(shop: Tenant) -> None:
    # given: by weight, 1 kg 10.00 then 3.00 per 500 g; 新疆 20.00 then 8.00; no Tibet
    spec = ShippingTemplateSpec(
        name="  By weight ",
        basis="weight",
        first_units=1000,
        first_fee_minor=1000,
        additional_units=500,
        additional_fee_minor=300,
        free_over_minor=30000,
        excluded_regions=[TIBET, " ", TIBET],
        rules=[RegionRuleSpec([f" {XINJIANG}"], 1000, 2000, 500, 800)],
    )
    # when
    template = shipping_template_create(spec=spec, is_default=True)
    # then
    template.refresh_from_db()
    assert (template.name, template.basis, template.excluded_regions, template.is_default) == (
        "By weight",
        "weight",
        [TIBET],
        True,
    )
    assert (template.first_units, template.first_fee_minor) == (1000, 1000)
    assert (template.additional_units, template.additional_fee_minor) == (500, 300)
    assert template.free_over_minor == 30000
    assert _rules(template) == [([XINJIANG], 1000, 2000, 500, 800, 0)]
    member = member_make()
    sku = sku_of(product_make(price_minor=5000, stock=50, weight_grams=700))
    far = order_checkout(
        member=member,
        items=[CheckoutItem(sku.pk, 3)],
        address_id=address_make(member, province=XINJIANG).pk,
    )
    assert far.shipping_minor == 2000 + 3 * 800


def test_invalid_templates_are_refused_with_every_fields_error(shop: Tenant) -> None:
    # given
    spec = ShippingTemplateSpec(
        name=" ",
        basis="volume",
        first_units=0,
        first_fee_minor=-1,
        additional_units=1,
        additional_fee_minor=0,
        free_over_minor=-5,
        excluded_regions=[TIBET],
        rules=[
            RegionRuleSpec([XINJIANG, TIBET], 1, 100, 1, 100),
            RegionRuleSpec([XINJIANG], 1, 100, 0, 100),
            RegionRuleSpec(["  "], 1, 100, 1, 100),
        ],
    )
    # when
    with pytest.raises(ValidationFailed) as raised:
        shipping_template_create(spec=spec)
    # then
    assert _codes(raised.value) == {
        "name": ["required"],
        "basis": ["invalid"],
        "first_units": ["out_of_range"],
        "first_fee_minor": ["out_of_range"],
        "free_over_minor": ["out_of_range"],
        "rules.0.regions": ["duplicate"],
        "rules.1.regions": ["duplicate"],
        "rules.1.additional_units": ["out_of_range"],
        "rules.2.regions": ["required"],
    }
    assert raised.value.fields["rules.0.regions"][0]["message"] == (
        f"{TIBET} is not delivered to: it cannot have a rule."
    )
    assert raised.value.fields["rules.1.regions"][0]["message"] == (
        f"{XINJIANG} is in another rule already."
    )
    assert not ShippingTemplate.objects.exists()
    assert not ShippingRegionRule.objects.exists()


def test_a_taken_name_is_refused_and_nothing_changes(shop: Tenant) -> None:
    # given
    shipping_template_create(spec=ShippingTemplateSpec(name="Standard", first_fee_minor=500))
    other = shipping_template_create(spec=ShippingTemplateSpec(name="Express"))
    # when
    with pytest.raises(ValidationFailed) as created:
        shipping_template_create(spec=ShippingTemplateSpec(name="Standard"))
    with pytest.raises(ValidationFailed) as renamed:
        shipping_template_update(
            template=other,
            spec=ShippingTemplateSpec(
                name="Standard", rules=[RegionRuleSpec([XINJIANG], 1, 1, 1, 1)]
            ),
        )
    # then
    assert _codes(created.value) == _codes(renamed.value) == {"name": ["taken"]}
    assert list(ShippingTemplate.objects.order_by("name").values_list("name", flat=True)) == [
        "Express",
        "Standard",
    ]
    assert not ShippingRegionRule.objects.exists()


def test_an_update_replaces_the_fields_and_rules_and_keeps_the_default(shop: Tenant) -> None:
    # given
    template = shipping_template_create(
        spec=ShippingTemplateSpec(
            name="Standard",
            excluded_regions=[TIBET],
            rules=[
                RegionRuleSpec([XINJIANG], 1, 2000, 1, 1000),
                RegionRuleSpec(["青海省"], 1, 1500, 1, 500),
            ],
        ),
        is_default=True,
    )
    # when
    shipping_template_update(
        template=template,
        spec=ShippingTemplateSpec(
            name="Standard mainland",
            basis="count",
            first_units=2,
            first_fee_minor=800,
            additional_units=1,
            additional_fee_minor=200,
            rules=[RegionRuleSpec([TIBET, XINJIANG], 1, 3000, 1, 1500)],
        ),
    )
    # then
    template.refresh_from_db()
    assert (template.name, template.first_units, template.first_fee_minor) == (
        "Standard mainland",
        2,
        800,
    )
    assert (template.excluded_regions, template.free_over_minor, template.is_default) == (
        [],
        None,
        True,
    )
    assert _rules(template) == [([TIBET, XINJIANG], 1, 3000, 1, 1500, 0)]


def test_one_template_at_most_is_the_default(shop: Tenant) -> None:
    # given
    first = shipping_template_create(spec=ShippingTemplateSpec(name="First"), is_default=True)
    # when: a second default is created, then the first is made the default again
    second = shipping_template_create(spec=ShippingTemplateSpec(name="Second"), is_default=True)
    after_create = _defaults()
    shipping_template_default_set(template=first)
    # then
    assert after_create == ["Second"]
    assert _defaults() == ["First"]
    second.refresh_from_db()
    assert second.is_default is False


def test_an_update_may_make_a_template_the_default_or_not(shop: Tenant) -> None:
    # given
    first = shipping_template_create(spec=ShippingTemplateSpec(name="First"), is_default=True)
    second = shipping_template_create(spec=ShippingTemplateSpec(name="Second"))
    # when
    shipping_template_update(
        template=second, spec=ShippingTemplateSpec(name="Second"), is_default=True
    )
    made = _defaults()
    shipping_template_update(template=first, spec=ShippingTemplateSpec(name="First 2"))
    kept = _defaults()
    shipping_template_update(
        template=second, spec=ShippingTemplateSpec(name="Second"), is_default=False
    )
    # then
    assert (made, kept, _defaults()) == (["Second"], ["Second"], [])
    first.refresh_from_db()
    assert (first.name, first.is_default) == ("First 2", False)


def test_a_deleted_template_cannot_be_updated_or_made_the_default(shop: Tenant) -> None:
    # given
    template = shipping_template_create(spec=ShippingTemplateSpec(name="Gone"))
    shipping_template_delete(template=template)
    # when / then
    with pytest.raises(ShippingTemplateNotFoundError):
        shipping_template_update(template=template, spec=ShippingTemplateSpec(name="Back"))
    with pytest.raises(ShippingTemplateNotFoundError):
        shipping_template_default_set(template=template)
    assert not ShippingTemplate.objects.exists()


def test_deleting_a_template_moves_its_products_to_the_default(shop: Tenant) -> None:
    # given
    default = shipping_template_create(spec=ShippingTemplateSpec(name="Default"), is_default=True)
    express = shipping_template_create(
        spec=ShippingTemplateSpec(name="Express", rules=[RegionRuleSpec([XINJIANG], 1, 1, 1, 1)])
    )
    tea, mug, cup = product_make(title="Tea"), product_make(title="Mug"), product_make(title="Cup")
    product_shipping_template_set(product=tea, template=express)
    product_shipping_template_set(product=mug, template=express)
    product_shipping_template_set(product=cup, template=default)
    # when
    moved = shipping_template_delete(template=express)
    # then
    assert moved == 2
    assert not ShippingTemplate.objects.filter(pk=express.pk).exists()
    assert not ShippingRegionRule.objects.exists()
    assert dict(Product.objects.values_list("title", "shipping_template_id")) == {
        "Tea": None,
        "Mug": None,
        "Cup": default.pk,
    }


def test_products_are_given_a_template_one_or_several_at_once(shop: Tenant) -> None:
    # given
    express = shipping_template_create(spec=ShippingTemplateSpec(name="Express"))
    tea, mug, cup = product_make(title="Tea"), product_make(title="Mug"), product_make(title="Cup")
    product_delete(product=cup)
    product_shipping_template_set(product=tea, template=express)
    # when: tea has it already, cup is deleted, 0 is no product
    changed = products_shipping_template_set(
        product_ids=[tea.pk, mug.pk, cup.pk, 0], template=express
    )
    back = product_shipping_template_set(product=tea, template=None)
    # then
    assert changed == 1
    assert back.shipping_template is None
    assert dict(Product.objects.values_list("title", "shipping_template_id")) == {
        "Tea": None,
        "Mug": express.pk,
        "Cup": None,
    }


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_two_defaults_set_at_once_leave_exactly_one(shops: dict[str, Tenant]) -> None:
    # given: two committed templates
    alpha = shops["alpha"]

    def setup() -> list[int]:
        with tenant_schema(alpha):
            return [
                shipping_template_create(spec=ShippingTemplateSpec(name=name)).pk
                for name in ("Left", "Right")
            ]

    ids = committed(setup)

    def make_default(template_id: int) -> Any:
        with tenant_schema(alpha):
            template = ShippingTemplate.objects.get(pk=template_id)
            return shipping_template_default_set(template=template).pk

    try:
        # when
        results = run_in_threads([lambda: make_default(ids[0]), lambda: make_default(ids[1])])
        # then: neither failed, one of them won
        assert sorted(results) == sorted(ids)
        with tenant_schema(alpha):
            defaults = list(
                ShippingTemplate.objects.filter(is_default=True).values_list("pk", flat=True)
            )
        assert len(defaults) == 1
        assert defaults[0] in ids
    finally:
        with tenant_schema(alpha):
            ShippingTemplate.objects.filter(pk__in=ids).delete()
