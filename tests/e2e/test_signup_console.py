"""Signup to console in a real browser: sign up, land on the checklist, switch language, use the
phone layout, log out and log in again."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tenants.models import Membership
from tenants.selectors.provisioning import schema_name_for
from tenants.services.provisioning import schema_drop
from tests.frontend.catalogs import catalogs_compile
from tests.support.threads import committed

SLUG = "e2e-tea"
EMAIL = "e2e-owner@example.com"
PASSWORD = "a-long-enough-passphrase"
TIMEOUT_MS = 60_000  # signup may build a spare schema itself when the pool is empty


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    catalogs_compile()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()
    # The shop's schema would outlive the flush of the tables: drop it.
    committed(lambda: schema_drop(schema_name_for(SLUG)))


@pytest.mark.browser
@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_signup_lands_on_the_console_and_the_owner_logs_in_again(
    page: Page, live_server: LiveServer
) -> None:
    base = live_server.url
    port = base.rsplit(":", 1)[1]
    assert base.startswith("http://127.0.0.1:")

    # given: the signup page, in Chinese (the browser asks for zh-CN)
    page.goto(f"{base}/signup/")
    expect(page.locator("h1")).to_have_text("开店")

    # when: the visitor fills it in (the address preview follows the slug, through htmx)
    page.fill("#id_shop_name", "E2E 茶铺")
    page.fill("#id_slug", SLUG)
    expect(page.locator("#slug-preview code")).to_have_text(f"{SLUG}.localhost:{port}")
    page.fill("#id_email", EMAIL)
    page.fill("#id_password", PASSWORD)
    page.select_option("#id_currency", "CNY")
    page.select_option("#id_language", "zh-hans")
    page.fill("#id_time_zone", "Asia/Shanghai")
    page.click("button[type=submit]:has-text('创建我的店铺')")

    # then: the owner is logged in on the new shop's console, with the checklist
    page.wait_for_url(f"{base}/console/{SLUG}/")
    expect(page.locator("h1")).to_have_text("欢迎来到 E2E 茶铺")
    welcome = "欢迎！你的店铺已经开好了。"
    expect(page.locator(".messages")).to_contain_text(welcome)
    expect(page.locator("#onboarding-checklist > li")).to_have_count(7)
    expect(page.locator("#storefront-link")).to_have_attribute(
        "href", f"http://{SLUG}.localhost:{port}/"
    )
    expect(page.locator("#shop-switcher a[aria-current=true]")).to_have_text(re.compile("E2E 茶铺"))

    # and the storefront answers on the shop's own host
    storefront = page.context.new_page()
    storefront.goto(f"http://{SLUG}.localhost:{port}/")
    expect(storefront).to_have_title("E2E 茶铺")
    storefront.close()

    # when: the owner switches the console to English
    page.click(".topbar .language-switch button[value=en]")
    # then
    page.wait_for_url(f"{base}/console/{SLUG}/")
    expect(page.locator("#checklist-title")).to_have_text("Get your shop ready")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # when: a section still to come is opened
    page.click("#sidenav a:has-text('Members')")
    # then
    expect(page.locator("#empty-title")).to_have_text("Nothing here yet")

    # when: the owner adds a product sold in two sizes
    page.click("#sidenav a:has-text('Products')")
    expect(page.locator("#no-products h2")).to_have_text("No products yet")
    page.click("#new-product")
    page.fill("#id_title", "Oolong")
    page.fill("#id_option_1_name", "Size")
    page.fill("#id_option_1_values", "50 g, 100 g")
    page.fill("#id_price", "12.50")
    page.click("#product-form button[type=submit]")
    # then: its page has one SKU per size, at that price
    expect(page.locator("h1")).to_have_text("Oolong")
    expect(page.locator("#sku-form .sku-row legend")).to_have_text(["50 g", "100 g"])
    expect(
        page.locator("#sku-form input[name$='_price']:not([name$='_list_price'])")
    ).to_have_count(2)
    expect(
        page.locator("#sku-form input[name$='_price']:not([name$='_list_price'])").first
    ).to_have_value("12.50")
    # and the list finds it by a word of its title
    page.click(".catalog-tabs a:has-text('Products')")
    page.fill("#id_q", "oolong")
    page.press("#id_q", "Enter")
    expect(page.locator("#product-results .product-title")).to_have_text(["Oolong"])

    # when: the same page on a phone
    page.set_viewport_size({"width": 375, "height": 740})
    # then: the side navigation is a drawer behind the menu button
    expect(page.locator("#sidenav")).not_to_be_in_viewport()
    page.click("[data-nav-toggle]")
    expect(page.locator("#sidenav")).to_be_in_viewport()
    expect(page.locator("[data-nav-toggle]")).to_have_attribute("aria-expanded", "true")
    page.click("#sidenav a:has-text('Dashboard')")
    page.wait_for_url(f"{base}/console/{SLUG}/")
    page.set_viewport_size({"width": 1280, "height": 800})

    # when: the owner logs out
    page.click("#account-menu summary")
    page.click("#account-menu button:has-text('Log out')")
    # then
    page.wait_for_url(f"{base}/login/")
    expect(page.locator(".messages")).to_contain_text("You are logged out.")
    page.goto(f"{base}/console/{SLUG}/")
    page.wait_for_url(f"{base}/login/?next=/console/{SLUG}/")

    # when: a wrong password, then the right one
    page.fill("#id_identifier", EMAIL)
    page.fill("#id_password", "wrong-password")
    page.click("form.form button[type=submit]")
    expect(page.locator(".form-errors")).to_have_text("The e-mail, phone or password is not right.")
    page.fill("#id_password", PASSWORD)
    page.click("form.form button[type=submit]")
    # then: back on the shop's console, where the login was asked for
    page.wait_for_url(f"{base}/console/{SLUG}/")
    page.goto(f"{base}/console/")
    expect(page.locator("#shop-list [data-shop]")).to_have_count(1)
    expect(page.locator("#shop-list")).to_contain_text("E2E 茶铺")

    # and the data behind it is what the pages said
    memberships = committed(
        lambda: list(
            Membership.objects.filter(tenant__slug=SLUG).values_list("account__email", "role")
        )
    )
    assert memberships == [(EMAIL, "owner")]
