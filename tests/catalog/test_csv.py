"""CSV export and import: one row per SKU, per-row errors, all or nothing unless partial."""

from __future__ import annotations

import csv
import io

from shop.catalog.models import Category, Product, Sku
from shop.catalog.services.categories import category_create
from shop.catalog.services.csv_io import (
    CsvImportResult,
    CsvRowError,
    catalog_csv_export,
    catalog_csv_import,
)
from shop.catalog.services.products import OptionSpec, product_create, sku_update
from shop.catalog.services.stock import sku_stock_set
from tenants.models import Tenant

HEADER = "title,category,options,sku_code,price,stock,on_shelf\n"


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def _skus() -> list[tuple[str, str, int, int, bool]]:
    return [
        (sku.code, sku.product.title, sku.price_minor, sku.stock, sku.is_active)
        for sku in Sku.objects.filter(is_active=True).select_related("product").order_by("code")
    ]


def test_export_writes_one_row_per_active_sku_with_major_unit_prices(shop: Tenant) -> None:
    # given
    clothes = category_create(name="服装", slug="clothes")
    women = category_create(name="女装", slug="women", parent=clothes)
    dress = product_create(
        title="连衣裙", category=women, options=[OptionSpec("颜色", ["红", "蓝"])], on_shelf=True
    )
    red, blue = Sku.objects.filter(product=dress).order_by("id")
    sku_update(sku=red, code="DRESS-RED", price_minor=19950)
    sku_update(sku=blue, code="DRESS-BLUE", price_minor=20000)
    sku_stock_set(sku=red, stock=3)
    mug = product_create(title="=Mug", price_minor=500)
    sku_update(sku=Sku.objects.get(product=mug), code="MUG")
    # when
    text = catalog_csv_export(currency="CNY")
    # then
    assert text.startswith("\ufeff")
    assert _rows(text) == [
        ["title", "category", "options", "sku_code", "price", "stock", "on_shelf"],
        ["连衣裙", "服装/女装", "颜色:红", "DRESS-RED", "199.50", "3", "true"],
        ["连衣裙", "服装/女装", "颜色:蓝", "DRESS-BLUE", "200.00", "0", "true"],
        ["'=Mug", "", "", "MUG", "5.00", "0", "false"],
    ]


def test_export_uses_the_currency_exponent(shop: Tenant) -> None:
    # given
    product_create(title="Phở", price_minor=45000)
    # when
    rows = _rows(catalog_csv_export(currency="VND"))
    # then
    assert rows[1][4] == "45000"


def test_import_creates_products_options_categories_and_skus(shop: Tenant) -> None:
    # given
    content = (
        "\ufeff" + HEADER + "连衣裙,服装/女装,颜色:红; 尺码:S,D-RS,199.50,3,true\n"
        "连衣裙,服装/女装,颜色:蓝\uff1b尺码\uff1aM,D-BM,209.00,0,true\n"  # full-width ; and :
        "Mug,,,MUG,5,10,false\n"
    ).encode()
    # when
    result = catalog_csv_import(content=content, currency="CNY")
    # then
    assert result == CsvImportResult(created_products=2, created_skus=3, imported_rows=3, errors=[])
    assert _skus() == [
        ("D-BM", "连衣裙", 20900, 0, True),
        ("D-RS", "连衣裙", 19950, 3, True),
        ("MUG", "Mug", 500, 10, True),
    ]
    dress = Product.objects.get(title="连衣裙")
    assert dress.on_shelf
    assert dress.category is not None
    assert dress.category.name == "女装"
    # the combinations nobody listed (红/M, 蓝/S) exist but are not for sale
    assert Sku.objects.filter(product=dress, is_active=False).count() == 2


def test_export_then_import_round_trips_and_updates_by_code(shop: Tenant) -> None:
    # given
    product_create(title="Mug", price_minor=500, stock=1)
    sku = Sku.objects.get()
    sku_update(sku=sku, code="MUG")
    exported = catalog_csv_export(currency="CNY").replace("5.00,1,false", "6.50,7,true")
    # when
    result = catalog_csv_import(content=exported.encode(), currency="CNY")
    # then
    assert (result.updated_skus, result.created_skus, result.errors) == (1, 0, [])
    assert _skus() == [("MUG", "Mug", 650, 7, True)]
    assert Product.objects.get().on_shelf


