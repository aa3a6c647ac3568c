"""The merchant console's payment settings: Stripe Connect and the WeChat Pay sub-merchant.

Every member of the shop may look. The owner or an admin connects Stripe (onboarding is the
merchant's own agreement with Stripe); platform staff enter the WeChat Pay sub-merchant, which
WeChat issues to the platform as service provider (billing.services.connect says why). Store
clerks and staff change nothing here.

Stripe's onboarding leaves the console for Stripe's hosted pages and comes back to the return
URL (we then ask Stripe how far the account got) or, when the link expired, to the refresh URL
(a new link at once), as Stripe's Connect guide has it.
"""

from __future__ import annotations

import contextlib
from typing import Any, cast

from babel import Locale, UnknownLocaleError
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from billing.models import MerchantPaymentAccount, PaymentProvider
from billing.selectors import payment_account_of
from billing.services.connect import (
    STRIPE_CONNECT_ROLES,
    STRIPE_COUNTRIES,
    stripe_account_sync,
    stripe_onboarding_link_create,
    stripe_onboarding_start,
    wechatpay_sub_merchant_set,
)
from frontend.console_access import console_tenant
from frontend.forms import form_errors_apply
from frontend.views import _console_context
from infra.errors import DomainError
from tenants.models import Account, Tenant
from tenants.selectors.wechat import miniprogram_get
from tenants.services.audit import AuditContext


def _country_choices() -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    with contextlib.suppress(UnknownLocaleError, ValueError):  # codes stand for the names
        names = dict(Locale.parse(get_language() or "en", sep="-").territories)
    return sorted(
        ((code, names.get(code, code)) for code in STRIPE_COUNTRIES),
        key=lambda choice: choice[1],
    )


