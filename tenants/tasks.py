"""Control-plane tasks of the tenants app: keeping the pool of spare schemas topped up."""

from __future__ import annotations

from typing import cast

from celery import Celery

from infra.celery import ControlPlaneTask, app

# infra.celery's app is tenant-schemas-celery's CeleryApp, a Celery the type checker cannot see.
celery_app = cast(Celery, app)


@celery_app.task(base=ControlPlaneTask, name="tenants.tasks.spare_pool_refill_task")
def spare_pool_refill_task() -> int:
    """Top up the pool of spare schemas to SPARE_SCHEMA_POOL_SIZE; how many were built."""
    from tenants.services.provisioning import spare_pool_refill

    return spare_pool_refill()


@celery_app.task(base=ControlPlaneTask, name="tenants.tasks.spare_pool_prune_task")
def spare_pool_prune_task() -> int:
    """Drop spares built for another migration state, and crashed builds; how many."""
    from tenants.services.provisioning import spare_pool_prune

    return spare_pool_prune()
