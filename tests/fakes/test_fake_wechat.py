"""The fake WeChat API, driven by wechatpy's real clients (only their base URLs are set)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
from wechatpy import WeChatClient
from wechatpy.component import ComponentOAuth, WeChatComponent
from wechatpy.exceptions import (
    APILimitedException,
    InvalidSignatureException,
    WeChatClientException,
)
from wechatpy.oauth import WeChatOAuth
from wechatpy.session.redisstorage import RedisStorage

from tests.fakes.wechat import FakeWeChat, OAuthPageError

APPID = "wx-own-app"
SECRET = "own-secret"
COMPONENT_APPID = "wx-component"
COMPONENT_SECRET = "component-secret"
HOSTED_APPID = "wx-hosted-app"
OA_APPID = "wx-official-account"
OA_SECRET = "oa-secret"
HOSTED_OA_APPID = "wx-hosted-official-account"
SHOP_PAGE = "https://alpha.example.com/pay?order=1"


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    with FakeWeChat() as fake:
        fake.add_miniprogram(APPID, SECRET)
        fake.add_official_account(OA_APPID, OA_SECRET, oauth_domains=("alpha.example.com",))
        fake.add_official_account(HOSTED_OA_APPID)
        fake.add_component(
            COMPONENT_APPID, COMPONENT_SECRET, authorized=(HOSTED_APPID, HOSTED_OA_APPID)
        )
        yield fake


class _DictRedis:
    """The get/set/delete that wechatpy's RedisStorage needs, over one shared dict."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def set(self, key: str, value: Any, ex: int | None = None) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def _client(fake: FakeWeChat, secret: str = SECRET, timeout: float | None = None) -> Any:
    client = WeChatClient(APPID, secret, timeout=timeout)
    client.API_BASE_URL = f"{fake.base_url}/cgi-bin/"
    client.wxa.API_BASE_URL = f"{fake.base_url}/"
    return client


def _login(client: Any, code: str) -> Any:
    """The call the members service makes: the documented parameters, no access token."""
    return client.get(
        "sns/jscode2session",
        api_base_url=client.wxa.API_BASE_URL,
        params=[
            ("appid", client.appid),
            ("secret", client.secret),
            ("js_code", code),
            ("grant_type", "authorization_code"),
        ],
    )


def _component(fake: FakeWeChat, backing: _DictRedis | None = None) -> Any:
    registered = fake.component(COMPONENT_APPID)
    storage = RedisStorage(backing or _DictRedis(), prefix=f"wechat:{COMPONENT_APPID}")
    component = WeChatComponent(
        COMPONENT_APPID,
        COMPONENT_SECRET,
        registered.token,
        registered.encoding_aes_key,
        session=storage,
    )
    component.API_BASE_URL = f"{fake.base_url}/cgi-bin"
    query, body = fake.ticket_push(COMPONENT_APPID)
    component.parse_message(body, query["msg_signature"], query["timestamp"], query["nonce"])
    return component


def _component_login(fake: FakeWeChat, component: Any, code: str, appid: str = HOSTED_APPID) -> Any:
    return component.get(
        "sns/component/jscode2session",
        api_base_url=f"{fake.base_url}/",
        data=None,
        params={
            "appid": appid,
            "js_code": code,
            "grant_type": "authorization_code",
            "component_appid": component.component_appid,
        },
    )


def _paths(fake: FakeWeChat) -> list[str]:
    return [request.path for request in fake.requests]


def test_own_miniprogram_login_returns_openid_and_unionid(wechat: FakeWeChat) -> None:
    # given
    code = wechat.code_for(APPID, "openid-1", unionid="union-1")

    # when
    result = _login(_client(wechat), code)

    # then
    assert set(result) == {"openid", "session_key", "unionid"}
    assert (result["openid"], result["unionid"]) == ("openid-1", "union-1")
    assert wechat.requests[0].query == {
        "appid": APPID,
        "secret": SECRET,
        "js_code": code,
        "grant_type": "authorization_code",
    }


