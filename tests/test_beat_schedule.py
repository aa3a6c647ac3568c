"""Every Celery beat entry names a registered task, and fan-outs a registered tenant-plane task."""

from __future__ import annotations

import pytest
from django.conf import settings

from infra.celery import TenantPlaneTask, app

ENTRIES = sorted(settings.CELERY_BEAT_SCHEDULE.items())


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[name for name, _ in ENTRIES])
def test_beat_entry_sends_a_registered_task(name: str, entry: dict[str, object]) -> None:
    app.loader.import_default_modules()
    task = str(entry["task"])
    assert task in app.tasks, name
    if task == "tenants.tasks.tenant_fanout_task":
        args = entry["args"]
        assert isinstance(args, list)
        target = str(args[0])
        assert target in app.tasks, name
        assert isinstance(app.tasks[target], TenantPlaneTask), name


def test_the_commerce_schedules_are_there() -> None:
    fanned_out = {
        entry["args"][0]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "tenants.tasks.tenant_fanout_task"
    }
    assert {
        "shop.orders.tasks.orders_unpaid_cancel_task",
        "shop.orders.tasks.orders_progress_task",
        "shop.payments.tasks.payments_sweep_task",
        "shop.payments.tasks.payments_reconcile_task",
    } <= fanned_out
