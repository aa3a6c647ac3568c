"""Stock per SKU: conditional updates only; never below zero."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.errors import ValidationFailed
from shop.catalog.errors import OutOfStockError
from shop.catalog.models import Sku
from shop.catalog.services.products import product_create, sku_update
from shop.catalog.services.stock import (
    sku_stock_adjust,
    sku_stock_release,
    sku_stock_reserve,
    sku_stock_set,
)
from tenants.models import Tenant


def _sku(stock: int) -> Sku:
    return Sku.objects.get(product=product_create(title="Mug", price_minor=3500, stock=stock))


def _stock(sku: Sku) -> int:
    return Sku.objects.values_list("stock", flat=True).get(pk=sku.pk)


def test_adjust_adds_and_removes(shop: Tenant) -> None:
    # given
    sku = _sku(5)
    # when
    sku_stock_adjust(sku=sku, delta=3)
    returned = sku_stock_adjust(sku=sku, delta=-8)
    # then
    assert returned.stock == 0
    assert _stock(sku) == 0


def test_adjust_below_zero_is_refused_and_changes_nothing(shop: Tenant) -> None:
    # given
    sku = _sku(2)
    # when
    with pytest.raises(OutOfStockError) as raised:
        sku_stock_adjust(sku=sku, delta=-3)
    # then
    assert raised.value.code == "out_of_stock"
    assert _stock(sku) == 2


def test_set_replaces_the_count_and_refuses_negatives(shop: Tenant) -> None:
    # given
    sku = _sku(2)
    # when
    sku_stock_set(sku=sku, stock=40)
    with pytest.raises(ValidationFailed):
        sku_stock_set(sku=sku, stock=-1)
    # then
    assert _stock(sku) == 40


def test_database_refuses_negative_stock(shop: Tenant) -> None:
    # given
    sku = _sku(1)
    # when
    with pytest.raises(IntegrityError), transaction.atomic():
        Sku.objects.filter(pk=sku.pk).update(stock=-1)
    # then
    assert _stock(sku) == 1


def test_reserve_takes_units_only_while_enough_are_left(shop: Tenant) -> None:
    # given
    sku = _sku(3)
    # when
    results = [sku_stock_reserve(sku_id=sku.pk, quantity=2) for _ in range(2)]
    # then
    assert results == [True, False]
    assert _stock(sku) == 1


def test_inactive_sku_cannot_be_reserved(shop: Tenant) -> None:
    # given
    sku = _sku(3)
    sku_update(sku=sku, is_active=False)
    # when
    reserved = sku_stock_reserve(sku_id=sku.pk, quantity=1)
    # then
    assert reserved is False
    assert _stock(sku) == 3


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    initial=st.integers(min_value=0, max_value=20),
    steps=st.lists(
        st.tuples(st.sampled_from(["reserve", "release"]), st.integers(min_value=1, max_value=6)),
        max_size=30,
    ),
)
def test_random_reserves_and_releases_never_go_below_zero(
    shop: Tenant, initial: int, steps: list[tuple[str, int]]
) -> None:
    # given
    sku = _sku(initial)
    reserved = released = 0
    # when
    for action, quantity in steps:
        if action == "reserve":
            expected = _stock(sku) >= quantity
            assert sku_stock_reserve(sku_id=sku.pk, quantity=quantity) is expected
            reserved += quantity if expected else 0
        else:
            # only what is held can come back
            quantity = min(quantity, reserved - released)
            if quantity:
                sku_stock_release(sku_id=sku.pk, quantity=quantity)
                released += quantity
        # then
        stock = _stock(sku)
        assert stock >= 0
        assert stock == initial - reserved + released
