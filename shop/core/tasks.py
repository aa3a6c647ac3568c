"""Tenant-plane tasks of the shop core: each runs in the schema of the shop it was sent from."""

from __future__ import annotations

from typing import cast

from celery import Celery

from infra.celery import TenantPlaneTask, app

# infra.celery's app is tenant-schemas-celery's CeleryApp, a Celery the type checker cannot see.
celery_app = cast(Celery, app)


@celery_app.task(base=TenantPlaneTask, name="shop.core.tasks.shop_defaults_seed_task")
def shop_defaults_seed_task() -> list[str]:
    """Create the default rows of every tenant-plane app in this shop (idempotent).

    Sent per shop by a control-plane fan-out after a release adds defaults; returns the labels of
    the apps that were seeded.
    """
    from infra.planes import tenant_app_configs

    seeded = []
    for config in tenant_app_configs():
        config.seed_defaults()
        seeded.append(config.label)
    return seeded
