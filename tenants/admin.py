"""The platform admin (Django admin on the platform host, /admin/): shops, accounts, agencies,
audit log.

Platform staff (Account.is_platform_staff) run the control plane, so every admin here is open to
them as a whole; only superusers may grant staff or superuser rights. Writes go through services
so that each one is audited: shops through tenants.services.tenancy (which also invalidates the
cached routing), other objects through tenants.services.admin_writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from infra.errors import DomainError
from tenants.identifiers import identifier_normalize
from tenants.models import (
    Account,
    Agency,
    AgencyMembership,
    AuditLog,
    Domain,
    Membership,
    Role,
    Tenant,
)
from tenants.services.admin_writes import (
    admin_change_record,
    admin_object_delete,
    admin_object_save,
)
from tenants.services.audit import AuditContext
from tenants.services.tenancy import (
    SUSPEND_REASON_MAX_LENGTH,
    account_impersonation_start,
    account_impersonation_stop,
    tenant_reactivate,
    tenant_suspend,
    tenant_update,
)

if TYPE_CHECKING:
    AccountAdminBase = UserAdmin[Any]  # Account is not an AbstractUser, as the stubs demand
    AccountChangeFormBase = UserChangeForm[Account]
    AgencyAdminBase = admin.ModelAdmin[Agency]
    AuditLogAdminBase = admin.ModelAdmin[AuditLog]
    TenantAdminBase = admin.ModelAdmin[Tenant]
    ReadOnlyInlineBase = admin.TabularInline[Any, Any]
    AgencyMembershipInlineBase = admin.TabularInline[AgencyMembership, Agency]
    AccountFormBase = forms.ModelForm[Account]
    TenantFormBase = forms.ModelForm[Tenant]
else:
    AccountAdminBase = UserAdmin
    AccountChangeFormBase = UserChangeForm
    AgencyAdminBase = AuditLogAdminBase = TenantAdminBase = admin.ModelAdmin
    ReadOnlyInlineBase = AgencyMembershipInlineBase = admin.TabularInline
    AccountFormBase = TenantFormBase = forms.ModelForm

admin.site.site_header = _("Platform admin")
admin.site.site_title = _("Platform admin")
admin.site.index_title = _("Control plane")
# django_tenants overrides admin/index.html and admin/app_list.html with versions that read
# request.tenant, which the platform host leaves unset: use Django's own (copied under
# admin/platform/) and no navigation sidebar (it includes admin/app_list.html too).
admin.site.index_template = "admin/platform/index.html"
admin.site.app_index_template = "admin/platform/app_index.html"
admin.site.enable_nav_sidebar = False


def is_platform_staff(request: HttpRequest) -> bool:
    """Whether the request comes from an active platform staff account."""
    user = request.user
    return bool(user.is_active and getattr(user, "is_platform_staff", False))


def _staff_account(request: HttpRequest) -> Account:
    user = request.user
    if not isinstance(user, Account) or not is_platform_staff(request):
        raise PermissionDenied
    return user


class PlatformStaffAccess:
    """Every platform staff account may view and edit this admin; `can_*` narrow it."""

    can_add = True
    can_change = True
    can_delete = True

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_platform_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_staff(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.can_add and is_platform_staff(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.can_change and is_platform_staff(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.can_delete and is_platform_staff(request)


class ReadOnlyInline(PlatformStaffAccess, ReadOnlyInlineBase):
    """A list of related rows shown on a change page; they change elsewhere."""

    can_add = can_change = can_delete = False
    extra = 0
    show_change_link = True


def _field_names(changed: list[str]) -> list[str]:
    # Password forms have password1/password2 (and usable_password): the field is "password".
    return sorted(
        {
            "password" if name.startswith(("password", "usable_password")) else name
            for name in changed
        }
    )


class AuditedSaves:
    """Admin saves and deletes (inline rows too) through the audited admin_writes services."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        admin_object_save(
            obj=obj,
            changed_fields=_field_names(form.changed_data),
            adding=not change,
            context=AuditContext.from_request(request),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        admin_object_delete(obj=obj, context=AuditContext.from_request(request))

    def save_formset(
        self,
        request: HttpRequest,
        form: Any,
        formset: BaseInlineFormSet[Any, Any, Any],
        change: bool,
    ) -> None:
        context = AuditContext.from_request(request)
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            admin_object_delete(obj=obj, context=context)
        changed = {id(obj): fields for obj, fields in formset.changed_objects}
        for obj in instances:
            admin_object_save(
                obj=obj,
                changed_fields=_field_names(list(changed.get(id(obj), formset.form.base_fields))),
                adding=obj in formset.new_objects,
                context=context,
            )
        formset.save_m2m()


