"""Staff management in the console: roles, the last owner, who may change what."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants.models import Account, AuditLog, Membership, Role, Tenant
from tests.frontend.conftest import PASSWORD
from tests.support.console import logged_in


@pytest.fixture
def colleague(public: None) -> Account:
    return Account.objects.create_user(
        email="colleague@example.com", phone="+8613700000002", password=PASSWORD
    )


def test_owner_adds_a_colleague_by_phone_who_then_reaches_the_console(
    owner_client: Client, colleague: Account, shops: dict[str, Tenant]
) -> None:
    # when
    response = owner_client.post(
        "/console/alpha/settings/staff/", {"identifier": "137 0000 0002", "role": "staff"}
    )
    # then
    assert response.status_code == 302
    membership = Membership.objects.get(account=colleague)
    assert (membership.tenant, membership.role) == (shops["alpha"], Role.STAFF)
    assert logged_in(colleague).get("/console/alpha/").status_code == 200
    assert AuditLog.objects.filter(action="membership.created", tenant=shops["alpha"]).exists()
    page = owner_client.get("/console/alpha/settings/").content.decode()
    assert "colleague@example.com" in page


@pytest.mark.parametrize(
    ("identifier", "code_text"),
    [
        ("nobody@example.com", "No account uses this address. Ask them to sign up first."),
        ("owner@example.com", "This account already works here."),
        ("not an address", "Enter a valid e-mail address or phone number."),
    ],
)
def test_adding_refuses_unknown_duplicate_or_invalid_accounts(
    owner_client: Client, shops: dict[str, Tenant], identifier: str, code_text: str
) -> None:
    before = Membership.objects.filter(tenant=shops["alpha"]).count()
    response = owner_client.post(
        "/console/alpha/settings/staff/", {"identifier": identifier, "role": "staff"}
    )
    assert response.status_code == 400
    assert code_text in response.content.decode()
    assert Membership.objects.filter(tenant=shops["alpha"]).count() == before


def test_the_last_owner_cannot_be_removed_or_demoted(
    owner: Account, owner_client: Client, shops: dict[str, Tenant]
) -> None:
    # given
    membership = Membership.objects.get(account=owner, tenant=shops["alpha"])
    # when
    demote = owner_client.post(
        f"/console/alpha/settings/staff/{membership.pk}/role/", {"role": "admin"}, follow=True
    )
    remove = owner_client.post(
        f"/console/alpha/settings/staff/{membership.pk}/remove/", follow=True
    )
    # then
    assert "A shop keeps at least one owner." in demote.content.decode()
    assert "A shop keeps at least one owner." in remove.content.decode()
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER


def test_an_admin_manages_staff_but_cannot_make_or_touch_owners(
    owner: Account, colleague: Account, shops: dict[str, Tenant]
) -> None:
    # given
    Membership.objects.create(account=colleague, tenant=shops["alpha"], role=Role.ADMIN)
    admin = logged_in(colleague)
    third = Account.objects.create_user(email="third@example.com", password=PASSWORD)
    owner_membership = Membership.objects.get(account=owner, tenant=shops["alpha"])
    # when
    as_staff = admin.post(
        "/console/alpha/settings/staff/", {"identifier": "third@example.com", "role": "staff"}
    )
    as_owner = admin.post(
        "/console/alpha/settings/staff/", {"identifier": "x@example.com", "role": "owner"}
    )
    remove_owner = admin.post(
        f"/console/alpha/settings/staff/{owner_membership.pk}/remove/", follow=True
    )
    # then
    assert as_staff.status_code == 302
    assert Membership.objects.get(account=third).role == Role.STAFF
    assert as_owner.status_code == 400
    assert "Only an owner can make someone an owner." in as_owner.content.decode()
    assert "Only an owner can remove an owner." in remove_owner.content.decode()
    assert Membership.objects.filter(pk=owner_membership.pk).exists()


def test_staff_and_other_shops_cannot_manage_staff(
    owner: Account, colleague: Account, shops: dict[str, Tenant]
) -> None:
    # given: colleague is staff in alpha and owner in beta
    Membership.objects.create(account=colleague, tenant=shops["alpha"], role=Role.STAFF)
    Membership.objects.create(account=colleague, tenant=shops["beta"], role=Role.OWNER)
    owner_membership = Membership.objects.get(account=owner, tenant=shops["alpha"])
    client = logged_in(colleague)
    # when
    as_staff = client.post(f"/console/alpha/settings/staff/{owner_membership.pk}/remove/")
    through_beta = client.post(f"/console/beta/settings/staff/{owner_membership.pk}/remove/")
    # then
    assert as_staff.status_code == 403
    assert through_beta.status_code == 404
    assert Membership.objects.filter(pk=owner_membership.pk).exists()


def test_owners_hand_over_ownership(
    owner: Account, owner_client: Client, colleague: Account, shops: dict[str, Tenant]
) -> None:
    # given
    owner_client.post(
        "/console/alpha/settings/staff/", {"identifier": "colleague@example.com", "role": "owner"}
    )
    mine = Membership.objects.get(account=owner, tenant=shops["alpha"])
    # when
    owner_client.post(f"/console/alpha/settings/staff/{mine.pk}/remove/")
    # then
    assert not Membership.objects.filter(pk=mine.pk).exists()
    assert Membership.objects.get(tenant=shops["alpha"]).account == colleague
    assert owner_client.get("/console/alpha/").status_code == 404
