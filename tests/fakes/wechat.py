"""The WeChat API (api.weixin.qq.com) on loopback: mini-program login and Official Account web
authorization (snsapi_base / snsapi_userinfo OAuth), each own and by component.

Endpoints (paths as on the real host):

- ``GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code``: login for a
  mini-program the merchant runs itself (any ``access_token`` parameter is ignored, as WeChat does).
- ``POST /cgi-bin/component/api_component_token`` (JSON ``component_appid``,
  ``component_appsecret``, ``component_verify_ticket``) -> ``component_access_token``, 7200 s.
- ``GET /sns/component/jscode2session?appid&js_code&grant_type=authorization_code
  &component_appid&component_access_token``: login for a mini-program authorized to a component.
- ``GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code``: an Official
  Account's web authorization code -> ``access_token``, ``expires_in``, ``refresh_token``,
  ``openid``, ``scope`` (and ``unionid`` for snsapi_userinfo only, as WeChat documents).
- ``GET /sns/oauth2/component/access_token?appid&code&grant_type=authorization_code
  &component_appid&component_access_token``: the same for an account authorized to a component.
- ``POST /cgi-bin/stable_token`` (JSON ``grant_type=client_credential``, ``appid``, ``secret``,
  ``force_refresh``) -> an app's ``access_token`` (7200 s; the same one until it expires or a
  forced refresh, as WeChat's stable token does).
- ``POST /cgi-bin/component/api_authorizer_token?component_access_token`` (JSON
  ``component_appid``, ``authorizer_appid``, ``authorizer_refresh_token``) -> an authorized app's
  ``authorizer_access_token`` (the refresh token is ``authorizer_refresh_token(...)``).
- ``POST /wxa/getwxacodeunlimit?access_token`` (JSON ``scene``, ``page``, ``width`` …): a
  mini-program code, as PNG bytes; errors as JSON: 40169 scene too long or of characters WeChat
  refuses, 41030 a page the app has not published (when ``publish_pages`` named its pages),
  45009 the app's code quota (``code_quota``) is used up, 40001/42001 for a bad/expired token.

The authorize page (open.weixin.qq.com/connect/oauth2/authorize, which WeChat's browser shows) is
``oauth_authorize(url, openid=…)``: it checks the URL as WeChat does and returns where WeChat
sends the browser back (``redirect_uri`` with ``code`` and ``state``, and ``appid`` in component
mode), or raises ``OAuthPageError`` with the code WeChat's error page shows.

Pointing wechatpy 1.8.18 at the fake (``base`` is ``fake.base_url`` or the real
``https://api.weixin.qq.com``; each API class has its own base URL)::

    client = WeChatClient(appid, secret)
    client.API_BASE_URL = f"{base}/cgi-bin/"
    client.wxa.API_BASE_URL = f"{base}/"
    # wxa.code_to_session attaches an access token, fetching one from the hard-coded real
    # /cgi-bin/token when the client has none (which also rotates the merchant's own token).
    # Send the documented parameters only: a list of pairs is not a dict, so none is attached.
    client.get("sns/jscode2session", api_base_url=client.wxa.API_BASE_URL, params=[
        ("appid", appid), ("secret", secret), ("js_code", code),
        ("grant_type", "authorization_code")])

    component = WeChatComponent(component_appid, secret, token, aes_key, session=storage)
    component.API_BASE_URL = f"{base}/cgi-bin"   # no trailing slash: wechatpy adds "/component/…"
    component.get("sns/component/jscode2session", api_base_url=f"{base}/", data=None, params={
        "appid": appid, "js_code": code, "grant_type": "authorization_code",
        "component_appid": component.component_appid})
    # wechatpy adds component_access_token (fetching it with the stored verify ticket) and, on
    # 40001/40014/42001, fetches a new one and retries once. data=None: get() without it raises
    # KeyError. Give each component a storage with its own prefix (wechatpy's keys are bare).

    oauth = WeChatOAuth(appid, secret, "")          # an Official Account the merchant runs
    oauth.API_BASE_URL = f"{base}/"
    oauth.fetch_access_token(code)
    oauth = component.get_component_oauth(appid)    # one authorized to the component
    oauth.API_BASE_URL = f"{base}/"
    oauth.fetch_access_token(code)                  # adds component_access_token itself

Errors are WeChat's ``{"errcode", "errmsg"}`` with HTTP 200. Knobs: ``fail_next``, ``latency_s``,
``code_ttl_s``, ``expire_component_tokens``; ``requests`` records every request received (and
each visit of the authorize page). An app is a mini-program or an Official Account: each
endpoint refuses the other kind's appid (40013), and a code only works for its own app.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    42001: "access_token expired",
    40097: "invalid args",
    40169: "invalid length for scene, or the data is not json string",
    41030: "invalid page rule",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    61003: "component is not authorized by this account",
    61006: "component ticket is invalid",
    61023: "invalid refresh_token",
}
# The characters WeChat allows in a getwxacodeunlimit scene (at most 32 of them).
SCENE_CHARACTERS = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#$&'()*+,/:;=?@-._~"
)
SCENE_MAX_LENGTH = 32
# What WeChat's authorize page shows for a bad URL.
OAUTH_PAGE_ERRORS = {
    -1: "bad request",
    10003: "redirect_uri域名与后台配置不一致",
    10005: "此公众号并没有这些scope的权限",
    10010: "scope不能为空",
    10011: "redirect_uri不能为空",
    10012: "appid不能为空",
    10015: "公众号未授权第三方平台，请检查授权状态",
    10016: "不支持微信开放平台的Appid，请使用公众号Appid",
}
OAUTH_PATH = "/connect/oauth2/authorize"
OAUTH_SCOPES = ("snsapi_base", "snsapi_userinfo")
STATE_MAX_BYTES = 128
MINIPROGRAM = "miniprogram"
OFFICIAL_ACCOUNT = "official_account"


class OAuthPageError(Exception):
    """The authorize page refused the URL, as WeChat's error page says."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        self.errcode = errcode
        message = OAUTH_PAGE_ERRORS.get(errcode, "error")
        super().__init__(f"{errcode} {message}" + (f": {detail}" if detail else ""))


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: bytes


