"""The WeChat API through wechatpy, by the merchant's app or our component: mini-program login,
and an Official Account's web authorization (snsapi_base OAuth: its authorize URL and the code
exchange that tells the shopper's openid).

Also mini-program codes (wxa/getwxacodeunlimit) for share posters.

The API host comes from settings.WECHAT_API_BASE_URL, the authorize page's from
WECHAT_OPEN_BASE_URL (each wechatpy API class has its own base URL, set here). Secrets, codes,
session keys and user access tokens never reach a log or an exception message: requests'
exceptions quote the URL, whose query carries the AppSecret, so they are never chained, and
urllib3's request lines (DEBUG) are masked. Every call has a timeout (WECHAT_TIMEOUT_S).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.component import ComponentOAuth, WeChatComponent
from wechatpy.exceptions import WeChatClientException
from wechatpy.oauth import WeChatOAuth

from tenants.gateways.wechat_storage import DatabaseStorage, component_storage_prefix

logger = logging.getLogger(__name__)

# Query parameters that are credentials or one-time codes; urllib3 logs request URLs at DEBUG.
_SECRET_PARAMETERS = re.compile(
    r"((?:secret|js_code|code|access_token|component_access_token|component_appsecret)=)[^&\s\"]*"
)


class _RedactSecretsFilter(logging.Filter):
    """Mask credentials in urllib3's request lines (jscode2session and sns/oauth2/access_token
    take the secret and the code by GET)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_PARAMETERS.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactSecretsFilter())

# Answers that mean "the component access token is not (or no longer) good": renew and retry.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
VERIFY_TICKET_KEY = "component_verify_ticket"


@dataclass(frozen=True)
class ComponentConfig:
    """Our WeChat Open Platform third-party platform."""

    appid: str
    secret: str = field(repr=False)
    token: str = field(repr=False)
    aes_key: str = field(repr=False)


@dataclass(frozen=True)
class OwnLoginRequest:
    """A `wx.login()` code of a mini-program the merchant runs with its AppSecret."""

    appid: str
    secret: str = field(repr=False)
    code: str = field(repr=False)


@dataclass(frozen=True)
class ComponentLoginRequest:
    """A `wx.login()` code of a mini-program authorized to our component."""

    appid: str
    code: str = field(repr=False)
    component: ComponentConfig


@dataclass(frozen=True)
class CodeSession:
    """What WeChat says about a login code: who the user is in the app (and across apps)."""

    openid: str
    unionid: str  # "" when the app is bound to no Open Platform account
    session_key: str = field(repr=False)


@dataclass(frozen=True)
class OwnOAuthRequest:
    """A web authorization code of an Official Account the merchant runs with its AppSecret."""

    appid: str
    secret: str = field(repr=False)
    code: str = field(repr=False)


@dataclass(frozen=True)
class ComponentOAuthRequest:
    """A web authorization code of an Official Account authorized to our component."""

    appid: str
    code: str = field(repr=False)
    component: ComponentConfig


@dataclass(frozen=True)
class OAuthOpenId:
    """Who a web authorization code belongs to (WeChat's user access token is not kept)."""

    openid: str
    unionid: str  # "" for snsapi_base, or when the app is bound to no Open Platform account


