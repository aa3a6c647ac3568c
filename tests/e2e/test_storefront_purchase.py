"""The H5 purchase path in a real browser, on a phone: browse, cart, checkout with the sandbox
gateway; the order is in the member's orders and in the merchant's console."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import override_settings
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from infra.db import tenant_schema
from infra.messaging import sms_outbox
from shop.catalog.models import Sku
from shop.catalog.services.products import OptionSpec, product_create, sku_update
from shop.orders.models import Order
from shop.payments.models import Payment
from tenants.models import Tenant
from tenants.selectors.provisioning import schema_name_for
from tenants.services.audit import AuditContext
from tenants.services.provisioning import schema_drop
from tenants.services.signup import tenant_signup
from tests.frontend.catalogs import catalogs_compile
from tests.support.threads import committed

SLUG = "e2e-buy"
SHOP_NAME = "E2E 茶舍"
OWNER_EMAIL = "e2e-buy-owner@example.com"
PASSWORD = "a-long-enough-passphrase"
MEMBER_PHONE = "13800138000"
PRODUCT_TITLE = "明前龙井"
TIMEOUT_MS = 30_000
PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Catalog:
    product_id: int
    small_sku_id: int  # 50克, ¥68.00
    large_sku_id: int  # 100克, ¥128.00


def _shop_open() -> Catalog:
    """The merchant's shop (signed up as signup does) with one tea sold in two sizes."""
    result = tenant_signup(
        shop_name=SHOP_NAME,
        slug=SLUG,
        email=OWNER_EMAIL,
        phone=None,
        password=PASSWORD,
        currency="CNY",
        language="zh-hans",
        time_zone="Asia/Shanghai",
        context=AuditContext.system(),
    )
    with tenant_schema(result.tenant):
        product = product_create(
            title=PRODUCT_TITLE,
            on_shelf=True,
            options=[OptionSpec("规格", ["50克", "100克"])],
            price_minor=6800,
            stock=5,
            weight_grams=100,
        )
        small = Sku.objects.get(product=product, option_values__value="50克")
        large = Sku.objects.get(product=product, option_values__value="100克")
        sku_update(sku=large, price_minor=12800)
    return Catalog(product_id=product.pk, small_sku_id=small.pk, large_sku_id=large.pk)


@dataclass(frozen=True)
class Placed:
    number: str
    status: str
    member_orders: int
    lines: list[tuple[int, int, int]]
    items_minor: int
    payments: list[tuple[str, str]]


def _orders_read() -> list[Placed]:
    with tenant_schema(Tenant.objects.get(slug=SLUG)):
        return [
            Placed(
                number=order.number,
                status=order.status,
                member_orders=Order.objects.filter(member=order.member).count(),
                lines=[
                    (line.sku_id, line.quantity, line.unit_price_minor)
                    for line in order.lines.order_by("id")
                ],
                items_minor=order.items_minor,
                payments=list(Payment.objects.filter(order=order).values_list("method", "status")),
            )
            for order in Order.objects.order_by("id")
        ]


@pytest.fixture
def catalog(live_server: LiveServer) -> Iterator[Catalog]:
    catalogs_compile()
    sms_outbox.clear()
    with override_settings(SMS_BACKEND="locmem"):
        yield committed(_shop_open)
    sms_outbox.clear()
    # The shop's schema would outlive the flush of the tables: drop it.
    committed(lambda: schema_drop(schema_name_for(SLUG)))


