"""Pages of the platform host: landing, signup, login, accounts, and the merchant console shell.

Views validate input with forms and call the tenants services; rules live in the services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontend.console_miniprogram import MiniProgramForm, miniprogram_settings_context
from frontend.console_official_account import (
    OfficialAccountForm,
    official_account_settings_context,
)
from frontend.forms import (
    SHOP_LANGUAGE_NAMES,
    DomainForm,
    LoginForm,
    PasswordResetConfirmForm,
    PasswordResetRequestForm,
    ShopCreateForm,
    ShopFields,
    ShopProfileForm,
    SignupForm,
    StaffAddForm,
    StaffRoleForm,
    VerificationCodeForm,
    form_errors_apply,
    time_zone_suggestions,
)
from frontend.links import shop_host_display, storefront_url
from frontend.navigation import CONSOLE_SECTIONS, SECTIONS_BY_KEY
from infra.errors import DomainError
from shop.core.selectors import shop_profile_get
from tenants.models import Account, Domain, Membership, Role, Tenant
from tenants.selectors.accounts import (
    agency_list_for_account,
    membership_get,
    membership_list_for_tenant,
    tenant_list_for_account,
)
from tenants.selectors.onboarding import onboarding_checklist
from tenants.selectors.tenancy import domain_list_for_tenant
from tenants.services.accounts import (
    account_verification_confirm,
    account_verification_send,
    password_reset_confirm,
    password_reset_request,
)
from tenants.services.agencies import agency_client_shop_create
from tenants.services.audit import AuditContext
from tenants.services.domains import domain_add, domain_remove, domain_verify, verification_record
from tenants.services.login import login_attempt
from tenants.services.memberships import membership_add, membership_remove, membership_role_change
from tenants.services.signup import tenant_create_for_account, tenant_signup
from tenants.services.tenancy import tenant_profile_update

Channel = Literal["email", "phone"]
SLUG_PLACEHOLDER = "your-shop"


def _account(request: HttpRequest) -> Account:
    return cast(Account, request.user)


def _shop_defaults() -> dict[str, str]:
    language = get_language() or settings.LANGUAGE_CODE
    return {
        "currency": "CNY",
        "language": language if language in settings.SHOP_LANGUAGES else "zh-hans",
        "time_zone": "Asia/Shanghai",
    }


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- Platform pages


@require_GET
def platform_home(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/platform_home.html")


def _shop_form_context(request: HttpRequest, form: ShopFields) -> dict[str, Any]:
    slug = str(form["slug"].value() or "").strip().lower()
    return {
        "form": form,
        "time_zones": time_zone_suggestions(),
        "slug_host": shop_host_display(slug or SLUG_PLACEHOLDER, request),
    }


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        # An account adds shops from the console; signup creates a new account.
        return redirect("shop-create")
    form = SignupForm(request.POST or None, initial=_shop_defaults())
    if request.method == "POST" and form.is_valid():
        try:
            result = tenant_signup(
                **form.shop_arguments(),
                email=form.cleaned_data["email"].strip() or None,
                phone=form.cleaned_data["phone"].strip() or None,
                password=form.cleaned_data["password"],
                context=AuditContext.from_request(request),
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            auth_login(request, result.account)
            messages.success(request, _("Welcome! Your shop is ready."))
            return redirect("console-dashboard", slug=result.tenant.slug)
    return render(request, "frontend/signup.html", _shop_form_context(request, form))


@require_GET
def signup_slug_preview(request: HttpRequest) -> HttpResponse:
    """The shop's future address as the visitor types its slug (htmx)."""
    slug = request.GET.get("slug", "").strip().lower()[:40]
    return render(
        request,
        "frontend/includes/slug_preview.html",
        {"slug_host": shop_host_display(slug or SLUG_PLACEHOLDER, request)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def shop_create(request: HttpRequest) -> HttpResponse:
    """A further shop for the logged-in account, or for a client of one of its agencies."""
    account = _account(request)
    agencies = {agency.pk: agency for agency in agency_list_for_account(account=account)}
    form = ShopCreateForm(
        request.POST or None,
        initial={**_shop_defaults(), "owner": "self"},
        agencies=[(agency.pk, agency.name) for agency in agencies.values()],
    )
    if request.method == "POST" and form.is_valid():
        context = AuditContext.from_request(request)
        agency_id = form.agency_id()
        try:
            if agency_id is None:
                tenant = tenant_create_for_account(
                    account=account, shop=form.shop_arguments(), context=context
                )
            elif agency_id in agencies:
                tenant = agency_client_shop_create(
                    agency=agencies[agency_id],
                    actor=account,
                    shop=form.shop_arguments(),
                    context=context,
                )
            else:
                raise Http404
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            messages.success(request, _("Your new shop is ready."))
            return redirect("console-dashboard", slug=tenant.slug)
    return render(request, "frontend/shop_create.html", _shop_form_context(request, form))


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, reverse(settings.LOGIN_REDIRECT_URL))
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(next_url)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = login_attempt(
                request=request,
                identifier=form.cleaned_data["identifier"],
                password=form.cleaned_data["password"],
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            auth_login(request, account)
            return redirect(next_url)
    status = 429 if form.errors and _error_code(form) == "login_throttled" else 200
    return render(request, "frontend/login.html", {"form": form, "next": next_url}, status=status)


def _error_code(form: LoginForm) -> str | None:
    for error in form.non_field_errors().as_data():
        return str(error.code) if error.code else None
    return None


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    messages.info(request, _("You are logged out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"].strip()
        try:
            password_reset_request(
                identifier=identifier, context=AuditContext.from_request(request)
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            messages.info(
                request,
                _("If an account uses %(identifier)s, a code is on its way.")
                % {"identifier": identifier},
            )
            confirm = reverse("password-reset-confirm")
            return redirect(f"{confirm}?{urlencode({'identifier': identifier})}")
    return render(request, "frontend/password_reset.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset_confirm_page(request: HttpRequest) -> HttpResponse:
    form = PasswordResetConfirmForm(
        request.POST or None, initial={"identifier": request.GET.get("identifier", "")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            password_reset_confirm(
                identifier=form.cleaned_data["identifier"],
                code=form.cleaned_data["code"],
                new_password=form.cleaned_data["new_password"],
                context=AuditContext.from_request(request),
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            messages.success(request, _("Your password is changed. Log in with the new one."))
            return redirect("login")
    return render(request, "frontend/password_reset_confirm.html", {"form": form})


# --- Account verification


def _verification_channels(
    account: Account, forms: dict[str, VerificationCodeForm] | None = None
) -> list[dict[str, Any]]:
    forms = forms or {}
    return [
        {
            "key": "email",
            "title": _("E-mail"),
            "value": account.email,
            "verified_at": account.email_verified_at,
            "form": forms.get("email") or VerificationCodeForm(prefix="email"),
        },
        {
            "key": "phone",
            "title": _("Mobile phone"),
            "value": account.phone,
            "verified_at": account.phone_verified_at,
            "form": forms.get("phone") or VerificationCodeForm(prefix="phone"),
        },
    ]


def _verification_response(
    request: HttpRequest,
    channel: Channel | None = None,
    form: VerificationCodeForm | None = None,
    notice: str | None = None,
    error: str | None = None,
) -> HttpResponse:
    account = _account(request)
    channels = _verification_channels(account, {channel: form} if channel and form else None)
    if channel is not None and request.htmx:  # type: ignore[attr-defined]
        # htmx swaps only the card of the channel that changed.
        card = next(item for item in channels if item["key"] == channel)
        return render(
            request,
            "frontend/includes/verification_channel.html",
            {"channel": card, "notice": notice, "error": error},
        )
    if notice:
        messages.success(request, notice)
    if error:
        messages.error(request, error)
    return render(request, "frontend/account_verify.html", {"channels": channels})


def _channel(value: str) -> Channel:
    if value == "email":
        return "email"
    if value == "phone":
        return "phone"
    raise Http404


@login_required
@require_GET
def account_verify(request: HttpRequest) -> HttpResponse:
    return _verification_response(request)


@login_required
@require_POST
def account_verify_send(request: HttpRequest, channel: str) -> HttpResponse:
    chosen = _channel(channel)
    account = _account(request)
    try:
        account_verification_send(
            account=account, channel=chosen, context=AuditContext.from_request(request)
        )
    except DomainError as error:
        return _verification_response(request, chosen, error=error.message)
    sent_to = account.email if chosen == "email" else account.phone
    notice = _("We sent a code to %(destination)s.") % {"destination": sent_to}
    return _verification_response(request, chosen, notice=notice)


@login_required
@require_POST
def account_verify_confirm(request: HttpRequest, channel: str) -> HttpResponse:
    chosen = _channel(channel)
    form = VerificationCodeForm(request.POST, prefix=chosen)
    if form.is_valid():
        try:
            account_verification_confirm(
                account=_account(request),
                channel=chosen,
                code=form.cleaned_data["code"],
                context=AuditContext.from_request(request),
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            _account(request).refresh_from_db()
            notice = (
                _("Your e-mail address is verified.")
                if chosen == "email"
                else _("Your phone number is verified.")
            )
            return _verification_response(request, chosen, notice=notice)
    return _verification_response(request, chosen, form)


# --- Merchant console


def _role_label(role: str | None) -> str:
    if role is None:
        return ""
    if role == "platform_staff":
        return _("Platform staff")
    return str(dict(Role.choices).get(role, role))


def _console_context(request: HttpRequest, section: str) -> dict[str, Any]:
    tenant: Tenant = request.console_tenant  # type: ignore[attr-defined]
    return {
        "shop": tenant,
        "role_label": _role_label(getattr(request, "console_role", None)),
        "shop_language": SHOP_LANGUAGE_NAMES.get(tenant.language, tenant.language),
        "shops": list(tenant_list_for_account(account=_account(request))),
        "sections": CONSOLE_SECTIONS,
        "section": SECTIONS_BY_KEY[section],
        "storefront_url": storefront_url(tenant.slug, request),
        "storefront_host": shop_host_display(tenant.slug, request),
    }


def _console_tenant_required(request: HttpRequest) -> None:
    # The middleware checked the membership; no tenant here means no such shop.
    if getattr(request, "console_tenant", None) is None:
        raise Http404


@login_required
@require_GET
def console_home(request: HttpRequest) -> HttpResponse:
    shops = [
        {
            "tenant": tenant,
            "storefront_url": storefront_url(tenant.slug, request),
            "storefront_host": shop_host_display(tenant.slug, request),
        }
        for tenant in tenant_list_for_account(account=_account(request))
    ]
    agencies = list(agency_list_for_account(account=_account(request)))
    return render(
        request, "frontend/console_home.html", {"shop_cards": shops, "agencies": agencies}
    )


@require_GET
def console_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    _console_tenant_required(request)
    context = _console_context(request, "dashboard")
    checklist = onboarding_checklist(tenant=context["shop"], account=_account(request))
    done = sum(1 for item in checklist if item.done)
    context.update(
        checklist=checklist,
        checklist_done=done,
        checklist_percent=round(100 * done / len(checklist)) if checklist else 100,
    )
    return render(request, "frontend/console_dashboard.html", context)


@require_GET
def console_section(request: HttpRequest, slug: str, section: str) -> HttpResponse:
    """A section whose pages come with a later issue: an empty state saying what will be there."""
    _console_tenant_required(request)
    return render(request, "frontend/console_section.html", _console_context(request, section))


# Roles that may change the shop's settings; staff and clerks see them read-only.
SETTINGS_EDITOR_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.AGENCY, "platform_staff"})


def _settings_page(
    request: HttpRequest,
    *,
    profile_form: ShopProfileForm | None = None,
    domain_form: DomainForm | None = None,
    staff_form: StaffAddForm | None = None,
    miniprogram_form: MiniProgramForm | None = None,
    official_account_form: OfficialAccountForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _console_context(request, "settings")
    tenant: Tenant = context["shop"]
    profile = shop_profile_get()
    context.update(
        can_edit=getattr(request, "console_role", None) in SETTINGS_EDITOR_ROLES,
        profile_form=profile_form
        or ShopProfileForm(
            initial={
                "name": tenant.name,
                "description": profile.description,
                "contact_email": profile.contact_email,
                "contact_phone": profile.contact_phone,
            }
        ),
        domain_form=domain_form or DomainForm(),
        staff_form=staff_form or StaffAddForm(),
        memberships=[
            {"membership": membership, "form": StaffRoleForm(initial={"role": membership.role})}
            for membership in membership_list_for_tenant(tenant=tenant)
        ],
        domains=[
            {"domain": domain, "record": verification_record(domain)}
            for domain in domain_list_for_tenant(tenant=tenant)
        ],
        **miniprogram_settings_context(tenant=tenant, form=miniprogram_form),
        **official_account_settings_context(tenant=tenant, form=official_account_form),
    )
    return render(request, "frontend/console_settings.html", context, status=status)


def _settings_action(
    request: HttpRequest, action: Callable[[], object], notice: str
) -> HttpResponse:
    """Run a settings service from a button; its error or `notice` shows on the settings page."""
    try:
        action()
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, notice)
    tenant: Tenant = request.console_tenant  # type: ignore[attr-defined]
    return redirect("console-settings", slug=tenant.slug)


def _settings_editor_required(request: HttpRequest) -> None:
    _console_tenant_required(request)
    if getattr(request, "console_role", None) not in SETTINGS_EDITOR_ROLES:
        raise PermissionDenied


@require_GET
def console_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The shop's settings: its profile and its domains."""
    _console_tenant_required(request)
    return _settings_page(request)


@require_POST
def console_settings_profile(request: HttpRequest, slug: str) -> HttpResponse:
    _settings_editor_required(request)
    form = ShopProfileForm(request.POST)
    if form.is_valid():
        try:
            tenant_profile_update(
                tenant=request.console_tenant,  # type: ignore[attr-defined]
                context=AuditContext.from_request(request),
                **form.cleaned_data,
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            messages.success(request, _("Your shop profile is saved."))
            return redirect("console-settings", slug=slug)
    return _settings_page(request, profile_form=form, status=400)


@require_POST
def console_domain_add(request: HttpRequest, slug: str) -> HttpResponse:
    _settings_editor_required(request)
    form = DomainForm(request.POST)
    if form.is_valid():
        try:
            domain_add(
                tenant=request.console_tenant,  # type: ignore[attr-defined]
                domain=form.cleaned_data["domain"],
                context=AuditContext.from_request(request),
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            messages.success(request, _("Domain added. Publish the TXT record, then verify."))
            return redirect("console-settings", slug=slug)
    return _settings_page(request, domain_form=form, status=400)


def _shop_domain(request: HttpRequest, domain_id: int) -> Domain:
    tenant: Tenant = request.console_tenant  # type: ignore[attr-defined]
    domain = domain_list_for_tenant(tenant=tenant).filter(pk=domain_id).first()
    if domain is None:
        raise Http404
    return domain


@require_POST
def console_domain_verify(request: HttpRequest, slug: str, domain_id: int) -> HttpResponse:
    _settings_editor_required(request)
    domain = _shop_domain(request, domain_id)
    return _settings_action(
        request,
        lambda: domain_verify(domain=domain, context=AuditContext.from_request(request)),
        _("%(domain)s is verified and serves your shop.") % {"domain": domain},
    )


@require_POST
def console_domain_remove(request: HttpRequest, slug: str, domain_id: int) -> HttpResponse:
    _settings_editor_required(request)
    domain = _shop_domain(request, domain_id)
    return _settings_action(
        request,
        lambda: domain_remove(domain=domain, context=AuditContext.from_request(request)),
        _("%(domain)s no longer serves your shop.") % {"domain": domain},
    )


def _console_membership(request: HttpRequest, membership_id: int) -> Membership:
    tenant: Tenant = request.console_tenant  # type: ignore[attr-defined]
    membership = membership_get(tenant=tenant, membership_id=membership_id)
    if membership is None:
        raise Http404
    return membership


@require_POST
def console_staff_add(request: HttpRequest, slug: str) -> HttpResponse:
    _settings_editor_required(request)
    form = StaffAddForm(request.POST)
    if form.is_valid():
        try:
            membership = membership_add(
                tenant=request.console_tenant,  # type: ignore[attr-defined]
                identifier=form.cleaned_data["identifier"],
                role=form.cleaned_data["role"],
                acting_role=request.console_role,  # type: ignore[attr-defined]
                context=AuditContext.from_request(request),
            )
        except DomainError as error:
            form_errors_apply(form, error)
        else:
            messages.success(
                request, _("%(account)s now works on this shop.") % {"account": membership.account}
            )
            return redirect("console-settings", slug=slug)
    return _settings_page(request, staff_form=form, status=400)


@require_POST
def console_staff_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    _settings_editor_required(request)
    membership = _console_membership(request, membership_id)
    form = StaffRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("console-settings", slug=slug)
    return _settings_action(
        request,
        lambda: membership_role_change(
            membership=membership,
            role=form.cleaned_data["role"],
            acting_role=request.console_role,  # type: ignore[attr-defined]
            context=AuditContext.from_request(request),
        ),
        _("The role is changed."),
    )


@require_POST
def console_staff_remove(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    _settings_editor_required(request)
    membership = _console_membership(request, membership_id)
    return _settings_action(
        request,
        lambda: membership_remove(
            membership=membership,
            acting_role=request.console_role,  # type: ignore[attr-defined]
            context=AuditContext.from_request(request),
        ),
        _("%(account)s no longer works on this shop.") % {"account": membership.account},
    )
