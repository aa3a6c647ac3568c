"""Products' list cards: every catalog write keeps them equal to what the rows say; stock never
rewrites them, and the storefront list merges the live stock in."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.catalog.models import (
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    Sku,
    SkuOptionValue,
)
from shop.catalog.services.cards import product_cards_refresh
from shop.catalog.services.csv_io import catalog_csv_import
from shop.catalog.services.images import (
    product_image_add,
    product_image_delete,
    product_images_reorder,
)
from shop.catalog.services.products import (
    OptionSpec,
    SkuChange,
    product_create,
    product_delete,
    product_option_value_add,
    product_option_value_remove,
    product_options_set,
    product_shelf_set,
    product_skus_sync,
    product_skus_update,
    product_update,
    sku_update,
)
from shop.catalog.services.stock import (
    sku_stock_adjust,
    sku_stock_release,
    sku_stock_reserve,
    sku_stock_set,
)
from tenants.models import Tenant
from tests.catalog.conftest import image_bytes

CSV_HEADER = "title,category,options,sku_code,price,stock,on_shelf\n"


def _recomputed(product_id: int) -> dict[str, Any]:
    """The card from the rows, computed here independently of the service's SQL."""
    product = Product.objects.get(pk=product_id)
    skus = list(Sku.objects.filter(product_id=product_id, is_active=True).order_by("id"))
    values: dict[int, list[dict[str, str]]] = {}
    for chosen in (
        SkuOptionValue.objects.filter(sku__in=skus)
        .select_related("value__option")
        .order_by("value__option__position", "value__option_id", "value_id")
    ):
        values.setdefault(chosen.sku_id, []).append(
            {"option": chosen.value.option.name, "value": chosen.value.value}
        )
    cover = ProductImage.objects.filter(product_id=product_id).order_by("position", "id").first()
    prices = [sku.price_minor for sku in skus]
    return {
        "title": product.title,
        "subtitle": product.subtitle,
        "price": {"min_minor": min(prices), "max_minor": max(prices)} if prices else None,
        "thumbnail": cover.thumbnail.name if cover is not None else None,
        "skus": [
            {"id": sku.pk, "price_minor": sku.price_minor, "option_values": values.get(sku.pk, [])}
            for sku in skus
        ],
    }


def _card(product: Product) -> dict[str, Any]:
    card: dict[str, Any] = Product.objects.values_list("card", flat=True).get(pk=product.pk)
    return card


def _assert_cards_current() -> None:
    cards = dict(Product.objects.values_list("pk", "card"))
    assert cards == {product_id: _recomputed(product_id) for product_id in cards}


