"""The H5 storefront: every page of every built-in theme, for an empty shop and a full one."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants.models import Tenant
from tests.themes.storefront_support import (
    BUILTIN_THEMES,
    member_login,
    page_paths,
    shop_empty,
    shop_full,
    theme_use,
)

PERSONAL = {"cart", "checkout", "orders", "order", "account", "distribution"}


@pytest.mark.parametrize("handle", BUILTIN_THEMES)
@pytest.mark.parametrize("fill", ["empty", "full"])
def test_every_page_of_every_builtin_theme_renders(
    shop: Tenant, shop_client: Client, handle: str, fill: str
) -> None:
    # given a shop using the theme, empty or full, and a member logged in
    theme_use(handle)
    data = shop_full() if fill == "full" else shop_empty()
    member_login(shop_client, data.member)
    # when every page type is opened (the login page by a visitor: members go to their account)
    pages = {
        page: (Client(HTTP_HOST="alpha.localhost") if page == "login" else shop_client).get(path)
        for page, path in page_paths(data).items()
    }
    # then each renders from the theme: 200, a full document, no section failed
    for page, response in pages.items():
        body = response.content.decode()
        assert response.status_code == 200, (page, body[:500])
        assert "<html" in body, page
        assert "</html>" in body, page
        assert "theme-section-error" not in body, page
        assert "Content-Security-Policy" in response.headers, page
    if fill == "full":
        product = pages["product"].content.decode()
        assert "明前龙井" in product
        assert "¥12.50" in product
        cart = pages["cart"].content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cart
        assert "<script>alert(1)</script>" not in cart
        assert data.order.number in pages["orders"].content.decode()


@pytest.mark.parametrize("handle", BUILTIN_THEMES)
def test_a_visitor_sees_the_public_pages_and_is_sent_to_login_for_personal_ones(
    shop: Tenant, shop_client: Client, handle: str
) -> None:
    # given a full shop using the theme, and a visitor (no session)
    theme_use(handle)
    data = shop_full()
    paths = page_paths(data)
    # when the visitor opens every page
    pages = {page: shop_client.get(path) for page, path in paths.items()}
    # then public pages render, personal ones redirect to the login page and back
    for page, response in pages.items():
        if page in PERSONAL:
            assert response.status_code == 302, page
            assert response["Location"].startswith("/login?next="), page
        else:
            assert response.status_code == 200, page
    product = pages["product"].content.decode()
    assert 'action="/cart/add"' not in product
    assert "登录后购买" in product  # the theme's zh-Hans strings for a zh-hans shop
    assert f'href="/login?next=%2Fproducts%2F{data.product.pk}"' in product
