"""What the console's catalog pages need from the catalog: bulk shelf, the SKU table in one go,
image and category order, and the merchant's product list (every product, not only the shelf)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pytest_django import DjangoAssertNumQueries

from infra.errors import ValidationFailed
from shop.catalog.errors import SkuNotFoundError
from shop.catalog.models import Category, Product, ProductImage, Sku
from shop.catalog.selectors.console import (
    category_choices,
    category_entries,
    category_next_position,
    product_console_get,
    product_console_items,
    product_console_rows,
    product_console_skus,
    product_option_specs,
)
from shop.catalog.services.categories import categories_reorder, category_create
from shop.catalog.services.images import product_image_add, product_images_reorder
from shop.catalog.services.products import (
    OptionSpec,
    SkuChange,
    product_create,
    product_delete,
    product_option_value_remove,
    product_skus_update,
    products_shelf_set,
    sku_update,
)
from shop.catalog.services.stock import sku_stock_set
from tenants.models import Tenant
from tests.catalog.conftest import image_bytes


def _state() -> list[tuple[str, int, int | None, int, bool, int]]:
    return [
        (
            sku.code,
            sku.price_minor,
            sku.list_price_minor,
            sku.weight_grams,
            sku.is_active,
            sku.stock,
        )
        for sku in Sku.objects.order_by("id")
    ]


def _change(sku: Sku, **kwargs: object) -> SkuChange:
    values: dict[str, object] = {
        "sku_id": sku.pk,
        "price_minor": sku.price_minor,
        "list_price_minor": sku.list_price_minor,
        "weight_grams": sku.weight_grams,
        "is_active": sku.is_active,
        **kwargs,
    }
    return SkuChange(**values)  # type: ignore[arg-type]


def test_products_shelf_set_changes_the_listed_products_but_not_deleted_ones(shop: Tenant) -> None:
    # given
    tea = product_create(title="Tea")
    mug = product_create(title="Mug")
    gone = product_create(title="Gone")
    product_delete(product=gone)
    other = product_create(title="Other")
    # when
    changed = products_shelf_set(product_ids=[tea.pk, mug.pk, gone.pk], on_shelf=True)
    # then
    assert changed == 2
    assert dict(Product.objects.values_list("title", "on_shelf")) == {
        "Tea": True,
        "Mug": True,
        "Gone": False,
        "Other": False,
    }
    assert other.on_shelf is False


def test_product_skus_update_applies_every_change(shop: Tenant) -> None:
    # given
    product = product_create(
        title="Dress", options=[OptionSpec("Size", ["S", "M"])], price_minor=1000, stock=5
    )
    small, medium = Sku.objects.filter(product=product).order_by("id")
    # when
    product_skus_update(
        product=product,
        changes=[
            _change(small, code="DRESS-S", price_minor=1250, list_price_minor=1500, stock=9),
            _change(medium, weight_grams=300, is_active=False, stock_delta=-2),
        ],
    )
    # then
    assert _state() == [
        ("DRESS-S", 1250, 1500, 0, True, 9),
        (medium.code, 1000, None, 300, False, 3),
    ]


def test_product_skus_update_with_one_refused_change_changes_nothing(shop: Tenant) -> None:
    # given
    product = product_create(
        title="Dress", options=[OptionSpec("Size", ["S", "M"])], price_minor=1000, stock=2
    )
    small, medium = Sku.objects.filter(product=product).order_by("id")
    other = product_create(title="Other")
    sku_update(sku=Sku.objects.get(product=other), code="TAKEN")
    before = _state()
    # when
    with pytest.raises(ValidationFailed) as raised:
        product_skus_update(
            product=product,
            changes=[
                _change(small, price_minor=1250, stock=7),
                _change(medium, code="TAKEN", stock_delta=-3),
            ],
        )
    # then
    assert raised.value.fields == {
        f"skus.{medium.pk}.code": [{"code": "taken", "message": "Another SKU uses this code."}],
    }
    assert _state() == before


def test_product_skus_update_reports_stock_it_cannot_take(shop: Tenant) -> None:
    # given
    product = product_create(title="Mug", price_minor=500, stock=2)
    sku = Sku.objects.get(product=product)
    # when
    with pytest.raises(ValidationFailed) as raised:
        product_skus_update(product=product, changes=[_change(sku, price_minor=1, stock_delta=-3)])
    # then
    assert raised.value.fields == {
        f"skus.{sku.pk}.stock_delta": [
            {"code": "out_of_stock", "message": "Fewer units than that are in stock."}
        ]
    }
    assert (Sku.objects.get(pk=sku.pk).price_minor, Sku.objects.get(pk=sku.pk).stock) == (500, 2)


def test_product_skus_update_refuses_a_sku_of_another_product(shop: Tenant) -> None:
    # given
    product = product_create(title="Mug", price_minor=500)
    other = product_create(title="Cup", price_minor=700)
    foreign = Sku.objects.get(product=other)
    # when
    with pytest.raises(SkuNotFoundError):
        product_skus_update(product=product, changes=[_change(foreign, price_minor=1)])
    # then
    assert Sku.objects.get(pk=foreign.pk).price_minor == 700


def test_product_images_reorder_puts_them_in_the_listed_order(
    shop: Tenant, media_root: Path
) -> None:
    # given
    product = product_create(title="Dress")
    first, second, third = (
        product_image_add(product=product, file=io.BytesIO(image_bytes((20, 20)))) for _ in range(3)
    )
    # when
    product_images_reorder(product=product, image_ids=[third.pk, first.pk, second.pk])
    # then
    assert list(ProductImage.objects.order_by("position", "id").values_list("pk", flat=True)) == [
        third.pk,
        first.pk,
        second.pk,
    ]


def test_product_images_reorder_refuses_a_stale_list(shop: Tenant, media_root: Path) -> None:
    # given
    product = product_create(title="Dress")
    first, second = (
        product_image_add(product=product, file=io.BytesIO(image_bytes((20, 20)))) for _ in range(2)
    )
    # when
    with pytest.raises(ValidationFailed) as raised:
        product_images_reorder(product=product, image_ids=[second.pk])
    # then
    assert list(raised.value.fields) == ["image_ids"]
    assert list(ProductImage.objects.values_list("pk", "position").order_by("pk")) == [
        (first.pk, 0),
        (second.pk, 1),
    ]


def test_categories_reorder_orders_siblings_and_refuses_a_stale_list(shop: Tenant) -> None:
    # given
    clothes = category_create(name="Clothes")
    women = category_create(name="Women", parent=clothes)
    men = category_create(name="Men", parent=clothes)
    kids = category_create(name="Kids", parent=clothes)
    # when
    categories_reorder(parent=clothes, category_ids=[kids.pk, women.pk, men.pk])
    with pytest.raises(ValidationFailed):
        categories_reorder(parent=clothes, category_ids=[men.pk, women.pk])
    # then
    assert [name for _id, name in category_choices()] == [
        "Clothes",
        "Clothes / Kids",
        "Clothes / Women",
        "Clothes / Men",
    ]
    assert category_next_position(parent=clothes) == 3
    assert category_next_position(parent=None) == 1


def test_console_rows_list_products_off_the_shelf_but_not_deleted_ones(shop: Tenant) -> None:
    # given
    product_create(title="连衣裙 on", on_shelf=True)
    product_create(title="连衣裙 off")
    gone = product_create(title="连衣裙 gone")
    product_delete(product=gone)
    # when
    everything = [row[1] for row in product_console_rows(query="衣裙", sort="title")]
    off = [row[1] for row in product_console_rows(shelf="off")]
    on = [row[1] for row in product_console_rows(shelf="on")]
    # then
    assert everything == ["连衣裙 off", "连衣裙 on"]
    assert (off, on) == (["连衣裙 off"], ["连衣裙 on"])


def test_console_rows_filter_by_stock_and_sort_by_stock(shop: Tenant) -> None:
    # given
    full = product_create(title="Full", stock=50)
    low = product_create(title="Low", options=[OptionSpec("Size", ["S", "M"])], stock=50)
    sku_stock_set(sku=Sku.objects.filter(product=low).order_by("id")[0], stock=3)
    empty = product_create(title="Empty", stock=0)
    # when
    low_rows = [row[1] for row in product_console_rows(stock="low")]
    out_rows = [row[1] for row in product_console_rows(stock="out")]
    stocked = [row[1] for row in product_console_rows(stock="in_stock", sort="title")]
    by_stock = [row[1] for row in product_console_rows(sort="stock_asc")]
    # then
    assert (low_rows, out_rows) == (["Low"], ["Empty"])
    assert stocked == ["Full", "Low"]
    assert by_stock == ["Empty", "Full", "Low"]
    assert {full.pk, low.pk, empty.pk} == {row[0] for row in product_console_rows()}


def test_console_items_cost_two_queries_whatever_the_page_size(
    shop: Tenant, media_root: Path, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # given
    clothes = category_create(name="服装")
    for index in range(4):
        product = product_create(
            title=f"Dress {index}",
            category=clothes,
            options=[OptionSpec("Size", ["S", "M", "L"])],
            price_minor=1000 + index,
            stock=4,
        )
        sku_update(sku=Sku.objects.filter(product=product).order_by("-id")[0], price_minor=2000)
        product_image_add(product=product, file=io.BytesIO(image_bytes((20, 20))))
        product_image_add(product=product, file=io.BytesIO(image_bytes((20, 20))), position=-1)
    rows = list(product_console_rows(sort="title"))
    # when
    with django_assert_num_queries(2):
        items = product_console_items(rows, currency="CNY", language="en")
    # then
    first = items[0]
    cover = ProductImage.objects.filter(product_id=first.id).order_by("position", "id").first()
    assert cover is not None
    assert (first.title, first.category_name, first.sku_count, first.stock) == (
        "Dress 0",
        "服装",
        3,
        12,
    )
    assert (first.price_min, first.price_max, first.low_stock_skus) == ("CN¥10.00", "CN¥20.00", 3)
    assert first.thumbnail_url == cover.thumbnail.url
    assert len(items) == 4


def test_console_get_and_skus_leave_out_removed_combinations(shop: Tenant) -> None:
    # given
    product = product_create(
        title="Dress", options=[OptionSpec("Size", ["S", "M"]), OptionSpec("Colour", ["Red"])]
    )
    product_option_value_remove(product=product, option_name="Size", value="M")
    small = Sku.objects.filter(product=product, is_active=True).get()
    sku_update(sku=small, is_active=False)  # switched off by the merchant, still editable
    # when
    loaded = product_console_get(product_id=product.pk)
    # then
    assert [sku.pk for sku in product_console_skus(loaded)] == [small.pk]
    assert product_option_specs(loaded) == [("Size", ["S"]), ("Colour", ["Red"])]


def test_category_entries_are_in_tree_order_with_their_product_counts(shop: Tenant) -> None:
    # given
    clothes = category_create(name="Clothes")
    women = category_create(name="Women", parent=clothes)
    category_create(name="Books", position=5)
    product_create(title="Dress", category=women)
    gone = product_create(title="Old dress", category=women)
    product_delete(product=gone)
    # when
    entries = category_entries()
    # then
    assert [(entry.path, entry.depth, entry.product_count) for entry in entries] == [
        ("Clothes", 0, 0),
        ("Clothes / Women", 1, 1),
        ("Books", 0, 0),
    ]
    assert Category.objects.count() == 3
