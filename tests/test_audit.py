"""Every privileged action writes an audit row: the rule is enforced, not hoped for."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

from infra.planes import project_app_configs
from tenants.models import AuditLog, Tenant
from tenants.services.audit import AuditContext, AuditMissingError, audit_record, audited


def _service_modules() -> list[ModuleType]:
    modules: list[ModuleType] = []
    for config in project_app_configs():
        if config.plane != "control":
            continue
        try:
            package = importlib.import_module(f"{config.name}.services")
        except ModuleNotFoundError:
            continue
        modules.append(package)
        for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
            if f"{package.__name__}.{info.name}" == "tenants.services.audit":
                continue  # the audit mechanism itself
            modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return modules


def _public_functions(module: ModuleType) -> list[tuple[str, object]]:
    return [
        (name, function)
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == module.__name__
    ]


def test_the_control_plane_has_write_services() -> None:
    names = {name for module in _service_modules() for name, _ in _public_functions(module)}
    assert {"tenant_signup", "tenant_provision", "subscription_start_trial"} <= names


def test_every_control_plane_service_is_audited_or_says_why_not() -> None:
    # Writes either carry @audited (which fails the service when it wrote no audit row),
    # or are @orchestrator (they write only through @audited services), or @unaudited(reason).
    unmarked = [
        f"{module.__name__}.{name}"
        for module in _service_modules()
        for name, function in _public_functions(module)
        if not any(
            hasattr(function, marker)
            for marker in ("__audited__", "__orchestrator__", "__unaudited__")
        )
    ]
    assert unmarked == []


def test_an_audited_service_that_forgets_its_row_fails_and_changes_nothing(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    @audited
    def rename_without_audit(*, tenant: Tenant) -> None:
        Tenant.objects.filter(pk=tenant.pk).update(name="Renamed")

    # when
    with pytest.raises(AuditMissingError):
        rename_without_audit(tenant=shops["alpha"])
    # then
    assert Tenant.objects.get(pk=shops["alpha"].pk).name == "Alpha Shop"


def test_audit_rows_say_who_which_tenant_what_when_and_from_where(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    context = AuditContext(actor_id=None, ip_address="203.0.113.9", user_agent="Firefox")

    @audited
    def touch(*, tenant: Tenant, context: AuditContext) -> None:
        audit_record(context=context, action="tenant.touched", tenant=tenant, target=tenant)

    # when
    touch(tenant=shops["alpha"], context=context)
    # then
    row = AuditLog.objects.get(action="tenant.touched")
    assert row.tenant == shops["alpha"]
    assert (row.target_type, row.target_id) == ("tenants.tenant", str(shops["alpha"].pk))
    assert (row.ip_address, row.user_agent) == ("203.0.113.9", "Firefox")
    assert row.created_at is not None
