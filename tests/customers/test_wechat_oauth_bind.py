"""Binding a member's Official Account openid (snsapi_base web authorization) through the API,
against the fake WeChat API with wechatpy's real clients."""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.test.utils import CaptureQueriesContext

from infra.db import schema_connection, tenant_schema
from shop.customers.models import Member, MemberIdentity
from shop.customers.selectors.members import member_openid
from shop.customers.services.wechat_oauth import STATE_SALT, member_official_account_bind
from tenants.models import Domain, Tenant
from tenants.selectors.tenancy import tenant_routing_forget
from tenants.services.wechat import official_account_code_to_openid
from tests.customers.conftest import LoggedIn, log_in
from tests.fakes.wechat import FakeWeChat
from tests.support.threads import committed, run_in_threads
from tests.support.wechat import (
    COMPONENT_APPID,
    HOSTED_OA_APPID,
    OA_APPID,
    OA_SECRET,
    fake_wechat,
    hosted_official_account,
    own_official_account,
    paths,
)

URL_PATH = "/api/v1/auth/wechat-oauth-url"
BIND_PATH = "/api/v1/auth/wechat-oauth-bind"
PAGE = "http://alpha.localhost/pay?order=A1"
OA = MemberIdentity.Provider.WECHAT_OFFICIAL_ACCOUNT


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    with fake_wechat() as fake:
        yield fake


@pytest.fixture
def own(shop: Tenant, wechat: FakeWeChat) -> FakeWeChat:
    """Alpha runs its own Official Account."""
    own_official_account(shop)
    return wechat


@pytest.fixture
def other_member(api: Client) -> LoggedIn:
    return log_in(api, phone="+8613800138001")


def oauth_url(client: Client, member: LoggedIn, redirect_uri: str = PAGE) -> Any:
    return client.get(URL_PATH, {"redirect_uri": redirect_uri}, **member.headers)


def bind(client: Client, member: LoggedIn, code: str, state: str) -> Any:
    return client.post(
        BIND_PATH, {"code": code, "state": state}, content_type="application/json", **member.headers
    )


def authorize(
    client: Client, member: LoggedIn, fake: FakeWeChat, openid: str, unionid: str | None = None
) -> dict[str, str]:
    """The member's page asks for the URL and WeChat sends the browser back: code and state."""
    response = oauth_url(client, member)
    assert response.status_code == 200, response.content
    location = fake.oauth_authorize(response.json()["url"], openid=openid, unionid=unionid)
    assert location.startswith(f"{PAGE}&code=")
    return dict(parse_qsl(urlsplit(location).query))


def identities() -> list[tuple[int, str, str, str]]:
    return list(
        MemberIdentity.objects.order_by("id").values_list("member_id", "appid", "openid", "unionid")
    )


# --- the authorize URL


def test_the_url_is_the_accounts_snsapi_base_authorize_url_with_a_signed_state(
    api: Client, member: LoggedIn, own: FakeWeChat
) -> None:
    # when
    response = oauth_url(api, member)
    # then
    assert response.status_code == 200, response.content
    url = urlsplit(response.json()["url"])
    query = dict(parse_qsl(url.query))
    assert (url.scheme, url.netloc, url.path, url.fragment) == (
        "https",
        "open.weixin.qq.com",
        "/connect/oauth2/authorize",
        "wechat_redirect",
    )
    assert list(query) == ["appid", "redirect_uri", "response_type", "scope", "state"]
    assert (query["appid"], query["redirect_uri"], query["scope"]) == (
        OA_APPID,
        PAGE,
        "snsapi_base",
    )
    # WeChat documents state as a-zA-Z0-9, at most 128 bytes
    assert query["state"].isalnum()
    assert query["state"].isascii()
    assert len(query["state"]) <= 128
    assert own.requests == []


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.net/pay",
        "http://beta.localhost/pay",
        "http://alpha.localhost.evil.example.net/pay",
        "http://evil.example.net@alpha.localhost/pay",
        "http://alpha.localhost/pay#section",
        "javascript:alert(1)//alpha.localhost",
        "//alpha.localhost/pay",
        "/pay",
        "http://alpha.localhost:port/pay",
        "http://alpha.localhost/pay\nx",
    ],
)
def test_a_redirect_off_the_shops_own_host_is_refused(
    api: Client, member: LoggedIn, own: FakeWeChat, redirect_uri: str
) -> None:
    # when
    response = oauth_url(api, member, redirect_uri)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "redirect_uri_invalid"
    assert response.json()["error"]["message"] == ("微信只能跳转回本店的页面。")