class WeChatApiError(Exception):
    """WeChat answered with an error code."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat error {errcode}: {errmsg}")


class WeChatUnreachableError(Exception):
    """No usable answer: connection failure, timeout, an HTTP error status, an unreadable body."""


class ComponentUnavailableError(Exception):
    """The component has no token: no verify ticket pushed yet, or WeChat refused the token."""


class _DefaultTimeoutAdapter(HTTPAdapter):
    """Give requests without a timeout one (wechatpy fetches component tokens without any)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        return super().send(
            request,
            stream=stream,
            timeout=self.timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def _timeouts(session: requests.Session) -> None:
    """Every request of this session gets the configured timeout unless it sets one."""
    adapter = _DefaultTimeoutAdapter(settings.WECHAT_TIMEOUT_S)
    session.mount("http://", adapter)
    session.mount("https://", adapter)


def _base_url() -> str:
    return str(settings.WECHAT_API_BASE_URL).rstrip("/")


def _open_base_url() -> str:
    return str(settings.WECHAT_OPEN_BASE_URL).rstrip("/")


def _code_session(result: Any) -> CodeSession:
    if not isinstance(result, dict) or not result.get("openid") or not result.get("session_key"):
        raise WeChatUnreachableError("WeChat's answer has no openid")
    return CodeSession(
        openid=str(result["openid"]),
        unionid=str(result.get("unionid") or ""),
        session_key=str(result["session_key"]),
    )


def _oauth_openid(result: Any) -> OAuthOpenId:
    if not isinstance(result, dict) or not result.get("openid"):
        raise WeChatUnreachableError("WeChat's answer has no openid")
    return OAuthOpenId(openid=str(result["openid"]), unionid=str(result.get("unionid") or ""))


def _unreachable(error: Exception) -> WeChatUnreachableError:
    """The error without its message (requests quotes the URL, with the secret in its query)."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    return WeChatUnreachableError(f"{type(error).__name__} (HTTP status {status})")


def _api_error(error: WeChatClientException) -> Exception:
    if error.errcode is None:  # wechatpy's wrapper of an HTTP error status
        return _unreachable(error)
    return WeChatApiError(int(error.errcode), str(error.errmsg or ""))


def wechat_code_to_session(*, request: OwnLoginRequest) -> CodeSession:
    """sns/jscode2session with the merchant's AppSecret."""
    client = WeChatClient(
        request.appid, request.secret, timeout=settings.WECHAT_TIMEOUT_S, auto_retry=False
    )
    client.API_BASE_URL = f"{_base_url()}/cgi-bin/"
    client.wxa.API_BASE_URL = f"{_base_url()}/"
    try:
        # A list of pairs, not a dict: wechatpy then attaches no access token (which it would
        # fetch, rotating the merchant's own token). Only the documented parameters are sent.
        result = client.get(
            "sns/jscode2session",
            api_base_url=client.wxa.API_BASE_URL,
            params=[
                ("appid", request.appid),
                ("secret", request.secret),
                ("js_code", request.code),
                ("grant_type", "authorization_code"),
            ],
        )
    except WeChatClientException as error:
        raise _api_error(error) from None
    except (requests.RequestException, ValueError) as error:
        raise _unreachable(error) from None
    return _code_session(result)


def component_client(config: ComponentConfig) -> Any:
    """wechatpy's component client on the configured host, its state in the database."""
    component = WeChatComponent(
        config.appid,
        config.secret,
        config.token,
        config.aes_key,
        session=DatabaseStorage(component_storage_prefix(config.appid)),
        # Our own single retry below: wechatpy's retries for as long as WeChat refuses the token.
        auto_retry=False,
    )
    # No trailing slash: wechatpy adds "/component/..." itself.
    component.API_BASE_URL = f"{_base_url()}/cgi-bin"
    _timeouts(component._http)
    return component


def _component_get(component: Any, request: ComponentLoginRequest) -> Any:
    return component.get(
        "sns/component/jscode2session",
        api_base_url=f"{_base_url()}/",
        # get() without data= raises KeyError in wechatpy 1.8.18.
        data=None,
        params={
            "appid": request.appid,
            "js_code": request.code,
            "grant_type": "authorization_code",
            "component_appid": component.component_appid,
        },
    )


def _component_token(component: Any, *, renew: bool) -> None:
    """Make sure the component holds a token (a new one when `renew`), with its own errors."""
    try:
        if renew:
            component.fetch_access_token()
        else:
            component.access_token  # noqa: B018 - the property fetches a token when none is stored
    except WeChatClientException as error:
        if error.errcode is None:
            raise _unreachable(error) from None
        raise ComponentUnavailableError(
            f"WeChat refused the component token: {error.errcode} {error.errmsg}"
        ) from None
    except (requests.RequestException, ValueError) as error:
        raise _unreachable(error) from None


def _with_component_token(component: Any, call: Callable[[], Any]) -> Any:
    """`call()` with the component token, renewed once when WeChat refuses it."""
    if not component.session.get(VERIFY_TICKET_KEY):
        raise ComponentUnavailableError("no component_verify_ticket has been received")
    _component_token(component, renew=False)
    try:
        try:
            return call()
        except WeChatClientException as error:
            if error.errcode not in TOKEN_ERRCODES:
                raise
            logger.info("WeChat refused the component token (%s); renewing it", error.errcode)
            _component_token(component, renew=True)
            return call()
    except WeChatClientException as error:
        raise _api_error(error) from None
    except (requests.RequestException, ValueError, KeyError) as error:
        # KeyError: wechatpy's OAuth reads fields of the answer that a broken one lacks.
        raise _unreachable(error) from None


def wechat_component_code_to_session(*, request: ComponentLoginRequest) -> CodeSession:
    """sns/component/jscode2session with the component token (renewed once when refused)."""
    component = component_client(request.component)
    return _code_session(
        _with_component_token(component, lambda: _component_get(component, request))
    )


def wechat_oauth_authorize_url(
    *, appid: str, redirect_uri: str, state: str, component_appid: str | None
) -> str:
    """The snsapi_base authorize URL of an Official Account (with our component's appid when
    the account is authorized to it); WeChat sends the browser back with `code` and `state`."""
    # wechatpy quotes the redirect URI but not the state: quoted here, so any value survives.
    oauth: Any
    if component_appid is None:
        oauth = WeChatOAuth(appid, "", redirect_uri, scope="snsapi_base", state=quote(state, ""))
        oauth.OAUTH_BASE_URL = f"{_open_base_url()}/connect/"
        return str(oauth.authorize_url)
    oauth = ComponentOAuth(appid, component=_ComponentName(component_appid))
    oauth.OAUTH_BASE_URL = f"{_open_base_url()}/connect/"
    return str(oauth.get_authorize_url(redirect_uri, "snsapi_base", quote(state, "")))


def wechat_oauth_code_to_openid(*, request: OwnOAuthRequest) -> OAuthOpenId:
    """sns/oauth2/access_token with the merchant's AppSecret."""
    oauth = WeChatOAuth(request.appid, request.secret, "")
    oauth.API_BASE_URL = f"{_base_url()}/"
    _timeouts(oauth._http)
    try:
        result = oauth.fetch_access_token(request.code)
    except WeChatClientException as error:
        raise _api_error(error) from None
    except (requests.RequestException, ValueError, KeyError) as error:
        # KeyError: wechatpy reads access_token, refresh_token… that a broken answer lacks.
        raise _unreachable(error) from None
    return _oauth_openid(result)


def wechat_component_oauth_code_to_openid(*, request: ComponentOAuthRequest) -> OAuthOpenId:
    """sns/oauth2/component/access_token with the component token (renewed once when refused)."""
    component = component_client(request.component)
    oauth = component.get_component_oauth(request.appid)
    oauth.API_BASE_URL = f"{_base_url()}/"
    _timeouts(oauth._http)
    # fetch_access_token reads component.access_token on each call: a retry takes the new one.
    return _oauth_openid(
        _with_component_token(component, lambda: oauth.fetch_access_token(request.code))
    )


class _ComponentName:
    """What ComponentOAuth reads of its component to build an authorize URL: the appid only."""

    def __init__(self, component_appid: str) -> None:
        self.component_appid = component_appid


# --- Mini-program codes (小程序码) through getwxacodeunlimit, for share posters


@dataclass(frozen=True)
class WxaCodeRequest:
    """A mini-program code for `scene` (at most 32 characters) opening `page` of app `appid`,
    asked with the merchant's AppSecret (`secret`) or, when None, through our `component`."""

    appid: str
    scene: str
    page: str
    width: int
    secret: str | None = field(default=None, repr=False)
    component: ComponentConfig | None = None


class _OwnAppClient(WeChatClient):  # type: ignore[misc]  # wechatpy is untyped
    """wechatpy's client of an app run with its AppSecret, whose access token comes from the
    configured host's cgi-bin/stable_token: the same token the merchant's own servers get, so
    asking for one never invalidates theirs (cgi-bin/token would). A refused token is replaced
    by a forced refresh (wechatpy's retry calls fetch_access_token when WeChat says 40001)."""

    def fetch_access_token(self) -> dict[str, Any]:
        force_refresh = bool(self.session.get(self.access_token_key))
        response = self._http.post(
            f"{_base_url()}/cgi-bin/stable_token",
            timeout=self.timeout,
            json={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": force_refresh,
            },
        )
        response.raise_for_status()
        result = response.json()
        if not isinstance(result, dict) or int(result.get("errcode") or 0):
            errcode = int(result.get("errcode") or -1) if isinstance(result, dict) else -1
            errmsg = str(result.get("errmsg", "")) if isinstance(result, dict) else ""
            raise WeChatApiError(errcode, errmsg)
        expires_in = int(result.get("expires_in") or 7200)
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result


def app_storage_prefix(appid: str) -> str:
    """The key prefix of an app's own access token (kept in the database between requests)."""
    return f"wechat:app:{appid}"


def _code_bytes(result: Any) -> bytes:
    content = getattr(result, "content", None)
    if not isinstance(content, bytes) or not content.startswith((b"\x89PNG", b"\xff\xd8")):
        raise WeChatUnreachableError("WeChat's answer is not an image")
    return content


def _wxa_code_own(request: WxaCodeRequest) -> bytes:
    client = _OwnAppClient(
        request.appid,
        request.secret,
        session=DatabaseStorage(app_storage_prefix(request.appid)),
        timeout=settings.WECHAT_TIMEOUT_S,
        auto_retry=True,
    )
    client.API_BASE_URL = f"{_base_url()}/cgi-bin/"
    client.wxa.API_BASE_URL = f"{_base_url()}/"
    try:
        return _code_bytes(
            client.wxa.get_wxa_code_unlimited(request.scene, width=request.width, page=request.page)
        )
    except WeChatClientException as error:
        raise _api_error(error) from None
    except (requests.RequestException, ValueError, KeyError) as error:
        raise _unreachable(error) from None


def _wxa_code_component(request: WxaCodeRequest, config: ComponentConfig) -> bytes:
    component = component_client(config)
    refresh_key = f"{request.appid}_refresh_token"

    def call() -> Any:
        if not component.session.get(refresh_key):
            raise ComponentUnavailableError("no authorizer refresh token for this mini-program")
        client = component.get_client_by_appid(request.appid)
        client.API_BASE_URL = f"{_base_url()}/cgi-bin/"
        client.wxa.API_BASE_URL = f"{_base_url()}/"
        _timeouts(client._http)
        return client.wxa.get_wxa_code_unlimited(
            request.scene, width=request.width, page=request.page
        )

    return _code_bytes(_with_component_token(component, call))


def wechat_wxa_code_unlimited(*, request: WxaCodeRequest) -> bytes:
    """wxa/getwxacodeunlimit: the code's image bytes (PNG), with the app's own token or, for an
    app authorized to our component, the authorizer token (renewed with its refresh token)."""
    if request.component is not None:
        return _wxa_code_component(request, request.component)
    return _wxa_code_own(request)
