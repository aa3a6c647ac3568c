"""Distribution tasks (tenant plane: each runs in the schema of the shop it was sent from).

Thin: each calls a service. The beat entries fan them out to every shop (infra/settings.py).
"""

from __future__ import annotations

from infra.celery import TenantPlaneTask, app


@app.task(base=TenantPlaneTask, name="distribution.tasks.grades_nightly_task")
def grades_nightly_task() -> int:
    """Upgrade and retention-check every distributor's grade; how many changed."""
    from distribution.services.grades import grades_nightly

    return grades_nightly()


@app.task(base=TenantPlaneTask, name="distribution.tasks.team_bonus_monthly_task")
def team_bonus_monthly_task() -> int:
    """Pay the team bonuses of the month that ended last (shop time zone), once; how much."""
    from distribution.services.team import team_bonus_run

    run = team_bonus_run()
    return run.paid_minor if run is not None else 0


@app.task(base=TenantPlaneTask, name="distribution.tasks.withdrawal_transfer_task")
def withdrawal_transfer_task(withdrawal_id: int) -> str:
    """Pay an approved withdrawal out through its channel (after the commit that approved it)."""
    from distribution.services.withdrawals import withdrawal_transfer

    return str(withdrawal_transfer(withdrawal_id=withdrawal_id).state)


@app.task(base=TenantPlaneTask, name="distribution.tasks.withdrawals_sweep_task")
def withdrawals_sweep_task() -> int:
    """Ask WeChat about transfers in flight, cancel the unconfirmed after 24 h (money back),
    transfer approved withdrawals a lost task left."""
    from distribution.services.withdrawals import withdrawals_sweep

    return withdrawals_sweep()


@app.task(base=TenantPlaneTask, name="distribution.tasks.settlement_unfreeze_task")
def settlement_unfreeze_task() -> int:
    """Hourly: release frozen commissions whose freeze days passed (shops without a settlement
    day); how much was released, in minor units."""
    from distribution.services.settlement import settlement_unfreeze

    run = settlement_unfreeze()
    return run.released_minor if run is not None else 0


@app.task(base=TenantPlaneTask, name="distribution.tasks.settlement_periodic_task")
def settlement_periodic_task() -> int:
    """Daily: on the shop's settlement day, release frozen commissions whose freeze days passed;
    how much was released, in minor units."""
    from distribution.services.settlement import settlement_periodic

    run = settlement_periodic()
    return run.released_minor if run is not None else 0


@app.task(base=TenantPlaneTask, name="distribution.tasks.statements_monthly_task")
def statements_monthly_task() -> int:
    """Daily: once the shop's month has ended, its distributors' statements of that month;
    how many were written (0 when already done)."""
    from distribution.services.statements import statements_monthly

    return statements_monthly()
