"""The storefront catalog reads are cached per shop and made fresh by every catalog write.

Tests run in transactions that are rolled back, so the writes' on-commit bumps run only inside
django_capture_on_commit_callbacks(execute=True), as they would at a real commit.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from infra.db import tenant_schema
from shop.catalog.api.views import PRODUCT_LIST_PARAMS, ProductListApi
from shop.catalog.models import Category, Product, Sku
from shop.catalog.services.categories import category_create, category_update
from shop.catalog.services.images import product_image_add
from shop.catalog.services.products import (
    OptionSpec,
    product_create,
    product_shelf_set,
    product_update,
    sku_update,
)
from shop.catalog.services.stock import sku_stock_adjust
from tenants.models import Tenant
from tenants.selectors.tenancy import tenant_routing_forget
from tests.catalog.conftest import image_bytes

Commit = Callable[..., AbstractContextManager[Any]]
LIST = "/api/v1/products"


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Commit) -> Callable[[], Any]:
    """A block whose on-commit callbacks run at its end, as at a real commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def dress(shop: Tenant, committed: Callable[[], Any]) -> Product:
    with committed():
        category = category_create(name="服装", slug="clothes")
        return product_create(
            title="红色连衣裙",
            category=category,
            options=[OptionSpec("颜色", ["红", "蓝"])],
            price_minor=19900,
            stock=2,
            on_shelf=True,
        )


def _warm(client: Client, url: str, **params: Any) -> bytes:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return bytes(response.content)


