"""Query budgets of the orders API (ARCHITECTURE §6): lists do not grow with the page size."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext

from infra.db import schema_connection
from shop.orders.services.cart import cart_item_add
from tests.support.commerce import member_make, member_token, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db

# Token (+ its touch), count, page, lines.
ORDER_LIST_BUDGET = 5
# Token (+ touch), cart lines, the lines' SKUs (SKUs, images, option values, hidden categories)
# and once more for the quote, the default address, the shipping templates.
CART_BUDGET = 12


def _count(request: Any) -> tuple[int, int]:
    request()  # warm
    with CaptureQueriesContext(schema_connection()) as captured:
        response = request()
    assert response.status_code == 200, response.content
    return len(captured.captured_queries), len(
        response.json().get("results", response.json().get("items", []))
    )


@pytest.mark.parametrize("page_size", [2, 20])
def test_order_list_budget_does_not_grow_with_page_size(shop: Any, page_size: int) -> None:
    # given: 22 orders of 2 lines each
    member = member_make()
    skus = [sku_of(product_make(stock=100)) for _ in range(2)]
    for _ in range(22):
        order_make(member=member, items=[(skus[0], 1), (skus[1], 2)])
    api = Client(HTTP_HOST="alpha.localhost")
    headers = member_token(member)
    # when
    queries, shown = _count(lambda: api.get(f"/api/v1/orders?page_size={page_size}", **headers))
    # then
    assert shown == page_size
    assert queries <= ORDER_LIST_BUDGET, queries


@pytest.mark.parametrize("lines", [1, 12])
def test_cart_budget_does_not_grow_with_its_lines(shop: Any, lines: int) -> None:
    # given
    member = member_make()
    order_make(member=member)  # gives the member an address
    for _ in range(lines):
        cart_item_add(member=member, sku_id=sku_of(product_make(stock=5)).pk, quantity=1)
    api = Client(HTTP_HOST="alpha.localhost")
    headers = member_token(member)
    # when
    queries, shown = _count(lambda: api.get("/api/v1/cart", **headers))
    # then
    assert shown == lines
    assert queries <= CART_BUDGET, queries
