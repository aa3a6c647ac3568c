"""Who works on a shop: adding accounts with a role, changing roles, removing them.

A shop always keeps at least one owner, and only owners make owners.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from infra.errors import Conflict, PermissionDenied, ValidationFailed
from tenants.identifiers import identifier_normalize
from tenants.models import Membership, Role, Tenant
from tenants.selectors.accounts import account_find_by_identifier
from tenants.services.audit import AuditContext, audit_record, audited


class LastOwnerError(Conflict):
    code = "last_owner"
    default_message = "A shop keeps at least one owner."


def _role_check(role: str) -> Role:
    if role not in Role.values:
        raise ValidationFailed(
            fields={"role": [{"code": "invalid_choice", "message": _("Choose a valid role.")}]}
        )
    return Role(role)


def _owner_grant_check(*, acting_role: str, role: Role) -> None:
    if role == Role.OWNER and acting_role not in (Role.OWNER, "platform_staff"):
        raise PermissionDenied(_("Only an owner can make someone an owner."))


def _other_owner_exists(membership: Membership) -> bool:
    return (
        Membership.objects.select_for_update()
        .filter(tenant_id=membership.tenant_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


@audited
def membership_add(
    *, tenant: Tenant, identifier: str, role: str, acting_role: str, context: AuditContext
) -> Membership:
    """Give an existing account (by e-mail or phone) a role in the shop."""
    chosen = _role_check(role)
    _owner_grant_check(acting_role=acting_role, role=chosen)
    try:
        identifier_normalize(identifier)
    except ValidationError as error:
        raise ValidationFailed(
            fields={"identifier": [{"code": "invalid", "message": str(error.message)}]}
        ) from error
    account = account_find_by_identifier(identifier=identifier)
    if account is None or not account.is_active:
        raise ValidationFailed(
            fields={
                "identifier": [
                    {
                        "code": "account_not_found",
                        "message": _("No account uses this address. Ask them to sign up first."),
                    }
                ]
            }
        )
    membership, created = Membership.objects.get_or_create(
        account=account, tenant=tenant, defaults={"role": chosen}
    )
    if not created:
        raise ValidationFailed(
            fields={
                "identifier": [
                    {"code": "already_member", "message": _("This account already works here.")}
                ]
            }
        )
    audit_record(
        context=context,
        action="membership.created",
        tenant=tenant,
        target=membership,
        data={"account_id": account.pk, "role": chosen},
    )
    return membership


@audited
def membership_role_change(
    *, membership: Membership, role: str, acting_role: str, context: AuditContext
) -> Membership:
    """Change someone's role; the last owner cannot stop being one."""
    chosen = _role_check(role)
    _owner_grant_check(acting_role=acting_role, role=chosen)
    if membership.role == Role.OWNER and acting_role not in (Role.OWNER, "platform_staff"):
        raise PermissionDenied(_("Only an owner can change an owner's role."))
    if (
        membership.role == Role.OWNER
        and chosen != Role.OWNER
        and not _other_owner_exists(membership)
    ):
        raise LastOwnerError(_("A shop keeps at least one owner."))
    before = membership.role
    Membership.objects.filter(pk=membership.pk).update(role=chosen)
    membership.role = chosen
    audit_record(
        context=context,
        action="membership.role_changed",
        tenant=membership.tenant,
        target=membership,
        data={"account_id": membership.account_id, "from": before, "to": chosen},
    )
    return membership


@audited
def membership_remove(*, membership: Membership, acting_role: str, context: AuditContext) -> None:
    """Take someone off the shop; the last owner stays."""
    if membership.role == Role.OWNER and acting_role not in (Role.OWNER, "platform_staff"):
        raise PermissionDenied(_("Only an owner can remove an owner."))
    if membership.role == Role.OWNER and not _other_owner_exists(membership):
        raise LastOwnerError(_("A shop keeps at least one owner."))
    audit_record(
        context=context,
        action="membership.removed",
        tenant=membership.tenant,
        target=membership,
        data={"account_id": membership.account_id, "role": membership.role},
    )
    membership.delete()
