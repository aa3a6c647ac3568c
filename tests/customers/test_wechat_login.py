"""Mini-program login through the API, against the fake WeChat API with wechatpy's clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from infra.db import schema_connection, tenant_schema
from shop.customers.api.views import PhoneLoginApi, WeChatLoginApi
from shop.customers.models import (
    Member,
    MemberConsent,
    MemberIdentity,
    MemberLogin,
    MemberToken,
)
from shop.customers.services.wechat_login import member_wechat_login
from shop.events.models import OutboxEvent
from tenants.models import Tenant
from tenants.services.wechat import miniprogram_code_to_session
from tests.customers.conftest import POLICY
from tests.fakes.wechat import FakeWeChat
from tests.support.threads import committed, run_in_threads
from tests.support.wechat import (
    BETA_APPID,
    BETA_SECRET,
    HOSTED_APPID,
    OWN_APPID,
    fake_wechat,
    hosted_miniprogram,
    own_miniprogram,
    paths,
)


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    with fake_wechat() as fake:
        yield fake


@pytest.fixture
def own(shop: Tenant, wechat: FakeWeChat) -> FakeWeChat:
    """Alpha runs its own mini-program."""
    own_miniprogram(shop)
    return wechat


def wechat_login(
    client: Client, code: str, policy_version: str | None = POLICY, **extra: Any
) -> Any:
    body: dict[str, Any] = {"code": code, "channel": "miniprogram", "device_id": "device-1"}
    if policy_version is not None:
        body["policy_version"] = policy_version
    return client.post(
        "/api/v1/auth/wechat-login",
        body,
        content_type="application/json",
        HTTP_USER_AGENT="MicroMessenger/8.0",
        **extra,
    )


def _nothing_written() -> bool:
    return not (
        Member.objects.exists()
        or MemberIdentity.objects.exists()
        or MemberConsent.objects.exists()
        or MemberLogin.objects.exists()
        or MemberToken.objects.exists()
        or OutboxEvent.objects.exists()
    )


def test_a_new_wechat_user_registers_with_consent_and_gets_a_token(
    api: Client, own: FakeWeChat
) -> None:
    # given
    code = own.code_for(OWN_APPID, "openid-1", unionid="union-1")
    # when
    response = wechat_login(api, code)
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    member = Member.objects.get()
    assert body["member"] == {
        "id": member.pk,
        "phone": "",
        "nickname": "",
        "avatar_url": "",
        "points_balance": 0,
        "store_balance_minor": 0,
        "tags": [],
    }
    identity = MemberIdentity.objects.get()
    assert (identity.member_id, identity.provider, identity.appid) == (
        member.pk,
        "wechat_miniprogram",
        OWN_APPID,
    )
    assert (identity.openid, identity.unionid) == ("openid-1", "union-1")
    consent = MemberConsent.objects.get()
    assert (consent.member_id, consent.policy_version, consent.channel, consent.ip) == (
        member.pk,
        POLICY,
        "miniprogram",
        "203.0.113.7",
    )
    login = MemberLogin.objects.get()
    assert (login.member_id, login.method, login.device_id, login.ip, login.user_agent) == (
        member.pk,
        "wechat",
        "device-1",
        "203.0.113.7",
        "MicroMessenger/8.0",
    )
    token = MemberToken.objects.get()
    assert (token.member_id, token.device_id) == (member.pk, "device-1")
    assert member.last_login_at is not None
    assert list(OutboxEvent.objects.values_list("topic", "payload")) == [
        ("member.registered", {"member_id": member.pk, "channel": "miniprogram"})
    ]
    me = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert (me.status_code, me.json()["id"]) == (200, member.pk)


def test_a_second_login_finds_the_same_member_without_a_new_consent(
    api: Client, own: FakeWeChat
) -> None:
    # given
    first = wechat_login(api, own.code_for(OWN_APPID, "openid-1")).json()
    # when
    response = wechat_login(api, own.code_for(OWN_APPID, "openid-1"), policy_version=None)
    # then
    assert response.status_code == 200
    assert response.json()["member"]["id"] == first["member"]["id"]
    assert response.json()["token"] != first["token"]
    assert (Member.objects.count(), MemberIdentity.objects.count()) == (1, 1)
    assert MemberConsent.objects.count() == 1
    assert MemberLogin.objects.count() == 2
    assert MemberToken.objects.count() == 2
    assert OutboxEvent.objects.count() == 1


def test_a_unionid_given_later_is_remembered(api: Client, own: FakeWeChat) -> None:
    # given
    wechat_login(api, own.code_for(OWN_APPID, "openid-1"))
    # when
    response = wechat_login(api, own.code_for(OWN_APPID, "openid-1", unionid="union-1"))
    # then
    assert response.status_code == 200
    assert list(MemberIdentity.objects.values_list("openid", "unionid")) == [
        ("openid-1", "union-1")
    ]


def test_a_new_user_without_consent_is_refused_and_nothing_is_written(
    api: Client, own: FakeWeChat
) -> None:
    # when
    response = wechat_login(api, own.code_for(OWN_APPID, "openid-1"), policy_version=None)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "consent_required"
    assert _nothing_written()


def test_component_mode_logs_in_with_the_component_token(
    api: Client, shop: Tenant, wechat: FakeWeChat
) -> None:
    # given
    hosted_miniprogram(shop, wechat)
    code = wechat.code_for(HOSTED_APPID, "openid-h", unionid="union-h")
    # when
    response = wechat_login(api, code)
    # then
    assert response.status_code == 200, response.content
    assert paths(wechat) == [
        "/cgi-bin/component/api_component_token",
        "/sns/component/jscode2session",
    ]
    login_query = wechat.requests[1].query
    assert login_query["component_access_token"]
    assert (login_query["appid"], login_query["js_code"]) == (HOSTED_APPID, code)
    identity = MemberIdentity.objects.get()
    assert (identity.appid, identity.openid, identity.unionid) == (
        HOSTED_APPID,
        "openid-h",
        "union-h",
    )


def test_an_expired_component_token_is_renewed_during_login(
    api: Client, shop: Tenant, wechat: FakeWeChat
) -> None:
    # given
    hosted_miniprogram(shop, wechat)
    assert wechat_login(api, wechat.code_for(HOSTED_APPID, "openid-h")).status_code == 200
    wechat.expire_component_tokens()
    # when
    response = wechat_login(api, wechat.code_for(HOSTED_APPID, "openid-h"))
    # then
    assert response.status_code == 200
    assert paths(wechat)[2:] == [
        "/sns/component/jscode2session",
        "/cgi-bin/component/api_component_token",
        "/sns/component/jscode2session",
    ]
    assert (
        wechat.requests[2].query["component_access_token"]
        != (wechat.requests[4].query["component_access_token"])
    )
    assert (Member.objects.count(), MemberLogin.objects.count()) == (1, 2)


def test_an_invalid_code_is_refused_and_no_member_is_created(api: Client, own: FakeWeChat) -> None:
    # when
    response = wechat_login(api, "no-such-code")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_code_invalid"
    assert response.json()["error"]["message"] == "微信登录凭证（code）错误或已过期。"
    assert _nothing_written()


def test_a_used_code_is_refused_and_no_member_is_created(
    api: Client, shop: Tenant, own: FakeWeChat
) -> None:
    # given: the code was exchanged once already (by someone who intercepted it)
    code = own.code_for(OWN_APPID, "openid-1")
    miniprogram_code_to_session(tenant_id=shop.pk, code=code)
    # when
    response = wechat_login(api, code)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_code_used"
    assert _nothing_written()


@pytest.mark.parametrize("failure", ["http_503", "system_error", "timeout"])
def test_wechat_down_is_wechat_unavailable_and_nothing_is_written(
    api: Client, own: FakeWeChat, settings: Settings, failure: str
) -> None:
    # given
    code = own.code_for(OWN_APPID, "openid-1")
    if failure == "http_503":
        own.fail_next(1, http_status=503)
    elif failure == "system_error":
        own.fail_next(1, errcode=-1)
    else:
        own.latency_s = 1.0
        settings.WECHAT_TIMEOUT_S = 0.2
    # when
    response = wechat_login(api, code)
    # then
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "wechat_unavailable"
    assert _nothing_written()


def test_a_shop_without_a_miniprogram_is_refused(api: Client, wechat: FakeWeChat) -> None:
    # when
    response = wechat_login(api, wechat.code_for(OWN_APPID, "openid-1"))
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "miniprogram_not_configured"
    assert wechat.requests == []
    assert _nothing_written()


def test_a_code_of_another_shops_miniprogram_never_logs_into_this_shop(
    api: Client, own: FakeWeChat, other_shop: Tenant
) -> None:
    # given: beta runs its own mini-program; a beta shopper's code is sent to alpha's API
    own_miniprogram(other_shop, appid=BETA_APPID, secret=BETA_SECRET)
    code = own.code_for(BETA_APPID, "openid-beta")
    # when
    response = wechat_login(api, code)
    # then: alpha asked WeChat with its own appid, which does not own the code
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_code_invalid"
    assert own.requests[0].query["appid"] == OWN_APPID
    assert _nothing_written()
    with tenant_schema(other_shop):
        assert not Member.objects.exists()


def test_the_same_wechat_user_is_a_different_member_in_each_shop(
    api: Client, own: FakeWeChat, other_shop: Tenant
) -> None:
    # given
    own_miniprogram(other_shop, appid=BETA_APPID, secret=BETA_SECRET)
    alpha_member = wechat_login(api, own.code_for(OWN_APPID, "o", unionid="same-person"))
    # when
    beta_member = wechat_login(
        Client(HTTP_HOST="beta.localhost"), own.code_for(BETA_APPID, "o", unionid="same-person")
    )
    # then
    assert (alpha_member.status_code, beta_member.status_code) == (200, 200)
    token = beta_member.json()["token"]
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert list(MemberIdentity.objects.values_list("appid", flat=True)) == [OWN_APPID]
    with tenant_schema(other_shop):
        assert list(MemberIdentity.objects.values_list("appid", flat=True)) == [BETA_APPID]


def test_the_login_endpoint_is_throttled_and_documented_like_phone_login(
    api: Client, shop: Tenant
) -> None:
    # when
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    # then
    assert [type(throttle) for throttle in WeChatLoginApi().get_throttles()] == [
        type(throttle) for throttle in PhoneLoginApi().get_throttles()
    ]
    assert WeChatLoginApi().get_throttles()
    operation = schema.json()["paths"]["/api/v1/auth/wechat-login"]["post"]
    assert operation["operationId"] == "member_wechat_login"


def test_the_login_stays_within_its_query_budget(api: Client, own: FakeWeChat) -> None:
    # given: the first login registers the member; routing and the throttle are warm
    assert wechat_login(api, own.code_for(OWN_APPID, "openid-1")).status_code == 200
    # when
    with CaptureQueriesContext(schema_connection()) as returning:
        again = wechat_login(api, own.code_for(OWN_APPID, "openid-1"))
    with CaptureQueriesContext(schema_connection()) as registering:
        new = wechat_login(api, own.code_for(OWN_APPID, "openid-2"))
    # then: the mini-program, the identity with its member, the login, last login and token
    # rows, the member's tags, and the transaction's savepoint (under the test's transaction)
    assert (again.status_code, new.status_code) == (200, 200)
    assert len(returning.captured_queries) <= 8, returning.captured_queries
    # a new member adds the member, the identity (in a savepoint), consent and event
    assert len(registering.captured_queries) <= 14, registering.captured_queries


# --- concurrency: first logins of one openid race (committed data, other connections)


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_logins_of_one_openid_create_one_member(
    shops: dict[str, Tenant], wechat: FakeWeChat
) -> None:
    # given: alpha's mini-program, committed; four codes of one WeChat user
    alpha = shops["alpha"]
    committed(lambda: own_miniprogram(alpha))
    codes = [wechat.code_for(OWN_APPID, "openid-race") for _ in range(4)]

    def log_in(code: str) -> int:
        with tenant_schema(alpha):
            member, _token = member_wechat_login(
                code=code,
                channel="miniprogram",
                policy_version=POLICY,
                device_id="device-1",
                ip="203.0.113.7",
                user_agent="MicroMessenger/8.0",
            )
            return member.pk

    def counts() -> tuple[int, int, int, int, int]:
        with tenant_schema(alpha):
            return (
                Member.objects.count(),
                MemberIdentity.objects.count(),
                MemberConsent.objects.count(),
                MemberLogin.objects.count(),
                OutboxEvent.objects.filter(topic="member.registered").count(),
            )

    before = committed(counts)
    # when: they all log in at the same moment
    results = run_in_threads([lambda code=code: log_in(code) for code in codes])  # type: ignore[misc]
    # then
    assert all(isinstance(result, int) for result in results), results
    assert len(set(results)) == 1
    try:
        after = committed(counts)
        assert tuple(a - b for a, b in zip(after, before, strict=True)) == (1, 1, 1, 4, 1)
    finally:

        def cleanup() -> None:
            with tenant_schema(alpha):
                Member.objects.filter(pk=results[0]).delete()
                OutboxEvent.objects.filter(
                    topic="member.registered", payload__member_id=results[0]
                ).delete()

        committed(cleanup)