def test_wxa_code_to_session_works_when_the_client_holds_an_access_token(
    wechat: FakeWeChat,
) -> None:
    # given: without a token wechatpy would fetch one from the real host, whose URL is fixed
    client = WeChatClient(APPID, SECRET, access_token="token-from-the-shops-cache")
    client.wxa.API_BASE_URL = f"{wechat.base_url}/"
    code = wechat.code_for(APPID, "openid-1")

    # when
    result = client.wxa.code_to_session(code)

    # then
    assert set(result) == {"openid", "session_key"}
    assert result["openid"] == "openid-1"
    assert _paths(wechat) == ["/sns/jscode2session"]


def test_a_code_is_single_use(wechat: FakeWeChat) -> None:
    # given
    client = _client(wechat)
    code = wechat.code_for(APPID, "openid-1")
    _login(client, code)

    # when
    with pytest.raises(WeChatClientException) as raised:
        _login(client, code)

    # then
    assert (raised.value.errcode, raised.value.errmsg) == (40163, "code been used")


def test_an_unknown_code_or_a_code_of_another_app_is_invalid(wechat: FakeWeChat) -> None:
    # given
    other_app_code = wechat.code_for(HOSTED_APPID, "openid-1")
    client = _client(wechat)

    # when
    with pytest.raises(WeChatClientException) as unknown:
        _login(client, "no-such-code")
    with pytest.raises(WeChatClientException) as foreign:
        _login(client, other_app_code)

    # then
    assert (unknown.value.errcode, foreign.value.errcode) == (40029, 40029)


def test_an_expired_code_is_invalid(wechat: FakeWeChat) -> None:
    # given
    wechat.code_ttl_s = 0.0
    code = wechat.code_for(APPID, "openid-1")

    # when
    with pytest.raises(WeChatClientException) as raised:
        _login(_client(wechat), code)

    # then
    assert raised.value.errcode == 40029


def test_a_wrong_secret_is_refused_and_leaves_the_code_usable(wechat: FakeWeChat) -> None:
    # given
    code = wechat.code_for(APPID, "openid-1")

    # when
    with pytest.raises(WeChatClientException) as raised:
        _login(_client(wechat, secret="wrong"), code)

    # then
    assert (raised.value.errcode, raised.value.errmsg) == (40125, "invalid appsecret")
    assert _login(_client(wechat), code)["openid"] == "openid-1"


def test_a_hosted_miniprogram_has_no_secret_login(wechat: FakeWeChat) -> None:
    # given
    code = wechat.code_for(HOSTED_APPID, "openid-1")
    client = WeChatClient(HOSTED_APPID, "")
    client.wxa.API_BASE_URL = f"{wechat.base_url}/"

    # when
    with pytest.raises(WeChatClientException) as raised:
        _login(client, code)

    # then
    assert raised.value.errcode == 40125


def test_component_fetches_its_token_with_the_pushed_verify_ticket(wechat: FakeWeChat) -> None:
    # given: two components keep their state in one store under their own prefixes
    backing = _DictRedis()
    component = _component(wechat, backing)
    RedisStorage(backing, prefix="wechat:other-component").set("component_verify_ticket", "x")

    # when
    token = component.access_token

    # then
    assert _paths(wechat) == ["/cgi-bin/component/api_component_token"]
    assert sorted(backing.data) == [
        "wechat:other-component:component_verify_ticket",
        f"wechat:{COMPONENT_APPID}:component_access_token",
        f"wechat:{COMPONENT_APPID}:component_verify_ticket",
    ]
    assert backing.data[f"wechat:{COMPONENT_APPID}:component_access_token"] == f'"{token}"'


def test_a_ticket_push_under_another_token_fails_wechatpys_signature_check(
    wechat: FakeWeChat,
) -> None:
    # given
    registered = wechat.component(COMPONENT_APPID)
    component = WeChatComponent(
        COMPONENT_APPID, COMPONENT_SECRET, "not-our-token", registered.encoding_aes_key
    )
    query, body = wechat.ticket_push(COMPONENT_APPID)

    # when
    with pytest.raises(InvalidSignatureException):
        component.parse_message(body, query["msg_signature"], query["timestamp"], query["nonce"])

    # then
    assert component.session.get("component_verify_ticket") is None