def test_a_verified_custom_domain_of_the_shop_is_its_own_host(
    api: Client, member: LoggedIn, own: FakeWeChat, shop: Tenant
) -> None:
    # given
    Domain.objects.create(tenant=shop, domain="shop.alpha.example", is_verified=True)
    Domain.objects.create(tenant=shop, domain="unverified.alpha.example", is_verified=False)
    tenant_routing_forget(hosts=["shop.alpha.example", "unverified.alpha.example"])
    # when
    verified = oauth_url(api, member, "https://shop.alpha.example/pay")
    unverified = oauth_url(api, member, "https://unverified.alpha.example/pay")
    # then
    assert verified.status_code == 200, verified.content
    assert unverified.status_code == 400
    assert unverified.json()["error"]["code"] == "redirect_uri_invalid"


def test_the_url_needs_a_member_token_and_a_redirect_uri(
    api: Client, member: LoggedIn, own: FakeWeChat
) -> None:
    # when
    anonymous = api.get(URL_PATH, {"redirect_uri": PAGE})
    missing = api.get(URL_PATH, **member.headers)
    # then
    assert anonymous.status_code == 401
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "validation_failed"


def test_a_shop_without_an_official_account_gives_no_url(
    api: Client, member: LoggedIn, wechat: FakeWeChat
) -> None:
    # when
    response = oauth_url(api, member)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "official_account_not_configured"


# --- binding


def test_own_mode_binds_the_openid_to_the_member(
    api: Client, member: LoggedIn, own: FakeWeChat
) -> None:
    # given
    back = authorize(api, member, own, "oa-openid-1", unionid="union-1")
    # when
    response = bind(api, member, back["code"], back["state"])
    # then
    assert response.status_code == 200, response.content
    assert response.json() == {
        "provider": "wechat_official_account",
        "appid": OA_APPID,
        "openid": "oa-openid-1",
    }
    # snsapi_base tells no unionid
    assert identities() == [(member.member_id, OA_APPID, "oa-openid-1", "")]
    assert paths(own) == ["/connect/oauth2/authorize", "/sns/oauth2/access_token"]
    assert own.requests[1].query == {
        "appid": OA_APPID,
        "secret": OA_SECRET,
        "code": back["code"],
        "grant_type": "authorization_code",
    }
    stored = Member.objects.get(pk=member.member_id)
    assert member_openid(member=stored, provider=OA) == "oa-openid-1"


def test_component_mode_binds_with_the_component_token(
    api: Client, member: LoggedIn, shop: Tenant, wechat: FakeWeChat
) -> None:
    # given
    hosted_official_account(shop, wechat)
    back = authorize(api, member, wechat, "hosted-openid-1")
    # when
    response = bind(api, member, back["code"], back["state"])
    # then
    assert response.status_code == 200, response.content
    assert back["appid"] == HOSTED_OA_APPID
    assert wechat.requests[0].query["component_appid"] == COMPONENT_APPID
    assert paths(wechat) == [
        "/connect/oauth2/authorize",
        "/cgi-bin/component/api_component_token",
        "/sns/oauth2/component/access_token",
    ]
    exchange = wechat.requests[2].query
    assert exchange["component_access_token"]
    assert (exchange["appid"], exchange["code"]) == (HOSTED_OA_APPID, back["code"])
    assert identities() == [(member.member_id, HOSTED_OA_APPID, "hosted-openid-1", "")]


def test_binding_the_same_wechat_user_again_changes_nothing(
    api: Client, member: LoggedIn, own: FakeWeChat
) -> None:
    # given
    first = authorize(api, member, own, "oa-openid-1")
    assert bind(api, member, first["code"], first["state"]).status_code == 200
    before = list(MemberIdentity.objects.values_list("id", "created_at"))
    second = authorize(api, member, own, "oa-openid-1")
    # when
    response = bind(api, member, second["code"], second["state"])
    # then
    assert response.status_code == 200
    assert response.json()["openid"] == "oa-openid-1"
    assert list(MemberIdentity.objects.values_list("id", "created_at")) == before


