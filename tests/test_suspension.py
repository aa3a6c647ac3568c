"""Suspending a shop closes its storefront and API (503, Retry-After) but not its console."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from infra.errors import ValidationFailed
from tenants.middleware import SUSPENDED_RETRY_AFTER_S
from tenants.models import Account, AuditLog, Membership, Role, Tenant, TenantStatus
from tenants.services.audit import AuditContext
from tenants.services.tenancy import (
    TenantAlreadySuspendedError,
    TenantNotSuspendedError,
    tenant_reactivate,
    tenant_suspend,
)

STATUS_ACTIONS = ("tenant.suspended", "tenant.reactivated")
OnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


@pytest.fixture
def alpha(shops: dict[str, Tenant], db: None) -> Tenant:
    """A fresh instance of the session shop (the session's own object stays untouched)."""
    tenant: Tenant = Tenant.objects.get(slug="alpha")
    return tenant


@pytest.fixture
def staff(db: None) -> Account:
    return Account.objects.create_user(
        email="ops@platform.test", password="pw-123456", is_platform_staff=True
    )


def _staff_context(staff: Account) -> AuditContext:
    return AuditContext(actor_id=staff.pk, ip_address="203.0.113.5", user_agent="pytest")


def _suspend(
    tenant: Tenant, staff: Account, on_commit: OnCommit, reason: str = "Unpaid invoice"
) -> None:
    # execute=True runs the on-commit routing-cache invalidation inside the test transaction.
    with on_commit(execute=True):
        tenant_suspend(tenant=tenant, reason=reason, context=_staff_context(staff))


def test_suspended_shop_storefront_answers_503_with_the_shop_closed_page(
    alpha: Tenant, staff: Account, django_capture_on_commit_callbacks: OnCommit
) -> None:
    # given
    _suspend(alpha, staff, django_capture_on_commit_callbacks)
    # when
    with translation.override("en"):
        response = Client(HTTP_HOST="alpha.localhost", HTTP_ACCEPT_LANGUAGE="en").get("/")
    # then
    assert response.status_code == 503
    assert response["Retry-After"] == str(SUSPENDED_RETRY_AFTER_S) == "3600"
    body = response.content.decode()
    assert "<title>Shop closed · Alpha Shop</title>" in body
    assert "<h1>This shop is closed for now</h1>" in body


def test_suspended_shop_api_answers_503_shop_closed_json(
    alpha: Tenant, staff: Account, django_capture_on_commit_callbacks: OnCommit
) -> None:
    # given
    _suspend(alpha, staff, django_capture_on_commit_callbacks)
    # when
    with translation.override("en"):
        response = Client(HTTP_HOST="alpha.localhost", HTTP_ACCEPT_LANGUAGE="en").get(
            "/api/v1/shop"
        )
    # then
    assert response.status_code == 503
    assert response["Retry-After"] == "3600"
    assert response.json() == {
        "error": {"code": "shop_closed", "message": "This shop is closed for now.", "fields": {}}
    }


def test_suspension_applies_at_once_although_routing_is_cached(
    alpha: Tenant, staff: Account, django_capture_on_commit_callbacks: OnCommit
) -> None:
    # given: the shop's routing is cached by a first visit
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.get("/").status_code == 200
    # when
    _suspend(alpha, staff, django_capture_on_commit_callbacks)
    # then
    assert client.get("/").status_code == 503


def test_suspended_shop_owner_still_opens_the_console_on_the_platform_host(
    alpha: Tenant, staff: Account, django_capture_on_commit_callbacks: OnCommit
) -> None:
    # given
    owner = Account.objects.create_user(email="owner@alpha.test", password="pw-123456")
    Membership.objects.create(account=owner, tenant=alpha, role=Role.OWNER)
    _suspend(alpha, staff, django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(owner)
    # when
    response = client.get("/console/alpha/")
    # then
    assert response.status_code == 200


def test_reactivation_reopens_the_storefront_and_the_api(
    alpha: Tenant, staff: Account, django_capture_on_commit_callbacks: OnCommit
) -> None:
    # given: suspended, and the suspended routing is cached
    _suspend(alpha, staff, django_capture_on_commit_callbacks)
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.get("/").status_code == 503
    # when
    with django_capture_on_commit_callbacks(execute=True):
        tenant_reactivate(tenant=alpha, context=_staff_context(staff))
    # then
    home = client.get("/")
    assert home.status_code == 200
    assert "<title>Alpha Shop</title>" in home.content.decode()
    assert client.get("/api/v1/shop").status_code == 200
    alpha.refresh_from_db()
    assert (alpha.status, alpha.suspended_reason, alpha.suspended_at) == (
        TenantStatus.ACTIVE,
        "",
        None,
    )


def test_suspend_and_reactivate_write_audit_rows(
    alpha: Tenant, staff: Account, django_capture_on_commit_callbacks: OnCommit
) -> None:
    # when
    _suspend(alpha, staff, django_capture_on_commit_callbacks, reason="  Fraud report 42  ")
    suspended_at = alpha.suspended_at
    with django_capture_on_commit_callbacks(execute=True):
        tenant_reactivate(tenant=alpha, context=_staff_context(staff))
    # then
    assert suspended_at is not None
    rows = AuditLog.objects.filter(tenant=alpha, action__in=STATUS_ACTIONS).order_by("id")
    assert [
        (row.action, row.actor_id, row.target_type, row.target_id, row.data, row.ip_address)
        for row in rows
    ] == [
        (
            "tenant.suspended",
            staff.pk,
            "tenants.tenant",
            str(alpha.pk),
            {"reason": "Fraud report 42"},
            "203.0.113.5",
        ),
        (
            "tenant.reactivated",
            staff.pk,
            "tenants.tenant",
            str(alpha.pk),
            {"previous_reason": "Fraud report 42"},
            "203.0.113.5",
        ),
    ]


def test_suspend_without_a_reason_is_refused_and_changes_nothing(
    alpha: Tenant, staff: Account
) -> None:
    # when
    with translation.override("en"), pytest.raises(ValidationFailed) as raised:
        tenant_suspend(tenant=alpha, reason="   ", context=_staff_context(staff))
    # then
    assert raised.value.fields == {
        "reason": [{"code": "required", "message": "Say why the shop is closed."}]
    }
    alpha.refresh_from_db()
    assert (alpha.status, alpha.suspended_reason, alpha.suspended_at) == (
        TenantStatus.ACTIVE,
        "",
        None,
    )
    assert AuditLog.objects.filter(tenant=alpha, action__in=STATUS_ACTIONS).count() == 0
    assert Client(HTTP_HOST="alpha.localhost").get("/").status_code == 200


def test_suspending_a_suspended_shop_is_refused_and_keeps_the_first_reason(
    alpha: Tenant, staff: Account, django_capture_on_commit_callbacks: OnCommit
) -> None:
    # given
    _suspend(alpha, staff, django_capture_on_commit_callbacks, reason="First")
    # when
    with pytest.raises(TenantAlreadySuspendedError) as raised:
        tenant_suspend(tenant=alpha, reason="Second", context=_staff_context(staff))
    # then
    assert raised.value.code == "tenant_already_suspended"
    alpha.refresh_from_db()
    assert (alpha.status, alpha.suspended_reason) == (TenantStatus.SUSPENDED, "First")
    assert list(
        AuditLog.objects.filter(tenant=alpha, action__in=STATUS_ACTIONS).values_list(
            "action", flat=True
        )
    ) == ["tenant.suspended"]


def test_reactivating_an_active_shop_is_refused_and_writes_no_audit_row(
    alpha: Tenant, staff: Account
) -> None:
    # when
    with pytest.raises(TenantNotSuspendedError) as raised:
        tenant_reactivate(tenant=alpha, context=_staff_context(staff))
    # then
    assert raised.value.code == "tenant_not_suspended"
    alpha.refresh_from_db()
    assert alpha.status == TenantStatus.ACTIVE
    assert AuditLog.objects.filter(tenant=alpha, action__in=STATUS_ACTIONS).count() == 0