def test_component_token_is_refused_for_a_wrong_ticket_or_secret(wechat: FakeWeChat) -> None:
    # given
    component = _component(wechat)
    component.session.set("component_verify_ticket", "stale-ticket")
    registered = wechat.component(COMPONENT_APPID)
    wrong_secret = WeChatComponent(
        COMPONENT_APPID, "wrong", registered.token, registered.encoding_aes_key
    )
    wrong_secret.API_BASE_URL = component.API_BASE_URL
    wrong_secret.session.set("component_verify_ticket", registered.verify_ticket)

    # when
    with pytest.raises(WeChatClientException) as bad_ticket:
        component.fetch_access_token()
    with pytest.raises(WeChatClientException) as bad_secret:
        wrong_secret.fetch_access_token()

    # then
    assert (bad_ticket.value.errcode, bad_secret.value.errcode) == (61006, 40125)
    assert component.session.get("component_access_token") is None


def test_component_login_for_an_authorized_miniprogram(wechat: FakeWeChat) -> None:
    # given
    component = _component(wechat)
    code = wechat.code_for(HOSTED_APPID, "openid-h", unionid="union-h")

    # when
    result = _component_login(wechat, component, code)

    # then
    assert (result["openid"], result["unionid"]) == ("openid-h", "union-h")
    assert _paths(wechat) == [
        "/cgi-bin/component/api_component_token",
        "/sns/component/jscode2session",
    ]
    assert wechat.requests[1].query == {
        "appid": HOSTED_APPID,
        "js_code": code,
        "grant_type": "authorization_code",
        "component_appid": COMPONENT_APPID,
        "component_access_token": component.access_token,
    }


def test_component_login_codes_are_single_use(wechat: FakeWeChat) -> None:
    # given
    component = _component(wechat)
    code = wechat.code_for(HOSTED_APPID, "openid-h")
    _component_login(wechat, component, code)

    # when
    with pytest.raises(WeChatClientException) as raised:
        _component_login(wechat, component, code)

    # then
    assert raised.value.errcode == 40163


def test_component_login_refuses_a_miniprogram_not_authorized_to_it(wechat: FakeWeChat) -> None:
    # given
    component = _component(wechat)
    wechat.deauthorize(COMPONENT_APPID, HOSTED_APPID)
    code = wechat.code_for(HOSTED_APPID, "openid-h")

    # when
    with pytest.raises(WeChatClientException) as raised:
        _component_login(wechat, component, code)

    # then
    assert raised.value.errcode == 61003


def test_an_expired_component_token_is_renewed_and_the_login_retried(wechat: FakeWeChat) -> None:
    # given
    component = _component(wechat)
    first_token = component.access_token
    wechat.expire_component_tokens()
    code = wechat.code_for(HOSTED_APPID, "openid-h")

    # when
    result = _component_login(wechat, component, code)

    # then
    assert result["openid"] == "openid-h"
    assert _paths(wechat) == [
        "/cgi-bin/component/api_component_token",
        "/sns/component/jscode2session",
        "/cgi-bin/component/api_component_token",
        "/sns/component/jscode2session",
    ]
    assert wechat.requests[1].query["component_access_token"] == first_token
    assert component.access_token != first_token


def test_an_unknown_component_token_is_refused_without_retry(wechat: FakeWeChat) -> None:
    # given
    component = _component(wechat)
    component.auto_retry = False
    component.session.set("component_access_token", "forged")
    code = wechat.code_for(HOSTED_APPID, "openid-h")

    # when
    with pytest.raises(WeChatClientException) as raised:
        _component_login(wechat, component, code)

    # then
    assert raised.value.errcode == 40001
    assert _paths(wechat) == ["/sns/component/jscode2session"]


def test_fail_next_answers_errcodes_then_recovers(wechat: FakeWeChat) -> None:
    # given
    client = _client(wechat)
    code = wechat.code_for(APPID, "openid-1")
    wechat.fail_next(1)
    wechat.fail_next(1, errcode=45011)

    # when
    with pytest.raises(WeChatClientException) as system_error:
        _login(client, code)
    with pytest.raises(WeChatClientException) as rate_limited:
        _login(client, code)
    result = _login(client, code)

    # then: failed calls did not use the code up
    assert (system_error.value.errcode, system_error.value.errmsg) == (-1, "system error")
    assert rate_limited.value.errcode == 45011
    assert result["openid"] == "openid-1"


