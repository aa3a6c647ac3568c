"""Shops' WeChat apps: mini-programs and Official Accounts, registered by the merchant, and the
member identities WeChat gives for them.

`miniprogram_code_to_session` and the Official Account's `official_account_oauth_url` /
`official_account_code_to_openid` are the typed doors the tenant plane uses (shop.customers):
they find the shop's app here, in the control plane, and ask WeChat who a code belongs to,
through our component or with the merchant's AppSecret. AppSecrets are stored encrypted and
never leave this module in clear; neither they, codes, nor session keys are ever logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from infra.crypto import DecryptionError, decrypt_text, encrypt_text
from infra.errors import Conflict, DomainError, ValidationFailed
from tenants.gateways.wechat import (
    VERIFY_TICKET_KEY,
    CodeSession,
    ComponentConfig,
    ComponentLoginRequest,
    ComponentOAuthRequest,
    ComponentUnavailableError,
    OAuthOpenId,
    OwnLoginRequest,
    OwnOAuthRequest,
    WeChatApiError,
    WeChatUnreachableError,
    WxaCodeRequest,
    wechat_code_to_session,
    wechat_component_code_to_session,
    wechat_component_oauth_code_to_openid,
    wechat_oauth_authorize_url,
    wechat_oauth_code_to_openid,
    wechat_wxa_code_unlimited,
)
from tenants.gateways.wechat_storage import DatabaseStorage, component_storage_prefix
from tenants.models import (
    MiniProgram,
    MiniProgramMode,
    OfficialAccount,
    OfficialAccountMode,
    Tenant,
)
from tenants.services.audit import AuditContext, audit_record, audited, unaudited

logger = logging.getLogger(__name__)

APPID_PATTERN = re.compile(r"^wx[0-9a-f]{16}$")
APP_SECRET_PATTERN = re.compile(r"^[0-9a-f]{32}$")
CODE_MAX_LENGTH = 128
APPID_CONSTRAINT = "miniprogram_appid_unique"
OFFICIAL_ACCOUNT_APPID_CONSTRAINT = "official_account_appid_unique"


class MiniProgramNotConfiguredError(DomainError):
    code = "miniprogram_not_configured"
    default_message = "This shop has no mini-program yet."


class MiniProgramMisconfiguredError(DomainError):
    code = "miniprogram_misconfigured"
    default_message = "This shop's mini-program is not set up correctly."


class OfficialAccountNotConfiguredError(DomainError):
    code = "official_account_not_configured"
    default_message = "This shop has no WeChat Official Account yet."


class OfficialAccountMisconfiguredError(DomainError):
    code = "official_account_misconfigured"
    default_message = "This shop's WeChat Official Account is not set up correctly."


class WeChatCodeInvalidError(DomainError):
    code = "wechat_code_invalid"
    default_message = "The WeChat login code is wrong or has expired."


class WeChatCodeUsedError(DomainError):
    code = "wechat_code_used"
    default_message = "The WeChat login code was used already."


class WeChatUserBlockedError(DomainError):
    code = "wechat_user_blocked"
    status_code = 403
    default_message = "WeChat does not allow this user to log in."


class WeChatUnavailableError(DomainError):
    code = "wechat_unavailable"
    status_code = 503
    default_message = "WeChat cannot be reached right now. Try again in a moment."


class WeChatLoginFailedError(DomainError):
    code = "wechat_login_failed"
    status_code = 502
    default_message = "WeChat refused the login."


@dataclass(frozen=True)
class WeChatSession:
    """Who a `wx.login()` code belongs to, in the shop's mini-program."""

    appid: str
    openid: str
    unionid: str  # "" when the mini-program is bound to no Open Platform account
    session_key: str = field(repr=False)


@dataclass(frozen=True)
class WeChatOpenId:
    """Who a web authorization code belongs to, in the shop's Official Account."""

    appid: str
    openid: str
    unionid: str  # "" for snsapi_base (WeChat tells the unionid to snsapi_userinfo only)


def _field_error(name: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        _("Some fields are not valid."), fields={name: [{"code": code, "message": message}]}
    )


def _appid_clean(appid: str) -> str:
    appid = appid.strip().lower()
    if not APPID_PATTERN.match(appid):
        raise _field_error("appid", "invalid", _("An AppID is “wx” and 16 hexadecimal characters."))
    return appid


def _secret_clean(app_secret: str) -> str:
    app_secret = app_secret.strip().lower()
    if not APP_SECRET_PATTERN.match(app_secret):
        raise _field_error("app_secret", "invalid", _("An AppSecret is 32 hexadecimal characters."))
    return app_secret


