"""Control-plane tasks of the tenants app."""

from __future__ import annotations

from infra.celery import ControlPlaneTask, app


@app.task(base=ControlPlaneTask, name="tenants.tasks.spare_pool_refill_task")
def spare_pool_refill_task() -> int:
    """Top up the pool of spare schemas."""
    from tenants.services.provisioning import spare_pool_refill

    return spare_pool_refill()


@app.task(base=ControlPlaneTask, name="tenants.tasks.spare_pool_prune_task")
def spare_pool_prune_task() -> int:
    """Drop spares built for another migration state."""
    from tenants.services.provisioning import spare_pool_prune

    return spare_pool_prune()
