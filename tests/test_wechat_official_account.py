"""Shops' Official Accounts in the control plane: registration, the snsapi_base authorize URL, and
the web authorization code exchange against the fake WeChat API with wechatpy's real clients."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.db import connection
from pytest_django.fixtures import Settings

from infra.crypto import decrypt_text
from infra.errors import DomainError, ValidationFailed
from tenants.gateways.wechat_storage import DatabaseStorage, component_storage_prefix
from tenants.models import AuditLog, OfficialAccount, OfficialAccountMode, Tenant
from tenants.services.audit import AuditContext
from tenants.services.wechat import (
    WeChatOpenId,
    official_account_code_to_openid,
    official_account_oauth_url,
    official_account_register,
)
from tests.fakes.wechat import FakeWeChat
from tests.support.wechat import (
    BETA_OA_APPID,
    BETA_OA_SECRET,
    COMPONENT_APPID,
    HOSTED_OA_APPID,
    OA_APPID,
    OA_SECRET,
    OWN_APPID,
    fake_wechat,
    hosted_official_account,
    own_official_account,
    paths,
)

PAGE = "http://alpha.localhost:8000/checkout/pay?order=A1"
PAGE_QUOTED = "http%3A%2F%2Falpha.localhost%3A8000%2Fcheckout%2Fpay%3Forder%3DA1"


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    with fake_wechat() as fake:
        yield fake


@pytest.fixture
def alpha(shops: dict[str, Tenant], public: None) -> Tenant:
    return shops["alpha"]


def _register(tenant: Tenant, **fields: object) -> OfficialAccount:
    arguments: dict[str, object] = {
        "appid": OA_APPID,
        "mode": OfficialAccountMode.OWN,
        "app_secret": OA_SECRET,
        **fields,
    }
    return official_account_register(
        tenant=tenant,
        context=AuditContext.system(),
        **arguments,  # type: ignore[arg-type]
    )


def _field_codes(error: ValidationFailed) -> dict[str, list[str]]:
    return {name: [item["code"] for item in items] for name, items in error.fields.items()}


def _row_text(account: OfficialAccount) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(t)::text FROM public.tenants_officialaccount t WHERE id = %s",
            [account.pk],
        )
        return str(cursor.fetchone()[0])


# --- registration


def test_an_own_official_account_is_registered_with_its_secret_encrypted(alpha: Tenant) -> None:
    # when
    account = _register(alpha, appid=" WX2222222222222222 ")
    # then
    stored = OfficialAccount.objects.get(tenant=alpha)
    assert (stored.pk, stored.appid, stored.mode) == (account.pk, OA_APPID, "own")
    assert OA_SECRET not in _row_text(stored)
    assert decrypt_text(stored.app_secret_encrypted) == OA_SECRET
    audit = AuditLog.objects.get(action="official_account.registered")
    assert (audit.tenant_id, audit.target_id) == (alpha.pk, str(stored.pk))
    assert audit.data == {"appid": OA_APPID, "mode": "own", "secret_changed": True}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"appid": "wx123"}, {"appid": ["invalid"]}),
        ({"appid": "gh_2222222222222222"}, {"appid": ["invalid"]}),
        ({"mode": "hosted"}, {"mode": ["invalid_choice"]}),
        ({"app_secret": None}, {"app_secret": ["required"]}),
        ({"app_secret": "  "}, {"app_secret": ["required"]}),
        ({"app_secret": "not-a-secret"}, {"app_secret": ["invalid"]}),
    ],
)
def test_invalid_registrations_are_field_errors_and_store_nothing(
    alpha: Tenant, fields: dict[str, object], expected: dict[str, list[str]]
) -> None:
    # when
    with pytest.raises(ValidationFailed) as raised:
        _register(alpha, **fields)
    # then
    assert raised.value.code == "validation_failed"
    assert _field_codes(raised.value) == expected
    assert not OfficialAccount.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="official_account.").exists()


def test_an_update_with_an_empty_secret_keeps_the_saved_one(alpha: Tenant) -> None:
    # given
    first = _register(alpha)
    saved = first.app_secret_encrypted
    # when
    updated = _register(alpha, app_secret="")
    # then
    assert updated.pk == first.pk
    assert OfficialAccount.objects.get().app_secret_encrypted == saved
    audit = AuditLog.objects.get(action="official_account.updated")
    assert audit.data == {"appid": OA_APPID, "mode": "own", "secret_changed": False}


def test_switching_to_the_component_drops_the_secret(alpha: Tenant) -> None:
    # given
    _register(alpha)
    # when
    _register(alpha, appid=HOSTED_OA_APPID, mode="component", app_secret=OA_SECRET)
    # then
    stored = OfficialAccount.objects.get()
    assert (stored.appid, stored.mode, stored.app_secret_encrypted) == (
        HOSTED_OA_APPID,
        "component",
        "",
    )


def test_an_official_account_appid_belongs_to_one_shop(
    alpha: Tenant, shops: dict[str, Tenant]
) -> None:
    # given
    _register(shops["beta"], appid=BETA_OA_APPID, app_secret=BETA_OA_SECRET)
    _register(alpha)
    # when
    with pytest.raises(ValidationFailed) as raised:
        _register(alpha, appid=BETA_OA_APPID)
    # then
    assert _field_codes(raised.value) == {"appid": ["appid_taken"]}
    assert dict(OfficialAccount.objects.values_list("tenant_id", "appid")) == {
        shops["beta"].pk: BETA_OA_APPID,
        alpha.pk: OA_APPID,
    }
    assert not AuditLog.objects.filter(action="official_account.updated").exists()


# --- the authorize URL


def test_the_authorize_url_of_an_own_account_is_snsapi_base_in_wechats_order(
    alpha: Tenant,
) -> None:
    # given
    own_official_account(alpha)
    # when
    url = official_account_oauth_url(tenant_id=alpha.pk, redirect_uri=PAGE, state="ABC234")
    # then
    assert url == (
        f"https://open.weixin.qq.com/connect/oauth2/authorize?appid={OA_APPID}"
        f"&redirect_uri={PAGE_QUOTED}&response_type=code&scope=snsapi_base&state=ABC234"
        "#wechat_redirect"
    )


def test_the_authorize_url_of_a_hosted_account_names_our_component(
    alpha: Tenant, wechat: FakeWeChat, settings: Settings
) -> None:
    # given
    hosted_official_account(alpha, wechat)
    settings.WECHAT_OPEN_BASE_URL = "http://127.0.0.1:9/"
    # when
    url = official_account_oauth_url(tenant_id=alpha.pk, redirect_uri=PAGE, state="ABC234")
    # then
    assert url == (
        f"http://127.0.0.1:9/connect/oauth2/authorize?appid={HOSTED_OA_APPID}"
        f"&redirect_uri={PAGE_QUOTED}&response_type=code&scope=snsapi_base&state=ABC234"
        f"&component_appid={COMPONENT_APPID}#wechat_redirect"
    )
    assert wechat.requests == []


def test_a_shop_without_an_official_account_gets_no_url(alpha: Tenant) -> None:
    # when
    with pytest.raises(DomainError) as raised:
        official_account_oauth_url(tenant_id=alpha.pk, redirect_uri=PAGE, state="ABC234")
    # then
    assert (raised.value.code, raised.value.status_code) == ("official_account_not_configured", 400)


def test_a_hosted_account_without_component_settings_is_unavailable(
    alpha: Tenant, settings: Settings
) -> None:
    # given
    _register(alpha, appid=HOSTED_OA_APPID, mode="component", app_secret=None)
    settings.WECHAT_COMPONENT_APPID = ""
    # when
    with pytest.raises(DomainError) as raised:
        official_account_oauth_url(tenant_id=alpha.pk, redirect_uri=PAGE, state="ABC234")
    # then
    assert (raised.value.code, raised.value.status_code) == ("wechat_unavailable", 503)


# --- code to openid, own mode


def test_own_mode_asks_sns_oauth2_access_token_with_the_merchants_secret(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given: the shopper went through the authorize page
    own_official_account(alpha)
    url = official_account_oauth_url(tenant_id=alpha.pk, redirect_uri=PAGE, state="ABC234")
    location = wechat.oauth_authorize(url, openid="oa-openid-1", unionid="union-1")
    code = location.split("code=")[1].split("&")[0]
    # when
    result = official_account_code_to_openid(tenant_id=alpha.pk, code=code)
    # then: snsapi_base tells no unionid
    assert result == WeChatOpenId(appid=OA_APPID, openid="oa-openid-1", unionid="")
    assert paths(wechat) == ["/connect/oauth2/authorize", "/sns/oauth2/access_token"]
    assert wechat.requests[1].query == {
        "appid": OA_APPID,
        "secret": OA_SECRET,
        "code": code,
        "grant_type": "authorization_code",
    }


def test_a_unionid_wechat_tells_is_kept(alpha: Tenant, wechat: FakeWeChat) -> None:
    # given
    own_official_account(alpha)
    code = wechat.code_for(OA_APPID, "oa-openid-1", unionid="union-1", scope="snsapi_userinfo")
    # when
    result = official_account_code_to_openid(tenant_id=alpha.pk, code=code)
    # then
    assert (result.openid, result.unionid) == ("oa-openid-1", "union-1")


@pytest.mark.parametrize(
    ("errcode", "expected"),
    [
        (40029, ("wechat_code_invalid", 400)),
        (40163, ("wechat_code_used", 400)),
        (40226, ("wechat_user_blocked", 403)),
        (40125, ("official_account_misconfigured", 400)),
        (40013, ("official_account_misconfigured", 400)),
        (-1, ("wechat_unavailable", 503)),
        (45011, ("wechat_unavailable", 503)),
        (48001, ("wechat_login_failed", 502)),
    ],
)
def test_wechat_error_codes_become_domain_errors(
    alpha: Tenant, wechat: FakeWeChat, errcode: int, expected: tuple[str, int]
) -> None:
    # given
    own_official_account(alpha)
    wechat.fail_next(1, errcode=errcode)
    # when
    with pytest.raises(DomainError) as raised:
        official_account_code_to_openid(
            tenant_id=alpha.pk, code=wechat.code_for(OA_APPID, "oa-openid-1")
        )
    # then
    assert (raised.value.code, raised.value.status_code) == expected


def test_a_used_code_and_a_code_of_another_app_are_refused(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    own_official_account(alpha)
    code = wechat.code_for(OA_APPID, "oa-openid-1")
    official_account_code_to_openid(tenant_id=alpha.pk, code=code)
    # when
    with pytest.raises(DomainError) as used:
        official_account_code_to_openid(tenant_id=alpha.pk, code=code)
    with pytest.raises(DomainError) as foreign:
        official_account_code_to_openid(
            tenant_id=alpha.pk, code=wechat.code_for(OWN_APPID, "miniprogram-openid")
        )
    # then
    assert (used.value.code, foreign.value.code) == ("wechat_code_used", "wechat_code_invalid")


@pytest.mark.parametrize("failure", ["http_503", "timeout", "connection_refused"])
def test_wechat_down_is_wechat_unavailable_and_logs_no_secret_nor_code(
    alpha: Tenant,
    wechat: FakeWeChat,
    caplog: pytest.LogCaptureFixture,
    settings: Settings,
    failure: str,
) -> None:
    # given
    own_official_account(alpha)
    code = wechat.code_for(OA_APPID, "oa-openid-1")
    if failure == "http_503":
        wechat.fail_next(1, http_status=503)
    elif failure == "timeout":
        wechat.latency_s = 1.0
        settings.WECHAT_TIMEOUT_S = 0.2
    else:
        settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"
    # when
    with caplog.at_level(logging.DEBUG), pytest.raises(DomainError) as raised:
        official_account_code_to_openid(tenant_id=alpha.pk, code=code)
    # then
    assert (raised.value.code, raised.value.status_code) == ("wechat_unavailable", 503)
    assert "WeChat unreachable for Official Account" in caplog.text
    assert OA_SECRET not in caplog.text
    assert code not in caplog.text
    assert raised.value.__cause__ is None


def test_an_empty_code_is_refused_before_wechat_is_asked(alpha: Tenant, wechat: FakeWeChat) -> None:
    # given
    own_official_account(alpha)
    # when
    with pytest.raises(ValidationFailed) as raised:
        official_account_code_to_openid(tenant_id=alpha.pk, code="  ")
    # then
    assert _field_codes(raised.value) == {"code": ["invalid"]}
    assert wechat.requests == []


def test_a_shop_without_an_official_account_is_not_configured(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # when
    with pytest.raises(DomainError) as raised:
        official_account_code_to_openid(tenant_id=alpha.pk, code="any-code")
    # then
    assert raised.value.code == "official_account_not_configured"
    assert wechat.requests == []


# --- code to openid, component mode


def test_component_mode_exchanges_the_code_with_the_component_token(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    hosted_official_account(alpha, wechat)
    url = official_account_oauth_url(tenant_id=alpha.pk, redirect_uri=PAGE, state="ABC234")
    location = wechat.oauth_authorize(url, openid="hosted-oa-1")
    code = location.split("code=")[1].split("&")[0]
    # when
    result = official_account_code_to_openid(tenant_id=alpha.pk, code=code)
    # then
    assert result == WeChatOpenId(appid=HOSTED_OA_APPID, openid="hosted-oa-1", unionid="")
    assert paths(wechat) == [
        "/connect/oauth2/authorize",
        "/cgi-bin/component/api_component_token",
        "/sns/oauth2/component/access_token",
    ]
    token = DatabaseStorage(component_storage_prefix(COMPONENT_APPID)).get("component_access_token")
    assert wechat.requests[2].query == {
        "appid": HOSTED_OA_APPID,
        "component_appid": COMPONENT_APPID,
        "component_access_token": token,
        "code": code,
        "grant_type": "authorization_code",
    }


def test_an_expired_component_token_is_renewed_and_the_exchange_retried(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    hosted_official_account(alpha, wechat)
    official_account_code_to_openid(
        tenant_id=alpha.pk, code=wechat.code_for(HOSTED_OA_APPID, "o-1")
    )
    first_token = wechat.requests[1].query["component_access_token"]
    wechat.expire_component_tokens()
    # when
    result = official_account_code_to_openid(
        tenant_id=alpha.pk, code=wechat.code_for(HOSTED_OA_APPID, "o-2")
    )
    # then
    assert result.openid == "o-2"
    assert paths(wechat)[2:] == [
        "/sns/oauth2/component/access_token",
        "/cgi-bin/component/api_component_token",
        "/sns/oauth2/component/access_token",
    ]
    assert wechat.requests[2].query["component_access_token"] == first_token
    assert wechat.requests[4].query["component_access_token"] != first_token


def test_without_a_verify_ticket_the_exchange_is_unavailable_and_wechat_not_asked(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    _register(alpha, appid=HOSTED_OA_APPID, mode="component", app_secret=None)
    # when
    with pytest.raises(DomainError) as raised:
        official_account_code_to_openid(
            tenant_id=alpha.pk, code=wechat.code_for(HOSTED_OA_APPID, "o-1")
        )
    # then
    assert (raised.value.code, raised.value.status_code) == ("wechat_unavailable", 503)
    assert wechat.requests == []


def test_an_account_no_longer_authorized_to_the_component_is_misconfigured(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    hosted_official_account(alpha, wechat)
    wechat.deauthorize(COMPONENT_APPID, HOSTED_OA_APPID)
    # when
    with pytest.raises(DomainError) as raised:
        official_account_code_to_openid(
            tenant_id=alpha.pk, code=wechat.code_for(HOSTED_OA_APPID, "o-1")
        )
    # then
    assert raised.value.code == "official_account_misconfigured"
