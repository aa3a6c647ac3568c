"""Storefront test helpers: install a built-in theme, log a member in, fill a shop."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.test import Client
from PIL import Image

from distribution.services.bindings import distributor_make
from shop.catalog.models import Category, Product
from shop.catalog.services.categories import category_create
from shop.catalog.services.images import product_image_add
from shop.catalog.services.products import OptionSpec, product_create
from shop.catalog.services.stock import sku_stock_set
from shop.customers.models import Member
from shop.customers.services.tokens import member_token_issue
from shop.orders.models import Order
from shop.orders.services.cart import cart_item_add
from tests.support.commerce import address_make, member_make, order_make, sku_of
from themes.packages.models import ThemePackage
from themes.packages.selectors import theme_latest_version, theme_version_bundle
from themes.packages.services import theme_builtin_sync
from themes.storefront.http import SESSION_TOKEN_KEY
from themes.storefront.models import ThemeInstall
from themes.storefront.services.install import storefront_theme_install

BUILTIN_THEMES = ("daily", "fresh", "boutique")


def theme_use(handle: str) -> ThemeInstall:
    """Install the built-in theme `handle` (its latest version) and publish it."""
    theme_builtin_sync(handles=[handle])
    package = ThemePackage.objects.get(source="builtin", handle=handle)
    version = theme_latest_version(package_id=package.pk)
    assert version is not None
    return storefront_theme_install(
        bundle=theme_version_bundle(version_id=version.pk, with_assets=False),
        package_id=package.pk,
        version_id=version.pk,
        source="builtin",
        actor="test",
        publish=True,
    )


def member_login(client: Client, member: Member) -> None:
    """Log `member` in on the client's shop host (the session the login page would make)."""
    session = client.session
    session[SESSION_TOKEN_KEY] = member_token_issue(member=member, device_id="test")
    session.save()


def png(color: str = "red", size: tuple[int, int] = (800, 600)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


@dataclass
class Shop:
    """What a test shop holds, for the pages that need one of each."""

    category: Category
    product: Product
    member: Member
    order: Order


def shop_empty() -> Shop:
    """The least each page needs: an empty category, a bare product, a member with one order."""
    category = category_create(name="空分类")
    product = product_create(title="Bare", on_shelf=True, price_minor=100, stock=0)
    member = member_make(nickname="")
    order = order_make(member=member, price_minor=100)
    return Shop(category=category, product=product, member=member, order=order)


def shop_full() -> Shop:
    """A shop with a catalog (options, pictures, a sold-out variant), a cart, orders, a
    distributor."""
    tea = category_create(name="茶叶")
    green = category_create(name="绿茶", parent=tea)
    product = product_create(
        title="明前龙井",
        subtitle="西湖产区 · 一级",
        description="清香持久，回甘明显。",
        category=green,
        on_shelf=True,
        options=[OptionSpec("规格", ["50g", "100g"])],
        price_minor=1250,
        stock=20,
        weight_grams=100,
    )
    product_image_add(product=product, file=png("green"), alt="龙井")
    skus = list(product.skus.order_by("id"))
    sku_stock_set(sku=skus[1], stock=0)  # 100g sold out
    hostile = product_create(
        title="<script>alert(1)</script>", category=tea, on_shelf=True, price_minor=990, stock=5
    )
    for index in range(6):
        product_create(
            title=f"碧螺春 {index}", category=green, on_shelf=True, price_minor=2000, stock=3
        )
    member = member_make(nickname="小王")
    address_make(member)
    distributor_make(member=member)
    order = order_make(member=member, items=[(skus[0], 2)])
    order_make(member=member, items=[(sku_of(hostile), 1)])
    cart_item_add(member=member, sku_id=skus[0].pk, quantity=1)
    cart_item_add(member=member, sku_id=sku_of(hostile).pk, quantity=1)
    return Shop(category=tea, product=product, member=member, order=order)


def page_paths(shop: Shop) -> dict[str, str]:
    """One URL of each page type of the theme, for this shop."""
    return {
        "home": "/",
        "category": f"/categories/{shop.category.pk}",
        "search": "/search?q=%E8%8C%B6",
        "product": f"/products/{shop.product.pk}",
        "cart": "/cart",
        "checkout": "/checkout",
        "orders": "/orders",
        "order": f"/orders/{shop.order.number}",
        "account": "/account",
        "distribution": "/distribution",
        "login": "/login",
    }
