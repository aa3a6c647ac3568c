"""Search in Chinese (character bigrams) and English; filters and sorts of the product list."""

from __future__ import annotations

import pytest

from shop.catalog.models import Product, Sku
from shop.catalog.search import search_query_text, search_tokens
from shop.catalog.selectors import products as product_selectors
from shop.catalog.selectors.products import product_sort_register, products_matching
from shop.catalog.services.categories import category_create, category_update
from shop.catalog.services.products import OptionSpec, product_create, sku_update
from shop.catalog.services.stock import sku_stock_set
from tenants.models import Tenant


def _titles(**filters: object) -> list[str]:
    """The titles the storefront list would show, in its order (the list's own selector)."""
    return list(
        products_matching(**filters).values_list("title", flat=True)  # type: ignore[arg-type]
    )


def test_tokens_are_cjk_bigrams_with_single_characters_and_lowercased_words() -> None:
    assert search_tokens("红色连衣裙 Silk-Dress 2024") == [
        "红色", "色连", "连衣", "衣裙", "红", "色", "连", "衣", "裙", "silk", "dress", "2024",
    ]  # fmt: skip
    assert search_query_text("连衣裙 DRESS") == "连衣 衣裙 dress"
    assert search_query_text("裙") == "裙"
    assert search_query_text("  ") == ""


def test_two_character_chinese_query_finds_only_the_product_with_that_word(shop: Tenant) -> None:
    # given
    product_create(title="红色连衣裙", on_shelf=True)
    product_create(title="蓝色衬衫", on_shelf=True)
    # when / then
    assert _titles(query="衬衫") == ["蓝色衬衫"]
    assert _titles(query="连衣") == ["红色连衣裙"]
    assert _titles(query="红衬") == []


def test_single_character_query_finds_each_product_containing_it(shop: Tenant) -> None:
    # given
    product_create(title="红色连衣裙", on_shelf=True)
    product_create(title="蓝色衬衫", on_shelf=True)
    # when / then
    assert sorted(_titles(query="色")) == ["红色连衣裙", "蓝色衬衫"]


def test_english_word_query_ignores_case(shop: Tenant) -> None:
    # given
    product_create(title="Silk Shirt", on_shelf=True)
    product_create(title="Linen Trousers", on_shelf=True)
    # when / then
    assert _titles(query="SHIRT") == ["Silk Shirt"]


def test_mixed_query_needs_every_word(shop: Tenant) -> None:
    # given
    product_create(title="Uniqlo 衬衫", on_shelf=True)
    product_create(title="Uniqlo 长裤", on_shelf=True)
    product_create(title="蓝色衬衫", on_shelf=True)
    # when / then
    assert _titles(query="uniqlo 衬衫") == ["Uniqlo 衬衫"]


def test_option_values_subtitle_and_category_name_are_searched(shop: Tenant) -> None:
    # given
    dresses = category_create(name="连衣裙", slug="dresses")
    product_create(title="Summer", category=dresses, on_shelf=True)
    product_create(title="Polo", subtitle="纯棉透气", on_shelf=True)
    product_create(title="Tee", options=[OptionSpec("颜色", ["藏青"])], on_shelf=True)
    # when / then
    assert _titles(query="连衣") == ["Summer"]
    assert _titles(query="纯棉") == ["Polo"]
    assert _titles(query="藏青") == ["Tee"]


def test_renaming_a_category_reindexes_its_products(shop: Tenant) -> None:
    # given
    category = category_create(name="外套", slug="coats")
    product_create(title="Parka", category=category, on_shelf=True)
    # when
    category_update(category=category, name="羽绒服")
    # then
    assert _titles(query="羽绒") == ["Parka"]
    assert _titles(query="外套") == []


def test_title_matches_rank_above_other_matches(shop: Tenant) -> None:
    # given: the older product has the word in its title, the newer only in its subtitle
    product_create(title="Silk Shirt", on_shelf=True)
    product_create(title="Trousers", subtitle="match them with any shirt", on_shelf=True)
    # when / then
    assert _titles(query="shirt") == ["Silk Shirt", "Trousers"]
    assert _titles(query="shirt", sort="newest") == ["Trousers", "Silk Shirt"]


def test_sorts_by_lowest_active_price_and_newest(shop: Tenant) -> None:
    # given
    cheap = product_create(title="Cheap", price_minor=1000, on_shelf=True)
    product_create(title="Dear", price_minor=9000, on_shelf=True)
    product_create(
        title="Middle", options=[OptionSpec("S", ["a", "b"])], price_minor=5000, on_shelf=True
    )
    middle_a = Sku.objects.filter(product__title="Middle").order_by("id").first()
    assert middle_a is not None
    sku_update(sku=middle_a, price_minor=100)
    sku_update(sku=middle_a, is_active=False)  # an inactive SKU's price does not count
    sku_update(sku=Sku.objects.get(product=cheap), price_minor=1000)
    # when / then
    assert _titles(sort="price_asc") == ["Cheap", "Middle", "Dear"]
    assert _titles(sort="price_desc") == ["Dear", "Middle", "Cheap"]
    assert _titles(sort="newest") == ["Middle", "Dear", "Cheap"]
    assert _titles() == ["Middle", "Dear", "Cheap"]


def test_registered_sort_is_used(shop: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: the hook the orders app will use for "sales" (registered for this test only)
    monkeypatch.setattr(product_selectors, "_registered_sorts", {})
    product_create(title="B", on_shelf=True)
    product_create(title="A", on_shelf=True)
    product_sort_register(name="title", ordering=lambda products: products.order_by("title"))
    # when / then
    assert _titles(sort="title") == ["A", "B"]


def test_category_filter_includes_descendants(shop: Tenant) -> None:
    # given
    clothes = category_create(name="服装", slug="clothes")
    women = category_create(name="女装", slug="women", parent=clothes)
    books = category_create(name="书", slug="books")
    product_create(title="Dress", category=women, on_shelf=True)
    product_create(title="Coat", category=clothes, on_shelf=True)
    product_create(title="Novel", category=books, on_shelf=True)
    # when / then
    assert sorted(_titles(category_id=clothes.pk)) == ["Coat", "Dress"]
    assert _titles(category_id=women.pk) == ["Dress"]
    assert _titles(category_id=999_999) == []


def test_price_range_and_in_stock_filters(shop: Tenant) -> None:
    # given
    product_create(title="Cheap", price_minor=1000, stock=0, on_shelf=True)
    dear = product_create(title="Dear", price_minor=9000, stock=0, on_shelf=True)
    product_create(title="Middle", price_minor=5000, stock=2, on_shelf=True)
    sku_stock_set(sku=Sku.objects.get(product=dear), stock=1)
    # when / then
    assert _titles(min_price_minor=1000, max_price_minor=5000, sort="price_asc") == [
        "Cheap",
        "Middle",
    ]
    assert _titles(min_price_minor=5001) == ["Dear"]
    assert _titles(in_stock=True, sort="price_asc") == ["Middle", "Dear"]


def test_storefront_sees_only_on_shelf_products_of_active_categories(shop: Tenant) -> None:
    # given
    clothes = category_create(name="服装", slug="clothes")
    women = category_create(name="女装", slug="women", parent=clothes)
    product_create(title="Dress", category=women, on_shelf=True)
    product_create(title="Draft", on_shelf=False)
    product_create(title="Plain", on_shelf=True)
    # when
    category_update(category=clothes, is_active=False)
    # then
    assert _titles() == ["Plain"]
    assert sorted(_titles(storefront=False)) == ["Draft", "Dress", "Plain"]
    assert Product.objects.count() == 3
