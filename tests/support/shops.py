"""Shops for tests and benchmarks: our provisioning path and django-tenants' stock one."""

from __future__ import annotations

from tenants.models import Tenant
from tenants.selectors.provisioning import schema_name_for
from tenants.services.audit import AuditContext
from tenants.services.provisioning import tenant_provision, with_spare_schema


def shop_provision(slug: str, name: str | None = None) -> Tenant:
    """A shop made the way signup makes it (a spare schema from the pool, or a fresh one)."""
    return with_spare_schema(
        lambda: tenant_provision(
            slug=slug,
            name=name or f"Shop {slug}",
            currency="CNY",
            language="zh-hans",
            time_zone="Asia/Shanghai",
            context=AuditContext.system(),
        )
    )


def shop_provision_stock(slug: str, name: str | None = None) -> Tenant:
    """A shop the stock django-tenants way: save() creates the schema and runs every migration."""
    tenant = Tenant(
        schema_name=schema_name_for(slug),
        slug=slug,
        name=name or f"Shop {slug}",
        currency="CNY",
        language="zh-hans",
        time_zone="Asia/Shanghai",
    )
    tenant.auto_create_schema = True
    tenant.save(verbosity=0)  # type: ignore[no-untyped-call]  # django-tenants is untyped
    return tenant
