"""The onboarding checklist a new shop's owner sees in the console."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tenants.models import Account, Tenant


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    title: str
    done: bool
    url: str | None


# Steps whose pages arrive with later issues keep url=None until then; their state is stored in
# Tenant.onboarding by the services that complete them (tenant_profile_update: shop_profile;
# the Stripe Connect webhook: payments).
_STEPS = (
    ("shop_profile", _("Describe your shop")),
    ("theme", _("Choose a theme and colours")),
    ("first_product", _("Add your first products")),
    ("payments", _("Set up payments")),
    ("distribution", _("Set your distribution rules")),
    ("miniprogram", _("Authorize your WeChat mini-program")),
)


def onboarding_checklist(*, tenant: Tenant, account: Account | None = None) -> list[ChecklistItem]:
    """The steps, in order, each with whether it is done."""
    items: list[ChecklistItem] = []
    if account is not None:
        items.append(
            ChecklistItem(
                key="verify_contact",
                title=str(_("Verify your e-mail or phone")),
                done=bool(account.email_verified_at or account.phone_verified_at),
                url="/account/verify/",
            )
        )
    state = tenant.onboarding or {}

    def page(name: str) -> str:
        return reverse(name, kwargs={"slug": tenant.slug}, urlconf=settings.PUBLIC_SCHEMA_URLCONF)

    pages = {
        "shop_profile": page("console-settings"),
        "first_product": page("console-product-new"),
        "payments": page("console-payments"),
        "miniprogram": page("console-settings") + "#miniprogram",
    }
    items.extend(
        ChecklistItem(key=key, title=str(title), done=bool(state.get(key)), url=pages.get(key))
        for key, title in _STEPS
    )
    return items