def test_fail_next_with_45009_is_wechatpys_api_limited_error(wechat: FakeWeChat) -> None:
    # given
    wechat.fail_next(1, errcode=45009)

    # when / then
    with pytest.raises(APILimitedException):
        _login(_client(wechat), wechat.code_for(APPID, "openid-1"))


def test_fail_next_with_http_status_is_an_http_error(wechat: FakeWeChat) -> None:
    # given
    wechat.fail_next(2, http_status=503)
    component = _component(wechat)

    # when
    with pytest.raises(WeChatClientException) as plain:
        _login(_client(wechat), wechat.code_for(APPID, "openid-1"))
    with pytest.raises(WeChatClientException) as by_component:
        component.fetch_access_token()

    # then
    assert (plain.value.errcode, plain.value.response.status_code) == (None, 503)
    assert by_component.value.response.status_code == 503
    assert component.session.get("component_access_token") is None


def test_latency_beyond_the_client_timeout_is_a_timeout(wechat: FakeWeChat) -> None:
    # given
    wechat.latency_s = 1.0
    code = wechat.code_for(APPID, "openid-1")

    # when / then
    with pytest.raises(requests.Timeout):
        _login(_client(wechat, timeout=0.2), code)


def test_latency_within_the_client_timeout_still_answers(wechat: FakeWeChat) -> None:
    # given
    wechat.latency_s = 0.2
    code = wechat.code_for(APPID, "openid-1")

    # when
    result = _login(_client(wechat, timeout=5), code)

    # then
    assert result["openid"] == "openid-1"


# --- Official Accounts: web authorization (snsapi_base OAuth)


def _oauth(fake: FakeWeChat, secret: str = OA_SECRET, redirect_uri: str = SHOP_PAGE) -> Any:
    oauth = WeChatOAuth(OA_APPID, secret, redirect_uri, scope="snsapi_base", state="abc123")
    oauth.API_BASE_URL = f"{fake.base_url}/"
    return oauth


def _back(location: str) -> dict[str, str]:
    """The query WeChat sent the browser back with."""
    return dict(parse_qsl(urlsplit(location).query))


def test_the_authorize_page_sends_the_browser_back_with_a_code_and_the_state(
    wechat: FakeWeChat,
) -> None:
    # given
    oauth = _oauth(wechat)
    # when
    location = wechat.oauth_authorize(oauth.authorize_url, openid="oa-openid-1")
    # then
    assert location.startswith("https://alpha.example.com/pay?order=1&code=")
    back = _back(location)
    assert set(back) == {"order", "code", "state"}
    assert back["state"] == "abc123"
    assert wechat.requests[0].path == "/connect/oauth2/authorize"
    assert wechat.requests[0].query == {
        "appid": OA_APPID,
        "redirect_uri": SHOP_PAGE,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "abc123",
    }


def test_an_own_official_accounts_code_tells_the_openid(wechat: FakeWeChat) -> None:
    # given
    oauth = _oauth(wechat)
    code = _back(wechat.oauth_authorize(oauth.authorize_url, openid="oa-1", unionid="u-1"))["code"]
    # when
    result = oauth.fetch_access_token(code)
    # then: snsapi_base tells no unionid, as WeChat documents
    assert set(result) == {"access_token", "expires_in", "refresh_token", "openid", "scope"}
    assert (result["openid"], result["scope"], result["expires_in"]) == (
        "oa-1",
        "snsapi_base",
        7200,
    )
    assert wechat.requests[-1].path == "/sns/oauth2/access_token"
    assert wechat.requests[-1].query == {
        "appid": OA_APPID,
        "secret": OA_SECRET,
        "code": code,
        "grant_type": "authorization_code",
    }


def test_a_snsapi_userinfo_code_tells_the_unionid(wechat: FakeWeChat) -> None:
    # given
    code = wechat.code_for(OA_APPID, "oa-1", unionid="u-1", scope="snsapi_userinfo")
    # when
    result = _oauth(wechat).fetch_access_token(code)
    # then
    assert (result["openid"], result["unionid"], result["scope"]) == (
        "oa-1",
        "u-1",
        "snsapi_userinfo",
    )


