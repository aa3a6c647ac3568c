"""Tenant-plane tasks of the shop core: each runs in the schema of the shop it was sent from."""

from __future__ import annotations

from infra.celery import TenantPlaneTask, app


@app.task(base=TenantPlaneTask, name="shop.core.tasks.shop_defaults_seed_task")
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