# --- Shops


class PlanFilter(admin.SimpleListFilter):
    """The billing plan of the shop's subscription (or none)."""

    title = _("plan")
    parameter_name = "plan"
    NO_PLAN = "-"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        codes = (
            Tenant.objects.exclude(subscription__isnull=True)
            .order_by("subscription__plan_code")
            .values_list("subscription__plan_code", flat=True)
            .distinct()
        )
        return [(code, code) for code in codes] + [(self.NO_PLAN, gettext("No plan"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if value == self.NO_PLAN:
            return queryset.filter(subscription__isnull=True)
        return queryset.filter(subscription__plan_code=value)


class DomainInline(ReadOnlyInline):
    model = Domain
    fields = ("domain", "is_primary", "is_verified", "created_at")
    readonly_fields = fields
    show_change_link = False


class TenantMembershipInline(ReadOnlyInline):
    model = Membership
    fields = ("account", "role", "created_at")
    readonly_fields = fields
    verbose_name_plural = _("members")
    show_change_link = False


class TenantChangeForm(TenantFormBase):
    class Meta:
        model = Tenant
        fields = ("name", "agency")


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=SUSPEND_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Recorded in the audit log and shown to the platform staff."),
    )


@admin.register(Tenant)
class TenantAdmin(PlatformStaffAccess, TenantAdminBase):
    """Shops: new ones come from signup; staff rename, suspend, reactivate, impersonate."""

    can_add = can_delete = False
    form = TenantChangeForm
    list_display = ("slug", "name", "plan", "status", "agency", "created_at")
    list_filter = ("status", PlanFilter)
    search_fields = ("name", "slug", "domains__domain")
    list_select_related = ("agency", "subscription")
    ordering = ("slug",)
    readonly_fields = (
        "slug",
        "schema_name",
        "plan",
        "owner",
        "status",
        "suspended_reason",
        "suspended_at",
        "currency",
        "language",
        "time_zone",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("slug", "name", "agency", "schema_name", "plan", "owner")}),
        (_("Status"), {"fields": ("status", "suspended_reason", "suspended_at")}),
        (_("Locale"), {"fields": ("currency", "language", "time_zone", "created_at")}),
    )
    inlines = (DomainInline, TenantMembershipInline)
    actions = ("suspend_tenants", "reactivate_tenants")

    @admin.display(description=_("plan"), ordering="subscription__plan_code")
    def plan(self, tenant: Tenant) -> str:
        subscription = getattr(tenant, "subscription", None)
        if subscription is None:
            return "-"
        return f"{subscription.plan_code} ({subscription.get_status_display()})"

    @admin.display(description=_("owner"))
    def owner(self, tenant: Tenant) -> str:
        owner = tenant_owner_get(tenant=tenant)
        return str(owner) if owner is not None else "-"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Tenant], search_term: str
    ) -> tuple[QuerySet[Tenant], bool]:
        return super().get_search_results(request, queryset, search_term.lower())

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        tenant_update(
            tenant=obj,
            name=form.cleaned_data["name"],
            agency=form.cleaned_data["agency"],
            context=AuditContext.from_request(request),
        )

    def get_urls(self) -> list[URLPattern]:
        info = (self.opts.app_label, self.opts.model_name)
        return [
            path(
                "<path:object_id>/impersonate/",
                self.admin_site.admin_view(self.impersonate_owner_view),
                name="{}_{}_impersonate".format(*info),
            ),
            *super().get_urls(),
        ]

    def impersonate_owner_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """Log in as the shop's owner and open its console (POST only, audited)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        staff = _staff_account(request)
        tenant = self.get_object(request, unquote(object_id))
        if tenant is None:
            raise Http404
        change_url = reverse("admin:tenants_tenant_change", args=[tenant.pk])
        owner = tenant_owner_get(tenant=tenant)
        if owner is None:
            self.message_user(request, gettext("This shop has no owner."), messages.ERROR)
            return HttpResponseRedirect(change_url)
        try:
            account_impersonation_start(
                request=request,
                staff=staff,
                account=owner,
                tenant=tenant,
                context=AuditContext.from_request(request),
            )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(change_url)
        return HttpResponseRedirect(reverse("console-dashboard", kwargs={"slug": tenant.slug}))

    @admin.action(description=_("Suspend selected shops"))
    def suspend_tenants(
        self, request: HttpRequest, queryset: QuerySet[Tenant]
    ) -> TemplateResponse | None:
        """Ask for a reason on an intermediate page, then suspend each shop through the service."""
        form = SuspendForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            context = AuditContext.from_request(request)
            done, skipped = [], []
            for tenant in queryset:
                try:
                    tenant_suspend(
                        tenant=tenant, reason=form.cleaned_data["reason"], context=context
                    )
                except DomainError:
                    skipped.append(tenant.slug)
                else:
                    done.append(tenant.slug)
            self._report(
                request, gettext("Suspended: %s"), done, gettext("Not suspended: %s"), skipped
            )
            return None
        return TemplateResponse(
            request,
            "admin/tenants/tenant/suspend.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Suspend shops"),
                "opts": self.opts,
                "tenants": queryset,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Reactivate selected shops"))
    def reactivate_tenants(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        context = AuditContext.from_request(request)
        done, skipped = [], []
        for tenant in queryset:
            try:
                tenant_reactivate(tenant=tenant, context=context)
            except DomainError:
                skipped.append(tenant.slug)
            else:
                done.append(tenant.slug)
        self._report(
            request, gettext("Reactivated: %s"), done, gettext("Not suspended: %s"), skipped
        )

    def _report(
        self,
        request: HttpRequest,
        done_text: str,
        done: list[str],
        skipped_text: str,
        skipped: list[str],
    ) -> None:
        if done:
            self.message_user(request, done_text % ", ".join(done), messages.SUCCESS)
        if skipped:
            self.message_user(request, skipped_text % ", ".join(skipped), messages.WARNING)


def tenant_owner_get(*, tenant: Tenant) -> Account | None:
    """The shop's first owner (the one impersonation logs in as)."""
    return (
        Account.objects.filter(memberships__tenant=tenant, memberships__role=Role.OWNER)
        .order_by("memberships__created_at", "pk")
        .first()
    )


