"""Agencies: service providers that run shops for several clients."""

from __future__ import annotations

import functools
from typing import Any

from django.db import IntegrityError
from django.utils.translation import gettext as _

from infra.errors import PermissionDenied, ValidationFailed
from tenants.models import Account, Agency, AgencyMembership, Tenant
from tenants.services.audit import AuditContext, audit_record, audited, orchestrator
from tenants.services.provisioning import with_spare_schema
from tenants.services.signup import ShopInput, shop_input_validate, tenant_create


@audited
def agency_create(*, name: str, owner: Account, context: AuditContext) -> Agency:
    """A new agency with its first member as owner."""
    name = name.strip()
    if not name:
        raise ValidationFailed(
            fields={"name": [{"code": "required", "message": _("Enter the agency's name.")}]}
        )
    agency = Agency.objects.create(name=name)
    AgencyMembership.objects.create(
        account=owner, agency=agency, role=AgencyMembership.AgencyRole.OWNER
    )
    audit_record(context=context, action="agency.created", target=agency, data={"name": name})
    return agency


@audited
def agency_member_add(
    *, agency: Agency, account: Account, role: str, context: AuditContext
) -> AgencyMembership:
    """Let an account work for the agency (it then reaches every client shop)."""
    membership, _created = AgencyMembership.objects.update_or_create(
        account=account, agency=agency, defaults={"role": role}
    )
    audit_record(
        context=context,
        action="agency.member_added",
        target=membership,
        data={"account_id": account.pk, "role": role},
    )
    return membership


@orchestrator
def agency_client_shop_create(
    *, agency: Agency, actor: Account, shop: dict[str, Any], context: AuditContext
) -> Tenant:
    """A shop run by the agency for a client; the agency's staff reach it with the agency role."""
    if not AgencyMembership.objects.filter(agency=agency, account=actor).exists():
        raise PermissionDenied(_("Only the agency's staff can create shops for it."))
    cleaned, errors = shop_input_validate(**shop)
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), fields=errors)
    try:
        return with_spare_schema(
            functools.partial(_client_shop_create, agency=agency, shop=cleaned, context=context)
        )
    except IntegrityError as error:
        raise ValidationFailed(
            fields={"slug": [{"code": "slug_taken", "message": _("This address is taken.")}]}
        ) from error


@audited
def _client_shop_create(*, agency: Agency, shop: ShopInput, context: AuditContext) -> Tenant:
    tenant = tenant_create(shop=shop, agency=agency, context=context)
    audit_record(
        context=context,
        action="agency.client_shop_created",
        tenant=tenant,
        target=agency,
        data={"slug": shop.slug},
    )
    return tenant
