"""The storefront catalog API on the shop host: tree, list with search and filters, detail."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from infra.api.throttling import TenantAnonRateThrottle, TenantUserRateThrottle
from infra.db import tenant_schema
from shop.catalog.api.views import ProductListApi
from shop.catalog.models import Product, Sku
from shop.catalog.services.categories import category_create
from shop.catalog.services.images import product_image_add
from shop.catalog.services.products import (
    OptionSpec,
    product_create,
    product_delete,
    sku_update,
)
from shop.catalog.services.stock import sku_stock_reserve
from tenants.models import Tenant
from tests.catalog.conftest import image_bytes


def _dress() -> Product:
    dress = product_create(
        title="红色连衣裙",
        subtitle="夏季新款",
        options=[OptionSpec("颜色", ["红", "蓝"]), OptionSpec("尺码", ["S"])],
        price_minor=19900,
        stock=2,
        on_shelf=True,
    )
    _red, blue = Sku.objects.filter(product=dress).order_by("id")
    sku_update(sku=blue, code="DRESS-BLUE-S", price_minor=25900, list_price_minor=29900)
    return dress


def test_category_tree(shop: Tenant, shop_client: Client) -> None:
    # given
    clothes = category_create(name="服装", slug="clothes")
    women = category_create(name="女装", slug="women", parent=clothes)
    category_create(name="Hidden", slug="hidden", is_active=False)
    # when
    response = shop_client.get("/api/v1/categories")
    # then
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": clothes.pk,
            "name": "服装",
            "slug": "clothes",
            "children": [{"id": women.pk, "name": "女装", "slug": "women", "children": []}],
        }
    ]


def test_product_list_item(shop: Tenant, shop_client: Client, media_root: Path) -> None:
    # given
    dress = _dress()
    image = product_image_add(product=dress, file=io.BytesIO(image_bytes()))
    red, blue = Sku.objects.filter(product=dress).order_by("id")
    # when
    response = shop_client.get("/api/v1/products")
    # then
    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": dress.pk,
                "title": "红色连衣裙",
                "subtitle": "夏季新款",
                "price": {
                    "currency": "CNY",
                    "min_minor": 19900,
                    "max_minor": 25900,
                    "min_formatted": "¥199.00",
                    "max_formatted": "¥259.00",
                },
                "stock": 4,
                "thumbnail_url": f"/media/shop_alpha/{image.thumbnail.name}",
                "skus": [
                    {
                        "id": red.pk,
                        "option_values": [
                            {"option": "颜色", "value": "红"},
                            {"option": "尺码", "value": "S"},
                        ],
                        "price_minor": 19900,
                        "stock": 2,
                    },
                    {
                        "id": blue.pk,
                        "option_values": [
                            {"option": "颜色", "value": "蓝"},
                            {"option": "尺码", "value": "S"},
                        ],
                        "price_minor": 25900,
                        "stock": 2,
                    },
                ],
            }
        ],
    }


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_product_list_search_filters_and_sort(shop: Tenant, shop_client: Client) -> None:
    # given
    women = category_create(name="女装", slug="women")
    dress = product_create(
        title="红色连衣裙", category=women, price_minor=19900, stock=1, on_shelf=True
    )
    shirt = product_create(title="蓝色衬衫", price_minor=9900, stock=0, on_shelf=True)
    product_create(title="下架衬衫", price_minor=100, on_shelf=False)
    # when / then
    assert _ids(shop_client.get("/api/v1/products", {"q": "衬衫"})) == [shirt.pk]
    assert _ids(shop_client.get("/api/v1/products", {"category": women.pk})) == [dress.pk]
    assert _ids(shop_client.get("/api/v1/products", {"in_stock": "true"})) == [dress.pk]
    assert _ids(shop_client.get("/api/v1/products", {"max_price": 10000})) == [shirt.pk]
    assert _ids(shop_client.get("/api/v1/products", {"min_price": 10000})) == [dress.pk]
    assert _ids(shop_client.get("/api/v1/products", {"sort": "price_asc"})) == [shirt.pk, dress.pk]
    assert _ids(shop_client.get("/api/v1/products", {"sort": "price_desc"})) == [
        dress.pk,
        shirt.pk,
    ]


def test_product_list_pages(shop: Tenant, shop_client: Client) -> None:
    # given
    ids = [product_create(title=f"P{index}", on_shelf=True).pk for index in range(3)]
    # when
    response = shop_client.get("/api/v1/products", {"page_size": 2, "page": 2})
    # then
    assert response.json()["count"] == 3
    assert _ids(response) == [ids[0]]


def test_product_list_refuses_bad_parameters(shop: Tenant, shop_client: Client) -> None:
    # when
    response = shop_client.get("/api/v1/products", {"sort": "cheapest", "min_price": "-1"})
    # then
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "validation_failed"
    assert sorted(body["fields"]) == ["min_price", "sort"]


def test_product_detail(shop: Tenant, shop_client: Client, media_root: Path) -> None:
    # given
    dress = _dress()
    image = product_image_add(product=dress, file=io.BytesIO(image_bytes()), alt="正面")
    _red, blue = Sku.objects.filter(product=dress).order_by("id")
    # when
    response = shop_client.get(f"/api/v1/products/{dress.pk}")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["images"] == [
        {
            "id": image.pk,
            "url": f"/media/shop_alpha/{image.image.name}",
            "thumbnail_url": f"/media/shop_alpha/{image.thumbnail.name}",
            "width": 1200,
            "height": 800,
            "alt": "正面",
        }
    ]
    assert [
        (option["name"], [value["value"] for value in option["values"]])
        for option in body["options"]
    ] == [("颜色", ["红", "蓝"]), ("尺码", ["S"])]
    assert body["skus"][1] == {
        "id": blue.pk,
        "code": "DRESS-BLUE-S",
        "option_values": [{"option": "颜色", "value": "蓝"}, {"option": "尺码", "value": "S"}],
        "price_minor": 25900,
        "list_price_minor": 29900,
        "stock": 2,
        "weight_grams": 0,
    }
    assert (body["title"], body["category"], body["stock"]) == ("红色连衣裙", None, 4)
    assert body["price"]["min_formatted"] == "¥199.00"


def test_off_shelf_deleted_and_unknown_products_are_not_found(
    shop: Tenant, shop_client: Client
) -> None:
    # given
    off = product_create(title="Off", on_shelf=False)
    gone = product_create(title="Gone", on_shelf=True)
    product_delete(product=gone)
    hidden = category_create(name="Hidden", slug="hidden", is_active=False)
    in_hidden = product_create(title="In hidden", category=hidden, on_shelf=True)
    # when
    responses = [
        shop_client.get(f"/api/v1/products/{product_id}")
        for product_id in (off.pk, gone.pk, in_hidden.pk, 999_999)
    ]
    # then
    assert [response.status_code for response in responses] == [404, 404, 404, 404]
    assert responses[0].json()["error"]["code"] == "product_not_found"


def test_product_of_another_shop_is_invisible(
    shop: Tenant, other_shop: Tenant, shop_client: Client
) -> None:
    # given: a product in beta only
    with tenant_schema(other_shop):
        beta_product = product_create(title="Beta 衬衫", on_shelf=True)
    # when
    listed = shop_client.get("/api/v1/products", {"q": "衬衫"})
    detail = shop_client.get(f"/api/v1/products/{beta_product.pk}")
    on_beta = Client(HTTP_HOST="beta.localhost").get("/api/v1/products", {"q": "衬衫"})
    # then
    assert listed.json()["count"] == 0
    assert detail.status_code == 404
    assert _ids(on_beta) == [beta_product.pk]


def test_catalog_endpoints_are_in_the_schema(shop: Tenant, shop_client: Client) -> None:
    # when
    response = shop_client.get("/api/schema/", {"format": "json"})
    # then
    paths = response.json()["paths"]
    assert {"/api/v1/categories", "/api/v1/products", "/api/v1/products/{product_id}"} <= set(paths)
    assert paths["/api/v1/products"]["get"]["operationId"] == "product_list"


def test_product_list_answers_json_whatever_the_client_asks_for(
    shop: Tenant, shop_client: Client
) -> None:
    # given
    product_create(title="Mug", price_minor=3500, on_shelf=True)
    expected = shop_client.get("/api/v1/products").json()
    # when
    responses = [
        shop_client.get("/api/v1/products", HTTP_ACCEPT="text/html"),
        shop_client.get("/api/v1/products", {"format": "api"}),
        shop_client.get("/api/v1/products", HTTP_ACCEPT="application/xml"),
    ]
    # then
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert [response["Content-Type"] for response in responses] == ["application/json"] * 3
    assert [response.json() for response in responses] == [expected] * 3


def test_product_list_links_pages_with_the_parameters_it_reads(
    shop: Tenant, shop_client: Client
) -> None:
    # given
    for index in range(3):
        product_create(title=f"P{index}", on_shelf=True)
    # when
    pages = [
        shop_client.get("/api/v1/products", {"page_size": "1", "page": page, "utm": "x"}).json()
        for page in ("1", "2", "3")
    ]
    past_the_end = shop_client.get("/api/v1/products", {"page_size": 1, "page": 4})
    # then
    url = "http://alpha.localhost/api/v1/products"
    assert [(page["next"], page["previous"]) for page in pages] == [
        (f"{url}?page=2&page_size=1", None),
        (f"{url}?page=3&page_size=1", f"{url}?page_size=1"),
        (None, f"{url}?page=2&page_size=1"),
    ]
    assert past_the_end.status_code == 404
    assert past_the_end.json()["error"]["code"] == "not_found"


def test_product_list_shows_the_live_stock(shop: Tenant, shop_client: Client) -> None:
    # given
    dress = _dress()
    red, blue = Sku.objects.filter(product=dress).order_by("id")
    # when: an order takes a unit (the product's card is not written)
    assert sku_stock_reserve(sku_id=blue.pk, quantity=1) is True
    item = shop_client.get("/api/v1/products").json()["results"][0]
    # then
    assert item["stock"] == 3
    assert [(sku["id"], sku["stock"]) for sku in item["skus"]] == [(red.pk, 2), (blue.pk, 1)]


def _prepared_list_statements() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%card_sku%"]
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def test_product_lists_of_two_shops_on_one_connection_stay_apart(
    shop: Tenant, other_shop: Tenant, shop_client: Client
) -> None:
    # given: each shop has its product; the list's statement is prepared on the connection
    alpha_product = product_create(title="Alpha 衬衫", on_shelf=True)
    with tenant_schema(other_shop):
        beta_product = product_create(title="Beta 衬衫", on_shelf=True)
    beta_client = Client(HTTP_HOST="beta.localhost")
    assert _ids(shop_client.get("/api/v1/products")) == [alpha_product.pk]
    prepared = _prepared_list_statements()
    # when: the shops take turns, more often than PostgreSQL plans a statement anew
    seen = [
        (_ids(shop_client.get("/api/v1/products")), _ids(beta_client.get("/api/v1/products")))
        for _ in range(8)
    ]
    # then: one prepared statement served both shops, each reading its own tables
    assert seen == [([alpha_product.pk], [beta_product.pk])] * 8
    assert prepared >= 1
    assert _prepared_list_statements() == prepared


def test_the_product_list_is_not_throttled_but_the_other_reads_are(
    shop: Tenant, shop_client: Client, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # given: two anonymous requests a minute, and no read cache to answer before DRF
    settings.CATALOG_READ_CACHE = False
    for throttle in (TenantAnonRateThrottle, TenantUserRateThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", {"anon": "2/min", "user": "2/min"})
    dress = product_create(title="Mug", price_minor=3500, on_shelf=True)
    # when
    lists = [shop_client.get("/api/v1/products").status_code for _ in range(4)]
    details = [shop_client.get(f"/api/v1/products/{dress.pk}").status_code for _ in range(3)]
    # then
    assert lists == [200, 200, 200, 200]
    assert details == [200, 200, 429]
    assert ProductListApi().get_throttles() == []


def test_product_list_answers_out_of_range_numbers_without_failing(
    shop: Tenant, shop_client: Client
) -> None:
    # given
    product_create(title="Mug", price_minor=3500, on_shelf=True)
    huge = str(10**30)
    # when
    far_page = shop_client.get("/api/v1/products", {"page": huge})
    no_category = shop_client.get("/api/v1/products", {"category": huge})
    no_price = shop_client.get("/api/v1/products", {"min_price": huge})
    # then
    assert far_page.status_code == 404
    assert far_page.json()["error"]["code"] == "not_found"
    empty: dict[str, Any] = {"count": 0, "next": None, "previous": None, "results": []}
    assert (no_category.status_code, no_category.json()) == (200, empty)
    assert (no_price.status_code, no_price.json()) == (200, empty)
