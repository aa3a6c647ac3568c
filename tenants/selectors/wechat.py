"""Reads about shops' WeChat mini-programs and Official Accounts."""

from __future__ import annotations

from tenants.models import MiniProgram, OfficialAccount, Tenant


def miniprogram_get(*, tenant: Tenant) -> MiniProgram | None:
    """The shop's mini-program, if it registered one."""
    return MiniProgram.objects.filter(tenant=tenant).first()


def official_account_get(*, tenant: Tenant) -> OfficialAccount | None:
    """The shop's Official Account, if it registered one."""
    return OfficialAccount.objects.filter(tenant=tenant).first()


def wechat_payer_appid(*, tenant_id: int, kind: str) -> str:
    """The appid a payer's openid belongs to: the shop's mini-program ("miniprogram") or its
    Official Account ("official_account"); "" when the shop registered none."""
    model = MiniProgram if kind == "miniprogram" else OfficialAccount
    appid = model.objects.filter(tenant_id=tenant_id).values_list("appid", flat=True).first()
    return str(appid or "")
