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
        "distribution.tasks.settlement_unfreeze_task",
        "distribution.tasks.settlement_periodic_task",
        "distribution.tasks.statements_monthly_task",
    } <= fanned_out


def test_the_distribution_grades_run_nightly() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["distribution-grades-nightly"]
    assert entry["task"] == "tenants.tasks.tenant_fanout_task"
    assert entry["args"] == ["distribution.tasks.grades_nightly_task"]
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {10})


def test_the_distribution_team_bonus_runs_hourly_per_shop() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["distribution-team-bonus-monthly"]
    assert entry["task"] == "tenants.tasks.tenant_fanout_task"
    assert entry["args"] == ["distribution.tasks.team_bonus_monthly_task"]
    assert entry["schedule"].minute == {25}
    assert len(entry["schedule"].hour) == 24


def test_the_distribution_withdrawals_are_swept_every_ten_minutes_per_shop() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["distribution-withdrawals-sweep"]
    assert entry["task"] == "tenants.tasks.tenant_fanout_task"
    assert entry["args"] == ["distribution.tasks.withdrawals_sweep_task"]
    assert entry["schedule"] == 600.0


def test_the_distribution_settlement_unfreezes_hourly_and_settles_daily_per_shop() -> None:
    unfreeze = settings.CELERY_BEAT_SCHEDULE["distribution-settlement-unfreeze"]
    periodic = settings.CELERY_BEAT_SCHEDULE["distribution-settlement-periodic"]
    statements = settings.CELERY_BEAT_SCHEDULE["distribution-statements-monthly"]
    assert unfreeze["args"] == ["distribution.tasks.settlement_unfreeze_task"]
    assert len(unfreeze["schedule"].hour) == 24
    assert periodic["args"] == ["distribution.tasks.settlement_periodic_task"]
    assert (periodic["schedule"].hour, periodic["schedule"].minute) == ({0}, {20})
    assert statements["args"] == ["distribution.tasks.statements_monthly_task"]
    assert len(statements["schedule"].hour) == 24