@dataclass
class Component:
    """A third-party platform registered on the fake."""

    component_appid: str
    secret: str
    token: str
    encoding_aes_key: str
    verify_ticket: str
    authorized: set[str] = field(default_factory=set)


@dataclass
class _Code:
    appid: str
    openid: str
    unionid: str | None
    issued_at: float
    # The web authorization scope of an Official Account's code; None for wx.login() codes.
    scope: str | None = None
    used: bool = False


@dataclass
class _Failure:
    errcode: int
    http_status: int | None


class FakeWeChat:
    """The WeChat API on 127.0.0.1 with an ephemeral port; use as a context manager."""

    def __init__(self) -> None:
        self.latency_s = 0.0
        self.code_ttl_s = 300.0
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._apps: dict[str, str | None] = {}
        self._kinds: dict[str, str] = {}
        # appid -> the web authorization domains (网页授权域名) its redirect_uri must be on.
        self._oauth_domains: dict[str, tuple[str, ...]] = {}
        self._components: dict[str, Component] = {}
        self._codes: dict[str, _Code] = {}
        # token -> (component_appid, expired)
        self._component_tokens: dict[str, tuple[str, bool]] = {}
        self._failures: list[_Failure] = []
        # token -> (appid, expired): apps' own (stable) tokens and authorizer tokens alike.
        self._app_tokens: dict[str, tuple[str, bool]] = {}
        # (component_appid, appid) -> the authorizer refresh token WeChat gave at authorization.
        self._refresh_tokens: dict[tuple[str, str], str] = {}
        # appid -> its published pages; an app without an entry accepts any page.
        self._pages: dict[str, frozenset[str]] = {}
        # appid -> mini-program codes WeChat still makes today (None: no limit).
        self.code_quota: dict[str, int] = {}
        # (appid, scene, page) of every code made.
        self.codes_made: list[tuple[str, str, str]] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll keeps shutdown (each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeWeChat:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    # --- setup -----------------------------------------------------------------------------

    def add_miniprogram(self, appid: str, secret: str | None = None) -> None:
        """A mini-program; without a secret only component login works for it."""
        with self._lock:
            self._apps[appid] = secret
            self._kinds[appid] = MINIPROGRAM

    def add_official_account(
        self, appid: str, secret: str | None = None, *, oauth_domains: tuple[str, ...] = ()
    ) -> None:
        """An Official Account (服务号); without a secret only its component exchanges codes.

        `oauth_domains`: its web authorization domains; the authorize page then refuses a
        redirect_uri on any other host (10003). Empty: any host (the check is not exercised).
        """
        with self._lock:
            self._apps[appid] = secret
            self._kinds[appid] = OFFICIAL_ACCOUNT
            self._oauth_domains[appid] = tuple(domain.lower() for domain in oauth_domains)

    def add_component(
        self,
        component_appid: str,
        secret: str,
        *,
        authorized: tuple[str, ...] = (),
        token: str = "fake-component-token",  # noqa: S107 (a test value)
        encoding_aes_key: str | None = None,
    ) -> Component:
        """A third-party platform; `authorized` apps are registered too (as mini-programs unless
        added as Official Accounts before)."""
        aes_key = encoding_aes_key or base64.b64encode(os.urandom(32)).decode().rstrip("=")
        component = Component(
            component_appid=component_appid,
            secret=secret,
            token=token,
            encoding_aes_key=aes_key,
            verify_ticket=f"ticket@@@{secrets.token_urlsafe(24)}",
        )
        with self._lock:
            self._components[component_appid] = component
        for appid in authorized:
            self.authorize(component_appid, appid)
        return component

    def component(self, component_appid: str) -> Component:
        return self._components[component_appid]

    def authorize(self, component_appid: str, appid: str) -> None:
        with self._lock:
            self._apps.setdefault(appid, None)
            self._kinds.setdefault(appid, MINIPROGRAM)
            self._components[component_appid].authorized.add(appid)
            self._refresh_tokens.setdefault(
                (component_appid, appid), f"refreshtoken@@@{secrets.token_urlsafe(24)}"
            )

    def authorizer_refresh_token(self, component_appid: str, appid: str) -> str:
        """The authorizer_refresh_token WeChat gave the component when `appid` authorized it."""
        return self._refresh_tokens[(component_appid, appid)]

    def publish_pages(self, appid: str, pages: tuple[str, ...]) -> None:
        """The pages of the app's released version; codes for any other page fail (41030)."""
        with self._lock:
            self._pages[appid] = frozenset(pages)

    def deauthorize(self, component_appid: str, appid: str) -> None:
        with self._lock:
            self._components[component_appid].authorized.discard(appid)

    def code_for(
        self, appid: str, openid: str, unionid: str | None = None, *, scope: str | None = None
    ) -> str:
        """A one-time code: a js_code as `wx.login()` gives the mini-program, or (for an
        Official Account) the code its authorize page gives, for `scope` (snsapi_base if None)."""
        code = secrets.token_hex(16)
        with self._lock:
            if self._kinds.get(appid) == OFFICIAL_ACCOUNT and scope is None:
                scope = "snsapi_base"
            self._codes[code] = _Code(appid, openid, unionid, time.monotonic(), scope)
        return code

    def oauth_authorize(self, url: str, *, openid: str, unionid: str | None = None) -> str:
        """The WeChat user `openid` opens the authorize page `url`: where WeChat redirects.

        Checked as WeChat does: the path and ``#wechat_redirect``, an Official Account's appid,
        ``response_type=code``, the scope, ``state`` (a-zA-Z0-9, at most 128 bytes), the
        redirect_uri's host against the account's web authorization domains, and with
        ``component_appid`` that the account is authorized to that component. Each visit is
        recorded in `requests`.
        """
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self.requests.append(RecordedRequest("GET", parts.path, query, b""))
        if parts.path != OAUTH_PATH or parts.fragment != "wechat_redirect":
            raise OAuthPageError(-1, "not an authorize URL ending in #wechat_redirect")
        appid = query.get("appid", "")
        if not appid:
            raise OAuthPageError(10012)
        kind = self._kinds.get(appid)
        if kind is None:
            raise OAuthPageError(-1, "unknown appid")
        if kind != OFFICIAL_ACCOUNT:
            raise OAuthPageError(10016)
        if query.get("response_type") != "code":
            raise OAuthPageError(-1, "response_type must be code")
        scope = query.get("scope", "")
        if not scope:
            raise OAuthPageError(10010)
        if scope not in OAUTH_SCOPES:
            raise OAuthPageError(10005)
        state = query.get("state", "")
        # WeChat documents state as optional, a-zA-Z0-9 and at most 128 bytes.
        if state and (len(state) > STATE_MAX_BYTES or not (state.isascii() and state.isalnum())):
            raise OAuthPageError(-1, "state must be a-zA-Z0-9, at most 128 bytes")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri:
            raise OAuthPageError(10011)
        host = (urlsplit(redirect_uri).hostname or "").lower()
        domains = self._oauth_domains.get(appid, ())
        if domains and host not in domains:
            raise OAuthPageError(10003)
        component_appid = query.get("component_appid")
        if component_appid is not None:
            component = self._components.get(component_appid)
            if component is None or appid not in component.authorized:
                raise OAuthPageError(10015)
        code = self.code_for(appid, openid, unionid, scope=scope)
        back = {"code": code, "state": state}
        if component_appid is not None:
            back["appid"] = appid
        separator = "&" if "?" in redirect_uri else "?"
        return f"{redirect_uri}{separator}{urlencode(back)}"

    # --- knobs -----------------------------------------------------------------------------

    def fail_next(self, n: int = 1, *, errcode: int = -1, http_status: int | None = None) -> None:
        """The next `n` requests fail: with HTTP `http_status` if given, else with `errcode`."""
        with self._lock:
            self._failures.extend(_Failure(errcode, http_status) for _ in range(n))

    def expire_app_tokens(self) -> None:
        """Every app and authorizer access token issued so far answers 42001 from now on."""
        with self._lock:
            for token, (appid, _expired) in self._app_tokens.items():
                self._app_tokens[token] = (appid, True)

    def expire_component_tokens(self) -> None:
        """Every component access token issued so far answers 42001 from now on."""
        with self._lock:
            for token, (appid, _expired) in self._component_tokens.items():
                self._component_tokens[token] = (appid, True)

    def ticket_push(self, component_appid: str) -> tuple[dict[str, str], bytes]:
        """The component_verify_ticket push WeChat POSTs every 10 minutes: (query, body).

        Encrypted as WeChat does (AES-256-CBC, PKCS#7 to 32 bytes, SHA-1 signatures), for
        `WeChatComponent.parse_message(body, query["msg_signature"], query["timestamp"],
        query["nonce"])`.
        """
        component = self._components[component_appid]
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(5)
        message = (
            f"<xml><AppId><![CDATA[{component_appid}]]></AppId>"
            f"<CreateTime>{timestamp}</CreateTime>"
            "<InfoType><![CDATA[component_verify_ticket]]></InfoType>"
            f"<ComponentVerifyTicket><![CDATA[{component.verify_ticket}]]>"
            "</ComponentVerifyTicket></xml>"
        ).encode()
        encrypt = _encrypt(component.encoding_aes_key, message, component_appid)
        body = (
            f"<xml><AppId><![CDATA[{component_appid}]]></AppId>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        ).encode()
        query = {
            "signature": _sha1_sorted(component.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": _sha1_sorted(component.token, timestamp, nonce, encrypt),
        }
        return query, body

    # --- endpoints -------------------------------------------------------------------------

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _take_code(self, appid: str, value: str) -> _Code | dict[str, Any]:
        """The code, now used up; or WeChat's error for it."""
        with self._lock:
            code = self._codes.get(value)
            if code is None or code.appid != appid:
                return _error(40029)
            if code.used:
                return _error(40163)
            if time.monotonic() - code.issued_at > self.code_ttl_s:
                return _error(40029)
            code.used = True
        return code

    def _use_code(self, appid: str, js_code: str) -> dict[str, Any]:
        code = self._take_code(appid, js_code)
        if isinstance(code, dict):
            return code
        result: dict[str, Any] = {
            "session_key": base64.b64encode(os.urandom(16)).decode(),
            "openid": code.openid,
        }
        if code.unionid is not None:
            result["unionid"] = code.unionid
        return result

    def _oauth_token(self, appid: str, value: str) -> dict[str, Any]:
        code = self._take_code(appid, value)
        if isinstance(code, dict):
            return code
        scope = code.scope or "snsapi_base"
        result: dict[str, Any] = {
            "access_token": secrets.token_urlsafe(48),
            "expires_in": 7200,
            "refresh_token": secrets.token_urlsafe(48),
            "openid": code.openid,
            "scope": scope,
        }
        if scope == "snsapi_userinfo" and code.unionid is not None:
            result["unionid"] = code.unionid
        return result

    def oauth2_access_token(self, query: dict[str, str]) -> dict[str, Any]:
        appid = query.get("appid", "")
        if query.get("grant_type") != "authorization_code":
            return _error(40002)
        if self._kinds.get(appid) != OFFICIAL_ACCOUNT:
            return _error(40013)
        secret = self._apps[appid]
        if secret is None or query.get("secret") != secret:
            return _error(40125)
        return self._oauth_token(appid, query.get("code", ""))

    def _component_check(self, query: dict[str, str]) -> dict[str, Any] | None:
        """WeChat's error for the component, its token and the app; None when they are good."""
        component_appid = query.get("component_appid", "")
        if component_appid not in self._components:
            return _error(40013)
        issued = self._component_tokens.get(query.get("component_access_token", ""))
        if issued is None or issued[0] != component_appid:
            return _error(40001)
        if issued[1]:
            return _error(42001)
        if query.get("grant_type") != "authorization_code":
            return _error(40002)
        if query.get("appid", "") not in self._components[component_appid].authorized:
            return _error(61003)
        return None

    def component_oauth2_access_token(self, query: dict[str, str]) -> dict[str, Any]:
        refused = self._component_check(query)
        if refused is not None:
            return refused
        appid = query.get("appid", "")
        if self._kinds.get(appid) != OFFICIAL_ACCOUNT:
            return _error(40013)
        return self._oauth_token(appid, query.get("code", ""))

    def jscode2session(self, query: dict[str, str]) -> dict[str, Any]:
        appid = query.get("appid", "")
        if query.get("grant_type") != "authorization_code":
            return _error(40002)
        if self._kinds.get(appid) != MINIPROGRAM:
            return _error(40013)
        secret = self._apps[appid]
        if secret is None or query.get("secret") != secret:
            return _error(40125)
        return self._use_code(appid, query.get("js_code", ""))

    def component_token(self, body: dict[str, Any]) -> dict[str, Any]:
        component = self._components.get(str(body.get("component_appid", "")))
        if component is None:
            return _error(40013)
        if body.get("component_appsecret") != component.secret:
            return _error(40125)
        if body.get("component_verify_ticket") != component.verify_ticket:
            return _error(61006)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._component_tokens[token] = (component.component_appid, False)
        return {"component_access_token": token, "expires_in": 7200}

    def _app_token_issue(self, appid: str, *, reuse: bool) -> dict[str, Any]:
        with self._lock:
            if reuse:
                for token, (owner, expired) in self._app_tokens.items():
                    if owner == appid and not expired:
                        return {"access_token": token, "expires_in": 7200}
            token = secrets.token_urlsafe(32)
            self._app_tokens[token] = (appid, False)
        return {"access_token": token, "expires_in": 7200}

    def stable_token(self, body: dict[str, Any]) -> dict[str, Any]:
        appid = str(body.get("appid", ""))
        if body.get("grant_type") != "client_credential":
            return _error(40002)
        if appid not in self._apps:
            return _error(40013)
        secret = self._apps[appid]
        if secret is None or body.get("secret") != secret:
            return _error(40125)
        return self._app_token_issue(appid, reuse=not body.get("force_refresh"))

    def authorizer_token(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        component_appid = str(body.get("component_appid", ""))
        appid = str(body.get("authorizer_appid", ""))
        refused = self._component_check(
            {
                "component_appid": component_appid,
                "component_access_token": query.get("component_access_token", ""),
                "grant_type": "authorization_code",
                "appid": appid,
            }
        )
        if refused is not None:
            return refused
        expected = self._refresh_tokens.get((component_appid, appid))
        if expected is None or body.get("authorizer_refresh_token") != expected:
            return _error(61023)
        issued = self._app_token_issue(appid, reuse=True)
        return {
            "authorizer_access_token": issued["access_token"],
            "expires_in": 7200,
            "authorizer_refresh_token": expected,
        }

    def wxa_code_unlimited(self, query: dict[str, str], body: bytes) -> dict[str, Any] | bytes:
        """A mini-program code (PNG bytes) for the scene and page, or WeChat's error."""
        issued = self._app_tokens.get(query.get("access_token", ""))
        if issued is None:
            return _error(40001)
        appid, expired = issued
        if expired:
            return _error(42001)
        if self._kinds.get(appid) != MINIPROGRAM:
            return _error(40013)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return _error(40169)
        if not isinstance(payload, dict):
            return _error(40169)
        scene = str(payload.get("scene", ""))
        if not scene or len(scene) > SCENE_MAX_LENGTH or not set(scene) <= SCENE_CHARACTERS:
            return _error(40169)
        page = str(payload.get("page") or "")
        pages = self._pages.get(appid)
        if page.startswith("/") or (page and pages is not None and page not in pages):
            return _error(41030)
        width = payload.get("width", 430)
        if not isinstance(width, int) or not 280 <= width <= 1280:
            return _error(40097)
        with self._lock:
            left = self.code_quota.get(appid)
            if left is not None:
                if left <= 0:
                    return _error(45009)
                self.code_quota[appid] = left - 1
            self.codes_made.append((appid, scene, page))
        return _code_png(f"{appid}|{page}|{scene}", width)

    def component_jscode2session(self, query: dict[str, str]) -> dict[str, Any]:
        refused = self._component_check(query)
        if refused is not None:
            return refused
        appid = query.get("appid", "")
        if self._kinds.get(appid) != MINIPROGRAM:
            return _error(40013)
        return self._use_code(appid, query.get("js_code", ""))


def _code_png(text: str, width: int) -> bytes:
    """A square PNG of `width` pixels standing for a mini-program code (a QR of `text`)."""
    import io

    import qrcode
    from PIL import Image

    image = qrcode.make(text, border=1).get_image().convert("RGB")
    image = image.resize((width, width), Image.Resampling.NEAREST)
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def _error(errcode: int) -> dict[str, Any]:
    return {"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")}


def _sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 (WeChat's)


def _encrypt(encoding_aes_key: str, message: bytes, appid: str) -> str:
    key = base64.b64decode(encoding_aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeWeChat

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout under `latency_s`) is expected, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        # The test output stays quiet; `requests` on the fake records what came in.
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = cast(_Server, self.server).fake
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with fake._lock:
            fake.requests.append(RecordedRequest(method, url.path, query, body))
        if fake.latency_s:
            time.sleep(fake.latency_s)
        failure = fake._take_failure()
        if failure is not None and failure.http_status is not None:
            self._reply(failure.http_status, {"errcode": -1, "errmsg": "system error"})
            return
        if failure is not None:
            self._reply(200, _error(failure.errcode))
            return
        route = (method, url.path)
        if route == ("POST", "/wxa/getwxacodeunlimit"):
            made = fake.wxa_code_unlimited(query, body)
            if isinstance(made, bytes):
                self._reply_bytes(made, "image/png")
            else:
                self._reply(200, made)
            return
        if route in {
            ("POST", "/cgi-bin/stable_token"),
            ("POST", "/cgi-bin/component/api_authorizer_token"),
        }:
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                payload = {}
            payload = payload if isinstance(payload, dict) else {}
            if url.path == "/cgi-bin/stable_token":
                self._reply(200, fake.stable_token(payload))
            else:
                self._reply(200, fake.authorizer_token(query, payload))
            return
        if route == ("GET", "/sns/jscode2session"):
            result = fake.jscode2session(query)
        elif route == ("GET", "/sns/component/jscode2session"):
            result = fake.component_jscode2session(query)
        elif route == ("GET", "/sns/oauth2/access_token"):
            result = fake.oauth2_access_token(query)
        elif route == ("GET", "/sns/oauth2/component/access_token"):
            result = fake.component_oauth2_access_token(query)
        elif route == ("POST", "/cgi-bin/component/api_component_token"):
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                payload = {}
            result = fake.component_token(payload if isinstance(payload, dict) else {})
        else:
            self._reply(404, {"errcode": 404, "errmsg": "not found"})
            return
        self._reply(200, result)

    def _reply_bytes(self, data: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reply(self, status: int, result: dict[str, Any]) -> None:
        data = json.dumps(result).encode()
        self.send_response(status)
        # WeChat answers JSON as text/plain.
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