def test_an_official_account_code_is_single_use(wechat: FakeWeChat) -> None:
    # given
    oauth = _oauth(wechat)
    code = wechat.code_for(OA_APPID, "oa-1")
    oauth.fetch_access_token(code)
    # when
    with pytest.raises(WeChatClientException) as raised:
        oauth.fetch_access_token(code)
    # then
    assert (raised.value.errcode, raised.value.errmsg) == (40163, "code been used")


def test_apps_of_one_kind_are_refused_by_the_other_kinds_endpoints(wechat: FakeWeChat) -> None:
    # given
    miniprogram_code = wechat.code_for(APPID, "openid-1")
    oa_code = wechat.code_for(OA_APPID, "oa-1")
    as_official_account = WeChatOAuth(APPID, SECRET, SHOP_PAGE)
    as_official_account.API_BASE_URL = f"{wechat.base_url}/"
    as_miniprogram = WeChatClient(OA_APPID, OA_SECRET)
    as_miniprogram.wxa.API_BASE_URL = f"{wechat.base_url}/"
    # when
    with pytest.raises(WeChatClientException) as oauth_of_a_miniprogram:
        as_official_account.fetch_access_token(miniprogram_code)
    with pytest.raises(WeChatClientException) as login_of_an_official_account:
        _login(as_miniprogram, oa_code)
    with pytest.raises(WeChatClientException) as miniprogram_code_for_the_account:
        _oauth(wechat).fetch_access_token(miniprogram_code)
    # then
    assert oauth_of_a_miniprogram.value.errcode == 40013
    assert login_of_an_official_account.value.errcode == 40013
    assert miniprogram_code_for_the_account.value.errcode == 40029
    assert _oauth(wechat).fetch_access_token(oa_code)["openid"] == "oa-1"


def test_a_wrong_official_account_secret_is_refused_and_leaves_the_code_usable(
    wechat: FakeWeChat,
) -> None:
    # given
    code = wechat.code_for(OA_APPID, "oa-1")
    # when
    with pytest.raises(WeChatClientException) as raised:
        _oauth(wechat, secret="wrong").fetch_access_token(code)
    # then
    assert raised.value.errcode == 40125
    assert _oauth(wechat).fetch_access_token(code)["openid"] == "oa-1"


def test_the_component_exchanges_codes_of_an_official_account_authorized_to_it(
    wechat: FakeWeChat,
) -> None:
    # given
    component = _component(wechat)
    oauth = component.get_component_oauth(HOSTED_OA_APPID)
    oauth.API_BASE_URL = f"{wechat.base_url}/"
    url = oauth.get_authorize_url(SHOP_PAGE, "snsapi_base", "xyz789")
    # when
    location = wechat.oauth_authorize(url, openid="hosted-oa-1")
    result = oauth.fetch_access_token(_back(location)["code"])
    # then: WeChat names the account in the redirect of a component's authorization
    back = _back(location)
    assert (back["state"], back["appid"]) == ("xyz789", HOSTED_OA_APPID)
    assert wechat.requests[0].query["component_appid"] == COMPONENT_APPID
    assert result["openid"] == "hosted-oa-1"
    assert _paths(wechat) == [
        "/connect/oauth2/authorize",
        "/cgi-bin/component/api_component_token",
        "/sns/oauth2/component/access_token",
    ]
    assert wechat.requests[2].query == {
        "appid": HOSTED_OA_APPID,
        "component_appid": COMPONENT_APPID,
        "component_access_token": component.access_token,
        "code": back["code"],
        "grant_type": "authorization_code",
    }


def test_the_component_cannot_exchange_codes_of_an_account_not_authorized_to_it(
    wechat: FakeWeChat,
) -> None:
    # given
    component = _component(wechat)
    wechat.deauthorize(COMPONENT_APPID, HOSTED_OA_APPID)
    oauth = component.get_component_oauth(HOSTED_OA_APPID)
    oauth.API_BASE_URL = f"{wechat.base_url}/"
    code = wechat.code_for(HOSTED_OA_APPID, "hosted-oa-1")
    # when
    with pytest.raises(WeChatClientException) as exchange:
        oauth.fetch_access_token(code)
    with pytest.raises(OAuthPageError) as page:
        wechat.oauth_authorize(oauth.get_authorize_url(SHOP_PAGE), openid="hosted-oa-1")
    # then
    assert (exchange.value.errcode, page.value.errcode) == (61003, 10015)


