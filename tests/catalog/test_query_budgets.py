"""Query budgets of the catalog API (ARCHITECTURE §6): lists do not grow with the page size."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from shop.catalog.models import Product
from shop.catalog.services.categories import category_create
from shop.catalog.services.images import product_image_add
from shop.catalog.services.products import OptionSpec, product_create
from tenants.models import Tenant
from tests.catalog.conftest import image_bytes

# The count and the page's cards with their SKUs' stock, in one statement.
LIST_BUDGET = 1
# Product (with category), SKUs, SKU option values, images, options, option values.
DETAIL_BUDGET = 6
TREE_BUDGET = 1


@pytest.fixture
def catalog(shop: Tenant, media_root: Path) -> list[Product]:
    category = category_create(name="服装", slug="clothes")
    picture = image_bytes((300, 200))
    products = []
    for index in range(22):
        product = product_create(
            title=f"连衣裙 {index}",
            category=category,
            options=[OptionSpec("颜色", ["红", "蓝"]), OptionSpec("尺码", ["S", "M", "L"])],
            price_minor=19900,
            stock=3,
            on_shelf=True,
        )
        for _ in range(2):
            product_image_add(product=product, file=io.BytesIO(picture))
        products.append(product)
    return products


@pytest.mark.parametrize("page_size", [2, 20])
@pytest.mark.parametrize(
    "params",
    [{}, {"q": "连衣", "in_stock": "true", "min_price": 100}, {"sort": "price_asc"}],
    ids=["plain", "search-filters", "price-sort"],
)
def test_product_list_budget_does_not_grow_with_page_size(
    catalog: list[Product],
    shop_client: Client,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    page_size: int,
    params: dict[str, str | int],
) -> None:
    # given
    category = catalog[0].category_id
    assert category is not None
    query = {**params, "page_size": page_size, "category": category}
    shop_client.get("/api/v1/products", query)  # warm: routing cached as in a running process
    # when
    with django_assert_max_num_queries(LIST_BUDGET):
        response = shop_client.get("/api/v1/products", query)
    # then
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == page_size
    assert {len(item["skus"]) for item in results} == {6}


def test_product_detail_budget(
    catalog: list[Product],
    shop_client: Client,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    # given
    url = f"/api/v1/products/{catalog[0].pk}"
    shop_client.get(url)
    # when
    with django_assert_max_num_queries(DETAIL_BUDGET):
        response = shop_client.get(url)
    # then
    assert response.status_code == 200
    assert (len(response.json()["skus"]), len(response.json()["images"])) == (6, 2)


def test_category_tree_budget(
    catalog: list[Product],
    shop_client: Client,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    # given
    shop_client.get("/api/v1/categories")
    # when
    with django_assert_max_num_queries(TREE_BUDGET):
        response = shop_client.get("/api/v1/categories")
    # then
    assert response.status_code == 200
