"""Suspension, reactivation, platform-admin edits of shops, and impersonation by platform staff.

Each service is @audited. Tenant routing is cached (tenants.selectors.tenancy), so every change
to a shop forgets its cached lookups once the transaction commits.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.db import tenant_schema
from infra.errors import Conflict, PermissionDenied, ValidationFailed
from shop.core.services import shop_profile_update
from tenants.models import Account, Agency, Tenant, TenantStatus
from tenants.selectors.tenancy import tenant_routing_forget
from tenants.services.audit import AuditContext, audit_record, audited

# The session key AuditContext.from_request reads: who is really acting while impersonating.
IMPERSONATOR_SESSION_KEY = "impersonator_id"
SUSPEND_REASON_MAX_LENGTH = 2000
SHOP_NAME_MAX_LENGTH = 120


class TenantAlreadySuspendedError(Conflict):
    code = "tenant_already_suspended"
    default_message = "This shop is already suspended."


class TenantNotSuspendedError(Conflict):
    code = "tenant_not_suspended"
    default_message = "This shop is not suspended."


class ImpersonationNotAllowedError(PermissionDenied):
    code = "impersonation_not_allowed"
    default_message = "This account cannot be impersonated by you."


class NotImpersonatingError(Conflict):
    code = "not_impersonating"
    default_message = "You are not impersonating anyone."


def _shop_name_clean(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed(
            fields={"name": [{"code": "required", "message": _("Enter the shop's name.")}]}
        )
    if len(name) > SHOP_NAME_MAX_LENGTH:
        raise ValidationFailed(
            fields={"name": [{"code": "too_long", "message": _("Use at most 120 characters.")}]}
        )
    return name


def _forget_routing_on_commit(tenant: Tenant) -> None:
    transaction.on_commit(lambda: tenant_routing_forget(tenant=tenant))


def _refresh_status(tenant: Tenant) -> None:
    tenant.refresh_from_db(fields=["status", "suspended_reason", "suspended_at"])


@audited
def tenant_suspend(*, tenant: Tenant, reason: str, context: AuditContext) -> Tenant:
    """Close a shop: its storefront and API answer 503; its members keep the console."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            fields={"reason": [{"code": "required", "message": _("Say why the shop is closed.")}]}
        )
    if len(reason) > SUSPEND_REASON_MAX_LENGTH:
        raise ValidationFailed(
            fields={"reason": [{"code": "max_length", "message": _("The reason is too long.")}]}
        )
    # Conditional UPDATE: two staff suspending at once cannot both succeed.
    updated = Tenant.objects.filter(pk=tenant.pk, status=TenantStatus.ACTIVE).update(
        status=TenantStatus.SUSPENDED, suspended_reason=reason, suspended_at=timezone.now()
    )
    if updated != 1:
        raise TenantAlreadySuspendedError(_("This shop is already suspended."))
    _refresh_status(tenant)
    audit_record(
        context=context,
        action="tenant.suspended",
        tenant=tenant,
        target=tenant,
        data={"reason": reason},
    )
    _forget_routing_on_commit(tenant)
    return tenant


@audited
def tenant_reactivate(*, tenant: Tenant, context: AuditContext) -> Tenant:
    """Reopen a suspended shop."""
    previous_reason = (
        Tenant.objects.filter(pk=tenant.pk).values_list("suspended_reason", flat=True).first()
    )
    updated = Tenant.objects.filter(pk=tenant.pk, status=TenantStatus.SUSPENDED).update(
        status=TenantStatus.ACTIVE, suspended_reason="", suspended_at=None
    )
    if updated != 1:
        raise TenantNotSuspendedError(_("This shop is not suspended."))
    _refresh_status(tenant)
    audit_record(
        context=context,
        action="tenant.reactivated",
        tenant=tenant,
        target=tenant,
        data={"previous_reason": previous_reason or ""},
    )
    _forget_routing_on_commit(tenant)
    return tenant