def test_an_expired_component_token_is_renewed_for_the_oauth_exchange(
    wechat: FakeWeChat,
) -> None:
    # given: wechatpy's own retry (auto_retry) on 42001
    component = _component(wechat)
    first_token = component.access_token
    wechat.expire_component_tokens()
    oauth = component.get_component_oauth(HOSTED_OA_APPID)
    oauth.API_BASE_URL = f"{wechat.base_url}/"
    # when
    result = oauth.fetch_access_token(wechat.code_for(HOSTED_OA_APPID, "hosted-oa-1"))
    # then
    assert result["openid"] == "hosted-oa-1"
    assert _paths(wechat)[1:] == [
        "/sns/oauth2/component/access_token",
        "/cgi-bin/component/api_component_token",
        "/sns/oauth2/component/access_token",
    ]
    assert wechat.requests[1].query["component_access_token"] == first_token
    assert wechat.requests[3].query["component_access_token"] != first_token


def _authorize_url(**changes: str | None) -> str:
    query = {
        "appid": OA_APPID,
        "redirect_uri": SHOP_PAGE,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "abc123",
    }
    fragment = changes.pop("fragment", "wechat_redirect")
    for name, value in changes.items():
        if value is None:
            query.pop(name)
        else:
            query[name] = value
    pairs = "&".join(f"{name}={quote(value, safe='')}" for name, value in query.items())
    return f"https://open.weixin.qq.com/connect/oauth2/authorize?{pairs}#{fragment}"


@pytest.mark.parametrize(
    ("changes", "errcode"),
    [
        ({"fragment": ""}, -1),
        ({"appid": None}, 10012),
        ({"appid": "wx-unknown"}, -1),
        ({"appid": APPID}, 10016),
        ({"response_type": "token"}, -1),
        ({"scope": ""}, 10010),
        ({"scope": "snsapi_login"}, 10005),
        ({"state": "signed:value"}, -1),
        ({"state": "a" * 129}, -1),
        ({"redirect_uri": None}, 10011),
        ({"redirect_uri": "https://evil.example.net/pay"}, 10003),
        ({"component_appid": COMPONENT_APPID}, 10015),
    ],
)
def test_the_authorize_page_refuses_bad_urls_as_wechat_does(
    wechat: FakeWeChat, changes: dict[str, str | None], errcode: int
) -> None:
    # given
    url = _authorize_url(**changes)
    # when
    with pytest.raises(OAuthPageError) as raised:
        wechat.oauth_authorize(url, openid="oa-1")
    # then: no code was issued
    assert raised.value.errcode == errcode
    assert [request.path for request in wechat.requests] == ["/connect/oauth2/authorize"]


def test_fail_next_applies_to_the_oauth_exchange(wechat: FakeWeChat) -> None:
    # given
    code = wechat.code_for(OA_APPID, "oa-1")
    wechat.fail_next(1, http_status=503)
    wechat.fail_next(1, errcode=-1)
    oauth = _oauth(wechat)
    # when
    with pytest.raises(WeChatClientException) as http_error:
        oauth.fetch_access_token(code)
    with pytest.raises(WeChatClientException) as system_error:
        oauth.fetch_access_token(code)
    # then: the failed calls did not use the code up
    assert (http_error.value.errcode, http_error.value.response.status_code) == (None, 503)
    assert system_error.value.errcode == -1
    assert oauth.fetch_access_token(code)["openid"] == "oa-1"


def test_component_oauth_builds_the_url_wechat_documents() -> None:
    # given: the parameter order of WeChat's documentation, component_appid last
    oauth = ComponentOAuth("wx-a", component=_ComponentStub())
    # when
    url = oauth.get_authorize_url("https://shop.example.com/p?x=1", "snsapi_base", "s1")
    # then
    assert url == (
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx-a"
        "&redirect_uri=https%3A%2F%2Fshop.example.com%2Fp%3Fx%3D1&response_type=code"
        "&scope=snsapi_base&state=s1&component_appid=wx-component#wechat_redirect"
    )


class _ComponentStub:
    component_appid = COMPONENT_APPID
