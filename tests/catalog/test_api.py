"""The storefront catalog API on the shop host: tree, list with search and filters, detail."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.test import Client

from infra.db import tenant_schema
from shop.catalog.models import Product, Sku
from shop.catalog.services.categories import category_create
from shop.catalog.services.images import product_image_add
from shop.catalog.services.products import (
    OptionSpec,
    product_create,
    product_delete,
    sku_update,
)
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
