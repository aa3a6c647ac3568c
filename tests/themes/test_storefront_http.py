"""The storefront over HTTP: page cache, CSP and previews, SEO, errors, login, buying, layouts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from distribution.models import Distributor
from distribution.services.settings import distribution_settings_update
from infra.messaging import sms_outbox
from shop.catalog.services.products import product_update
from shop.customers.models import Member
from shop.orders.models import CartItem, Order
from tenants.models import Tenant
from tests.support.commerce import address_make, member_make, order_make, product_make, sku_of
from tests.themes.storefront_support import member_login, shop_full, theme_use
from themes.storefront import rendering
from themes.storefront.http import preview_token_make
from themes.storefront.models import StorefrontVersion
from themes.storefront.sandbox import ThemeSandbox
from themes.storefront.selectors import storefront_draft_get, storefront_live_design
from themes.storefront.services.design import (
    storefront_publish,
    storefront_section_add,
    storefront_section_update,
)


@pytest.fixture(autouse=True)
def _sms() -> Iterator[None]:
    sms_outbox.clear()
    with override_settings(SMS_BACKEND="locmem"):
        yield
    sms_outbox.clear()


@pytest.fixture
def daily(shop: Tenant, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        theme_use("daily")


def _rich_text(title: str, on_commit: Any) -> None:
    draft = storefront_draft_get()
    assert draft is not None
    with on_commit(execute=True):
        draft, section_id = storefront_section_add(
            revision=draft.revision, page="home", section_type="rich_text", actor="test"
        )
        draft = storefront_section_update(
            revision=draft.revision,
            page="home",
            section_id=section_id,
            values={"title": title},
            actor="test",
        )
        storefront_publish(revision=draft.revision, actor="test")


def test_a_visitors_home_page_is_cached_until_the_catalog_or_the_design_changes(
    daily: None, shop_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # given a product on the home page's grid, and the page seen once
    with django_capture_on_commit_callbacks(execute=True):
        product = product_make(title="初见")
    first = shop_client.get("/")
    assert "初见" in first.content.decode()
    # when it is seen again
    with CaptureQueriesContext(connection) as queries:
        again = shop_client.get("/")
    # then it comes from the cache: the same bytes and no query at all
    assert again.content == first.content
    assert len(queries) == 0
    # when the product is renamed (the commit bumps the catalog version)
    with django_capture_on_commit_callbacks(execute=True):
        product_update(product=product, title="改名", subtitle="", description="")
    renamed = shop_client.get("/").content.decode()
    # then the page shows it at once
    assert "改名" in renamed
    assert "初见" not in renamed
    # when a new design is published
    _rich_text("新的栏目", django_capture_on_commit_callbacks)
    # then the page shows it at once too
    assert "新的栏目" in shop_client.get("/").content.decode()


def test_a_members_pages_are_never_cached(daily: None, shop_client: Client) -> None:
    # given a member logged in, who saw the home page once
    member = member_make(nickname="阿明")
    member_login(shop_client, member)
    shop_client.get("/")
    # when they open it again, and then a visitor opens it
    with CaptureQueriesContext(connection) as member_queries:
        response = shop_client.get("/")
    with CaptureQueriesContext(connection) as visitor_queries:
        visitor = Client(HTTP_HOST="alpha.localhost").get("/")
    # then both were rendered (queries ran: the member's pages were neither served from nor
    # stored in the page cache; a hit runs none)
    assert len(member_queries) > 0
    assert len(visitor_queries) > 0
    assert response.status_code == 200
    assert visitor.status_code == 200


def test_the_storefront_sends_a_strict_csp_and_refuses_framing(
    daily: None, shop_client: Client
) -> None:
    # when a page is opened
    response = shop_client.get("/")
    # then the CSP allows the shop's own origin only, and no framing
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


def test_the_editor_preview_renders_the_draft_and_may_be_framed_by_the_console_only(
    daily: None, shop: Tenant, shop_client: Client
) -> None:
    # given a change in the draft, not published
    draft = storefront_draft_get()
    assert draft is not None
    draft, section_id = storefront_section_add(
        revision=draft.revision, page="home", section_type="rich_text", actor="test"
    )
    storefront_section_update(
        revision=draft.revision,
        page="home",
        section_id=section_id,
        values={"title": "草稿里的栏目"},
        actor="test",
    )
    token = preview_token_make(tenant_id=shop.pk)
    # when the live page and the preview are opened
    live = shop_client.get("/")
    preview = shop_client.get(f"/?preview={token}")
    # then only the preview shows the draft; only it may be framed, by the platform's origin
    assert "草稿里的栏目" not in live.content.decode()
    assert "草稿里的栏目" in preview.content.decode()
    assert "frame-ancestors http://localhost:8000" in preview["Content-Security-Policy"]
    assert "X-Frame-Options" not in preview.headers
    assert preview["Cache-Control"] == "no-store"


def test_a_preview_token_of_another_shop_or_tampered_is_refused(
    daily: None, other_shop: Tenant, shop_client: Client
) -> None:
    # given tokens that are not this shop's
    foreign = preview_token_make(tenant_id=other_shop.pk)
    # when they are used
    responses = [shop_client.get(f"/?preview={foreign}"), shop_client.get("/?preview=abc:def")]
    # then both are refused
    assert [response.status_code for response in responses] == [403, 403]


def test_a_product_page_has_its_title_description_canonical_and_open_graph_tags(
    daily: None, shop_client: Client
) -> None:
    # given a full shop
    data = shop_full()
    # when a product page is opened with tracking parameters
    body = shop_client.get(f"/products/{data.product.pk}?utm_source=x").content.decode()
    # then the head describes the product, and the canonical URL has no parameters
    assert "<title>明前龙井 - Alpha Shop</title>" in body
    assert (
        f'<link rel="canonical" href="http://alpha.localhost/products/{data.product.pk}">' in body
    )
    assert 'property="og:title" content="明前龙井 - Alpha Shop"' in body
    assert 'property="og:image" content="http://alpha.localhost/media/' in body
    assert 'name="description" content="西湖产区 · 一级"' in body
    assert "srcset=" in body


def test_an_unknown_product_or_category_is_a_404_page(daily: None, shop_client: Client) -> None:
    # when
    responses = [shop_client.get("/products/999999"), shop_client.get("/categories/999999")]
    # then
    assert [response.status_code for response in responses] == [404, 404]
    assert "Content-Security-Policy" in responses[0].headers


def test_a_theme_whose_template_fails_gets_the_error_page_not_a_crash(
    daily: None, shop_client: Client, shop: Tenant
) -> None:
    # given the live theme version's home template loops past the sandbox's limits
    live = storefront_live_design()
    assert live is not None
    sandbox = ThemeSandbox(
        templates={
            "layout/theme.liquid": "{{ content_for_layout }}",
            "templates/home.liquid": "{% for i in (1..100000000) %}{{ i }}{% endfor %}",
        }
    )
    rendering._themes[live.checksum] = rendering.Theme(sandbox=sandbox, locales={})
    try:
        # when the home page is opened, live and in the editor's preview
        response = shop_client.get("/", HTTP_ACCEPT_LANGUAGE="en")
        preview = shop_client.get(f"/?preview={preview_token_make(tenant_id=shop.pk)}")
    finally:
        del rendering._themes[live.checksum]
    # then both get the platform's error page (500); only the preview says why and where
    assert response.status_code == 500
    assert "theme_limit_exceeded" not in response.content.decode()
    assert preview.status_code == 500
    assert "theme_limit_exceeded" in preview.content.decode()
    assert "templates/home.liquid" in preview.content.decode()


def test_a_shopper_logs_in_with_an_sms_code_on_the_h5_pages(daily: None, shop: Tenant) -> None:
    # given a new shopper on the login page
    client = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="203.0.113.9")
    assert client.get("/login?next=/orders").status_code == 200
    # when they ask for a code, then log in without accepting the policy, then accepting it
    sent = client.post("/login/code", {"phone": "13800138123", "next": "/orders"})
    code = sms_outbox[-1].params[0]
    refused = client.post("/login", {"phone": "13800138123", "code": code, "next": "/orders"})
    members_after_refusal = Member.objects.count()
    accepted = client.post(
        "/login",
        {"phone": "13800138123", "code": code, "accept_policy": "on", "next": "/orders"},
    )
    # then the code was sent, consent was required, and the login lands on the page asked for
    assert sent.status_code == 200
    assert refused.status_code == 400
    assert 'name="accept_policy" value="1" required' in refused.content.decode()
    assert members_after_refusal == 0
    assert accepted.status_code == 302
    assert accepted["Location"] == "/orders"
    assert client.get("/orders").status_code == 200
    # when they log out
    client.post("/logout")
    # then personal pages ask for a login again
    assert client.get("/orders").status_code == 302


def test_a_login_never_redirects_to_another_site(daily: None, shop: Tenant) -> None:
    # given a code
    client = Client(HTTP_HOST="alpha.localhost")
    client.post("/login/code", {"phone": "13800138124"})
    code = sms_outbox[-1].params[0]
    # when the login names another site as its next page
    response = client.post(
        "/login",
        {
            "phone": "13800138124",
            "code": code,
            "accept_policy": "on",
            "next": "https://evil.example/",
        },
    )
    # then it lands on the member's own account page
    assert response["Location"] == "/account"


def test_a_member_buys_through_the_h5_pages_with_the_sandbox(
    daily: None, shop: Tenant, shop_client: Client
) -> None:
    # given a member with an address and a product
    member = member_make()
    address = address_make(member)
    product = product_make(title="龙井", price_minor=2500, stock=5)
    member_login(shop_client, member)
    # when they add it to the cart, check out with the sandbox and confirm the payment
    added = shop_client.post("/cart/add", {"sku_id": sku_of(product).pk, "quantity": 2})
    checkout_page = shop_client.get("/checkout").content.decode()
    placed = shop_client.post(
        "/checkout",
        {
            "address_id": address.pk,
            "payment_method": "sandbox",
            "idempotency_key": "k-1",
            "buyer_note": "",
        },
    )
    order = Order.objects.get(member=member)
    replay = shop_client.post(
        "/checkout",
        {"address_id": address.pk, "payment_method": "sandbox", "idempotency_key": "k-1"},
    )
    confirm_path = placed["Location"]
    confirmed = shop_client.post(confirm_path)
    # then the order is paid once, the cart is empty, and the order page says so
    assert added.status_code == 302
    assert added["Location"] == "/cart"
    assert "¥50.00" in checkout_page
    assert confirm_path.startswith("/pay/sandbox/")
    assert replay.status_code == 302
    assert Order.objects.filter(member=member).count() == 1
    assert confirmed["Location"] == f"/orders/{order.number}"
    order.refresh_from_db()
    assert (order.status, order.total_minor) == ("paid", order.items_minor + order.shipping_minor)
    assert order.items_minor == 5000
    assert CartItem.objects.filter(member=member).count() == 0
    assert order.number in shop_client.get("/orders").content.decode()


def test_checkout_without_a_payment_method_changes_nothing(
    daily: None, shop: Tenant, shop_client: Client
) -> None:
    # given a member with a cart
    member = member_make()
    address = address_make(member)
    product = product_make(title="龙井", price_minor=2500, stock=5)
    member_login(shop_client, member)
    shop_client.post("/cart/add", {"sku_id": sku_of(product).pk, "quantity": 1})
    # when they check out without choosing how to pay
    response = shop_client.post("/checkout", {"address_id": address.pk, "idempotency_key": "k-2"})
    # then the checkout page says so and no order exists
    assert response.status_code == 400
    assert Order.objects.filter(member=member).count() == 0


def test_the_layout_api_gives_the_mini_program_the_same_sections(
    daily: None, shop: Tenant, shop_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # given a published home page with a rich text section, and a product
    _rich_text("小程序也看得到", django_capture_on_commit_callbacks)
    product = product_make(title="小程序商品", price_minor=1990)
    # when the mini-program asks for the home layout, and for an unknown page
    home = shop_client.get("/api/v1/storefront/pages/home")
    unknown = shop_client.get("/api/v1/storefront/pages/nope")
    # then the sections come in order with their settings resolved
    body = home.json()
    assert body["page"] == "home"
    assert body["theme"]["handle"] == "daily"
    assert body["design_version"] == StorefrontVersion.objects.get(is_live=True).number
    assert body["sections"][-1]["type"] == "rich_text"
    assert body["sections"][-1]["settings"]["title"] == "小程序也看得到"
    grids = [section for section in body["sections"] if section["type"] == "product_grid"]
    assert grids
    # (the default grids name no category: they resolve to the whole catalog, newest first)
    first = grids[0]["settings"]["category"]["products"][0]
    assert (first["id"], first["title"], first["price_min"], first["url"]) == (
        product.pk,
        "小程序商品",
        1990,
        f"/products/{product.pk}",
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "storefront_page_unknown"


@pytest.mark.parametrize("products", [2, 30])
def test_the_home_page_reads_the_same_number_of_queries_whatever_the_catalog(
    daily: None, shop_client: Client, products: int, settings: Any
) -> None:
    # given a catalog of some size and the page cache off
    settings.STOREFRONT_PAGE_CACHE = False
    for index in range(products):
        product_make(title=f"商品 {index}")
    shop_client.get("/")  # the design and the theme are read once per process and version
    # when the home page is rendered
    with CaptureQueriesContext(connection) as queries:
        response = shop_client.get("/")
    # then a fixed number of queries ran
    assert response.status_code == 200
    assert len(queries) == 4, [str(query["sql"])[:90] for query in queries]


def test_a_member_becomes_a_distributor_from_the_h5_distributor_center(
    daily: None, shop: Tenant, shop_client: Client
) -> None:
    # given a shop running distribution where everyone may be a distributor, and a member
    distribution_settings_update(changes={"enabled": True, "qualification": "everyone"}, actor="t")
    member = member_make(nickname="阿芳")
    member_login(shop_client, member)
    before = shop_client.get("/distribution").content.decode()
    # when they apply from the distributor center
    response = shop_client.post("/distribution", {"name": "", "phone": "", "reason": ""})
    # then they are one at once, and the center shows their share link
    assert 'action="/distribution"' in before
    assert response.status_code == 302
    assert response["Location"] == "/distribution"
    distributor = Distributor.objects.get(member=member)
    assert distributor.status == "active"
    after = shop_client.get("/distribution").content.decode()
    assert f"?ref={distributor.code}" in after
    assert 'action="/distribution"' not in after


def test_a_refused_cart_change_is_said_on_the_next_page(
    daily: None, shop: Tenant, shop_client: Client
) -> None:
    # given a member on a product page, and a variant that is no longer for sale
    member = member_make()
    member_login(shop_client, member)
    product = product_make(title="限量茶", stock=2)
    # when they try to put it in the cart
    response = shop_client.post(
        "/cart/add",
        {"sku_id": 999999, "quantity": 1},
        HTTP_REFERER=f"http://alpha.localhost/products/{product.pk}",
    )
    page = shop_client.get(response["Location"]).content.decode()
    # then they are back on the product page, which says why, and the cart is empty
    assert response["Location"] == f"http://alpha.localhost/products/{product.pk}"
    assert 'class="notice notice--error"' in page
    assert CartItem.objects.filter(member=member).count() == 0


def test_a_cart_change_never_sends_the_shopper_to_another_site(
    daily: None, shop: Tenant, shop_client: Client
) -> None:
    # given a member and a refused change coming from a foreign page
    member_login(shop_client, member_make())
    # when
    response = shop_client.post(
        "/cart/add", {"sku_id": 999999, "quantity": 1}, HTTP_REFERER="https://evil.example/"
    )
    # then
    assert response["Location"] == "/cart"


def test_theme_assets_are_served_for_a_year_and_run_nothing_on_their_own(
    daily: None, shop_client: Client
) -> None:
    # given the live theme's stylesheet URL, as the layout prints it
    live = storefront_live_design()
    assert live is not None
    url = rendering.asset_base_url(live) + "theme.css"
    # when it and a file the theme does not have are asked for
    found = shop_client.get(url)
    missing = shop_client.get(rendering.asset_base_url(live) + "nope.css")
    # then the stylesheet comes with a long cache and a CSP that runs nothing; the other is a 404
    assert found.status_code == 200
    assert found["Content-Type"] == "text/css; charset=utf-8"
    assert found["Cache-Control"] == "public, max-age=31536000, immutable"
    assert (
        found["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    )
    assert url in shop_client.get("/").content.decode()
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "path", ["/cart", "/checkout", "/orders", "/account", "/distribution", "/login"]
)
def test_the_editor_previews_personal_pages_as_an_empty_member(
    daily: None, shop: Tenant, shop_client: Client, path: str
) -> None:
    # given the editor's preview link (no member is logged in on the shop host)
    token = preview_token_make(tenant_id=shop.pk)
    # when a personal page is previewed
    response = shop_client.get(f"{path}?preview={token}")
    # then it renders from the draft for an empty member instead of asking for a login
    assert response.status_code == 200
    assert "theme-section-error" not in response.content.decode()


def test_nothing_is_written_through_a_preview(
    daily: None, shop: Tenant, shop_client: Client
) -> None:
    # given the editor's preview link
    token = preview_token_make(tenant_id=shop.pk)
    # when a form is posted with it (checkout, as the empty preview member)
    response = shop_client.post(f"/checkout?preview={token}", {"payment_method": "sandbox"})
    # then it is refused and no order exists
    assert response.status_code == 403
    assert Order.objects.count() == 0


@pytest.mark.parametrize("orders", [1, 8])
def test_a_members_orders_page_reads_a_fixed_number_of_queries(
    daily: None, shop: Tenant, shop_client: Client, orders: int
) -> None:
    # given a member with some orders, logged in, who opened the page once
    member = member_make()
    for _index in range(orders):
        order_make(member=member)
    member_login(shop_client, member)
    shop_client.get("/orders")
    # when the page is opened
    with CaptureQueriesContext(connection) as queries:
        response = shop_client.get("/orders")
    # then the count does not grow with the orders on the page
    assert response.status_code == 200
    assert response.content.decode().count('href="/orders/') >= orders
    assert len(queries) == 10, [str(query["sql"])[:90] for query in queries]
