"""`manage.py migrate_fleet`: apply pending migrations to every tenant schema, in parallel.

The logic is in tenants.services.fleet_migrations; this command parses flags, shows a progress
bar on stderr and prints the summary. It exits non-zero when any schema failed; running it
again resumes each schema where it stopped.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from tenants.services.fleet_migrations import (
    FleetMigrationError,
    FleetMigrationReport,
    SchemaOutcome,
    fleet_migrate,
)


class _Bar:
    """A tqdm progress bar on stderr, counting schemas and failures."""

    def __init__(self, *, enabled: bool, stream: Any) -> None:
        self.enabled = enabled
        self.stream = stream
        self.bar: Any = None
        self.failed = 0

    def start(self, *, total: int) -> None:
        self.bar = tqdm(
            total=total,
            unit="schema",
            desc="migrate_fleet",
            file=self.stream,
            disable=not self.enabled,
            dynamic_ncols=True,
        )

    def advance(self, outcome: SchemaOutcome) -> None:
        assert self.bar is not None
        if outcome.status == "failed":
            self.failed += 1
            self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Command(BaseCommand):
    help = (
        "Apply pending migrations to every tenant schema in parallel worker processes; "
        "skip schemas already at head; exit non-zero if any schema failed (rerun to resume)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="worker processes (default: the CPU count; 1 runs in this process)",
        )
        parser.add_argument(
            "--schema",
            action="append",
            dest="schemas",
            metavar="NAME",
            help="only this tenant schema (repeatable); default: every tenant",
        )
        parser.add_argument(
            "--max-tasks-per-child",
            type=int,
            default=100,
            help="schemas a worker migrates before it is replaced (bounds memory; default 100)",
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=0,
            metavar="SECONDS",
            help="fail a migration that waits longer for a table lock (default 0: wait)",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="do not show the progress bar"
        )
        parser.add_argument("--database", default="default", help="database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1 or options["max_tasks_per_child"] < 1:
            raise CommandError("--workers and --max-tasks-per-child must be at least 1")
        bar = _Bar(enabled=not options["no_progress"], stream=self.stderr._out)
        try:
            report = fleet_migrate(
                workers=options["workers"],
                schema_names=options["schemas"],
                max_tasks_per_child=options["max_tasks_per_child"],
                lock_timeout_s=options["lock_timeout"],
                progress=bar,
                database=options["database"],
            )
        except FleetMigrationError as error:
            raise CommandError(f"{error} ({error.code})") from error
        finally:
            bar.close()
        self._summary(report)
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} schema(s) failed; fix them and run migrate_fleet again "
                "(it resumes each schema where it stopped)",
                returncode=1,
            )

    def _summary(self, report: FleetMigrationReport) -> None:
        write = self.stdout.write
        write(
            f"Fleet migration: {len(report.outcomes)} schemas in {report.seconds:.1f} s "
            f"({report.workers} workers)"
        )
        write(f"  at head   {len(report.at_head):>7}")
        write(f"  migrated  {len(report.migrated):>7}")
        write(f"  failed    {len(report.failed):>7}")
        applied = sum(len(o.applied) for o in report.outcomes)
        if applied:
            write(f"  migrations applied: {applied}")
        if report.failures:
            write(self.style.ERROR("Failures:"))
            for outcome in report.failures:
                write(self.style.ERROR(f"  {outcome.schema_name}: {outcome.error}"))
        write(
            "Spare schemas of the provisioning pool are not migrated: the pool never hands out "
            "a spare at another migration state, and its refill task rebuilds them."
        )