def _constraint_name(error: IntegrityError) -> str:
    """The violated constraint, as PostgreSQL names it (psycopg's diagnostics)."""
    diag = getattr(error.__cause__, "diag", None)
    return str(getattr(diag, "constraint_name", "") or "")


def _secret_encrypted(
    *,
    component: bool,
    app_secret: str | None,
    appid: str,
    existing: MiniProgram | OfficialAccount | None,
    missing: str,
) -> str:
    """The AppSecret to keep, encrypted: none when our component runs the app; a new one when
    given; the saved one when the appid stays the same; else the field error `missing`."""
    secret = (app_secret or "").strip()
    if component:
        return ""
    if secret:
        return encrypt_text(_secret_clean(secret))
    if existing is not None and existing.appid == appid and existing.app_secret_encrypted:
        return existing.app_secret_encrypted
    raise _field_error("app_secret", "required", missing)


@audited
def miniprogram_register(
    *,
    tenant: Tenant,
    appid: str,
    mode: str,
    app_secret: str | None,
    context: AuditContext,
) -> MiniProgram:
    """Register the shop's mini-program, or change it (appid, mode, AppSecret).

    Mode `own` needs the AppSecret, except when the appid stays the same and one is saved
    (an empty `app_secret` keeps it); mode `component` keeps no secret.
    """
    appid = _appid_clean(appid)
    if mode not in MiniProgramMode.values:
        raise _field_error("mode", "invalid_choice", _("Choose how the mini-program is run."))
    existing = MiniProgram.objects.select_for_update().filter(tenant=tenant).first()
    secret_encrypted = _secret_encrypted(
        component=mode == MiniProgramMode.COMPONENT,
        app_secret=app_secret,
        appid=appid,
        existing=existing,
        missing=_("Enter the mini-program's AppSecret."),
    )
    secret_changed = secret_encrypted != (existing.app_secret_encrypted if existing else "")
    try:
        with transaction.atomic():
            if existing is None:
                miniprogram = MiniProgram.objects.create(
                    tenant=tenant, appid=appid, mode=mode, app_secret_encrypted=secret_encrypted
                )
            else:
                miniprogram = existing
                if miniprogram.appid != appid:
                    # Authorization belongs to an appid: another app starts unauthorized.
                    miniprogram.authorized_at = None
                miniprogram.appid = appid
                miniprogram.mode = mode
                miniprogram.app_secret_encrypted = secret_encrypted
                miniprogram.save()
    except IntegrityError as error:
        if _constraint_name(error) == APPID_CONSTRAINT:
            raise _field_error(
                "appid", "appid_taken", _("This AppID is registered by another shop.")
            ) from error
        # Two first registrations of one shop at once: the other one won.
        raise Conflict(
            _("The mini-program was changed at the same time. Look and try again.")
        ) from error
    audit_record(
        context=context,
        action="miniprogram.registered" if existing is None else "miniprogram.updated",
        tenant=tenant,
        target=miniprogram,
        data={"appid": appid, "mode": mode, "secret_changed": secret_changed},
    )
    return miniprogram


def _component_config() -> ComponentConfig | None:
    if not (settings.WECHAT_COMPONENT_APPID and settings.WECHAT_COMPONENT_SECRET):
        return None
    return ComponentConfig(
        appid=settings.WECHAT_COMPONENT_APPID,
        secret=settings.WECHAT_COMPONENT_SECRET,
        token=settings.WECHAT_COMPONENT_TOKEN,
        aes_key=settings.WECHAT_COMPONENT_AES_KEY,
    )


@unaudited("WeChat's periodic push, stored for the component; no person acts")
def wechat_component_ticket_store(*, ticket: str) -> None:
    """Keep the component_verify_ticket WeChat pushed; the component needs it for its token."""
    config = _component_config()
    if config is None:
        raise RuntimeError("WECHAT_COMPONENT_APPID and WECHAT_COMPONENT_SECRET are not set")
    storage = DatabaseStorage(component_storage_prefix(config.appid))
    storage.set(VERIFY_TICKET_KEY, ticket.strip())