def test_import_with_an_invalid_row_imports_nothing_and_lists_each_error(shop: Tenant) -> None:
    # given
    category_create(name="服装", slug="clothes")
    content = (
        HEADER + "Good,服装,,GOOD-1,10.00,1,true\n"
        ",服装,颜色,bad code,10.001,-1,maybe\n"
        "Twin,,,GOOD-1,1,1,true\n"
    )
    # when
    result = catalog_csv_import(content=content, currency="CNY")
    # then
    assert result.errors == [
        CsvRowError(3, "title", "required", "Enter a title."),
        CsvRowError(3, "options", "invalid", "Write up to 3 options as 颜色:红; 尺码:S."),
        CsvRowError(3, "sku_code", "invalid", "Use 1 to 64 letters, digits, dots, dashes."),
        CsvRowError(
            3, "price", "invalid", "Write the price like 12.50, with the currency's digits."
        ),
        CsvRowError(3, "stock", "invalid", "Write the stock as a whole number, 0 or more."),
        CsvRowError(3, "on_shelf", "invalid", "Write true or false."),
        CsvRowError(4, "sku_code", "duplicate", "This SKU code is on an earlier row."),
    ]
    assert (result.created_products, result.imported_rows) == (0, 0)
    assert Product.objects.count() == 0
    assert Sku.objects.count() == 0
    assert list(Category.objects.values_list("name", flat=True)) == ["服装"]


def test_partial_import_imports_the_valid_rows(shop: Tenant) -> None:
    # given
    content = HEADER + "Good,新品,,GOOD-1,10.00,1,true\nBad,,,BAD-1,abc,1,true\n"
    # when
    result = catalog_csv_import(content=content, currency="CNY", partial=True)
    # then
    assert result.errors == [
        CsvRowError(
            3, "price", "invalid", "Write the price like 12.50, with the currency's digits."
        )
    ]
    assert (result.created_products, result.imported_rows) == (1, 1)
    assert _skus() == [("GOOD-1", "Good", 1000, 1, True)]
    assert list(Category.objects.values_list("name", flat=True)) == ["新品"]


def test_import_refuses_changed_options_and_mismatched_option_names(shop: Tenant) -> None:
    # given
    dress = product_create(title="连衣裙", options=[OptionSpec("颜色", ["红"])])
    sku_update(sku=Sku.objects.get(product=dress), code="D-R")
    content = HEADER + "连衣裙,,颜色:蓝,D-R,1,1,true\n连衣裙,,尺码:S,D-S,1,1,true\n"
    # when
    result = catalog_csv_import(content=content, currency="CNY")
    # then
    assert [(error.row, error.field, error.code) for error in result.errors] == [
        (2, "options", "options_changed"),
        (3, "options", "options_mismatch"),
    ]
    assert _skus() == [("D-R", "连衣裙", 0, 0, True)]


def test_import_adds_a_new_value_to_an_existing_product(shop: Tenant) -> None:
    # given
    dress = product_create(
        title="连衣裙", options=[OptionSpec("颜色", ["红"]), OptionSpec("尺码", ["S", "M"])]
    )
    # when
    result = catalog_csv_import(
        content=HEADER + "连衣裙,,颜色:绿; 尺码:M,D-GM,30,2,true\n", currency="CNY"
    )
    # then
    assert (result.created_skus, result.updated_products, result.errors) == (1, 1, [])
    active = Sku.objects.filter(product=dress, is_active=True)
    assert active.count() == 3
    assert Sku.objects.get(code="D-GM").price_minor == 3000
    # 绿/S was made by the sync but no row lists it
    assert Sku.objects.filter(product=dress, is_active=False).count() == 1


def test_import_without_required_columns_reports_them(shop: Tenant) -> None:
    # when
    result = catalog_csv_import(content="title,price\nA,1\n", currency="CNY")
    # then
    assert [(error.row, error.field, error.code) for error in result.errors] == [
        (1, "category", "missing_column"),
        (1, "options", "missing_column"),
        (1, "sku_code", "missing_column"),
        (1, "stock", "missing_column"),
        (1, "on_shelf", "missing_column"),
    ]
    assert Product.objects.count() == 0


def test_import_refuses_a_file_that_is_not_utf8(shop: Tenant) -> None:
    # when
    result = catalog_csv_import(
        content=(HEADER + "连衣裙,,,D,1,1,true\n").encode("gbk"), currency="CNY"
    )
    # then
    assert [(error.row, error.field, error.code) for error in result.errors] == [
        (1, "file", "encoding")
    ]
    assert Product.objects.count() == 0
