"""Products, options and SKUs built from the options' cartesian product."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from infra.errors import ValidationFailed
from shop.catalog.models import Product, Sku
from shop.catalog.selectors.products import (
    product_get,
    product_price_range,
    product_stock_total,
)
from shop.catalog.services.products import (
    OptionSpec,
    product_create,
    product_delete,
    product_option_value_add,
    product_option_value_remove,
    product_options_set,
    product_skus_sync,
    sku_update,
)
from tenants.models import Tenant

COLOUR = OptionSpec("颜色", ["红", "蓝"])
SIZE = OptionSpec("尺码", ["S", "M", "L"])


def _combinations(product: Product, *, active: bool = True) -> set[tuple[str, ...]]:
    skus = Sku.objects.filter(product=product, is_active=active).prefetch_related(
        "option_values__option"
    )
    return {
        tuple(
            value.value
            for value in sorted(sku.option_values.all(), key=lambda value: value.option.position)
        )
        for sku in skus
    }


def test_product_gets_one_sku_per_combination(shop: Tenant) -> None:
    # when
    product = product_create(
        title="连衣裙", options=[COLOUR, SIZE], price_minor=19900, stock=5, weight_grams=300
    )
    # then
    assert _combinations(product) == {
        ("红", "S"), ("红", "M"), ("红", "L"), ("蓝", "S"), ("蓝", "M"), ("蓝", "L"),
    }  # fmt: skip
    skus = list(Sku.objects.filter(product=product))
    assert {(sku.price_minor, sku.stock, sku.weight_grams) for sku in skus} == {(19900, 5, 300)}
    assert len({sku.code for sku in skus}) == 6


def test_product_without_options_has_one_sku(shop: Tenant) -> None:
    # when
    product = product_create(title="Mug", price_minor=3500)
    # then
    assert _combinations(product) == {()}


def test_adding_a_value_adds_its_skus_at_the_given_price(shop: Tenant) -> None:
    # given
    product = product_create(title="连衣裙", options=[COLOUR, SIZE], price_minor=19900)
    # when
    result = product_option_value_add(
        product=product, option_name="颜色", value="绿", price_minor=20900
    )
    # then
    assert sorted(sku.price_minor for sku in result.created) == [20900, 20900, 20900]
    assert ("绿", "M") in _combinations(product)
    assert len(_combinations(product)) == 9


def test_removing_a_value_deactivates_never_deletes_its_skus(shop: Tenant) -> None:
    # given
    product = product_create(title="连衣裙", options=[COLOUR, SIZE], price_minor=19900)
    ids_before = set(Sku.objects.filter(product=product).values_list("id", flat=True))
    # when
    result = product_option_value_remove(product=product, option_name="尺码", value="L")
    # then
    assert len(result.deactivated) == 2
    assert _combinations(product, active=False) == {("红", "L"), ("蓝", "L")}
    assert set(Sku.objects.filter(product=product).values_list("id", flat=True)) == ids_before


def test_value_that_comes_back_reactivates_its_old_skus(shop: Tenant) -> None:
    # given
    product = product_create(title="连衣裙", options=[COLOUR, SIZE], price_minor=19900)
    product_option_value_remove(product=product, option_name="尺码", value="L")
    # when
    result = product_option_value_add(product=product, option_name="尺码", value="L")
    # then
    assert (len(result.created), len(result.reactivated)) == (0, 2)
    assert len(_combinations(product)) == 6
    assert Sku.objects.filter(product=product).count() == 6


def test_sync_is_idempotent(shop: Tenant) -> None:
    # given
    product = product_create(title="连衣裙", options=[COLOUR, SIZE])
    # when
    result = product_skus_sync(product=product)
    # then
    assert (result.created, result.reactivated, result.deactivated) == ([], [], [])
    assert Sku.objects.filter(product=product).count() == 6


def test_new_option_replaces_the_combinations(shop: Tenant) -> None:
    # given
    product = product_create(title="T恤", options=[COLOUR], price_minor=5900)
    # when
    product_options_set(product=product, options=[COLOUR, OptionSpec("尺码", ["M"])])
    # then
    assert _combinations(product) == {("红", "M"), ("蓝", "M")}
    assert _combinations(product, active=False) == {("红",), ("蓝",)}
    assert set(Sku.objects.filter(product=product).values_list("price_minor", flat=True)) == {5900}


def test_invalid_options_are_refused_and_nothing_is_created(shop: Tenant) -> None:
    # when
    with pytest.raises(ValidationFailed) as raised:
        product_create(title="Bad", options=[OptionSpec("颜色", []), OptionSpec("颜色", ["红"])])
    # then
    assert raised.value.fields == {
        "options.0.values": [
            {"code": "invalid", "message": "Give at least one value, each of 1 to 50 characters."}
        ],
        "options.1.name": [{"code": "duplicate", "message": "Each option once."}],
    }
    assert Product.objects.count() == 0


def test_too_many_combinations_are_refused(shop: Tenant) -> None:
    # given
    many = [OptionSpec(f"o{index}", [str(value) for value in range(10)]) for index in range(3)]
    # when
    with pytest.raises(ValidationFailed) as raised:
        product_create(title="Huge", options=many)
    # then
    assert set(raised.value.fields) == {"options"}
    assert raised.value.fields["options"][0]["code"] == "too_many_skus"
    assert Product.objects.count() == 0


def test_price_range_and_stock_are_derived_from_active_skus(shop: Tenant) -> None:
    # given
    product = product_create(title="连衣裙", options=[COLOUR], price_minor=19900, stock=3)
    red, blue = Sku.objects.filter(product=product).order_by("id")
    sku_update(sku=blue, price_minor=25900)
    # when
    loaded = product_get(product_id=product.pk, storefront=False)
    range_both, stock_both = product_price_range(loaded), product_stock_total(loaded)
    sku_update(sku=blue, is_active=False)
    loaded = product_get(product_id=product.pk, storefront=False)
    # then
    assert (range_both, stock_both) == ((19900, 25900), 6)
    assert (product_price_range(loaded), product_stock_total(loaded)) == ((19900, 19900), 3)
    assert red.is_active


def test_sku_code_is_unique_per_shop(shop: Tenant) -> None:
    # given
    first = product_create(title="A")
    second = product_create(title="B")
    sku_update(sku=Sku.objects.get(product=first), code="DRESS-1")
    sku = Sku.objects.get(product=second)
    # when
    with pytest.raises(ValidationFailed) as raised:
        sku_update(sku=sku, code="DRESS-1", price_minor=100)
    # then
    assert raised.value.fields["code"][0]["code"] == "taken"
    sku.refresh_from_db()
    assert (sku.code, sku.price_minor) == (f"P{second.pk}", 0)


def test_negative_price_is_refused_by_service_and_database(shop: Tenant) -> None:
    # given
    sku = Sku.objects.get(product=product_create(title="A", price_minor=100))
    # when
    with pytest.raises(ValidationFailed) as raised:
        sku_update(sku=sku, price_minor=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Sku.objects.filter(pk=sku.pk).update(price_minor=-1)
    # then
    assert raised.value.fields["price_minor"][0]["code"] == "min_value"
    sku.refresh_from_db()
    assert sku.price_minor == 100


def test_deleted_product_keeps_its_skus_inactive(shop: Tenant) -> None:
    # given
    product = product_create(title="连衣裙", options=[COLOUR], on_shelf=True)
    # when
    product_delete(product=product)
    # then
    product.refresh_from_db()
    assert product.deleted_at is not None
    assert not product.on_shelf
    assert list(Sku.objects.filter(product=product).values_list("is_active", flat=True)) == [
        False,
        False,
    ]