def _login_error(
    error: WeChatApiError, app: MiniProgram | OfficialAccount, misconfigured: DomainError
) -> DomainError:
    """The domain error of a WeChat error code (logged without the code or any secret);
    `misconfigured` is the app's own error for a refused appid, secret or authorization."""
    kind = "mini-program" if isinstance(app, MiniProgram) else "Official Account"
    errcode = error.errcode
    if errcode == 40029:
        return WeChatCodeInvalidError(_("The WeChat login code is wrong or has expired."))
    if errcode == 40163:
        return WeChatCodeUsedError(_("The WeChat login code was used already."))
    if errcode == 40226:
        return WeChatUserBlockedError(_("WeChat does not allow this user to log in."))
    if errcode in {40013, 40125, 61003}:
        # 40013 unknown appid, 40125 wrong AppSecret, 61003 not authorized to our component.
        logger.warning(
            "WeChat refused %s %s of tenant %s (%s mode): %s %s",
            kind,
            app.appid,
            app.tenant_id,
            app.mode,
            errcode,
            error.errmsg,
        )
        return misconfigured
    logger.warning("WeChat login for %s %s failed: %s %s", kind, app.appid, errcode, error.errmsg)
    if errcode in {-1, 45009, 45011, 40001, 40014, 42001}:
        # Busy, rate limited, or our component token refused even after its renewal.
        return WeChatUnavailableError(
            _("WeChat cannot be reached right now. Try again in a moment.")
        )
    return WeChatLoginFailedError(_("WeChat refused the login."))


@unaudited("a member's login: reads the shop's credentials; writes only WeChat's token cache")
def miniprogram_code_to_session(*, tenant_id: int, code: str) -> WeChatSession:
    """Who the `wx.login()` code belongs to in the mini-program of shop `tenant_id`.

    Component mode asks sns/component/jscode2session with our component token; own mode asks
    sns/jscode2session with the merchant's AppSecret. A code of another app (another shop's)
    is refused by WeChat as invalid.
    """
    code = code.strip()
    if not code or len(code) > CODE_MAX_LENGTH:
        raise _field_error("code", "invalid", _("Send the code wx.login() gave."))
    miniprogram = MiniProgram.objects.filter(tenant_id=tenant_id).first()
    if miniprogram is None:
        raise MiniProgramNotConfiguredError(_("This shop has no mini-program yet."))
    try:
        result = _code_to_session(miniprogram, code)
    except WeChatApiError as error:
        misconfigured = MiniProgramMisconfiguredError(
            _("This shop's mini-program is not set up correctly.")
        )
        raise _login_error(error, miniprogram, misconfigured) from None
    except WeChatUnreachableError as error:
        logger.warning("WeChat unreachable for mini-program %s: %s", miniprogram.appid, error)
        raise WeChatUnavailableError(
            _("WeChat cannot be reached right now. Try again in a moment.")
        ) from None
    return WeChatSession(
        appid=miniprogram.appid,
        openid=result.openid,
        unionid=result.unionid,
        session_key=result.session_key,
    )


def _code_to_session(miniprogram: MiniProgram, code: str) -> CodeSession:
    if miniprogram.mode == MiniProgramMode.OWN:
        try:
            secret = decrypt_text(miniprogram.app_secret_encrypted)
        except DecryptionError:
            logger.error(
                "The AppSecret of mini-program %s opens with no configured key",
                miniprogram.appid,
            )
            raise MiniProgramMisconfiguredError(
                _("This shop's mini-program is not set up correctly.")
            ) from None
        return wechat_code_to_session(
            request=OwnLoginRequest(appid=miniprogram.appid, secret=secret, code=code)
        )
    config = _component_config()
    try:
        if config is None:
            raise ComponentUnavailableError("the WECHAT_COMPONENT_* settings are not set")
        return wechat_component_code_to_session(
            request=ComponentLoginRequest(appid=miniprogram.appid, code=code, component=config)
        )
    except ComponentUnavailableError as error:
        logger.error("WeChat component login impossible: %s", error)
        raise WeChatUnavailableError(
            _("WeChat cannot be reached right now. Try again in a moment.")
        ) from None


# --- Official Accounts (服务号): web authorization for members' openids in WeChat's browser


