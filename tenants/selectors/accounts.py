"""Reads about accounts and what they may reach."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from tenants.models import Account, Agency, AgencyMembership, Membership, Role, Tenant


def membership_role_get(*, account: Account, tenant: Tenant) -> str | None:
    """The account's role in the shop: its membership, else `agency` through the shop's agency."""
    role = (
        Membership.objects.filter(account=account, tenant=tenant)
        .values_list("role", flat=True)
        .first()
    )
    if role is not None:
        return str(role)
    if (
        tenant.agency_id is not None
        and AgencyMembership.objects.filter(account=account, agency_id=tenant.agency_id).exists()
    ):
        return str(Role.AGENCY)
    return None


def tenant_list_for_account(*, account: Account) -> QuerySet[Tenant]:
    """Every shop the account may open in the console (the shop switcher)."""
    agency_ids = AgencyMembership.objects.filter(account=account).values("agency_id")
    return (
        Tenant.objects.filter(Q(memberships__account=account) | Q(agency_id__in=agency_ids))
        .distinct()
        .order_by("name")
    )


def agency_list_for_account(*, account: Account) -> QuerySet[Agency]:
    """The agencies the account works for."""
    return Agency.objects.filter(memberships__account=account).order_by("name")


def account_find_by_identifier(*, identifier: str) -> Account | None:
    """The account with this e-mail address or phone number."""
    from tenants.identifiers import identifier_normalize

    kind, value = identifier_normalize(identifier)
    if kind == "email":
        return Account.objects.filter(email__iexact=value).first()
    return Account.objects.filter(phone=value).first()


def membership_list_for_tenant(*, tenant: Tenant) -> QuerySet[Membership]:
    """The people who work on a shop (with their accounts), owners first."""
    role_order = Case(
        *(When(role=role, then=Value(index)) for index, role in enumerate(Role.values)),
        output_field=IntegerField(),
    )
    return (
        Membership.objects.filter(tenant=tenant)
        .select_related("account")
        .order_by(role_order, "account__email", "account__phone")
    )


def membership_get(*, tenant: Tenant, membership_id: int) -> Membership | None:
    """A membership of this shop; None for an unknown id or another shop's membership."""
    return (
        Membership.objects.select_related("account", "tenant")
        .filter(tenant=tenant, pk=membership_id)
        .first()
    )
