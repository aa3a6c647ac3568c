"""Connecting a shop to Stripe from the console: the Express account made once, Stripe's hosted
onboarding, the way back, and who may do it."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client

from billing.models import MerchantPaymentAccount
from billing.services.connect import stripe_onboarding_start
from infra.db import schema_connection
from tenants.models import Account, AuditLog, Membership, Role, Tenant
from tenants.services.audit import AuditContext
from tests.fakes.stripe_server import FakeStripe
from tests.payments.stripe_support import stripe_faked
from tests.support.threads import run_in_threads

pytestmark = pytest.mark.django_db

PAGE = "/console/alpha/settings/payments/"
CONNECT = PAGE + "stripe/connect/"
RETURN = PAGE + "stripe/return/"
REFRESH = PAGE + "stripe/refresh/"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with stripe_faked() as server:
        yield server


def _client(tenant: Tenant, role: str | None, *, platform_staff: bool = False) -> Client:
    account = Account.objects.create_user(
        email=f"{role or 'platform'}@example.com",
        password="right-password-123",
        is_platform_staff=platform_staff,
    )
    if role is not None:
        Membership.objects.create(account=account, tenant=tenant, role=role)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(account)
    return client


@pytest.fixture
def owner_client(shops: dict[str, Tenant], public: None) -> Client:
    return _client(shops["alpha"], Role.OWNER)


def _accounts() -> list[tuple[str, str, bool]]:
    schema_connection().set_schema_to_public()
    return list(
        MerchantPaymentAccount.objects.filter(provider="stripe").values_list(
            "account_id", "status", "charges_enabled"
        )
    )


def test_connect_makes_the_express_account_once_and_sends_the_owner_to_onboarding(
    owner_client: Client, fake: FakeStripe, shops: dict[str, Tenant]
) -> None:
    # when: the owner clicks twice
    first = owner_client.post(CONNECT, {"country": "HK"})
    second = owner_client.post(CONNECT, {"country": "HK"})
    # then: one account at Stripe, one record here, and two single-use links to its onboarding
    (account_id,) = fake.accounts
    assert _accounts() == [(account_id, "pending", False)]
    remote = fake.accounts[account_id]
    assert (remote["type"], remote["country"], remote["metadata"]) == (
        "express",
        "HK",
        {"tenant": str(shops["alpha"].pk), "slug": "alpha"},
    )
    links = [r.params for r in fake.received if r.path == "/v1/account_links"]
    assert [link["account"] for link in links] == [account_id, account_id]
    assert links[0]["return_url"] == f"http://testserver{RETURN}"
    assert links[0]["refresh_url"] == f"http://testserver{REFRESH}"
    assert (first.status_code, second.status_code) == (302, 302)
    assert first["Location"].startswith(f"{fake.url}/setup/e/{account_id}/")
    assert second["Location"].startswith(f"{fake.url}/setup/e/{account_id}/")
    assert first["Location"] != second["Location"]
    opened = AuditLog.objects.get(action="payment_account.stripe_opened")
    assert opened.data == {"account_id": account_id, "country": "HK", "created": True}
    assert opened.tenant_id == shops["alpha"].pk
    assert AuditLog.objects.filter(action="payment_account.stripe_onboarding_link").count() == 2


def test_finishing_onboarding_at_stripe_comes_back_to_an_active_account(
    owner_client: Client, fake: FakeStripe, shops: dict[str, Tenant]
) -> None:
    # given: the owner is at Stripe's onboarding
    link = owner_client.post(CONNECT, {"country": "SG"})["Location"]
    assert requests.get(link, timeout=5).status_code == 200
    # when: the owner submits it, and Stripe sends the browser back
    done = requests.post(link, timeout=5, allow_redirects=False)
    back = urlsplit(done.headers["Location"])
    page = owner_client.get(back.path, follow=True)
    # then
    assert (done.status_code, back.netloc, back.path) == (303, "testserver", RETURN)
    (account_id,) = fake.accounts
    assert _accounts() == [(account_id, "active", True)]
    assert page.redirect_chain == [(PAGE, 302)]
    text = page.content.decode()
    assert "Stripe is connected: your shop takes card payments." in text
    assert 'data-stripe-status="active"' in text
    assert account_id in text
    assert Tenant.objects.get(slug="alpha").onboarding["payments"] is True
    assert AuditLog.objects.filter(action="payment_account.stripe_synced").count() == 1


def test_coming_back_before_finishing_shows_onboarding_unfinished(
    owner_client: Client, fake: FakeStripe
) -> None:
    # given
    owner_client.post(CONNECT, {"country": "HK"})
    # when: the owner leaves Stripe's page without submitting and comes back
    page = owner_client.get(RETURN, follow=True)
    # then
    text = page.content.decode()
    assert "Stripe has not enabled payments for your account yet." in text
    assert 'data-stripe-status="pending"' in text
    assert "Continue the onboarding at Stripe" in text
    assert [status for _, status, _ in _accounts()] == ["pending"]
    assert not AuditLog.objects.filter(action="payment_account.stripe_synced").exists()


def test_an_expired_onboarding_link_leads_to_a_new_one(
    owner_client: Client, fake: FakeStripe
) -> None:
    # given: the owner waited too long on the link
    link = owner_client.post(CONNECT, {"country": "HK"})["Location"]
    for pending in fake._links.values():
        pending.expires_at = 0
    expired = requests.get(link, timeout=5, allow_redirects=False)
    # when: Stripe sends the browser to the refresh URL
    again = owner_client.get(urlsplit(expired.headers["Location"]).path)
    # then: straight to a new link of the same account
    (account_id,) = fake.accounts
    assert (expired.status_code, urlsplit(expired.headers["Location"]).path) == (302, REFRESH)
    assert again.status_code == 302
    assert again["Location"].startswith(f"{fake.url}/setup/e/{account_id}/")
    assert again["Location"] != link
    assert requests.get(again["Location"], timeout=5).status_code == 200


def test_stripe_unreachable_on_connect_says_so_and_keeps_nothing(
    owner_client: Client, fake: FakeStripe
) -> None:
    # given
    fake.fail_next(3, status=503, path="/v1/accounts")
    # when
    page = owner_client.post(CONNECT, {"country": "HK"})
    # then
    assert page.status_code == 400
    assert "Stripe cannot be reached right now." in page.content.decode()
    assert _accounts() == []
    assert fake.accounts == {}
    assert not AuditLog.objects.filter(action__startswith="payment_account.").exists()


def test_a_country_stripe_cannot_open_is_refused(owner_client: Client, fake: FakeStripe) -> None:
    # when
    page = owner_client.post(CONNECT, {"country": "CN"})
    # then
    assert page.status_code == 400
    assert "Select a valid choice." in page.content.decode()
    assert (_accounts(), fake.accounts) == ([], {})


@pytest.mark.parametrize(
    ("role", "platform_staff", "allowed"),
    [
        (Role.ADMIN, False, True),
        (Role.STAFF, False, False),
        (Role.CLERK, False, False),
        (None, True, False),
    ],
    ids=["admin", "staff", "clerk", "platform_staff"],
)
def test_only_the_owner_and_admins_connect_stripe(
    shops: dict[str, Tenant],
    public: None,
    fake: FakeStripe,
    role: str | None,
    platform_staff: bool,
    allowed: bool,
) -> None:
    # given
    client = _client(shops["alpha"], role, platform_staff=platform_staff)
    # when
    page = client.get(PAGE)
    connect = client.post(CONNECT, {"country": "HK"})
    refresh = client.get(REFRESH)
    # then
    text = page.content.decode()
    assert page.status_code == 200
    assert (CONNECT in text) is allowed
    if allowed:
        assert (connect.status_code, refresh.status_code) == (302, 302)
        assert len(fake.accounts) == 1
        return
    assert "Only the shop's owner or an admin can connect Stripe." in text
    assert (connect.status_code, refresh.status_code) == (403, 403)
    assert (_accounts(), fake.accounts) == ([], {})
    assert not AuditLog.objects.filter(action__startswith="payment_account.").exists()


def test_a_shop_of_another_account_is_not_reachable(
    shops: dict[str, Tenant], public: None, fake: FakeStripe
) -> None:
    # given: the owner of beta
    client = _client(shops["beta"], Role.OWNER)
    # when
    page = client.get(PAGE)
    connect = client.post(CONNECT, {"country": "HK"})
    # then
    assert (page.status_code, connect.status_code) == (404, 404)
    assert (_accounts(), fake.accounts) == ([], {})


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_the_same_moment_make_one_account(shops: dict[str, Tenant]) -> None:
    # given
    alpha = shops["alpha"]
    with stripe_faked() as fake:

        def click() -> str:
            return stripe_onboarding_start(
                tenant=alpha,
                acting_role=Role.OWNER,
                country="HK",
                return_url="http://testserver/return",
                refresh_url="http://testserver/refresh",
                context=AuditContext.system(),
            )

        # when
        links = run_in_threads([click, click])
        # then
        assert all(isinstance(link, str) for link in links), links
        (account_id,) = fake.accounts
        assert all(link.startswith(f"{fake.url}/setup/e/{account_id}/") for link in links)
        assert _accounts() == [(account_id, "pending", False)]
        assert sorted(
            AuditLog.objects.filter(action="payment_account.stripe_opened").values_list(
                "data__created", flat=True
            )
        ) == [False, True]