@pytest.fixture
def phone(browser: Browser, catalog: Catalog) -> Iterator[Page]:
    context = browser.new_context(
        locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=3
    )
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def desk(browser: Browser, catalog: Catalog) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.mark.browser
@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_a_shopper_buys_on_a_phone_and_the_order_reaches_the_console(
    phone: Page, desk: BrowserContext, catalog: Catalog, live_server: LiveServer
) -> None:
    base = live_server.url
    port = base.rsplit(":", 1)[1]
    shop = f"http://{SLUG}.localhost:{port}"
    page = phone

    # given: the shop's home page, on a phone
    page.goto(f"{shop}/")
    expect(page).to_have_title(SHOP_NAME)
    expect(page.locator("header .site-header__name")).to_have_text(SHOP_NAME)

    # when: the shopper searches for the tea and opens it
    page.fill("#header-search-q", "龙井")
    page.click("form.header-search button[type=submit]")
    page.wait_for_url(re.compile(rf"^{re.escape(shop)}/search\?q="))
    card = page.locator(f"a.product-card[href='/products/{catalog.product_id}']")
    expect(card.locator(".product-card__title")).to_have_text(PRODUCT_TITLE)
    card.click()
    # then: the product page, where a visitor is asked to log in to buy
    page.wait_for_url(f"{shop}/products/{catalog.product_id}")
    expect(page.locator("h1.product__title")).to_have_text(PRODUCT_TITLE)
    expect(page.locator("form[action='/cart/add']")).to_have_count(0)
    login_link = page.locator(".product-login a.buy-bar__button")
    expect(login_link).to_have_text("登录后购买")

    # when: the shopper logs in with a code sent by SMS, accepting the policy
    login_link.click()
    page.wait_for_url(f"{shop}/login?next=%2Fproducts%2F{catalog.product_id}")
    page.fill("form[action='/login/code'] #login-phone", MEMBER_PHONE)
    page.click("form[action='/login/code'] button[type=submit]")
    expect(page.locator("form[action='/login'] #login-code")).to_be_visible()
    assert [sms.phone for sms in sms_outbox] == [f"+86{MEMBER_PHONE}"]
    page.fill("form[action='/login'] #login-code", sms_outbox[-1].params[0])
    page.check("#login-accept-policy")
    page.click("form[action='/login'] button[type=submit]")
    # then: back on the product, now with the add-to-cart form
    page.wait_for_url(f"{shop}/products/{catalog.product_id}")
    form = page.locator("form.product-form[action='/cart/add']")
    expect(form.locator("input[name=sku_id]")).to_have_count(2)
    expect(page.locator(f"#variant-{catalog.small_sku_id}")).to_be_checked()

    # when: the shopper picks the larger size, two of them, and adds them to the cart
    page.click(f"label[for='variant-{catalog.large_sku_id}']")
    expect(page.locator(f"#variant-{catalog.large_sku_id}")).to_be_checked()
    page.fill("#product-quantity", "2")
    form.locator("button[type=submit]").click()
    # then: the cart holds them
    page.wait_for_url(f"{shop}/cart")
    expect(page.locator(".cart-item")).to_have_count(1)
    expect(page.locator(".cart-item .cart-item__title")).to_have_text(PRODUCT_TITLE)
    expect(page.locator(".cart-item .cart-item__variant")).to_have_text("100克")
    expect(page.locator(f"#quantity-{catalog.large_sku_id}")).to_have_value("2")
    expect(page.locator(".checkout-bar__total .price__amount")).to_have_text("¥256.00")

    # when: the shopper goes to checkout without an address yet
    page.click("a.checkout-bar__button[href='/checkout']")
    page.wait_for_url(f"{shop}/checkout")
    # then: the order cannot be placed; the page links to the addresses
    expect(page.locator(".checkout__form button[type=submit]")).to_be_disabled()

    # when: the shopper adds an address on the account page
    page.click(".checkout__addresses a[href='/account?next=%2Fcheckout#addresses']")
    page.wait_for_url(f"{shop}/account?next=%2Fcheckout#addresses")
    address_form = page.locator(".address-form form[action='/account']")
    address_form.locator("[name=recipient_name]").fill("李四")
    address_form.locator("[name=phone]").fill("13900139000")
    address_form.locator("[name=province]").fill("浙江省")
    address_form.locator("[name=city]").fill("杭州市")
    address_form.locator("[name=district]").fill("西湖区")
    address_form.locator("[name=detail]").fill("龙井路 1 号")
    address_form.locator("button[type=submit]").click()
    # then: the shopper is back on checkout, with the address chosen
    page.wait_for_url(f"{shop}/checkout")
    expect(page.locator(".checkout__addresses")).to_contain_text("龙井路 1 号")

    # when: choosing the sandbox gateway
    expect(page.locator("input[name=address_id]")).to_have_count(1)
    expect(page.locator("input[name=address_id]")).to_be_checked()
    expect(page.locator(".checkout__form input[name=idempotency_key]")).to_have_value(
        re.compile(r".{16,}")
    )
    expect(page.locator(".line-item__variant")).to_have_text("100克")
    page.check("input[name=payment_method][value=sandbox]")
    page.click(".checkout__form button[type=submit]")
    # then: the sandbox gateway's page
    page.wait_for_url(re.compile(rf"^{re.escape(shop)}/pay/sandbox/[0-9A-Za-z]+P[0-9A-Za-z]*$"))
    out_trade_no = page.url.rsplit("/", 1)[1]
    number = out_trade_no.rsplit("P", 1)[0]

    # when: the shopper confirms the payment
    page.click("#sandbox-confirm")
    # then: the order's page says it is paid and waits to be shipped
    page.wait_for_url(f"{shop}/orders/{number}")
    expect(page.locator(".status-banner--paid #order-status-title")).to_have_text("待发货")
    expect(page.locator(".order .info-list")).to_contain_text(number)
    expect(page.locator(".order .line-item__variant")).to_have_text("100克")

    # and the member's orders list it
    page.click(".order .back-link a[href='/orders']")
    page.wait_for_url(f"{shop}/orders")
    expect(page.locator(".order-card")).to_have_count(1)
    expect(page.locator(".order-card .order-card__number")).to_have_text(f"订单号 {number}")
    expect(page.locator(".order-card .status--paid")).to_have_text("待发货")

    # when: the owner logs in to the console, on the platform host
    console = desk.new_page()
    console.goto(f"{base}/console/{SLUG}/orders/")
    console.wait_for_url(f"{base}/login/?next=/console/{SLUG}/orders/")
    console.fill("#id_identifier", OWNER_EMAIL)
    console.fill("#id_password", PASSWORD)
    console.click("form.form button[type=submit]")
    # then: the orders list has the order, paid
    console.wait_for_url(f"{base}/console/{SLUG}/orders/")
    row = console.locator("#order-results .order-row")
    expect(row).to_have_count(1)
    expect(row.locator(".order-number")).to_have_text(number)
    expect(row.locator(".order-status .badge.status-paid")).to_have_text("待发货")

    # and the data behind the pages is what they said
    assert committed(_orders_read) == [
        Placed(
            number=number,
            status="paid",
            member_orders=1,
            lines=[(catalog.large_sku_id, 2, 12800)],
            items_minor=25600,
            payments=[("sandbox", "succeeded")],
        )
    ]
