"""The category tree: create, move without cycles, read in one query, delete only when empty."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_django import DjangoAssertNumQueries

from infra.errors import ValidationFailed
from shop.catalog.errors import CategoryCycleError, CategoryNotEmptyError
from shop.catalog.models import Category
from shop.catalog.selectors.categories import CategoryNode, category_paths, category_tree
from shop.catalog.services.categories import (
    category_create,
    category_delete,
    category_move,
    category_update,
)
from shop.catalog.services.products import product_create
from tenants.models import Tenant


def _shape(nodes: list[CategoryNode]) -> list[tuple[str, Any]]:
    return [(node.category.name, _shape(node.children)) for node in nodes]


def test_tree_is_read_in_one_query_in_position_order(
    shop: Tenant, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # given
    clothes = category_create(name="服装", slug="clothes", position=1)
    category_create(name="女装", slug="women", parent=clothes, position=2)
    category_create(name="男装", slug="men", parent=clothes, position=1)
    category_create(name="Books", slug="books", position=0)
    # when
    with django_assert_num_queries(1):
        tree = category_tree()
    # then
    assert _shape(tree) == [("Books", []), ("服装", [("男装", []), ("女装", [])])]


def test_inactive_category_hides_its_subtree(shop: Tenant) -> None:
    # given
    clothes = category_create(name="服装", slug="clothes")
    category_create(name="女装", slug="women", parent=clothes)
    category_create(name="Books", slug="books")
    # when
    category_update(category=clothes, is_active=False)
    # then
    assert _shape(category_tree()) == [("Books", [])]
    assert len(_shape(category_tree(active_only=False))) == 2


def test_slug_is_suggested_from_a_chinese_name_and_stays_unique(shop: Tenant) -> None:
    # when
    first = category_create(name="女装")
    second = category_create(name="女装")
    # then
    assert (first.slug, second.slug) == ("女装", "女装-2")


def test_taken_slug_is_refused_with_a_field_code(shop: Tenant) -> None:
    # given
    category_create(name="Books", slug="books")
    # when
    with pytest.raises(ValidationFailed) as raised:
        category_create(name="Other books", slug="books")
    # then
    assert raised.value.fields == {
        "slug": [{"code": "taken", "message": "Another category uses this slug."}]
    }
    assert list(Category.objects.values_list("name", flat=True)) == ["Books"]


def test_move_carries_the_subtree_and_its_paths(shop: Tenant) -> None:
    # given
    clothes = category_create(name="服装", slug="clothes")
    women = category_create(name="女装", slug="women", parent=clothes)
    dresses = category_create(name="连衣裙", slug="dresses", parent=women)
    sale = category_create(name="Sale", slug="sale")
    # when
    category_move(category=women, parent=sale, position=3)
    # then
    assert category_paths() == {
        clothes.pk: "服装",
        women.pk: "Sale/女装",
        dresses.pk: "Sale/女装/连衣裙",
        sale.pk: "Sale",
    }
    women.refresh_from_db()
    assert (women.parent_id, women.position) == (sale.pk, 3)


def test_move_under_own_descendant_is_refused_and_changes_nothing(shop: Tenant) -> None:
    # given
    clothes = category_create(name="服装", slug="clothes")
    women = category_create(name="女装", slug="women", parent=clothes)
    dresses = category_create(name="连衣裙", slug="dresses", parent=women)
    before = list(Category.objects.order_by("id").values_list("id", "parent_id", "path"))
    # when
    with pytest.raises(CategoryCycleError) as raised:
        category_move(category=clothes, parent=dresses)
    with pytest.raises(CategoryCycleError):
        category_move(category=women, parent=women)
    # then
    assert raised.value.code == "category_cycle"
    assert list(Category.objects.order_by("id").values_list("id", "parent_id", "path")) == before


def test_move_to_the_top(shop: Tenant) -> None:
    # given
    clothes = category_create(name="服装", slug="clothes")
    women = category_create(name="女装", slug="women", parent=clothes)
    # when
    category_move(category=women, parent=None)
    # then
    assert _shape(category_tree()) == [("服装", []), ("女装", [])]


def test_category_with_products_or_children_is_not_deleted(shop: Tenant) -> None:
    # given
    clothes = category_create(name="服装", slug="clothes")
    category_create(name="女装", slug="women", parent=clothes)
    books = category_create(name="Books", slug="books")
    product_create(title="A book", category=books)
    # when
    with pytest.raises(CategoryNotEmptyError):
        category_delete(category=clothes)
    with pytest.raises(CategoryNotEmptyError):
        category_delete(category=books)
    # then
    assert Category.objects.count() == 3


def test_empty_category_is_deleted(shop: Tenant) -> None:
    # given
    empty = category_create(name="Empty", slug="empty")
    # when
    category_delete(category=empty)
    # then
    assert not Category.objects.filter(pk=empty.pk).exists()