# --- Accounts


class AccountMembershipInline(ReadOnlyInline):
    model = Membership
    fk_name = "account"
    fields = ("tenant", "role", "created_at")
    readonly_fields = fields
    verbose_name_plural = _("shops")
    show_change_link = False


class AccountFieldsMixin(AccountFormBase):
    """E-mail or phone (at least one), stored in their normal form as signup stores them."""

    def clean_email(self) -> str | None:
        email = self.cleaned_data.get("email")
        if not email:
            return None
        _kind, value = identifier_normalize(email)
        if Account.objects.filter(email__iexact=value).exclude(pk=self.instance.pk).exists():
            raise ValidationError(gettext("An account with this e-mail exists."), code="unique")
        return value

    def clean_phone(self) -> str | None:
        phone = self.cleaned_data.get("phone")
        if not phone:
            return None
        try:
            kind, value = identifier_normalize(phone)
        except ValidationError as error:
            raise ValidationError(error.messages, code="invalid") from error
        if kind != "phone":
            raise ValidationError(gettext("Enter a phone number."), code="invalid")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("email") and not cleaned.get("phone") and not self.errors:
            raise ValidationError(
                gettext("Give an e-mail address or a phone number."), code="email_or_phone"
            )
        return cleaned

    def _get_validation_exclusions(self) -> set[str]:
        # The model's check constraint would repeat clean()'s error, less readably.
        exclude = set(super()._get_validation_exclusions())  # type: ignore[misc]
        if self.has_error(NON_FIELD_ERRORS, "email_or_phone"):
            exclude.update({"email", "phone"})
        return exclude


class AccountCreationForm(AccountFieldsMixin, AdminUserCreationForm):
    class Meta:
        model = Account
        fields = ("email", "phone", "name")


