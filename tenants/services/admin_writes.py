"""Writes made by platform staff in the Django admin, each with its audit row.

Shops are never written here: the admin calls the tenancy services for them (suspension,
reactivation, renaming), which also invalidate the cached routing.
"""

from __future__ import annotations

from django.db import models

from tenants.models import Tenant
from tenants.services.audit import AuditContext, audit_record, audited


def _action(obj: models.Model, verb: str) -> str:
    return f"admin.{obj._meta.model_name}.{verb}"


def _tenant_of(obj: models.Model) -> Tenant | None:
    tenant = getattr(obj, "tenant", None)
    return tenant if isinstance(tenant, Tenant) else None


def _refuse_tenants(obj: models.Model) -> None:
    if isinstance(obj, Tenant):
        raise TypeError("shops change through tenants.services.tenancy, not the generic save")


@audited
def admin_object_save(
    *, obj: models.Model, changed_fields: list[str], adding: bool, context: AuditContext
) -> models.Model:
    """Save an object edited in the platform admin; the audit row names the changed fields."""
    _refuse_tenants(obj)
    obj.save()
    audit_record(
        context=context,
        action=_action(obj, "added" if adding else "changed"),
        tenant=_tenant_of(obj),
        target=obj,
        # Field names only: values may be secrets (password hashes).
        data={"fields": sorted(changed_fields)},
    )
    return obj


@audited
def admin_object_delete(*, obj: models.Model, context: AuditContext) -> None:
    """Delete an object from the platform admin (the audit row keeps its id and label)."""
    _refuse_tenants(obj)
    audit_record(
        context=context,
        action=_action(obj, "deleted"),
        tenant=_tenant_of(obj),
        target=obj,
        data={"label": str(obj)[:200]},
    )
    obj.delete()


@audited
def admin_change_record(
    *, obj: models.Model, action: str, context: AuditContext, data: dict[str, str] | None = None
) -> None:
    """Record a write that a Django admin view made itself, inside the caller's transaction."""
    _refuse_tenants(obj)
    audit_record(
        context=context, action=action, tenant=_tenant_of(obj), target=obj, data=data or {}
    )
