"""The fake WeChat API wired into settings, and shops' mini-programs and Official Accounts
registered on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.test import override_settings

from tenants.models import (
    MiniProgram,
    MiniProgramMode,
    OfficialAccount,
    OfficialAccountMode,
    Tenant,
)
from tenants.services.audit import AuditContext
from tenants.services.wechat import (
    miniprogram_register,
    official_account_register,
    wechat_component_ticket_store,
)
from tests.fakes.wechat import FakeWeChat

# A mini-program the merchant runs itself (alpha), one authorized to our component (hosted),
# and beta's own one.
OWN_APPID = "wx0123456789abcdef"
OWN_SECRET = "0123456789abcdef0123456789abcdef"
HOSTED_APPID = "wx1111111111111111"
BETA_APPID = "wxbbbbbbbbbbbbbbbb"
BETA_SECRET = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
COMPONENT_APPID = "wxcccccccccccccccc"
COMPONENT_SECRET = "component-secret"
# Official Accounts: one the merchant runs itself (alpha), one authorized to our component, beta's.
OA_APPID = "wx2222222222222222"
OA_SECRET = "22222222222222222222222222222222"
HOSTED_OA_APPID = "wx3333333333333333"
BETA_OA_APPID = "wx4444444444444444"
BETA_OA_SECRET = "44444444444444444444444444444444"


@contextmanager
def fake_wechat() -> Iterator[FakeWeChat]:
    """The fake with the apps above and our component; settings point the gateway at it."""
    with FakeWeChat() as fake:
        fake.add_miniprogram(OWN_APPID, OWN_SECRET)
        fake.add_miniprogram(BETA_APPID, BETA_SECRET)
        fake.add_official_account(OA_APPID, OA_SECRET)
        fake.add_official_account(HOSTED_OA_APPID)
        fake.add_official_account(BETA_OA_APPID, BETA_OA_SECRET)
        component = fake.add_component(
            COMPONENT_APPID, COMPONENT_SECRET, authorized=(HOSTED_APPID, HOSTED_OA_APPID)
        )
        with override_settings(
            WECHAT_API_BASE_URL=fake.base_url,
            WECHAT_COMPONENT_APPID=COMPONENT_APPID,
            WECHAT_COMPONENT_SECRET=COMPONENT_SECRET,
            WECHAT_COMPONENT_TOKEN=component.token,
            WECHAT_COMPONENT_AES_KEY=component.encoding_aes_key,
            WECHAT_TIMEOUT_S=2.0,
        ):
            yield fake


def own_miniprogram(
    tenant: Tenant, appid: str = OWN_APPID, secret: str = OWN_SECRET
) -> MiniProgram:
    """Register the shop's own mini-program (mode own, with its AppSecret)."""
    return miniprogram_register(
        tenant=tenant,
        appid=appid,
        mode=MiniProgramMode.OWN,
        app_secret=secret,
        context=AuditContext.system(),
    )


def hosted_miniprogram(tenant: Tenant, fake: FakeWeChat) -> MiniProgram:
    """Register the shop's mini-program authorized to our component, whose ticket WeChat pushed."""
    wechat_component_ticket_store(ticket=fake.component(COMPONENT_APPID).verify_ticket)
    return miniprogram_register(
        tenant=tenant,
        appid=HOSTED_APPID,
        mode=MiniProgramMode.COMPONENT,
        app_secret=None,
        context=AuditContext.system(),
    )


def own_official_account(
    tenant: Tenant, appid: str = OA_APPID, secret: str = OA_SECRET
) -> OfficialAccount:
    """Register the shop's own Official Account (mode own, with its AppSecret)."""
    return official_account_register(
        tenant=tenant,
        appid=appid,
        mode=OfficialAccountMode.OWN,
        app_secret=secret,
        context=AuditContext.system(),
    )


def hosted_official_account(tenant: Tenant, fake: FakeWeChat) -> OfficialAccount:
    """Register the shop's Official Account authorized to our component (ticket pushed)."""
    wechat_component_ticket_store(ticket=fake.component(COMPONENT_APPID).verify_ticket)
    return official_account_register(
        tenant=tenant,
        appid=HOSTED_OA_APPID,
        mode=OfficialAccountMode.COMPONENT,
        app_secret=None,
        context=AuditContext.system(),
    )


def paths(fake: FakeWeChat) -> list[str]:
    """The paths the fake was asked, in order."""
    return [request.path for request in fake.requests]
