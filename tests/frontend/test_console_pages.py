"""The merchant console shell: shop list, switcher, dashboard, sections, suspension banner."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from frontend.navigation import CONSOLE_SECTIONS
from tenants.models import Account, Membership, Role, Tenant, TenantStatus


def _switcher(html: str) -> str:
    match = re.search(
        r'<details class="switcher" data-menu id="shop-switcher">(.*?)</details>', html, re.S
    )
    assert match is not None
    return match.group(1)


@pytest.mark.django_db
def test_console_needs_a_login(client_en: Client) -> None:
    # when
    response = client_en.get("/console/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/console/"


def test_shop_console_needs_a_login(
    shops: dict[str, Tenant], public: None, client_en: Client
) -> None:
    response = client_en.get("/console/alpha/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/console/alpha/"


def test_my_shops_lists_only_the_account_shops(
    owner_client: Client, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    # when
    with django_assert_max_num_queries(4):  # session, account, shops, agencies
        response = owner_client.get("/console/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'<li class="card shop-card" data-shop="([a-z-]+)">', html) == ["alpha"]
    assert "Alpha Shop" in html
    assert "Beta Shop" not in html
    assert 'href="http://alpha.localhost/"' in html


def test_my_shops_shows_an_empty_state_to_an_account_without_shops(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    account = Account.objects.create_user(email="nobody@example.com", password="x-password-123")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(account)
    # when
    response = client.get("/console/")
    # then
    html = response.content.decode()
    assert 'id="no-shops"' in html
    assert "You have no shop yet" in html
    assert '<a class="button" href="/shops/new/">Create a shop</a>' in html


def test_dashboard_shows_the_checklist_and_the_storefront_link(
    owner_client: Client, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    # when
    with django_assert_max_num_queries(6):
        response = owner_client.get("/console/alpha/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    steps = re.findall(r'<li class="[a-z ]*" data-step="([a-z_]+)">', html)
    assert steps == [
        "verify_contact",
        "shop_profile",
        "theme",
        "first_product",
        "payments",
        "distribution",
        "miniprogram",
    ]
    assert "0 of 7 steps done" in html
    assert '<a class="button small" href="/account/verify/">Start</a>' in html
    assert (
        '<a href="http://alpha.localhost/" target="_blank" rel="noopener" id="storefront-link">'
        "alpha.localhost</a>" in html
    )
    assert 'id="suspended-banner"' not in html
    assert '<span class="badge muted">Owner</span>' in html


def test_dashboard_counts_a_verified_contact_as_done(owner: Account, owner_client: Client) -> None:
    # given
    from django.utils import timezone

    owner.email_verified_at = timezone.now()
    owner.save(update_fields=["email_verified_at"])
    # when
    html = owner_client.get("/console/alpha/").content.decode()
    # then
    assert '<li class="done" data-step="verify_contact">' in html
    assert "1 of 7 steps done" in html


def test_storefront_link_keeps_the_platform_port(owner: Account) -> None:
    # given
    client = Client(HTTP_HOST="localhost:8000", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(owner)
    # when
    html = client.get("/console/alpha/").content.decode()
    # then
    assert 'href="http://alpha.localhost:8000/"' in html


def test_switcher_lists_the_account_shops_and_marks_the_current_one(
    owner: Account, owner_client: Client, shops: dict[str, Tenant]
) -> None:
    # given: a shop of someone else exists beside the owner's two
    second = shops["beta"]
    Membership.objects.create(account=owner, tenant=second, role=Role.STAFF)
    stranger = Account.objects.create_user(email="x@example.com", password="x-password-123")
    # when
    html = owner_client.get("/console/beta/").content.decode()
    # then
    switcher = _switcher(html)
    assert re.findall(r'data-shop="([a-z-]+)"', switcher) == ["alpha", "beta"]
    assert re.findall(r'aria-current="true" data-shop="([a-z-]+)"', switcher) == ["beta"]
    assert '<span class="badge muted">Staff</span>' in html
    assert stranger.memberships.count() == 0


def test_switcher_of_an_account_in_one_shop_lists_only_it(owner_client: Client) -> None:
    # when
    html = owner_client.get("/console/alpha/").content.decode()
    # then
    assert re.findall(r'data-shop="([a-z-]+)"', _switcher(html)) == ["alpha"]


def test_shop_of_another_account_is_not_found(owner_client: Client) -> None:
    # when
    response = owner_client.get("/console/beta/")
    # then
    assert response.status_code == 404
    assert "Beta Shop" not in response.content.decode()


def test_unknown_shop_is_not_found(owner_client: Client) -> None:
    assert owner_client.get("/console/no-such-shop/").status_code == 404


def test_suspended_shop_shows_a_banner_and_the_console_still_works(
    owner_client: Client, shops: dict[str, Tenant]
) -> None:
    # given
    Tenant.objects.filter(pk=shops["alpha"].pk).update(status=TenantStatus.SUSPENDED)
    # when
    response = owner_client.get("/console/alpha/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="suspended-banner"' in html
    assert "This shop is suspended" in html
    assert owner_client.get("/console/").content.decode().count("Suspended</span>") == 1


@pytest.mark.parametrize("section", [s for s in CONSOLE_SECTIONS if s.coming is not None])
def test_sections_still_to_come_show_what_will_be_there(
    owner_client: Client, section: object
) -> None:
    # given
    from frontend.navigation import ConsoleSection

    assert isinstance(section, ConsoleSection)
    # when
    response = owner_client.get(f"/console/alpha/{section.key}/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<h1>{section.title}</h1>" in html
    assert str(section.coming) in html
    assert f'<a href="/console/alpha/{section.key}/" aria-current="page">' in html
    assert "Nothing here yet" in html


def test_side_navigation_links_every_section(owner_client: Client) -> None:
    # when
    html = owner_client.get("/console/alpha/").content.decode()
    # then
    nav = html[
        html.index('<nav id="sidenav"') : html.index("</nav>", html.index('<nav id="sidenav"'))
    ]
    assert re.findall(r'<a href="(/console/alpha/[a-z/]*)"', nav) == [
        "/console/alpha/",
        "/console/alpha/products/",
        "/console/alpha/orders/",
        "/console/alpha/members/",
        "/console/alpha/distribution/",
        "/console/alpha/theme/",
        "/console/alpha/settings/",
    ]


def test_console_speaks_chinese_by_default(owner: Account) -> None:
    # given
    client = Client()
    client.force_login(owner)
    # when
    html = client.get("/console/alpha/").content.decode()
    # then
    assert "完善你的店铺" in html
    assert "商品" in html
    assert "Get your shop ready" not in html