class StripeConnectForm(forms.Form):
    country = forms.ChoiceField(
        label=gettext_lazy("Country of your business"),
        help_text=gettext_lazy(
            "Where your company is registered. Stripe has no accounts in mainland China: "
            "a business there connects with its Hong Kong or Singapore company, for example."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["country"])
        field.choices = _country_choices()


class WeChatSubMerchantForm(forms.Form):
    sub_mchid = forms.CharField(
        label=gettext_lazy("Sub-merchant id (sub_mchid)"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    sub_appid = forms.CharField(
        label=gettext_lazy("Bound AppID (sub_appid)"),
        max_length=32,
        required=False,
        help_text=gettext_lazy("The shop's mini-program or Official Account bound to it."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    active = forms.BooleanField(
        label=gettext_lazy("Take payments through this sub-merchant"), required=False
    )


def _role(request: HttpRequest) -> str:
    return str(getattr(request, "console_role", "") or "")


def _can_connect_stripe(request: HttpRequest) -> bool:
    return _role(request) in STRIPE_CONNECT_ROLES


def _is_platform_staff(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_platform_staff", False))


def _page(
    request: HttpRequest,
    *,
    stripe_form: StripeConnectForm | None = None,
    wechat_form: WeChatSubMerchantForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _console_context(request, "settings")
    tenant: Tenant = context["shop"]
    stripe_account = payment_account_of(tenant_id=tenant.pk, provider=PaymentProvider.STRIPE)
    wechat_account = payment_account_of(tenant_id=tenant.pk, provider=PaymentProvider.WECHATPAY)
    if wechat_form is None:
        if wechat_account is not None:
            initial: dict[str, Any] = {
                "sub_mchid": wechat_account.account_id,
                "sub_appid": wechat_account.sub_appid,
                "active": wechat_account.status == MerchantPaymentAccount.Status.ACTIVE,
            }
        else:
            miniprogram = miniprogram_get(tenant=tenant)
            initial = {"sub_appid": miniprogram.appid if miniprogram else "", "active": True}
        wechat_form = WeChatSubMerchantForm(initial=initial)
    context.update(
        stripe_account=stripe_account,
        wechat_account=wechat_account,
        can_connect_stripe=_can_connect_stripe(request),
        can_set_wechat=_is_platform_staff(request),
        stripe_form=stripe_form or StripeConnectForm(initial={"country": "HK"}),
        wechat_form=wechat_form,
    )
    return render(request, "frontend/payments/settings.html", context, status=status)


@require_GET
def payments_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The shop's payment accounts and their state."""
    console_tenant(request)
    return _page(request)


def _stripe_urls(request: HttpRequest, slug: str) -> dict[str, str]:
    return {
        "return_url": request.build_absolute_uri(
            reverse("console-payments-stripe-return", kwargs={"slug": slug})
        ),
        "refresh_url": request.build_absolute_uri(
            reverse("console-payments-stripe-refresh", kwargs={"slug": slug})
        ),
    }


def _stripe_editor_required(request: HttpRequest) -> Tenant:
    tenant = console_tenant(request)
    if not _can_connect_stripe(request):
        raise PermissionDenied
    return tenant


@require_POST
def stripe_connect(request: HttpRequest, slug: str) -> HttpResponse:
    """The "Connect Stripe" button: off to Stripe's onboarding (the account is made once)."""
    tenant = _stripe_editor_required(request)
    form = StripeConnectForm(request.POST)
    if form.is_valid():
        try:
            url = stripe_onboarding_start(
                tenant=tenant,
                acting_role=_role(request),
                country=form.cleaned_data["country"],
                context=AuditContext.from_request(request),
                **_stripe_urls(request, slug),
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            return redirect(url)
    return _page(request, stripe_form=form, status=400)


@require_GET
def stripe_refresh(request: HttpRequest, slug: str) -> HttpResponse:
    """Stripe sends the merchant here when the onboarding link expired: a new one at once."""
    tenant = _stripe_editor_required(request)
    try:
        url = stripe_onboarding_link_create(
            tenant=tenant,
            acting_role=_role(request),
            context=AuditContext.from_request(request),
            **_stripe_urls(request, slug),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("console-payments", slug=slug)
    return redirect(url)


@require_GET
def stripe_return(request: HttpRequest, slug: str) -> HttpResponse:
    """Back from Stripe's onboarding: ask Stripe how far the account got, and say so."""
    tenant = console_tenant(request)
    account = payment_account_of(tenant_id=tenant.pk, provider=PaymentProvider.STRIPE)
    if account is not None:
        try:
            account = stripe_account_sync(account_id=account.account_id) or account
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("console-payments", slug=slug)
    if account is None:
        messages.error(request, _("This shop is not connected to Stripe yet."))
    elif account.status == MerchantPaymentAccount.Status.ACTIVE:
        messages.success(request, _("Stripe is connected: your shop takes card payments."))
    elif account.status == MerchantPaymentAccount.Status.DISABLED:
        messages.error(request, _("This payment account is disabled by the platform."))
    else:
        messages.info(
            request,
            _(
                "Stripe has not enabled payments for your account yet. Finish the onboarding, "
                "or wait for Stripe's review."
            ),
        )
    return redirect("console-payments", slug=slug)


@require_POST
def wechatpay_save(request: HttpRequest, slug: str) -> HttpResponse:
    """Platform staff record the shop's WeChat Pay sub-merchant."""
    tenant = console_tenant(request)
    if not _is_platform_staff(request):
        raise PermissionDenied
    form = WeChatSubMerchantForm(request.POST)
    if form.is_valid():
        try:
            wechatpay_sub_merchant_set(
                tenant=tenant,
                actor=cast(Account, request.user),
                sub_mchid=form.cleaned_data["sub_mchid"],
                sub_appid=form.cleaned_data["sub_appid"],
                active=form.cleaned_data["active"],
                context=AuditContext.from_request(request),
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            messages.success(request, _("The WeChat Pay sub-merchant is saved."))
            return redirect("console-payments", slug=slug)
    return _page(request, wechat_form=form, status=400)
