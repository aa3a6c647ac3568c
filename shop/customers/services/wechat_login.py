"""Members log in from the shop's WeChat mini-program with a `wx.login()` code.

The control plane (tenants.services.wechat) holds the shop's mini-program and its credentials
and asks WeChat who the code belongs to; the member is then found by its WeChat identity
(provider, appid, openid), or registered with consent, as phone login does.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from infra.db import schema_connection
from shop.customers.errors import ConsentRequiredError, MemberInactiveError
from shop.customers.models import Member, MemberIdentity, MemberLogin
from shop.customers.services.login import (
    ip_clean,
    login_fields_check,
    member_login_record,
    member_registration_record,
)
from tenants.services.wechat import WeChatSession, miniprogram_code_to_session

PROVIDER = MemberIdentity.Provider.WECHAT_MINIPROGRAM


def _current_tenant_id() -> int:
    tenant = schema_connection().tenant
    if tenant is None or getattr(tenant, "pk", None) is None:
        raise RuntimeError("member_wechat_login runs in a shop's schema")
    return int(tenant.pk)


def _identity_get(session: WeChatSession) -> MemberIdentity | None:
    return (
        MemberIdentity.objects.select_related("member")
        .filter(provider=PROVIDER, appid=session.appid, openid=session.openid)
        .first()
    )


def _identity_for(
    session: WeChatSession, *, policy_version: str | None
) -> tuple[MemberIdentity, bool]:
    """The WeChat identity and its member, created (once, whoever races) when it is new."""
    identity = _identity_get(session)
    if identity is not None:
        return identity, False
    if policy_version is None:
        raise ConsentRequiredError(_("Accept the shop's privacy policy to register."))
    try:
        with transaction.atomic():
            member = Member.objects.create()
            identity = MemberIdentity.objects.create(
                member=member,
                provider=PROVIDER,
                appid=session.appid,
                openid=session.openid,
                unionid=session.unionid,
            )
    except IntegrityError:
        # A concurrent first login of the same openid created it (the unique constraint waited
        # for that transaction to commit): use its member; ours was rolled back.
        identity = _identity_get(session)
        if identity is None:
            raise
        return identity, False
    return identity, True


def member_wechat_login(
    *,
    code: str,
    channel: str,
    policy_version: str | None,
    device_id: str,
    ip: str | None,
    user_agent: str,
) -> tuple[Member, str]:
    """The member of this WeChat user (registered now if new, with consent) and a new token.

    A new user needs `policy_version` (the privacy policy the shopper accepted), else
    `consent_required`; WeChat codes are single-use, so the retry needs a new `wx.login()` code.
    Nothing is written when WeChat refuses the code or cannot be reached.
    """
    login_fields_check(policy_version=policy_version, channel=channel)
    ip = ip_clean(ip)
    # Outside the transaction: no row lock or open transaction waits on WeChat.
    session = miniprogram_code_to_session(tenant_id=_current_tenant_id(), code=code)
    with transaction.atomic():
        identity, created = _identity_for(session, policy_version=policy_version)
        member = identity.member
        if not member.is_active:
            raise MemberInactiveError(_("This member account is disabled."))
        if created:
            assert policy_version is not None  # _identity_for demands it for a new member
            member_registration_record(
                member=member, policy_version=policy_version, channel=channel, ip=ip
            )
        elif session.unionid and identity.unionid != session.unionid:
            # The app was bound to an Open Platform account since: remember the unionid.
            MemberIdentity.objects.filter(pk=identity.pk).update(unionid=session.unionid)
        token = member_login_record(
            member=member,
            method=MemberLogin.Method.WECHAT,
            device_id=device_id,
            ip=ip,
            user_agent=user_agent,
        )
    return member, token
