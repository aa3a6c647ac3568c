"""The merchant console's mini-program settings: the shop's WeChat appid, mode and AppSecret.

Shown on the settings page (frontend.views builds the page with `miniprogram_settings_context`);
the AppSecret is write-only: once saved, the page shows a mask, never the secret.
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

from frontend.forms import form_errors_apply
from infra.errors import DomainError
from tenants.models import MiniProgram, MiniProgramMode, Tenant
from tenants.selectors.wechat import miniprogram_get
from tenants.services.audit import AuditContext
from tenants.services.wechat import miniprogram_register

# What the page shows for a saved AppSecret (never the secret, nor a part of it).
SECRET_MASK = "••••••••••••••••"  # noqa: S105 - a mask, not a password


class MiniProgramForm(forms.Form):
    appid = forms.CharField(
        label=gettext_lazy("AppID"),
        max_length=32,
        help_text=gettext_lazy("From the WeChat mini-program admin: “wx” and 16 characters."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    mode = forms.ChoiceField(label=gettext_lazy("How it is run"), choices=MiniProgramMode.choices)
    app_secret = forms.CharField(
        label=gettext_lazy("AppSecret"),
        required=False,
        strip=True,
        max_length=64,
        help_text=gettext_lazy(
            "Only for a mini-program you run yourself. Leave it empty to keep the saved one."
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
    )


def miniprogram_settings_context(
    *, tenant: Tenant, form: MiniProgramForm | None = None
) -> dict[str, Any]:
    """The settings page's mini-program section: the saved one (secret masked) and the form."""
    miniprogram: MiniProgram | None = miniprogram_get(tenant=tenant)
    if form is None:
        initial = (
            {"appid": miniprogram.appid, "mode": miniprogram.mode}
            if miniprogram is not None
            else {"mode": MiniProgramMode.COMPONENT}
        )
        form = MiniProgramForm(initial=initial)
    return {
        "miniprogram": miniprogram,
        "miniprogram_form": form,
        "miniprogram_secret_mask": (
            SECRET_MASK if miniprogram is not None and miniprogram.app_secret_encrypted else ""
        ),
    }


@require_POST
def console_miniprogram_save(request: HttpRequest, slug: str) -> HttpResponse:
    """Save the shop's mini-program (owner, admin, agency, platform staff)."""
    # frontend.views imports this module for the settings page, so it is imported here.
    from frontend.views import _settings_editor_required, _settings_page

    _settings_editor_required(request)
    form = MiniProgramForm(request.POST)
    if form.is_valid():
        try:
            miniprogram_register(
                tenant=request.console_tenant,  # type: ignore[attr-defined]
                appid=form.cleaned_data["appid"],
                mode=form.cleaned_data["mode"],
                app_secret=form.cleaned_data["app_secret"] or None,
                context=AuditContext.from_request(request),
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            messages.success(request, _("Your mini-program is saved."))
            return redirect("console-settings", slug=slug)
    return _settings_page(request, miniprogram_form=form, status=400)