@audited
def tenant_update(
    *, tenant: Tenant, name: str, agency: Agency | None, context: AuditContext
) -> Tenant:
    """Rename a shop or move it to another agency (platform admin)."""
    name = _shop_name_clean(name)
    row = Tenant.objects.values("name", "agency_id").get(pk=tenant.pk)
    before: dict[str, object] = {"name": row["name"], "agency_id": row["agency_id"]}
    Tenant.objects.filter(pk=tenant.pk).update(name=name, agency=agency)
    tenant.name = name
    tenant.agency = agency
    changes = {
        field: {"from": before[field], "to": after}
        for field, after in (("name", name), ("agency_id", agency.pk if agency else None))
        if before[field] != after
    }
    audit_record(
        context=context, action="tenant.updated", tenant=tenant, target=tenant, data=changes
    )
    _forget_routing_on_commit(tenant)
    return tenant


def _login_keeping_last_login(request: HttpRequest, account: Account) -> None:
    # Impersonation is not the account logging in: keep its last_login as it was.
    last_login = Account.objects.filter(pk=account.pk).values_list("last_login", flat=True).get()
    login(request, account, backend=settings.AUTHENTICATION_BACKENDS[0])
    Account.objects.filter(pk=account.pk).update(last_login=last_login)
    account.last_login = last_login


@audited
def account_impersonation_start(
    *,
    request: HttpRequest,
    staff: Account,
    account: Account,
    context: AuditContext,
    tenant: Tenant | None = None,
) -> Account:
    """Log platform staff in as another account; the session remembers who really acts.

    Staff and superusers cannot be impersonated (that would lend their powers), and an
    impersonation cannot be nested.
    """
    if not (staff.is_active and staff.is_platform_staff):
        raise ImpersonationNotAllowedError(_("Only platform staff can impersonate accounts."))
    if request.session.get(IMPERSONATOR_SESSION_KEY) is not None:
        raise ImpersonationNotAllowedError(_("Stop the current impersonation first."))
    if (
        account.pk == staff.pk
        or not account.is_active
        or account.is_platform_staff
        or account.is_superuser
    ):
        raise ImpersonationNotAllowedError(_("This account cannot be impersonated."))
    audit_record(
        context=context.with_actor(staff),
        action="account.impersonation_started",
        tenant=tenant,
        target=account,
        data={"account_id": account.pk, "staff_id": staff.pk},
    )
    _login_keeping_last_login(request, account)
    # login() flushed the staff's session; the new one says who is behind the account.
    request.session[IMPERSONATOR_SESSION_KEY] = staff.pk
    return account


@audited
def account_impersonation_stop(*, request: HttpRequest, context: AuditContext) -> Account | None:
    """End an impersonation: back to the staff account (logged out if it lost its rights)."""
    impersonator_id = request.session.get(IMPERSONATOR_SESSION_KEY)
    user = getattr(request, "user", None)
    if impersonator_id is None or user is None or not user.is_authenticated:
        raise NotImpersonatingError(_("You are not impersonating anyone."))
    staff = Account.objects.filter(
        pk=impersonator_id, is_active=True, is_platform_staff=True
    ).first()
    audit_record(
        context=context,
        action="account.impersonation_stopped",
        target=user,
        data={"account_id": user.pk, "staff_id": impersonator_id},
    )
    if staff is None:
        logout(request)
        return None
    # Logging in as another account flushes the session, impersonator key included.
    _login_keeping_last_login(request, staff)
    request.session.pop(IMPERSONATOR_SESSION_KEY, None)
    return staff


@audited
def tenant_profile_update(
    *,
    tenant: Tenant,
    name: str,
    description: str,
    contact_email: str,
    contact_phone: str,
    context: AuditContext,
) -> Tenant:
    """The console's shop profile: the name (control plane) and the shop's own profile (its
    schema), all or nothing; completes the onboarding step "shop_profile"."""
    name = _shop_name_clean(name)
    with tenant_schema(tenant):
        shop_profile_update(
            description=description, contact_email=contact_email, contact_phone=contact_phone
        )
    onboarding = {**(tenant.onboarding or {}), "shop_profile": True}
    Tenant.objects.filter(pk=tenant.pk).update(name=name, onboarding=onboarding)
    before = tenant.name
    tenant.name = name
    tenant.onboarding = onboarding
    audit_record(
        context=context,
        action="tenant.profile_updated",
        tenant=tenant,
        target=tenant,
        data={"name": {"from": before, "to": name}} if before != name else {},
    )
    _forget_routing_on_commit(tenant)
    return tenant