def test_another_wechat_user_replaces_the_members_identity_in_the_account(
    api: Client, member: LoggedIn, own: FakeWeChat
) -> None:
    # given: the member opens the shop from another WeChat account
    first = authorize(api, member, own, "oa-openid-1")
    assert bind(api, member, first["code"], first["state"]).status_code == 200
    second = authorize(api, member, own, "oa-openid-2")
    # when
    response = bind(api, member, second["code"], second["state"])
    # then: payments take the WeChat user now paying
    assert response.status_code == 200
    assert identities() == [(member.member_id, OA_APPID, "oa-openid-2", "")]


def test_a_unionid_wechat_tells_later_is_remembered(
    api: Client, member: LoggedIn, own: FakeWeChat
) -> None:
    # given
    first = authorize(api, member, own, "oa-openid-1")
    assert bind(api, member, first["code"], first["state"]).status_code == 200
    state = authorize(api, member, own, "oa-openid-other")["state"]
    code = own.code_for(OA_APPID, "oa-openid-1", unionid="union-1", scope="snsapi_userinfo")
    # when
    response = bind(api, member, code, state)
    # then
    assert response.status_code == 200
    assert identities() == [(member.member_id, OA_APPID, "oa-openid-1", "union-1")]


def test_an_invalid_code_is_refused_and_nothing_is_bound(
    api: Client, member: LoggedIn, own: FakeWeChat
) -> None:
    # given
    state = authorize(api, member, own, "oa-openid-1")["state"]
    # when
    response = bind(api, member, "no-such-code", state)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_code_invalid"
    assert identities() == []


def test_a_used_code_is_refused_and_nothing_is_bound(
    api: Client, member: LoggedIn, own: FakeWeChat, shop: Tenant
) -> None:
    # given: someone exchanged the code first
    back = authorize(api, member, own, "oa-openid-1")
    official_account_code_to_openid(tenant_id=shop.pk, code=back["code"])
    # when
    response = bind(api, member, back["code"], back["state"])
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_code_used"
    assert identities() == []


def test_wechat_down_is_wechat_unavailable_and_nothing_is_bound(
    api: Client, member: LoggedIn, own: FakeWeChat
) -> None:
    # given
    back = authorize(api, member, own, "oa-openid-1")
    own.fail_next(1, http_status=503)
    # when
    response = bind(api, member, back["code"], back["state"])
    # then
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "wechat_unavailable"
    assert identities() == []


def test_the_state_of_another_member_is_refused_before_wechat_is_asked(
    api: Client, member: LoggedIn, other_member: LoggedIn, own: FakeWeChat
) -> None:
    # given: the code and state were made for the other member's page
    back = authorize(api, other_member, own, "oa-openid-1")
    # when
    response = bind(api, member, back["code"], back["state"])
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "oauth_state_invalid"
    assert identities() == []
    assert paths(own) == ["/connect/oauth2/authorize"]


def _state(member_id: int, tenant_id: int, *, age_s: int = 0, salt: str | None = None) -> str:
    """A state as the service signs it, made `age_s` seconds ago."""
    timestamp = signing.b62_encode(int(time.time()) - age_s)
    signer = signing.Signer(salt=salt or f"{STATE_SALT}:{tenant_id}")
    token = signer.sign(f"{member_id}:{timestamp}")
    return base64.b32encode(token.encode()).decode().rstrip("=")


@pytest.mark.parametrize("kind", ["expired", "other_shop", "other_purpose", "tampered", "garbage"])
def test_expired_foreign_and_tampered_states_are_refused(
    api: Client, member: LoggedIn, own: FakeWeChat, shop: Tenant, other_shop: Tenant, kind: str
) -> None:
    # given: the same signing with one thing wrong (a fresh good state passes, as a check)
    good = _state(member.member_id, shop.pk)
    state = {
        "expired": _state(member.member_id, shop.pk, age_s=601),
        "other_shop": _state(member.member_id, other_shop.pk),
        "other_purpose": _state(member.member_id, shop.pk, salt="another.purpose"),
        "tampered": good[:-4] + ("AAAA" if good[-4:] != "AAAA" else "BBBB"),
        "garbage": "not base32 at all!",
    }[kind]
    code = own.code_for(OA_APPID, "oa-openid-1")
    # when
    response = bind(api, member, code, state)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "oauth_state_invalid"
    assert identities() == []
    assert bind(api, member, code, good).status_code == 200