@audited
def official_account_register(
    *,
    tenant: Tenant,
    appid: str,
    mode: str,
    app_secret: str | None,
    context: AuditContext,
) -> OfficialAccount:
    """Register the shop's Official Account, or change it (appid, mode, AppSecret).

    Mode `own` needs the AppSecret, except when the appid stays the same and one is saved
    (an empty `app_secret` keeps it); mode `component` keeps no secret.
    """
    appid = _appid_clean(appid)
    if mode not in OfficialAccountMode.values:
        raise _field_error("mode", "invalid_choice", _("Choose how the Official Account is run."))
    existing = OfficialAccount.objects.select_for_update().filter(tenant=tenant).first()
    secret_encrypted = _secret_encrypted(
        component=mode == OfficialAccountMode.COMPONENT,
        app_secret=app_secret,
        appid=appid,
        existing=existing,
        missing=_("Enter the Official Account's AppSecret."),
    )
    secret_changed = secret_encrypted != (existing.app_secret_encrypted if existing else "")
    try:
        with transaction.atomic():
            if existing is None:
                account = OfficialAccount.objects.create(
                    tenant=tenant, appid=appid, mode=mode, app_secret_encrypted=secret_encrypted
                )
            else:
                account = existing
                account.appid = appid
                account.mode = mode
                account.app_secret_encrypted = secret_encrypted
                account.save()
    except IntegrityError as error:
        if _constraint_name(error) == OFFICIAL_ACCOUNT_APPID_CONSTRAINT:
            raise _field_error(
                "appid", "appid_taken", _("This AppID is registered by another shop.")
            ) from error
        # Two first registrations of one shop at once: the other one won.
        raise Conflict(
            _("The Official Account was changed at the same time. Look and try again.")
        ) from error
    audit_record(
        context=context,
        action=("official_account.registered" if existing is None else "official_account.updated"),
        tenant=tenant,
        target=account,
        data={"appid": appid, "mode": mode, "secret_changed": secret_changed},
    )
    return account


def _official_account_get(tenant_id: int) -> OfficialAccount:
    account = OfficialAccount.objects.filter(tenant_id=tenant_id).first()
    if account is None:
        raise OfficialAccountNotConfiguredError(_("This shop has no WeChat Official Account yet."))
    return account


def _component_unavailable(reason: str) -> WeChatUnavailableError:
    logger.error("WeChat component web authorization impossible: %s", reason)
    return WeChatUnavailableError(_("WeChat cannot be reached right now. Try again in a moment."))


@unaudited("reads the shop's Official Account to build a URL; writes nothing")
def official_account_oauth_url(*, tenant_id: int, redirect_uri: str, state: str) -> str:
    """The snsapi_base authorize URL of shop `tenant_id`'s Official Account.

    WeChat sends the shopper's browser back to `redirect_uri` with `code` and `state`; in
    component mode the URL names our component (component_appid), which then exchanges the code.
    The caller checks that `redirect_uri` is the shop's own and signs `state`.
    """
    account = _official_account_get(tenant_id)
    component_appid: str | None = None
    if account.mode == OfficialAccountMode.COMPONENT:
        config = _component_config()
        if config is None:
            raise _component_unavailable("the WECHAT_COMPONENT_* settings are not set")
        component_appid = config.appid
    return wechat_oauth_authorize_url(
        appid=account.appid,
        redirect_uri=redirect_uri,
        state=state,
        component_appid=component_appid,
    )


@unaudited("a member's web authorization: reads the shop's credentials; writes only tokens")
def official_account_code_to_openid(*, tenant_id: int, code: str) -> WeChatOpenId:
    """Who the web authorization `code` belongs to in the Official Account of shop `tenant_id`.

    Component mode asks sns/oauth2/component/access_token with our component token; own mode
    asks sns/oauth2/access_token with the merchant's AppSecret. WeChat's user access token is
    dropped: snsapi_base needs nothing but the openid. A code of another shop's account is
    refused by WeChat as invalid.
    """
    code = code.strip()
    if not code or len(code) > CODE_MAX_LENGTH:
        raise _field_error("code", "invalid", _("Send the code WeChat gave the page."))
    account = _official_account_get(tenant_id)
    try:
        result = _oauth_code_to_openid(account, code)
    except WeChatApiError as error:
        misconfigured = OfficialAccountMisconfiguredError(
            _("This shop's WeChat Official Account is not set up correctly.")
        )
        raise _login_error(error, account, misconfigured) from None
    except WeChatUnreachableError as error:
        logger.warning("WeChat unreachable for Official Account %s: %s", account.appid, error)
        raise WeChatUnavailableError(
            _("WeChat cannot be reached right now. Try again in a moment.")
        ) from None
    return WeChatOpenId(appid=account.appid, openid=result.openid, unionid=result.unionid)