class AccountChangeForm(AccountFieldsMixin, AccountChangeFormBase):
    class Meta:
        model = Account
        fields = (
            "email",
            "phone",
            "password",
            "name",
            "language",
            "is_active",
            "is_platform_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )


@admin.register(Account)
class AccountAdmin(PlatformStaffAccess, AuditedSaves, AccountAdminBase):
    """Accounts: search by e-mail or phone; staff and superuser rights only from a superuser."""

    can_delete = False
    form = AccountChangeForm
    add_form = AccountCreationForm
    list_display = (
        "__str__",
        "email",
        "phone",
        "name",
        "is_platform_staff",
        "is_active",
        "date_joined",
    )
    list_filter = ("is_platform_staff", "is_active", "is_superuser")
    search_fields = ("email", "phone", "name")
    ordering = ("-date_joined",)
    filter_horizontal = ("groups", "user_permissions")
    readonly_fields = ("last_login", "date_joined", "email_verified_at", "phone_verified_at")
    fieldsets = (
        (None, {"fields": ("email", "phone", "password")}),
        (_("Profile"), {"fields": ("name", "language")}),
        (_("Verification"), {"fields": ("email_verified_at", "phone_verified_at")}),
        (
            _("Rights"),
            {
                "fields": (
                    "is_active",
                    "is_platform_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "phone", "name", "usable_password", "password1", "password2"),
            },
        ),
    )
    inlines = (AccountMembershipInline,)

    PRIVILEGE_FIELDS = ("is_platform_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += self.PRIVILEGE_FIELDS
        return fields

    def get_inlines(self, request: HttpRequest, obj: Account | None) -> Any:
        return self.inlines if obj is not None else ()

    def get_urls(self) -> list[URLPattern]:
        info = (self.opts.app_label, self.opts.model_name)
        return [
            # Reached by the impersonated account, which is not staff: no admin_view gate.
            path(
                "impersonation/stop/",
                self.impersonation_stop_view,
                name="{}_{}_impersonation_stop".format(*info),
            ),
            path(
                "<path:object_id>/impersonate/",
                self.admin_site.admin_view(self.impersonate_view),
                name="{}_{}_impersonate".format(*info),
            ),
            *super().get_urls(),
        ]

    def impersonate_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """Log in as this account and open its console (POST only, audited)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        staff = _staff_account(request)
        account = self.get_object(request, unquote(object_id))
        if account is None:
            raise Http404
        try:
            account_impersonation_start(
                request=request,
                staff=staff,
                account=account,
                context=AuditContext.from_request(request),
            )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:tenants_account_change", args=[account.pk]))
        return HttpResponseRedirect(reverse("console-home"))

    def impersonation_stop_view(self, request: HttpRequest) -> HttpResponseBase:
        """End the impersonation and go back to the admin as the staff account."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            staff = account_impersonation_stop(
                request=request, context=AuditContext.from_request(request)
            )
        except DomainError:
            return HttpResponseRedirect("/")
        if staff is None:
            return HttpResponseRedirect("/")
        return HttpResponseRedirect(reverse("admin:tenants_account_changelist"))

    def user_change_password(
        self,
        request: HttpRequest,
        id: str,
        form_url: str = "",
    ) -> HttpResponse:
        # Django's view saves the password itself; the audit row joins its transaction.
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                account = self.get_object(request, unquote(id))
                if account is not None:
                    admin_change_record(
                        obj=account,
                        action="admin.account.password_set",
                        context=AuditContext.from_request(request),
                    )
        return response


# --- Agencies


class AgencyMembershipInline(PlatformStaffAccess, AgencyMembershipInlineBase):
    model = AgencyMembership
    extra = 0
    autocomplete_fields = ("account",)
    fields = ("account", "role", "created_at")
    readonly_fields = ("created_at",)


class ClientTenantInline(ReadOnlyInline):
    model = Tenant
    fk_name = "agency"
    fields = ("slug", "name", "status")
    readonly_fields = fields
    verbose_name_plural = _("client shops")


@admin.register(Agency)
class AgencyAdmin(PlatformStaffAccess, AuditedSaves, AgencyAdminBase):
    can_delete = False
    list_display = ("name", "member_count", "client_count", "created_at")
    search_fields = ("name",)
    ordering = ("name",)
    inlines = (AgencyMembershipInline, ClientTenantInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agency]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_total=Count("memberships", distinct=True),
                client_total=Count("client_tenants", distinct=True),
            )
        )

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, agency: Agency) -> int:
        return int(getattr(agency, "member_total", 0))

    @admin.display(description=_("client shops"), ordering="client_total")
    def client_count(self, agency: Agency) -> int:
        return int(getattr(agency, "client_total", 0))


# --- Audit log


@admin.register(AuditLog)
class AuditLogAdmin(PlatformStaffAccess, AuditLogAdminBase):
    """Read only: rows are never changed or deleted."""

    can_add = can_change = can_delete = False
    list_display = (
        "created_at",
        "action",
        "actor",
        "impersonator",
        "tenant",
        "target",
        "ip_address",
    )
    list_filter = ("action", ("tenant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("action", "target_id", "actor__email", "actor__phone", "tenant__slug")
    list_select_related = ("actor", "impersonator", "tenant")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "action",
        "actor",
        "impersonator",
        "tenant",
        "target_type",
        "target_id",
        "data",
        "ip_address",
        "user_agent",
    )
    readonly_fields = fields

    @admin.display(description=_("target"))
    def target(self, entry: AuditLog) -> str:
        return f"{entry.target_type}:{entry.target_id}" if entry.target_type else "-"