def test_second_identical_request_is_a_hit_without_queries(
    dress: Product, shop_client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # given
    urls = [LIST, f"{LIST}/{dress.pk}", "/api/v1/categories"]
    first = [shop_client.get(url) for url in urls]
    # when
    with django_assert_num_queries(0):
        second = [shop_client.get(url) for url in urls]
    # then
    assert [response.status_code for response in second] == [200, 200, 200]
    assert [response.content for response in second] == [response.content for response in first]
    assert [response["Content-Type"] for response in second] == ["application/json"] * 3


def test_a_miss_reads_the_list_in_one_query_whatever_the_page_size(
    shop: Tenant,
    committed: Callable[[], Any],
    shop_client: Client,
    django_assert_num_queries: DjangoAssertNumQueries,
    media_root: Path,
) -> None:
    # given: 22 products with SKUs, option values and images; routing warm
    with committed():
        for index in range(22):
            product = product_create(
                title=f"P{index}",
                options=[OptionSpec("颜色", ["红", "蓝"]), OptionSpec("尺码", ["S", "M"])],
                on_shelf=True,
            )
            product_image_add(product=product, file=io.BytesIO(image_bytes((60, 40))))
    _warm(shop_client, LIST, page_size=1)
    # when / then: the count and the page's cards with their SKUs' stock, in one statement
    for page_size in (2, 20):
        with django_assert_num_queries(1):
            response = shop_client.get(LIST, {"page_size": page_size})
        assert len(response.json()["results"]) == page_size


def test_only_the_parameters_the_list_reads_make_the_key(
    dress: Product, shop_client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # given
    first = _warm(shop_client, f"{LIST}?page_size=1&utm_source=a&sort=newest")
    # when
    with django_assert_num_queries(0):
        second = shop_client.get(f"{LIST}?sort=newest&utm_source=b&page_size=1")
    # then
    assert second.content == first
    assert second.json()["next"] is None
    assert set(PRODUCT_LIST_PARAMS) == set(ProductListApi.InputSerializer().fields)


def test_pages_and_languages_have_their_own_entries(
    shop: Tenant, dress: Product, committed: Callable[[], Any], shop_client: Client
) -> None:
    # given
    with committed():
        older = product_create(title="Older", price_minor=100, on_shelf=True)
    page_one = shop_client.get(LIST, {"page_size": 1}).json()
    # when
    page_two = shop_client.get(LIST, {"page_size": 1, "page": 2}).json()
    Tenant.objects.filter(pk=shop.pk).update(language="en")
    tenant_routing_forget(tenant=shop)
    in_english = shop_client.get(LIST, {"page_size": 1}).json()
    # then
    assert [item["id"] for item in page_one["results"]] == [older.pk]
    assert [item["id"] for item in page_two["results"]] == [dress.pk]
    assert page_one["results"][0]["price"]["min_formatted"] == "¥1.00"
    assert in_english["results"][0]["price"]["min_formatted"] == "CN¥1.00"


def test_another_shops_cache_is_separate(
    dress: Product, other_shop: Tenant, shop_client: Client
) -> None:
    # given: alpha's list is cached
    alpha = shop_client.get(LIST).json()
    with tenant_schema(other_shop):
        beta_product = product_create(title="Beta", on_shelf=True)
    # when
    beta = Client(HTTP_HOST="beta.localhost").get(LIST).json()
    # then
    assert [item["id"] for item in alpha["results"]] == [dress.pk]
    assert [item["id"] for item in beta["results"]] == [beta_product.pk]


def _sku(product: Product) -> Sku:
    sku = Sku.objects.filter(product=product).order_by("id").first()
    assert sku is not None
    return sku


def _category(product: Product) -> Category:
    assert product.category is not None
    return product.category


WRITES: dict[str, tuple[Callable[[Product], object], str, Callable[[Any], object], object]] = {
    # name: (write, url ("" = the list, "detail", "categories"), what the read shows, expected)
    "product update": (
        lambda product: product_update(product=product, title="蓝色连衣裙"),
        "",
        lambda body: body["results"][0]["title"],
        "蓝色连衣裙",
    ),
    "shelf change": (
        lambda product: product_shelf_set(product=product, on_shelf=False),
        "",
        lambda body: body["count"],
        0,
    ),
    "SKU price": (
        lambda product: sku_update(sku=_sku(product), price_minor=100),
        "detail",
        lambda body: body["skus"][0]["price_minor"],
        100,
    ),
    "stock change": (
        lambda product: sku_stock_adjust(sku=_sku(product), delta=5),
        "",
        lambda body: body["results"][0]["stock"],
        9,
    ),
    "category rename": (
        lambda product: category_update(category=_category(product), name="女装"),
        "categories",
        lambda body: body[0]["name"],
        "女装",
    ),
    "category deactivated": (
        lambda product: category_update(category=_category(product), is_active=False),
        "",
        lambda body: body["count"],
        0,
    ),
    "image add": (
        lambda product: product_image_add(product=product, file=io.BytesIO(image_bytes((60, 40)))),
        "detail",
        lambda body: len(body["images"]),
        1,
    ),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_catalog_write_makes_the_next_read_fresh(
    write: str,
    dress: Product,
    committed: Callable[[], Any],
    shop_client: Client,
    media_root: Path,
) -> None:
    # given: the read is cached
    change, where, shown, expected = WRITES[write]
    url = {"": LIST, "detail": f"{LIST}/{dress.pk}", "categories": "/api/v1/categories"}[where]
    before = shop_client.get(url)
    assert shop_client.get(url).content == before.content  # a hit
    # when
    with committed():
        change(dress)
    after = shop_client.get(url)
    # then
    assert shown(after.json()) == expected
    assert shown(before.json()) != expected


def test_a_write_not_committed_leaves_the_cache_as_it_was(
    dress: Product,
    shop_client: Client,
    django_capture_on_commit_callbacks: Commit,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    # given
    before = _warm(shop_client, LIST)
    # when: the write's transaction has not committed (its callbacks are not run)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        product_update(product=dress, title="Uncommitted")
    # then: one bump waits for the commit, and readers still get the cached list
    assert len(callbacks) == 1
    with django_assert_num_queries(0):
        assert shop_client.get(LIST).content == before