def test_an_openid_bound_to_another_member_is_taken_and_nothing_changes(
    api: Client, member: LoggedIn, other_member: LoggedIn, own: FakeWeChat
) -> None:
    # given
    theirs = authorize(api, other_member, own, "oa-openid-1")
    assert bind(api, other_member, theirs["code"], theirs["state"]).status_code == 200
    mine = authorize(api, member, own, "oa-openid-2")
    assert bind(api, member, mine["code"], mine["state"]).status_code == 200
    before = identities()
    again = authorize(api, member, own, "oa-openid-1")
    # when
    response = bind(api, member, again["code"], again["state"])
    # then: the member keeps its own identity, the other member keeps theirs
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "wechat_identity_taken"
    assert (
        identities()
        == before
        == [
            (other_member.member_id, OA_APPID, "oa-openid-1", ""),
            (member.member_id, OA_APPID, "oa-openid-2", ""),
        ]
    )


def test_bind_needs_a_member_token(api: Client, own: FakeWeChat) -> None:
    # when
    response = api.post(BIND_PATH, {"code": "c", "state": "s"}, content_type="application/json")
    # then
    assert response.status_code == 401
    assert own.requests == []


def test_the_endpoints_are_in_the_schema(api: Client) -> None:
    # when
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    # then
    url = schema["paths"][URL_PATH]["get"]
    assert url["operationId"] == "member_wechat_oauth_url"
    assert [parameter["name"] for parameter in url["parameters"]] == ["redirect_uri"]
    assert schema["paths"][BIND_PATH]["post"]["operationId"] == "member_wechat_oauth_bind"


def test_bind_stays_within_its_query_budget(api: Client, member: LoggedIn, own: FakeWeChat) -> None:
    # given: routing, the throttle and the token are warm
    first = authorize(api, member, own, "oa-openid-1")
    same = authorize(api, member, own, "oa-openid-1")
    other = authorize(api, member, own, "oa-openid-2")
    # when
    with CaptureQueriesContext(schema_connection()) as binding:
        new = bind(api, member, first["code"], first["state"])
    with CaptureQueriesContext(schema_connection()) as again:
        repeated = bind(api, member, same["code"], same["state"])
    with CaptureQueriesContext(schema_connection()) as replacing:
        replaced = bind(api, member, other["code"], other["state"])
    # then: the token, the Official Account, the member lock and the identity lookup (with the
    # transaction's savepoint under the test's transaction); a new identity adds a savepoint, the
    # look for one to replace and the insert; replacing one adds its delete
    assert (new.status_code, repeated.status_code, replaced.status_code) == (200, 200, 200)
    assert len(binding.captured_queries) <= 10, binding.captured_queries
    assert len(again.captured_queries) <= 6, again.captured_queries
    assert len(replacing.captured_queries) <= 11, replacing.captured_queries


# --- concurrency: two members bind one WeChat user at once (committed data, other connections)


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_concurrent_binds_of_one_openid_to_two_members_let_one_win(
    shops: dict[str, Tenant], wechat: FakeWeChat
) -> None:
    # given: alpha's Official Account and two members, committed; a code per member
    alpha = shops["alpha"]
    committed(lambda: own_official_account(alpha))

    def members_make() -> list[Member]:
        with tenant_schema(alpha):
            return [Member.objects.create(), Member.objects.create()]

    members = committed(members_make)
    codes = [wechat.code_for(OA_APPID, "oa-openid-race") for _ in members]

    def bind_as(member: Member, code: str) -> Any:
        with tenant_schema(alpha):
            return member_official_account_bind(member=member, code=code).member_id

    def bound() -> list[tuple[int, str]]:
        with tenant_schema(alpha):
            return list(
                MemberIdentity.objects.filter(member__in=members).values_list("member_id", "openid")
            )

    # when
    results = run_in_threads(
        [
            functools.partial(bind_as, member, code)
            for member, code in zip(members, codes, strict=True)
        ]
    )
    # then: one bound it, the other was told it is taken
    try:
        winners = [result for result in results if isinstance(result, int)]
        losers = [result for result in results if not isinstance(result, int)]
        assert len(winners) == 1, results
        assert [getattr(error, "code", error) for error in losers] == ["wechat_identity_taken"]
        assert committed(bound) == [(winners[0], "oa-openid-race")]
    finally:

        def cleanup() -> None:
            with tenant_schema(alpha):
                Member.objects.filter(pk__in=[member.pk for member in members]).delete()

        committed(cleanup)
