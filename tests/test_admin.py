"""The platform admin on the platform host: pages for platform staff only, audited writes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.test import Client

from billing.models import Subscription, SubscriptionStatus
from tenants.models import (
    Account,
    Agency,
    AgencyMembership,
    AuditLog,
    Membership,
    Role,
    Tenant,
    TenantStatus,
)
from tenants.services.audit import AuditContext
from tenants.services.tenancy import tenant_suspend

OnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]
PASSWORD = "pw-123456"


@pytest.fixture
def alpha(shops: dict[str, Tenant], db: None) -> Tenant:
    tenant: Tenant = Tenant.objects.get(slug="alpha")
    return tenant


@pytest.fixture
def beta(shops: dict[str, Tenant], db: None) -> Tenant:
    tenant: Tenant = Tenant.objects.get(slug="beta")
    return tenant


@pytest.fixture
def staff(db: None) -> Account:
    """A platform staff account that is not a superuser."""
    account: Account = Account.objects.create_user(
        email="ops@platform.test", password=PASSWORD, is_platform_staff=True
    )
    return account


@pytest.fixture
def staff_client(staff: Account) -> Client:
    client = Client(HTTP_USER_AGENT="pytest-admin", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)
    return client


@pytest.fixture
def owner(alpha: Tenant) -> Account:
    account: Account = Account.objects.create_user(email="owner@alpha.test", password=PASSWORD)
    Membership.objects.create(account=account, tenant=alpha, role=Role.OWNER)
    return account


def _result_slugs(response: Any) -> list[str]:
    return sorted(tenant.slug for tenant in response.context["cl"].result_list)


def _audit_rows(*actions: str) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action__in=actions).order_by("id"))


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/tenants/tenant/",
        "/admin/tenants/account/",
        "/admin/tenants/agency/",
        "/admin/tenants/auditlog/",
        "/admin/billing/subscription/",
        "/admin/tenants/account/add/",
        "/admin/tenants/agency/add/",
    ],
)
def test_admin_pages_render_for_platform_staff(
    staff_client: Client, alpha: Tenant, url: str
) -> None:
    # when
    response = staff_client.get(url)
    # then
    assert response.status_code == 200


def test_admin_change_pages_render_for_platform_staff(
    staff_client: Client, alpha: Tenant, owner: Account
) -> None:
    # given
    agency = Agency.objects.create(name="Agency One")
    AgencyMembership.objects.create(account=owner, agency=agency)
    Tenant.objects.filter(pk=alpha.pk).update(agency=agency)
    subscription = Subscription.objects.create(tenant=alpha, plan_code="trial")
    entry = AuditLog.objects.create(action="test.entry", tenant=alpha)
    # when
    pages = {
        "tenant": staff_client.get(f"/admin/tenants/tenant/{alpha.pk}/change/"),
        "account": staff_client.get(f"/admin/tenants/account/{owner.pk}/change/"),
        "agency": staff_client.get(f"/admin/tenants/agency/{agency.pk}/change/"),
        "audit": staff_client.get(f"/admin/tenants/auditlog/{entry.pk}/change/"),
        "subscription": staff_client.get(f"/admin/billing/subscription/{subscription.pk}/change/"),
    }
    # then
    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(pages, 200)
    tenant_page = pages["tenant"].content.decode()
    assert "alpha.localhost" in tenant_page  # its domains
    assert "owner@alpha.test" in tenant_page  # its members
    assert f'action="/admin/tenants/tenant/{alpha.pk}/impersonate/"' in tenant_page
    agency_page = pages["agency"].content.decode()
    assert "owner@alpha.test" in agency_page  # its staff
    assert "Alpha Shop" in agency_page  # its client shops
    assert f'action="/admin/tenants/account/{owner.pk}/impersonate/"' in (
        pages["account"].content.decode()
    )


def test_admin_refuses_accounts_that_are_not_platform_staff(alpha: Tenant, owner: Account) -> None:
    # given
    client = Client()
    client.force_login(owner)
    # when
    responses = [
        client.get("/admin/"),
        client.get("/admin/tenants/tenant/"),
        client.post(
            "/admin/tenants/tenant/",
            {
                "action": "suspend_tenants",
                "_selected_action": [str(alpha.pk)],
                "apply": "1",
                "reason": "x",
            },
        ),
        client.post(f"/admin/tenants/tenant/{alpha.pk}/impersonate/"),
        Client().get("/admin/tenants/account/"),
    ]
    # then
    assert [response.status_code for response in responses] == [302] * 5
    assert all(response["Location"].startswith("/admin/login/") for response in responses)
    alpha.refresh_from_db()
    assert alpha.status == TenantStatus.ACTIVE
    assert _audit_rows("tenant.suspended", "account.impersonation_started") == []


def test_admin_is_not_served_on_a_shop_host(staff: Account, alpha: Tenant) -> None:
    # given
    client = Client(HTTP_HOST="alpha.localhost")
    client.force_login(staff)
    # when
    response = client.get("/admin/")
    # then
    assert response.status_code == 404


def test_tenant_search_by_name_slug_and_domain(
    staff_client: Client, alpha: Tenant, beta: Tenant
) -> None:
    # when
    by_name = staff_client.get("/admin/tenants/tenant/", {"q": "Beta Shop"})
    by_slug = staff_client.get("/admin/tenants/tenant/", {"q": "alpha"})
    by_domain = staff_client.get("/admin/tenants/tenant/", {"q": "beta.localhost"})
    # then
    assert _result_slugs(by_name) == ["beta"]
    assert _result_slugs(by_slug) == ["alpha"]
    assert _result_slugs(by_domain) == ["beta"]


def test_tenant_filters_by_status_and_plan(
    staff_client: Client,
    staff: Account,
    alpha: Tenant,
    beta: Tenant,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    # given
    Subscription.objects.create(tenant=alpha, plan_code="pro", status=SubscriptionStatus.ACTIVE)
    Subscription.objects.create(tenant=beta, plan_code="trial")
    with django_capture_on_commit_callbacks(execute=True):
        tenant_suspend(tenant=beta, reason="Unpaid", context=AuditContext(actor_id=staff.pk))
    # when
    suspended = staff_client.get("/admin/tenants/tenant/", {"status__exact": "suspended"})
    active = staff_client.get("/admin/tenants/tenant/", {"status__exact": "active"})
    pro = staff_client.get("/admin/tenants/tenant/", {"plan": "pro"})
    trial = staff_client.get("/admin/tenants/tenant/", {"plan": "trial"})
    # then
    assert _result_slugs(suspended) == ["beta"]
    assert "alpha" in _result_slugs(active)
    assert "beta" not in _result_slugs(active)
    assert _result_slugs(pro) == ["alpha"]
    assert _result_slugs(trial) == ["beta"]
    listing = staff_client.get("/admin/tenants/tenant/", {"q": "alpha"}).content.decode()
    assert "pro (Active)" in listing


def test_account_search_and_filters(staff_client: Client, staff: Account, owner: Account) -> None:
    # given
    phone_only = Account.objects.create_user(phone="+8613800000001", password=PASSWORD)
    Account.objects.filter(pk=phone_only.pk).update(is_active=False)
    # when
    by_email = staff_client.get("/admin/tenants/account/", {"q": "owner@alpha"})
    by_phone = staff_client.get("/admin/tenants/account/", {"q": "13800000001"})
    staff_only = staff_client.get("/admin/tenants/account/", {"is_platform_staff__exact": "1"})
    inactive = staff_client.get("/admin/tenants/account/", {"is_active__exact": "0"})

    # then
    def pks(response: Any) -> list[int]:
        return sorted(account.pk for account in response.context["cl"].result_list)

    assert pks(by_email) == [owner.pk]
    assert pks(by_phone) == [phone_only.pk]
    assert pks(staff_only) == [staff.pk]
    assert pks(inactive) == [phone_only.pk]


def test_account_add_form_creates_an_account_and_audits_it(
    staff_client: Client, staff: Account
) -> None:
    # when
    response = staff_client.post(
        "/admin/tenants/account/add/",
        {
            "email": "New.Person@Example.test",
            "phone": "138 0000 0002",
            "name": "New Person",
            "usable_password": "true",
            "password1": "a-Strong-pass-9876",
            "password2": "a-Strong-pass-9876",
        },
    )
    # then
    account = Account.objects.get(email="new.person@example.test")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/tenants/account/{account.pk}/change/"
    assert (account.phone, account.name, account.is_platform_staff) == (
        "+8613800000002",
        "New Person",
        False,
    )
    assert account.check_password("a-Strong-pass-9876")
    rows = _audit_rows("admin.account.added")
    assert [(row.actor_id, row.target_id, row.data) for row in rows] == [
        (staff.pk, str(account.pk), {"fields": ["email", "name", "password", "phone"]})
    ]


def test_account_add_form_requires_email_or_phone(staff_client: Client) -> None:
    # given
    before = Account.objects.count()
    # when
    response = staff_client.post(
        "/admin/tenants/account/add/",
        {"email": "", "phone": "", "usable_password": "false"},
    )
    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": ["Give an e-mail address or a phone number."]
    }
    assert Account.objects.count() == before
    assert _audit_rows("admin.account.added") == []


def test_platform_staff_cannot_grant_staff_rights_without_being_superuser(
    staff_client: Client, owner: Account
) -> None:
    # when
    page = staff_client.get(f"/admin/tenants/account/{owner.pk}/change/")
    # then
    form = page.context["adminform"].form
    assert "is_platform_staff" not in form.fields
    assert "is_superuser" not in form.fields
    assert "email" in form.fields


def test_suspend_action_asks_for_a_reason_then_suspends_and_audits(
    staff_client: Client, staff: Account, alpha: Tenant
) -> None:
    # given
    selection = {"action": "suspend_tenants", "_selected_action": [str(alpha.pk)]}
    # when
    intermediate = staff_client.post("/admin/tenants/tenant/", selection)
    done = staff_client.post(
        "/admin/tenants/tenant/", {**selection, "apply": "1", "reason": "Chargebacks"}
    )
    # then
    assert intermediate.status_code == 200
    assert intermediate.templates[0].name == "admin/tenants/tenant/suspend.html"
    assert 'name="reason"' in intermediate.content.decode()
    assert done.status_code == 302
    alpha.refresh_from_db()
    assert (alpha.status, alpha.suspended_reason) == (TenantStatus.SUSPENDED, "Chargebacks")
    rows = _audit_rows("tenant.suspended")
    assert [(row.actor_id, row.tenant_id, row.data, row.user_agent) for row in rows] == [
        (staff.pk, alpha.pk, {"reason": "Chargebacks"}, "pytest-admin")
    ]
    assert Client(HTTP_HOST="alpha.localhost").get("/").status_code == 503


def test_suspend_action_without_a_reason_suspends_nothing(
    staff_client: Client, alpha: Tenant
) -> None:
    # when
    response = staff_client.post(
        "/admin/tenants/tenant/",
        {
            "action": "suspend_tenants",
            "_selected_action": [str(alpha.pk)],
            "apply": "1",
            "reason": "",
        },
    )
    # then
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["reason"]
    alpha.refresh_from_db()
    assert alpha.status == TenantStatus.ACTIVE
    assert _audit_rows("tenant.suspended") == []


def test_reactivate_action_reopens_the_shop_and_audits(
    staff_client: Client,
    staff: Account,
    alpha: Tenant,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    # given
    with django_capture_on_commit_callbacks(execute=True):
        tenant_suspend(tenant=alpha, reason="Unpaid", context=AuditContext(actor_id=staff.pk))
    # when
    response = staff_client.post(
        "/admin/tenants/tenant/",
        {"action": "reactivate_tenants", "_selected_action": [str(alpha.pk)]},
    )
    # then
    assert response.status_code == 302
    alpha.refresh_from_db()
    assert alpha.status == TenantStatus.ACTIVE
    assert [row.actor_id for row in _audit_rows("tenant.reactivated")] == [staff.pk]
    assert Client(HTTP_HOST="alpha.localhost").get("/").status_code == 200


def test_renaming_a_shop_in_the_admin_goes_through_the_service(
    staff_client: Client, staff: Account, alpha: Tenant
) -> None:
    # given
    page = staff_client.get(f"/admin/tenants/tenant/{alpha.pk}/change/")
    data: dict[str, Any] = {"name": "Alpha Renamed", "agency": ""}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(
            {
                f"{formset.prefix}-{key}": value
                for key, value in formset.management_form.initial.items()
            }
        )
    # when
    response = staff_client.post(f"/admin/tenants/tenant/{alpha.pk}/change/", data)
    # then
    assert response.status_code == 302
    alpha.refresh_from_db()
    assert alpha.name == "Alpha Renamed"
    rows = _audit_rows("tenant.updated")
    assert [(row.actor_id, row.data) for row in rows] == [
        (staff.pk, {"name": {"from": "Alpha Shop", "to": "Alpha Renamed"}})
    ]


def test_impersonating_the_owner_from_the_tenant_page_logs_in_as_the_owner_and_audits(
    staff_client: Client, staff: Account, owner: Account, alpha: Tenant
) -> None:
    # when
    response = staff_client.post(f"/admin/tenants/tenant/{alpha.pk}/impersonate/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/console/alpha/"
    session = staff_client.session
    assert (int(session["_auth_user_id"]), session["impersonator_id"]) == (owner.pk, staff.pk)
    assert staff_client.get("/console/alpha/").status_code == 200
    rows = _audit_rows("account.impersonation_started")
    assert [
        (row.actor_id, row.impersonator_id, row.tenant_id, row.target_type, row.target_id)
        for row in rows
    ] == [(staff.pk, None, alpha.pk, "tenants.account", str(owner.pk))]
    owner.refresh_from_db()
    assert owner.last_login is None  # impersonation is not the owner logging in


def test_stopping_an_impersonation_returns_to_the_staff_account_and_audits(
    staff_client: Client, staff: Account, owner: Account
) -> None:
    # given
    staff_client.post(f"/admin/tenants/account/{owner.pk}/impersonate/")
    # when
    response = staff_client.post("/admin/tenants/account/impersonation/stop/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/admin/tenants/account/"
    session = staff_client.session
    assert int(session["_auth_user_id"]) == staff.pk
    assert "impersonator_id" not in session
    rows = _audit_rows("account.impersonation_started", "account.impersonation_stopped")
    assert [(row.action, row.actor_id, row.impersonator_id, row.target_id) for row in rows] == [
        ("account.impersonation_started", staff.pk, None, str(owner.pk)),
        ("account.impersonation_stopped", owner.pk, staff.pk, str(owner.pk)),
    ]


def test_platform_staff_cannot_impersonate_another_staff_account(
    staff_client: Client, staff: Account
) -> None:
    # given
    other = Account.objects.create_user(
        email="other-ops@platform.test", password=PASSWORD, is_platform_staff=True
    )
    # when
    response = staff_client.post(f"/admin/tenants/account/{other.pk}/impersonate/")
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/admin/tenants/account/{other.pk}/change/"
    session = staff_client.session
    assert int(session["_auth_user_id"]) == staff.pk
    assert "impersonator_id" not in session
    assert _audit_rows("account.impersonation_started") == []


def test_impersonation_needs_a_post(staff_client: Client, staff: Account, owner: Account) -> None:
    # when
    response = staff_client.get(f"/admin/tenants/account/{owner.pk}/impersonate/")
    # then
    assert response.status_code == 405
    assert int(staff_client.session["_auth_user_id"]) == staff.pk
    assert _audit_rows("account.impersonation_started") == []


def test_audit_log_is_read_only_in_the_admin(staff_client: Client, alpha: Tenant) -> None:
    # given
    entry = AuditLog.objects.create(action="test.entry", tenant=alpha, data={"a": 1})
    # when
    add = staff_client.get("/admin/tenants/auditlog/add/")
    delete = staff_client.post(f"/admin/tenants/auditlog/{entry.pk}/delete/", {"post": "yes"})
    change = staff_client.post(f"/admin/tenants/auditlog/{entry.pk}/change/", {"action": "changed"})
    # then
    assert (add.status_code, delete.status_code, change.status_code) == (403, 403, 403)
    entry.refresh_from_db()
    assert (entry.action, entry.data) == ("test.entry", {"a": 1})


def test_audit_log_filters_by_action_and_tenant_and_searches(
    staff_client: Client, alpha: Tenant, beta: Tenant
) -> None:
    # given
    first = AuditLog.objects.create(action="test.one", tenant=alpha, target_id="x-1")
    second = AuditLog.objects.create(action="test.two", tenant=beta, target_id="x-2")
    # when
    by_action = staff_client.get("/admin/tenants/auditlog/", {"action": "test.one"})
    by_tenant = staff_client.get(
        "/admin/tenants/auditlog/", {"tenant__id__exact": str(beta.pk), "q": "test."}
    )
    by_search = staff_client.get("/admin/tenants/auditlog/", {"q": "x-2"})

    # then
    def pks(response: Any) -> list[int]:
        return [entry.pk for entry in response.context["cl"].result_list]

    assert pks(by_action) == [first.pk]
    assert pks(by_tenant) == [second.pk]
    assert pks(by_search) == [second.pk]


def test_the_console_shows_a_way_back_while_impersonating(
    staff_client: Client, owner: Account, alpha: Tenant
) -> None:
    # given
    before = staff_client.get("/console/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    staff_client.post(f"/admin/tenants/tenant/{alpha.pk}/impersonate/")
    # when
    page = staff_client.get("/console/alpha/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # then
    assert 'action="/admin/tenants/account/impersonation/stop/"' not in before
    assert 'action="/admin/tenants/account/impersonation/stop/"' in page
    assert f"You are acting as {owner}." in page
