"""The console's catalog pages: products (list, create, edit, SKUs, pictures, shelf, delete),
the category tree, CSV import and export; who may change what; shops kept apart."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from infra.db import schema_connection, tenant_schema
from shop.catalog.models import Category, Product, ProductImage, Sku
from shop.catalog.services.categories import category_create
from shop.catalog.services.images import product_image_add
from shop.catalog.services.products import OptionSpec, product_create, sku_update
from shop.catalog.services.stock import sku_stock_set
from tenants.models import Role, Tenant
from tests.catalog.conftest import image_bytes
from tests.support.console import console_client

BASE = "/console/alpha/products"
NEW_PRODUCT = {
    "title": "连衣裙 Summer dress",
    "subtitle": "Silk",
    "description": "Light and cool.",
    "category": "",
    "option_1_name": "颜色",
    "option_1_values": "红, 蓝",
    "option_2_name": "尺码",
    "option_2_values": "S，M、L",
    "option_3_name": "",
    "option_3_values": "",
    "price": "12.50",
    "stock": "7",
    "weight_grams": "250",
}
CSV_HEADER = "title,category,options,sku_code,price,stock,on_shelf\n"


@pytest.fixture
def staff_client(shop: Tenant) -> Client:
    return console_client(shop, Role.STAFF, "staff@example.com")


@pytest.fixture
def clerk_client(shop: Tenant) -> Client:
    return console_client(shop, Role.CLERK, "clerk@example.com")


@pytest.fixture
def media_root(tmp_path: Path) -> Iterator[Path]:
    with override_settings(
        MEDIA_ROOT=tmp_path,
        MEDIA_URL="/media/",
        STORAGES={
            "default": {"BACKEND": "infra.storage.TenantFileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        yield tmp_path


def _skus() -> list[tuple[str, int, int, int, bool]]:
    """(option values, price, stock, weight, active) of every SKU, in id order."""
    return [
        (
            " / ".join(value.value for value in sku.option_values.order_by("option__position")),
            sku.price_minor,
            sku.stock,
            sku.weight_grams,
            sku.is_active,
        )
        for sku in Sku.objects.order_by("id")
    ]


def _errors_of(html: str, field: str) -> list[str]:
    match = re.search(rf'data-field="{field}">.*?<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def _dress() -> Product:
    return product_create(
        title="Dress",
        options=[OptionSpec("Size", ["S", "M"])],
        price_minor=1000,
        stock=5,
        on_shelf=True,
    )


# --- Pages render


def test_each_catalog_page_renders_for_staff(staff_client: Client, media_root: Path) -> None:
    # given
    clothes = category_create(name="服装")
    category_create(name="女装", parent=clothes)
    product = product_create(
        title="红色连衣裙", category=clothes, options=[OptionSpec("颜色", ["红"])], price_minor=1999
    )
    product_image_add(product=product, file=io.BytesIO(image_bytes((40, 40))))
    # when
    pages = {
        name: staff_client.get(url)
        for name, url in {
            "list": f"{BASE}/",
            "new": f"{BASE}/new/",
            "edit": f"{BASE}/{product.pk}/",
            "categories": f"{BASE}/categories/",
            "csv": f"{BASE}/import/",
        }.items()
    }
    # then
    assert {name: response.status_code for name, response in pages.items()} == dict.fromkeys(
        pages, 200
    )
    listing = pages["list"].content.decode()
    assert f'<li class="product-row" data-product="{product.pk}">' in listing
    assert "CN¥19.99" in listing
    assert 'src="http://alpha.localhost/media/shop_alpha/catalog/products/' in listing
    assert '<a href="/console/alpha/products/" aria-current="page">' in listing
    edit = pages["edit"].content.decode()
    assert "<h1>红色连衣裙</h1>" in edit
    assert 'value="19.99"' in edit
    assert 'id="read-only-note"' not in edit
    tree = pages["categories"].content.decode()
    assert re.findall(r'data-category="(\d+)"', tree) == [
        str(pk) for pk in Category.objects.order_by("id").values_list("pk", flat=True)
    ]
    assert "Download the catalog (CSV)" in pages["csv"].content.decode()
    assert "Create the product" in pages["new"].content.decode()


def test_the_products_section_no_longer_shows_an_empty_state(staff_client: Client) -> None:
    # when
    html = staff_client.get(f"{BASE}/").content.decode()
    # then
    assert "Nothing here yet" not in html
    assert 'id="no-products"' in html


def test_the_list_filters_sorts_and_pages(staff_client: Client) -> None:
    # given
    clothes = category_create(name="Clothes")
    for index in range(3):
        product_create(title=f"连衣裙 {index}", category=clothes, on_shelf=index != 1, stock=9)
    product_create(title="Tea", stock=2)
    # when
    search = staff_client.get(f"{BASE}/", {"q": "衣裙", "sort": "title", "page_size": "20"})
    off = staff_client.get(f"{BASE}/", {"shelf": "off"})
    low = staff_client.get(f"{BASE}/", {"stock": "low"})
    in_category = staff_client.get(f"{BASE}/", {"category": str(clothes.pk), "sort": "title"})
    beyond = staff_client.get(f"{BASE}/", {"q": "连衣裙", "sort": "title", "page": "9"})
    # then

    def titles(response: Any) -> list[str]:
        return re.findall(
            r'class="product-title" href="[^"]+">([^<]+)</a>', response.content.decode()
        )

    assert titles(search) == ["连衣裙 0", "连衣裙 1", "连衣裙 2"]
    assert titles(off) == ["Tea", "连衣裙 1"]
    assert titles(low) == ["Tea"]
    assert titles(in_category) == ["连衣裙 0", "连衣裙 1", "连衣裙 2"]
    assert titles(beyond) == ["连衣裙 0", "连衣裙 1", "连衣裙 2"]  # the last page there is
    assert "Page 1 of 1 · 3 products" in beyond.content.decode()


def test_the_filters_answer_htmx_with_the_results_only(staff_client: Client) -> None:
    # given
    product_create(title="Tea")
    # when
    response = staff_client.get(f"{BASE}/", {"q": "tea"}, HTTP_HX_REQUEST="true")
    # then
    html = response.content.decode()
    assert html.startswith('<div id="product-results">')
    assert "<html" not in html
    assert ">Tea</a>" in html


# --- Who may change the catalog


def test_a_clerk_sees_the_catalog_read_only(clerk_client: Client) -> None:
    # given
    product = _dress()
    # when
    listing = clerk_client.get(f"{BASE}/").content.decode()
    edit = clerk_client.get(f"{BASE}/{product.pk}/").content.decode()
    # then
    assert 'id="read-only-note"' in listing
    assert 'name="product"' not in listing  # no bulk checkboxes
    assert 'id="new-product"' not in listing
    assert "Save the SKUs" not in edit
    assert re.search(r'<input type="text" name="title"[^>]* disabled', edit)


def test_a_clerk_gets_403_on_every_write_and_nothing_changes(
    clerk_client: Client, media_root: Path
) -> None:
    # given
    product = _dress()
    category = category_create(name="Clothes")
    image = product_image_add(product=product, file=io.BytesIO(image_bytes((20, 20))))
    sku = Sku.objects.filter(product=product).order_by("id")[0]
    before = (_skus(), list(Product.objects.values_list("title", "on_shelf", "deleted_at")))
    writes: dict[str, dict[str, Any]] = {
        f"{BASE}/new/": NEW_PRODUCT,
        f"{BASE}/shelf/": {"product": [product.pk], "on_shelf": "off"},
        f"{BASE}/{product.pk}/": {"title": "Renamed"},
        f"{BASE}/{product.pk}/options/": {"option_1_name": "Size", "option_1_values": "XL"},
        f"{BASE}/{product.pk}/skus/": {f"sku_{sku.pk}_price": "1.00"},
        f"{BASE}/{product.pk}/images/": {
            "images": SimpleUploadedFile("a.png", image_bytes(image_format="PNG"))
        },
        f"{BASE}/{product.pk}/images/order/": {"image_ids": [image.pk]},
        f"{BASE}/{product.pk}/images/{image.pk}/delete/": {},
        f"{BASE}/{product.pk}/shelf/": {"on_shelf": "off"},
        f"{BASE}/{product.pk}/delete/": {},
        f"{BASE}/categories/new/": {"name": "New"},
        f"{BASE}/categories/order/": {"category_ids": [category.pk]},
        f"{BASE}/categories/{category.pk}/rename/": {f"c{category.pk}-name": "Renamed"},
        f"{BASE}/categories/{category.pk}/move/": {},
        f"{BASE}/categories/{category.pk}/delete/": {},
        f"{BASE}/import/": {
            "file": SimpleUploadedFile("c.csv", (CSV_HEADER + "Mug,,,MUG,5,1,true\n").encode()),
            "mode": "all",
        },
    }
    # when
    statuses = {url: clerk_client.post(url, data).status_code for url, data in writes.items()}
    # then
    assert statuses == dict.fromkeys(writes, 403)
    assert (_skus(), list(Product.objects.values_list("title", "on_shelf", "deleted_at"))) == before
    assert list(Category.objects.values_list("name", flat=True)) == ["Clothes"]
    assert ProductImage.objects.count() == 1


def test_a_product_of_another_shop_is_not_found(staff_client: Client, other_shop: Tenant) -> None:
    # given
    with tenant_schema(other_shop):
        foreign = product_create(title="Beta dress", price_minor=100)
    assert not Product.objects.filter(pk=foreign.pk).exists()
    # when
    page = staff_client.get(f"{BASE}/{foreign.pk}/")
    save = staff_client.post(f"{BASE}/{foreign.pk}/", {"title": "Stolen"})
    delete = staff_client.post(f"{BASE}/{foreign.pk}/delete/")
    # then
    assert (page.status_code, save.status_code, delete.status_code) == (404, 404, 404)
    with tenant_schema(other_shop):
        assert list(Product.objects.values_list("title", "deleted_at")) == [("Beta dress", None)]


# --- Creating and editing products


def test_creating_a_product_with_options_makes_its_skus(staff_client: Client) -> None:
    # given
    clothes = category_create(name="Clothes")
    # when
    response = staff_client.post(
        f"{BASE}/new/", {**NEW_PRODUCT, "category": clothes.pk, "on_shelf": "on"}
    )
    # then
    product = Product.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/{product.pk}/"
    assert (product.title, product.subtitle, product.category_id, product.on_shelf) == (
        "连衣裙 Summer dress",
        "Silk",
        clothes.pk,
        True,
    )
    assert _skus() == [
        (f"{colour} / {size}", 1250, 7, 250, True)
        for colour in ("红", "蓝")
        for size in ("S", "M", "L")
    ]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"price": "12.345"}, "price", "Use at most 2 decimal places."),
        ({"price": "twelve"}, "price", "Enter an amount like 12.50."),
        ({"price": "-1"}, "price", "Enter an amount of at least 0."),
        ({"title": ""}, "title", "This field is required."),
        ({"option_1_values": ""}, "option_1_values", "Give this option its values."),
        ({"stock": "-2"}, "stock", "Ensure this value is greater than or equal to 0."),
    ],
    ids=["price-digits", "price-text", "price-negative", "empty-title", "no-values", "stock"],
)
def test_a_bad_field_shows_its_error_and_creates_nothing(
    staff_client: Client, changes: dict[str, str], field: str, message: str
) -> None:
    # when
    response = staff_client.post(f"{BASE}/new/", {**NEW_PRODUCT, **changes})
    # then
    assert response.status_code == 400
    assert _errors_of(response.content.decode(), field) == [message]
    assert Product.objects.count() == 0
    assert Sku.objects.count() == 0


def test_a_domain_error_of_the_service_shows_on_its_field_and_creates_nothing(
    staff_client: Client,
) -> None:
    # given: the same option twice, which only the service checks
    data = {**NEW_PRODUCT, "option_2_name": "颜色"}
    # when
    response = staff_client.post(f"{BASE}/new/", data)
    # then
    assert response.status_code == 400
    assert _errors_of(response.content.decode(), "option_2_name") == ["Each option once."]
    assert Product.objects.count() == 0


def test_saving_the_details_changes_the_product(staff_client: Client) -> None:
    # given
    product = _dress()
    clothes = category_create(name="Clothes")
    # when
    response = staff_client.post(
        f"{BASE}/{product.pk}/",
        {"title": "  Long dress ", "subtitle": "", "description": "New", "category": clothes.pk},
    )
    # then
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.title, product.description, product.category_id, product.on_shelf) == (
        "Long dress",
        "New",
        clothes.pk,
        False,
    )


def test_saving_the_details_with_an_empty_title_shows_the_error_and_changes_nothing(
    staff_client: Client,
) -> None:
    # given
    product = _dress()
    # when
    response = staff_client.post(f"{BASE}/{product.pk}/", {"title": " ", "description": "New"})
    # then
    assert response.status_code == 400
    assert _errors_of(response.content.decode(), "title") == ["This field is required."]
    product.refresh_from_db()
    assert (product.title, product.description, product.on_shelf) == ("Dress", "", True)


def test_changing_the_options_adds_and_switches_off_skus(staff_client: Client) -> None:
    # given
    product = _dress()
    # when
    response = staff_client.post(
        f"{BASE}/{product.pk}/options/",
        {"option_1_name": "Size", "option_1_values": "M, L", "new_price": "30"},
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/{product.pk}/#skus"
    assert _skus() == [("S", 1000, 5, 0, False), ("M", 1000, 5, 0, True), ("L", 3000, 0, 0, True)]
    page = staff_client.get(f"{BASE}/{product.pk}/").content.decode()
    assert re.findall(r"<legend>([^<]+)</legend>", page)[-2:] == ["M", "L"]


def _sku_table(skus: list[Sku], **overrides: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for sku in skus:
        prefix = f"sku_{sku.pk}_"
        data.update(
            {
                f"{prefix}code": sku.code,
                f"{prefix}price": f"{sku.price_minor / 100:.2f}",
                f"{prefix}list_price": "",
                f"{prefix}weight": str(sku.weight_grams),
                f"{prefix}stock": str(sku.stock),
                f"{prefix}stock_was": str(sku.stock),
                f"{prefix}stock_delta": "",
                f"{prefix}active": "on",
            }
        )
    data.update(overrides)
    return data


def test_the_sku_table_saves_prices_and_sets_or_adjusts_stock(staff_client: Client) -> None:
    # given
    product = _dress()
    small, medium = Sku.objects.filter(product=product).order_by("id")
    sku_stock_set(sku=medium, stock=8)  # sold or counted after the page was read
    table = _sku_table([small, medium])
    table[f"sku_{medium.pk}_stock"] = "5"  # as the page showed it: unchanged
    table[f"sku_{medium.pk}_stock_was"] = "5"
    # when
    response = staff_client.post(
        f"{BASE}/{product.pk}/skus/",
        {
            **table,
            f"sku_{small.pk}_price": "12.50",
            f"sku_{small.pk}_list_price": "15",
            f"sku_{small.pk}_stock": "20",
            f"sku_{medium.pk}_stock_delta": "-3",
            f"sku_{medium.pk}_weight": "120",
            f"sku_{medium.pk}_active": "",
        },
    )
    # then
    assert response.status_code == 302
    assert _skus() == [("S", 1250, 20, 0, True), ("M", 1000, 5, 120, False)]
    assert Sku.objects.get(pk=small.pk).list_price_minor == 1500


def test_a_refused_sku_change_shows_on_its_field_and_changes_no_sku(staff_client: Client) -> None:
    # given
    product = _dress()
    small, medium = Sku.objects.filter(product=product).order_by("id")
    before = _skus()
    # when
    response = staff_client.post(
        f"{BASE}/{product.pk}/skus/",
        _sku_table(
            [small, medium],
            **{f"sku_{small.pk}_price": "99", f"sku_{medium.pk}_stock_delta": "-6"},
        ),
    )
    # then
    assert response.status_code == 400
    assert _errors_of(response.content.decode(), f"sku_{medium.pk}_stock_delta") == [
        "Fewer units than that are in stock."
    ]
    assert _skus() == before


def test_pictures_are_uploaded_reordered_and_deleted(
    staff_client: Client, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    product = _dress()
    # when: two good pictures and a bad one
    upload = staff_client.post(
        f"{BASE}/{product.pk}/images/",
        {
            "images": [
                SimpleUploadedFile("front.jpg", image_bytes((60, 40))),
                SimpleUploadedFile("notes.txt", b"not a picture"),
                SimpleUploadedFile("back.png", image_bytes((40, 60), "PNG")),
            ]
        },
    )
    first, second = ProductImage.objects.order_by("position", "id")
    cover = staff_client.post(
        f"{BASE}/{product.pk}/images/order/", {"image_ids": [second.pk, first.pk]}
    )
    with django_capture_on_commit_callbacks(execute=True):
        delete = staff_client.post(f"{BASE}/{product.pk}/images/{first.pk}/delete/")
    # then
    assert upload.status_code == 400
    assert _errors_of(upload.content.decode(), "images") == [
        "notes.txt: Upload a JPEG, PNG, WebP or GIF image of at most 10 MB."
    ]
    assert (first.width, second.width) == (60, 40)
    assert (cover.status_code, delete.status_code) == (302, 302)
    assert list(ProductImage.objects.values_list("pk", "position")) == [(second.pk, 0)]
    files = sorted(path.name for path in media_root.rglob("*") if path.is_file())
    assert len(files) == 2
    assert all(name.startswith(Path(second.image.name).stem) for name in files)


def test_shelf_buttons_and_delete(staff_client: Client) -> None:
    # given
    dress = _dress()
    tea = product_create(title="Tea")
    mug = product_create(title="Mug")
    # when
    single = staff_client.post(f"{BASE}/{dress.pk}/shelf/", {"on_shelf": "off"})
    bulk = staff_client.post(
        f"{BASE}/shelf/",
        {"product": [tea.pk, mug.pk], "on_shelf": "on", "next": f"{BASE}/?shelf=off"},
    )
    delete = staff_client.post(f"{BASE}/{mug.pk}/delete/")
    # then
    assert (single.status_code, bulk.status_code, delete.status_code) == (302, 302, 302)
    assert bulk["Location"] == f"{BASE}/?shelf=off"
    assert delete["Location"] == f"{BASE}/"
    assert dict(Product.objects.values_list("title", "on_shelf")) == {
        "Dress": False,
        "Tea": True,
        "Mug": False,
    }
    assert Product.objects.get(pk=mug.pk).deleted_at is not None
    assert staff_client.get(f"{BASE}/{mug.pk}/").status_code == 404


def test_bulk_shelf_only_goes_back_to_the_product_list(staff_client: Client) -> None:
    # given
    tea = product_create(title="Tea")
    # when
    response = staff_client.post(
        f"{BASE}/shelf/",
        {"product": [tea.pk], "on_shelf": "on", "next": "https://evil.example/"},
    )
    # then
    assert response["Location"] == f"{BASE}/"


# --- Categories


def test_categories_are_created_renamed_reordered_and_deleted(staff_client: Client) -> None:
    # given
    staff_client.post(f"{BASE}/categories/new/", {"name": "Clothes"})
    clothes = Category.objects.get(name="Clothes")
    staff_client.post(f"{BASE}/categories/new/", {"name": "Women", "parent": clothes.pk})
    staff_client.post(f"{BASE}/categories/new/", {"name": "Men", "parent": clothes.pk})
    women, men = Category.objects.get(name="Women"), Category.objects.get(name="Men")
    # when
    rename = staff_client.post(
        f"{BASE}/categories/{women.pk}/rename/",
        {f"c{women.pk}-name": "Ladies", f"c{women.pk}-is_active": "on"},
    )
    order = staff_client.post(
        f"{BASE}/categories/order/", {"parent": clothes.pk, "category_ids": [men.pk, women.pk]}
    )
    delete = staff_client.post(f"{BASE}/categories/{men.pk}/delete/")
    # then
    assert (rename.status_code, order.status_code, delete.status_code) == (302, 302, 302)
    page = staff_client.get(f"{BASE}/categories/").content.decode()
    assert re.findall(r"<strong>([^<]+)</strong>", page)[-2:] == ["Clothes", "Ladies"]
    assert list(Category.objects.order_by("id").values_list("name", "parent_id")) == [
        ("Clothes", None),
        ("Ladies", clothes.pk),
    ]


def test_moving_a_category_into_its_own_descendant_is_refused(staff_client: Client) -> None:
    # given
    clothes = category_create(name="Clothes")
    women = category_create(name="Women", parent=clothes)
    dresses = category_create(name="Dresses", parent=women)
    before = list(Category.objects.order_by("id").values_list("parent_id", "path"))
    # when
    response = staff_client.post(
        f"{BASE}/categories/{clothes.pk}/move/", {f"m{clothes.pk}-parent": dresses.pk}
    )
    # then
    html = response.content.decode()
    assert response.status_code == 400
    assert "A category cannot move under itself or under one of its descendants." in html
    assert list(Category.objects.order_by("id").values_list("parent_id", "path")) == before


def test_moving_a_category_puts_it_last_under_its_new_parent(staff_client: Client) -> None:
    # given
    clothes = category_create(name="Clothes")
    category_create(name="Women", parent=clothes)
    books = category_create(name="Books")
    # when
    response = staff_client.post(
        f"{BASE}/categories/{books.pk}/move/", {f"m{books.pk}-parent": clothes.pk}
    )
    # then
    assert response.status_code == 302
    books.refresh_from_db()
    assert (books.parent_id, books.path, books.position) == (
        clothes.pk,
        f"{clothes.pk}/{books.pk}/",
        1,
    )


def test_deleting_a_category_with_products_is_refused_with_the_message(
    staff_client: Client,
) -> None:
    # given
    clothes = category_create(name="Clothes")
    product_create(title="Dress", category=clothes)
    # when
    response = staff_client.post(f"{BASE}/categories/{clothes.pk}/delete/")
    # then
    assert response.status_code == 400
    assert "Move or delete the category&#x27;s products and subcategories first." in (
        response.content.decode()
    )
    assert Category.objects.filter(pk=clothes.pk).exists()


# --- CSV


def _upload(content: str, mode: str) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("catalog.csv", content.encode()), "mode": mode}


def test_an_import_with_an_error_row_shows_it_and_imports_nothing(staff_client: Client) -> None:
    # given
    content = CSV_HEADER + "Mug,Kitchen,,MUG-1,12.50,3,true\nCup,,,CUP-1,abc,2,true\n"
    # when
    response = staff_client.post(f"{BASE}/import/", _upload(content, "all"))
    # then
    html = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was imported." in html
    row = re.search(r'<tr data-row="3">(.*?)</tr>', html, re.S)
    assert row is not None
    assert "<code>price</code>" in row.group(1)
    assert "Write the price like 12.50, with the currency&#x27;s digits." in row.group(1)
    assert (Product.objects.count(), Sku.objects.count(), Category.objects.count()) == (0, 0, 0)


def test_a_partial_import_imports_the_valid_rows_and_lists_the_others(
    staff_client: Client,
) -> None:
    # given
    content = CSV_HEADER + "Mug,Kitchen,,MUG-1,12.50,3,true\nCup,,,CUP-1,abc,2,true\n"
    # when
    response = staff_client.post(f"{BASE}/import/", _upload(content, "partial"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 row imported." in html
    assert '<tr data-row="3">' in html
    assert list(Sku.objects.values_list("code", "price_minor", "stock")) == [("MUG-1", 1250, 3)]


def test_a_clean_import_goes_back_to_the_list(staff_client: Client) -> None:
    # when
    response = staff_client.post(
        f"{BASE}/import/", _upload(CSV_HEADER + "Mug,,,MUG-1,5,1,false\n", "all")
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/"
    assert list(Product.objects.values_list("title", flat=True)) == ["Mug"]


def test_export_downloads_the_catalog(clerk_client: Client) -> None:
    # given
    clothes = category_create(name="服装")
    dress = product_create(
        title="连衣裙", category=clothes, options=[OptionSpec("颜色", ["红"])], on_shelf=True
    )
    sku = Sku.objects.get(product=dress)
    sku_update(sku=sku, code="DRESS-RED", price_minor=19950)
    sku_stock_set(sku=sku, stock=4)
    # when
    response = clerk_client.get(f"{BASE}/export/")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="catalog-alpha-\d{8}\.csv"', response["Content-Disposition"]
    )
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [
        ["title", "category", "options", "sku_code", "price", "stock", "on_shelf"],
        ["连衣裙", "服装", "颜色:红", "DRESS-RED", "199.50", "4", "true"],
    ]


# --- Query budget


def _queries(request: Callable[[], Any]) -> tuple[int, int]:
    request()  # warm: routing and sessions as a running process has them
    with CaptureQueriesContext(schema_connection()) as captured:
        response = request()
    return response.status_code, len(captured.captured_queries)


# Session, account, membership, the account's shops, categories (filter), count, page, SKU
# figures, covers.
PRODUCT_LIST_BUDGET = 9


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "连衣", "stock": "low", "shelf": "on"}, {"sort": "stock_asc"}],
    ids=["plain", "search-filters", "stock-sort"],
)
def test_the_product_list_budget_does_not_grow_with_the_page_size(
    staff_client: Client, media_root: Path, params: dict[str, str]
) -> None:
    # given
    clothes = category_create(name="服装")
    picture = image_bytes((20, 20))
    for index in range(25):
        product = product_create(
            title=f"连衣裙 {index}",
            category=clothes,
            options=[OptionSpec("尺码", ["S", "M"])],
            price_minor=1000 + index,
            stock=3,
            on_shelf=True,
        )
        product_image_add(product=product, file=io.BytesIO(picture))
    # when
    small = _queries(lambda: staff_client.get(f"{BASE}/", {**params, "page_size": "20"}))
    large = _queries(lambda: staff_client.get(f"{BASE}/", {**params, "page_size": "50"}))
    # then
    assert (small[0], large[0]) == (200, 200)
    assert small[1] == large[1]
    assert large[1] <= PRODUCT_LIST_BUDGET, large[1]
    listed = staff_client.get(f"{BASE}/", {**params, "page_size": "50"}).content.decode()
    assert listed.count('class="product-row"') == 25
    first = staff_client.get(f"{BASE}/", {**params, "page_size": "20"}).content.decode()
    assert first.count('class="product-row"') == 20
    assert "Page 1 of 2 · 25 products" in first
    second = re.search(r'href="\?([^"]*page=2)" rel="next"', first)
    assert second is not None
    rest = staff_client.get(f"{BASE}/?{second.group(1).replace('&amp;', '&')}").content.decode()
    assert rest.count('class="product-row"') == 5


# Session, account, membership, the account's shops, product, options, values, SKUs, their
# option values, images, categories.
PRODUCT_PAGE_BUDGET = 11


def test_the_product_page_budget_does_not_grow_with_skus_and_pictures(
    staff_client: Client, media_root: Path
) -> None:
    # given
    small = product_create(title="Mug", options=[OptionSpec("Colour", ["White"])])
    product_image_add(product=small, file=io.BytesIO(image_bytes((20, 20))))
    large = product_create(
        title="Dress",
        options=[OptionSpec("Colour", ["Red", "Blue", "Green"]), OptionSpec("Size", ["S", "M"])],
        price_minor=1000,
    )
    for _ in range(3):
        product_image_add(product=large, file=io.BytesIO(image_bytes((20, 20))))
    # when
    one = _queries(lambda: staff_client.get(f"{BASE}/{small.pk}/"))
    many = _queries(lambda: staff_client.get(f"{BASE}/{large.pk}/"))
    # then
    assert (one[0], many[0]) == (200, 200)
    assert one[1] == many[1]
    assert many[1] <= PRODUCT_PAGE_BUDGET, many[1]