def _oauth_code_to_openid(account: OfficialAccount, code: str) -> OAuthOpenId:
    if account.mode == OfficialAccountMode.OWN:
        try:
            secret = decrypt_text(account.app_secret_encrypted)
        except DecryptionError:
            logger.error(
                "The AppSecret of Official Account %s opens with no configured key", account.appid
            )
            raise OfficialAccountMisconfiguredError(
                _("This shop's WeChat Official Account is not set up correctly.")
            ) from None
        return wechat_oauth_code_to_openid(
            request=OwnOAuthRequest(appid=account.appid, secret=secret, code=code)
        )
    config = _component_config()
    try:
        if config is None:
            raise ComponentUnavailableError("the WECHAT_COMPONENT_* settings are not set")
        return wechat_component_oauth_code_to_openid(
            request=ComponentOAuthRequest(appid=account.appid, code=code, component=config)
        )
    except ComponentUnavailableError as error:
        raise _component_unavailable(str(error)) from None


# --- Mini-program codes (小程序码) for share posters


class MiniProgramPageInvalidError(DomainError):
    code = "miniprogram_page_invalid"
    default_message = "The mini-program has no released page at this path."


class WeChatQuotaExceededError(DomainError):
    code = "wechat_quota_exceeded"
    status_code = 429
    default_message = "WeChat's daily quota of mini-program codes is used up. Try again tomorrow."


class WeChatCodeFailedError(DomainError):
    code = "wechat_code_failed"
    status_code = 502
    default_message = "WeChat refused to make the mini-program code."


@dataclass(frozen=True)
class MiniProgramCode:
    """A mini-program code WeChat made: the image (PNG or JPEG bytes) and the app it opens."""

    appid: str
    image: bytes = field(repr=False)


def _wxa_code_error(error: WeChatApiError, miniprogram: MiniProgram) -> DomainError:
    errcode = error.errcode
    logger.warning(
        "WeChat refused a code of mini-program %s: %s %s", miniprogram.appid, errcode, error.errmsg
    )
    if errcode == 41030:
        return MiniProgramPageInvalidError(_("The mini-program has no released page at this path."))
    if errcode == 45009:
        return WeChatQuotaExceededError(
            _("WeChat's daily quota of mini-program codes is used up. Try again tomorrow.")
        )
    if errcode in {40013, 40125, 61003, 61023, 40164}:
        # Unknown appid, wrong AppSecret, authorization withdrawn, our IP not whitelisted.
        return MiniProgramMisconfiguredError(_("This shop's mini-program is not set up correctly."))
    if errcode in {-1, 45011, 40001, 40014, 42001}:
        return WeChatUnavailableError(
            _("WeChat cannot be reached right now. Try again in a moment.")
        )
    return WeChatCodeFailedError(_("WeChat refused to make the mini-program code."))


@unaudited("reads the shop's mini-program credentials; writes only WeChat's token cache")
def miniprogram_code_unlimited(
    *, tenant_id: int, scene: str, page: str, width: int = 430
) -> MiniProgramCode:
    """A mini-program code of shop `tenant_id` for `scene` opening `page` (getwxacodeunlimit).

    MiniProgramNotConfiguredError when the shop has none; WeChat's refusals are domain errors:
    miniprogram_page_invalid (41030), wechat_quota_exceeded (45009), miniprogram_misconfigured,
    wechat_unavailable, wechat_code_failed.
    """
    miniprogram = MiniProgram.objects.filter(tenant_id=tenant_id).first()
    if miniprogram is None:
        raise MiniProgramNotConfiguredError(_("This shop has no mini-program yet."))
    misconfigured = MiniProgramMisconfiguredError(
        _("This shop's mini-program is not set up correctly.")
    )
    secret: str | None = None
    config: ComponentConfig | None = None
    if miniprogram.mode == MiniProgramMode.OWN:
        try:
            secret = decrypt_text(miniprogram.app_secret_encrypted)
        except DecryptionError:
            logger.error(
                "The AppSecret of mini-program %s opens with no configured key", miniprogram.appid
            )
            raise misconfigured from None
    else:
        config = _component_config()
        if config is None:
            raise _component_unavailable("the WECHAT_COMPONENT_* settings are not set")
    request = WxaCodeRequest(
        appid=miniprogram.appid,
        scene=scene,
        page=page,
        width=width,
        secret=secret,
        component=config,
    )
    try:
        image = wechat_wxa_code_unlimited(request=request)
    except WeChatApiError as error:
        raise _wxa_code_error(error, miniprogram) from None
    except WeChatUnreachableError as error:
        logger.warning("WeChat unreachable for mini-program %s: %s", miniprogram.appid, error)
        raise WeChatUnavailableError(
            _("WeChat cannot be reached right now. Try again in a moment.")
        ) from None
    except ComponentUnavailableError as error:
        logger.error("WeChat component code impossible for %s: %s", miniprogram.appid, error)
        raise misconfigured from None
    return MiniProgramCode(appid=miniprogram.appid, image=image)
