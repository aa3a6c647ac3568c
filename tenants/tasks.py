"""Control-plane tasks of the tenants app: keeping the pool of spare schemas topped up."""

from __future__ import annotations

from infra.celery import ControlPlaneTask, app


@app.task(base=ControlPlaneTask, name="tenants.tasks.spare_pool_refill_task")
def spare_pool_refill_task() -> int:
    """Top up the pool of spare schemas to SPARE_SCHEMA_POOL_SIZE; how many were built."""
    from tenants.services.provisioning import spare_pool_refill

    return spare_pool_refill()


@app.task(base=ControlPlaneTask, name="tenants.tasks.spare_pool_prune_task")
def spare_pool_prune_task() -> int:
    """Drop spares built for another migration state, and crashed builds; how many."""
    from tenants.services.provisioning import spare_pool_prune

    return spare_pool_prune()


@app.task(base=ControlPlaneTask, name="tenants.tasks.tenant_fanout_task")
def tenant_fanout_task(task_name: str) -> int:
    """Send a tenant-plane task once for every active shop, in that shop's schema."""
    from infra.db import tenant_schema
    from tenants.models import Tenant, TenantStatus

    sent = 0
    for tenant in Tenant.objects.filter(status=TenantStatus.ACTIVE).iterator():
        with tenant_schema(tenant):
            app.send_task(task_name)
        sent += 1
    return sent
