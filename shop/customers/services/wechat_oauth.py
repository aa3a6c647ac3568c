"""A logged-in member binds its WeChat identity in the shop's Official Account (服务号).

Inside WeChat's browser the H5 storefront learns the shopper's openid by the account's snsapi_base
web authorization: the page asks for an authorize URL (`member_official_account_oauth_url`),
WeChat sends the browser back to the shop with a code and our state, and the page posts both
(`member_oauth_state_check`, then `member_official_account_bind`). The bound openid is what
JSAPI payments in H5 are made with (shop.payments reads it with `member_openid`).

The state is signed (django.core.signing, a salt per purpose and shop, 10 minutes) and names the
member, so a code fetched for one member cannot be bound to another; it is base32 so that it keeps
to the a-zA-Z0-9 WeChat documents for state. The control plane (tenants.services.wechat) holds
the account and its credentials and asks WeChat who the code belongs to.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from shop.core.selectors import shop_context
from shop.customers.errors import (
    OAuthStateInvalidError,
    RedirectUriInvalidError,
    WeChatIdentityTakenError,
)
from shop.customers.lock_objects import member_lock
from shop.customers.models import Member, MemberIdentity
from tenants.selectors.tenancy import tenant_get_by_host
from tenants.services.wechat import (
    WeChatOpenId,
    official_account_code_to_openid,
    official_account_oauth_url,
)

PROVIDER = MemberIdentity.Provider.WECHAT_OFFICIAL_ACCOUNT
STATE_SALT = "shop.customers.wechat_oauth.state"
STATE_MAX_AGE_S = 600
REDIRECT_URI_MAX_LENGTH = 2000


def _state_signer(tenant_id: int) -> signing.TimestampSigner:
    # The shop in the salt: a state of one shop is worth nothing in another (member ids repeat).
    return signing.TimestampSigner(salt=f"{STATE_SALT}:{tenant_id}")


def _state_make(member: Member, tenant_id: int) -> str:
    token = _state_signer(tenant_id).sign(str(member.pk))
    return base64.b32encode(token.encode()).decode().rstrip("=")


def _redirect_uri_clean(redirect_uri: str, tenant_id: int) -> str:
    """The URI when it is a page of this shop (its subdomain or a verified custom domain)."""
    invalid = RedirectUriInvalidError(_("WeChat can only send you back to a page of this shop."))
    if (
        not redirect_uri
        or len(redirect_uri) > REDIRECT_URI_MAX_LENGTH
        or not redirect_uri.isprintable()
        or " " in redirect_uri
    ):
        raise invalid
    try:
        parts = urlsplit(redirect_uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        raise invalid from None
    schemes = {"https"} if settings.IS_PRODUCTION else {"http", "https"}
    host = parts.hostname or ""
    # WeChat appends ?code=…&state=… to the URI: a fragment would swallow them.
    if parts.scheme not in schemes or not host or parts.username is not None or parts.fragment:
        raise invalid
    tenant = tenant_get_by_host(host=host.rstrip("."))
    if tenant is None or tenant.pk != tenant_id:
        raise invalid
    return redirect_uri


def member_official_account_oauth_url(*, member: Member, redirect_uri: str) -> str:
    """The shop's Official Account authorize URL (snsapi_base) that sends `member`'s browser back
    to `redirect_uri` (a page of this shop) with a code and a state signed for the member."""
    tenant_id = shop_context().tenant_id
    redirect_uri = _redirect_uri_clean(redirect_uri.strip(), tenant_id)
    return official_account_oauth_url(
        tenant_id=tenant_id, redirect_uri=redirect_uri, state=_state_make(member, tenant_id)
    )


def member_oauth_state_check(*, member: Member, state: str) -> None:
    """Refuse a state that is not ours, expired (10 minutes), or made for another member."""
    invalid = OAuthStateInvalidError(
        _("The WeChat authorization has expired or is not yours. Start again.")
    )
    state = state.strip().upper()
    try:
        token = base64.b32decode(state + "=" * (-len(state) % 8)).decode()
        value = _state_signer(shop_context().tenant_id).unsign(token, max_age=STATE_MAX_AGE_S)
    except (ValueError, signing.BadSignature):  # binascii.Error and UnicodeError are ValueErrors
        raise invalid from None
    if value != str(member.pk):
        raise invalid


def _identity_get(wechat: WeChatOpenId) -> MemberIdentity | None:
    return MemberIdentity.objects.filter(
        provider=PROVIDER, appid=wechat.appid, openid=wechat.openid
    ).first()


def _identity_taken() -> WeChatIdentityTakenError:
    return WeChatIdentityTakenError(
        _("This WeChat account is bound to another member of this shop.")
    )


def member_official_account_bind(*, member: Member, code: str) -> MemberIdentity:
    """Record the WeChat user of web authorization `code` as `member`'s Official Account identity.

    Idempotent for the same WeChat user; another user replaces the member's previous identity in
    this account (payments use the latest). A WeChat user already bound to another member of the
    shop is refused (`wechat_identity_taken`) and nothing changes, also when two binds race: the
    unique (provider, appid, openid) constraint lets one win. Nothing is written when WeChat
    refuses the code or cannot be reached.
    """
    # Outside the transaction: no row lock or open transaction waits on WeChat.
    wechat = official_account_code_to_openid(tenant_id=shop_context().tenant_id, code=code)
    with transaction.atomic():
        # Binds of one member take turns, so that it keeps one identity per account.
        member_lock(member_id=member.pk).first()
        identity = _identity_get(wechat)
        if identity is not None:
            if identity.member_id != member.pk:
                raise _identity_taken()
            if wechat.unionid and identity.unionid != wechat.unionid:
                MemberIdentity.objects.filter(pk=identity.pk).update(unionid=wechat.unionid)
                identity.unionid = wechat.unionid
            return identity
        try:
            with transaction.atomic():
                MemberIdentity.objects.filter(
                    member=member, provider=PROVIDER, appid=wechat.appid
                ).delete()
                identity = MemberIdentity.objects.create(
                    member=member,
                    provider=PROVIDER,
                    appid=wechat.appid,
                    openid=wechat.openid,
                    unionid=wechat.unionid,
                )
        except IntegrityError:
            # A concurrent bind of this WeChat user to another member committed first (the unique
            # constraint waited for it); our savepoint, with the deletion, was rolled back.
            identity = _identity_get(wechat)
            if identity is None:
                raise
            if identity.member_id != member.pk:
                raise _identity_taken() from None
        return identity
