"""The merchant console's Official Account settings: the shop's 服务号 appid, mode and AppSecret.

Shown on the settings page beside the mini-program (frontend.views builds the page with
`official_account_settings_context`); members inside WeChat's browser bind their openid through
its web authorization, which JSAPI payments in H5 need. The AppSecret is write-only: once
saved, the page shows a mask, never the secret.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontend.console_miniprogram import SECRET_MASK
from frontend.forms import form_errors_apply
from infra.errors import DomainError
from tenants.models import OfficialAccount, OfficialAccountMode, Tenant
from tenants.selectors.tenancy import shop_host_for
from tenants.selectors.wechat import official_account_get
from tenants.services.audit import AuditContext
from tenants.services.wechat import official_account_register


class OfficialAccountForm(forms.Form):
    appid = forms.CharField(
        label=gettext_lazy("AppID"),
        max_length=32,
        help_text=gettext_lazy("From the Official Account admin: “wx” and 16 characters."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("How it is run"), choices=OfficialAccountMode.choices
    )
    app_secret = forms.CharField(
        label=gettext_lazy("AppSecret"),
        required=False,
        strip=True,
        max_length=64,
        help_text=gettext_lazy(
            "Only for an Official Account you run yourself. Leave it empty to keep the saved one."
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
    )


def official_account_settings_context(
    *, tenant: Tenant, form: OfficialAccountForm | None = None
) -> dict[str, Any]:
    """The settings page's Official Account section: the saved one (secret masked), the form,
    and the host to enter as its web authorization domain."""
    account: OfficialAccount | None = official_account_get(tenant=tenant)
    if form is None:
        initial = (
            {"appid": account.appid, "mode": account.mode}
            if account is not None
            else {"mode": OfficialAccountMode.COMPONENT}
        )
        form = OfficialAccountForm(initial=initial, prefix="official_account")
    return {
        "official_account": account,
        "official_account_form": form,
        "official_account_secret_mask": (
            SECRET_MASK if account is not None and account.app_secret_encrypted else ""
        ),
        "official_account_oauth_domain": shop_host_for(tenant.slug),
    }


@require_POST
def console_official_account_save(request: HttpRequest, slug: str) -> HttpResponse:
    """Save the shop's Official Account (owner, admin, agency, platform staff)."""
    # frontend.views imports this module for the settings page, so it is imported here.
    from frontend.views import _settings_editor_required, _settings_page

    _settings_editor_required(request)
    form = OfficialAccountForm(request.POST, prefix="official_account")
    if form.is_valid():
        try:
            official_account_register(
                tenant=request.console_tenant,  # type: ignore[attr-defined]
                appid=form.cleaned_data["appid"],
                mode=form.cleaned_data["mode"],
                app_secret=form.cleaned_data["app_secret"] or None,
                context=AuditContext.from_request(request),
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            messages.success(request, _("Your Official Account is saved."))
            return redirect("console-settings", slug=slug)
    return _settings_page(request, official_account_form=form, status=400)