def _row_version(product: Product) -> str:
    """The product row's physical version: every UPDATE of the row, HOT or not, moves it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ctid::text FROM catalog_product WHERE id = %s", [product.pk])
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def _dress() -> Product:
    return product_create(
        title="连衣裙",
        subtitle="夏季新款",
        options=[OptionSpec("颜色", ["红", "蓝"]), OptionSpec("尺码", ["S", "M"])],
        price_minor=19900,
        stock=3,
        on_shelf=True,
    )


def _skus(product: Product) -> list[Sku]:
    return list(Sku.objects.filter(product=product, is_active=True).order_by("id"))


def _change(sku: Sku, **kwargs: Any) -> SkuChange:
    values: dict[str, Any] = {
        "sku_id": sku.pk,
        "price_minor": sku.price_minor,
        "list_price_minor": sku.list_price_minor,
        "weight_grams": sku.weight_grams,
        "is_active": sku.is_active,
        **kwargs,
    }
    return SkuChange(**values)


def _picture(product: Product, position: int | None = None) -> ProductImage:
    return product_image_add(
        product=product, file=io.BytesIO(image_bytes((60, 40))), position=position
    )


def _csv_import(text: str) -> None:
    result = catalog_csv_import(content=CSV_HEADER + text, currency="CNY")
    assert result.errors == []


def _sync_new_value(product: Product) -> None:
    # The sync makes the SKUs of a value that has none yet (the option services call it so).
    size = ProductOption.objects.get(product=product, name="尺码")
    ProductOptionValue.objects.create(option=size, value="L", position=2)
    product_skus_sync(product=product, price_minor=29900)


WRITES: dict[str, Callable[[Product], object]] = {
    "product_update": lambda product: product_update(
        product=product, title="蓝色连衣裙", subtitle="秋季"
    ),
    "product_options_set": lambda product: product_options_set(
        product=product,
        options=[OptionSpec("尺码", ["M", "S", "L"]), OptionSpec("颜色", ["蓝", "红"])],
        price_minor=25900,
    ),
    "product_option_value_add": lambda product: product_option_value_add(
        product=product, option_name="尺码", value="XL", price_minor=9900
    ),
    "product_option_value_remove": lambda product: product_option_value_remove(
        product=product, option_name="颜色", value="红"
    ),
    "product_skus_sync": _sync_new_value,
    "sku_update price": lambda product: sku_update(sku=_skus(product)[1], price_minor=100),
    "sku_update deactivate": lambda product: sku_update(sku=_skus(product)[0], is_active=False),
    "product_skus_update": lambda product: product_skus_update(
        product=product,
        changes=[
            _change(_skus(product)[0], price_minor=5000, stock_delta=2),
            _change(_skus(product)[2], is_active=False, stock=9),
        ],
    ),
    "product_delete": lambda product: product_delete(product=product),
    "product_image_add": lambda product: _picture(product, position=0),
    "product_image_delete": lambda product: product_image_delete(
        image=ProductImage.objects.filter(product=product).order_by("position", "id")[0]
    ),
    "product_images_reorder": lambda product: product_images_reorder(
        product=product,
        image_ids=list(
            ProductImage.objects.filter(product=product)
            .order_by("-position", "-id")
            .values_list("pk", flat=True)
        ),
    ),
    "catalog_csv_import by SKU code": lambda product: _csv_import(
        f"连衣裙,,颜色:红; 尺码:S,{_skus(product)[0].code},5.00,1,true\n"
    ),
    "catalog_csv_import by title": lambda product: _csv_import(
        "连衣裙,,颜色:绿; 尺码:S,DRESS-GREEN-S,9.90,1,true\n"
    ),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_catalog_write_refreshes_the_card(write: str, shop: Tenant, media_root: Path) -> None:
    # given: a product with two pictures, its card as the rows say
    dress = _dress()
    _picture(dress, position=1)
    _picture(dress, position=2)
    other = product_create(title="Mug", price_minor=3500)
    before = _card(dress)
    assert before == _recomputed(dress.pk)
    other_version = _row_version(other)
    # when
    WRITES[write](dress)
    # then: the card changed with the rows, and the other product's row was not written
    assert _card(dress) == _recomputed(dress.pk)
    assert _card(dress) != before
    assert _row_version(other) == other_version


def test_a_new_product_has_its_card(shop: Tenant, media_root: Path) -> None:
    # when
    dress = _dress()
    red_s = _skus(dress)[0]
    # then
    assert _card(dress) == {
        "title": "连衣裙",
        "subtitle": "夏季新款",
        "price": {"min_minor": 19900, "max_minor": 19900},
        "thumbnail": None,
        "skus": [
            {
                "id": red_s.pk,
                "price_minor": 19900,
                "option_values": [
                    {"option": "颜色", "value": "红"},
                    {"option": "尺码", "value": "S"},
                ],
            },
            *[
                {"id": sku.pk, "price_minor": 19900, "option_values": _recomputed_values(sku)}
                for sku in _skus(dress)[1:]
            ],
        ],
    }
    assert _card(dress) == _recomputed(dress.pk)


def _recomputed_values(sku: Sku) -> list[dict[str, str]]:
    skus: list[dict[str, Any]] = _recomputed(sku.product_id)["skus"]
    return next(item["option_values"] for item in skus if item["id"] == sku.pk)


def test_a_csv_import_of_a_new_product_leaves_unlisted_combinations_off_its_card(
    shop: Tenant,
) -> None:
    # when: the import makes the 2 x 2 combinations, of which only two are listed
    _csv_import(
        "连衣裙,,颜色:红; 尺码:S,D-RS,199.50,3,true\n连衣裙,,颜色:蓝; 尺码:M,D-BM,209.00,0,true\n"
    )
    # then
    dress = Product.objects.get(title="连衣裙")
    assert [sku["id"] for sku in _card(dress)["skus"]] == [
        sku.pk for sku in Sku.objects.filter(code__in=["D-RS", "D-BM"]).order_by("id")
    ]
    assert _card(dress)["price"] == {"min_minor": 19950, "max_minor": 20900}
    _assert_cards_current()


def test_stock_changes_do_not_write_the_product_row(shop: Tenant) -> None:
    # given
    dress = _dress()
    card, version = _card(dress), _row_version(dress)
    red_s, red_m = _skus(dress)[:2]
    # when: what orders and inventory counts do
    assert sku_stock_reserve(sku_id=red_s.pk, quantity=2) is True
    sku_stock_release(sku_id=red_s.pk, quantity=1)
    sku_stock_adjust(sku=red_m, delta=5)
    sku_stock_set(sku=red_m, stock=7)
    # then
    assert _row_version(dress) == version
    assert _card(dress) == card
    assert list(
        Sku.objects.filter(product=dress).order_by("id").values_list("stock", flat=True)
    ) == [
        2,
        7,
        3,
        3,
    ]


def test_shelf_changes_do_not_write_the_card(shop: Tenant) -> None:
    # given
    dress = _dress()
    card = _card(dress)
    # when
    product_shelf_set(product=dress, on_shelf=False)
    # then
    assert _card(dress) == card == _recomputed(dress.pk)


def test_refresh_repairs_a_card_and_counts_what_it_wrote(shop: Tenant) -> None:
    # given: a card damaged outside the services
    dress, mug = _dress(), product_create(title="Mug", price_minor=3500)
    Product.objects.filter(pk=dress.pk).update(card={})
    # when
    written = product_cards_refresh(product_ids=[dress.pk, mug.pk, 999_999])
    # then
    assert written == 2
    _assert_cards_current()
    assert product_cards_refresh(product_ids=[]) == 0


# Operations of the property below: (name, argument picked by hypothesis).
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "title",
                "value add",
                "value remove",
                "price",
                "deactivate",
                "bulk",
                "picture add",
                "picture delete",
                "pictures reorder",
                "stock",
                "delete",
            ]
        ),
        st.integers(min_value=0, max_value=5),
    ),
    min_size=1,
    max_size=8,
)


def _apply(operation: str, number: int, product: Product) -> None:
    skus = _skus(product)
    sku = skus[number % len(skus)] if skus else None
    images = list(ProductImage.objects.filter(product=product).order_by("position", "id"))
    if operation == "title":
        product_update(product=product, title=f"连衣裙 {number}")
    elif operation == "value add":
        product_option_value_add(
            product=product, option_name="尺码", value=f"S{number}", price_minor=1000 * number
        )
    elif operation == "value remove" and len(product_option_values := _sizes(product)) > 1:
        product_option_value_remove(
            product=product, option_name="尺码", value=product_option_values[number % 2]
        )
    elif operation == "price" and sku is not None:
        sku_update(sku=sku, price_minor=100 * number)
    elif operation == "deactivate" and sku is not None:
        sku_update(sku=sku, is_active=False)
    elif operation == "bulk" and sku is not None:
        product_skus_update(product=product, changes=[_change(sku, price_minor=7 * number)])
    elif operation == "picture add":
        _picture(product)
    elif operation == "picture delete" and images:
        product_image_delete(image=images[number % len(images)])
    elif operation == "pictures reorder" and images:
        order = [image.pk for image in images]
        product_images_reorder(
            product=product, image_ids=order[number % len(order) :] + order[: number % len(order)]
        )
    elif operation == "stock" and sku is not None:
        sku_stock_adjust(sku=sku, delta=number)
    elif operation == "delete" and number == 0:
        product_delete(product=product)


def _sizes(product: Product) -> list[str]:
    values: list[str] = []
    for item in _recomputed(product.pk)["skus"]:
        for value in item["option_values"]:
            if value["option"] == "尺码" and value["value"] not in values:
                values.append(value["value"])
    return values


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPERATIONS)
def test_after_every_service_call_the_cards_equal_the_rows(
    shop: Tenant, media_root: Path, operations: list[tuple[str, int]]
) -> None:
    # given
    dress = _dress()
    # when / then
    for operation, number in operations:
        _apply(operation, number, dress)
        _assert_cards_current()
