"""Fleet migrations (`manage.py migrate_fleet`) on real schemas, committed.

The module builds three tenant schemas at the project's migration state; tests that need a
pending migration point shop.core at tests.benchmarks.fleet_extra_migrations (its real
migrations plus one AddField) through MIGRATION_MODULES.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as default_connection
from django.db import connections, transaction
from django.db.models.signals import post_migrate, pre_migrate
from pytest_django.fixtures import Settings

from infra.db.base import DatabaseWrapper as TenantDatabaseWrapper
from tenants.models import SpareSchema, Tenant
from tenants.services.fleet_migrations import (
    FLEET_LOCK_KEY,
    FleetMigrationRunningError,
    FleetSchemaUnknownError,
    fleet_migrate,
    fleet_schema_names_list,
)
from tenants.services.provisioning import schema_drop, schema_migrate
from tests.benchmarks.fleet_extra_migrations import EXTRA_COLUMN, EXTRA_MIGRATION, EXTRA_TABLE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.serial]

SCHEMAS = ("fleet_test_a", "fleet_test_b", "fleet_test_c")
EMPTY_SCHEMA = "fleet_test_empty"
MISSING_SCHEMA = "fleet_test_missing"
KEEP_SCHEMA = "fleet_test_keep"
EXTRA = f"{EXTRA_MIGRATION[0]}.{EXTRA_MIGRATION[1]}"
EXTRA_MODULES = {"shop_core": "tests.benchmarks.fleet_extra_migrations"}
connection = cast(TenantDatabaseWrapper, default_connection)


def _execute(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


def _recorded(schema: str) -> list[tuple[Any, ...]]:
    return _execute(f'SELECT id, app, name, applied FROM "{schema}".django_migrations ORDER BY id')


def _has_extra_column(schema: str) -> bool:
    rows = _execute(
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s AND column_name = %s",
        [schema, EXTRA_TABLE, EXTRA_COLUMN],
    )
    return bool(rows)


def _has_extra_recorded(schema: str) -> bool:
    rows = _execute(
        f'SELECT 1 FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
        list(EXTRA_MIGRATION),
    )
    return bool(rows)


def _revert_extra(schema: str) -> None:
    _execute(f'ALTER TABLE "{schema}"."{EXTRA_TABLE}" DROP COLUMN IF EXISTS "{EXTRA_COLUMN}"')
    _execute(
        f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
        list(EXTRA_MIGRATION),
    )


def _sabotage(schema: str) -> None:
    """Make the extra migration fail in `schema`: its column already exists."""
    _execute(f'ALTER TABLE "{schema}"."{EXTRA_TABLE}" ADD COLUMN "{EXTRA_COLUMN}" text')


@pytest.fixture(scope="module", autouse=True)
def _public_rows_kept(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Put back the public rows committed before this module (the session shops).

    Each transaction=True test ends with a flush that empties every public table.
    """
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        tables = connection.introspection.django_table_names(only_existing=True)
        _execute(f'DROP SCHEMA IF EXISTS "{KEEP_SCHEMA}" CASCADE')
        _execute(f'CREATE SCHEMA "{KEEP_SCHEMA}"')
        for table in tables:
            _execute(f'CREATE TABLE "{KEEP_SCHEMA}"."{table}" AS TABLE public."{table}"')
    yield
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        with transaction.atomic():
            _execute("TRUNCATE " + ", ".join(f'public."{table}"' for table in tables))
            for table in tables:
                _execute(f'INSERT INTO public."{table}" SELECT * FROM "{KEEP_SCHEMA}"."{table}"')
        _execute(f'DROP SCHEMA "{KEEP_SCHEMA}" CASCADE')


@pytest.fixture(scope="module")
def _schemas(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Three schemas migrated the stock way, dropped after the module."""
    with django_db_blocker.unblock():
        for schema in SCHEMAS:
            schema_drop(schema)
            _execute(f'CREATE SCHEMA "{schema}"')
            schema_migrate(schema)
    yield
    with django_db_blocker.unblock():
        for schema in (*SCHEMAS, EMPTY_SCHEMA):
            schema_drop(schema)


@pytest.fixture
def fleet(_schemas: None) -> Iterator[tuple[str, ...]]:
    """The three schemas as tenants, at the project's head; reverted afterwards."""
    for schema in SCHEMAS:
        _revert_extra(schema)
        Tenant.objects.create(schema_name=schema, slug=schema.replace("_", "-"), name=schema)
    yield SCHEMAS
    for schema in SCHEMAS:
        _revert_extra(schema)
    Tenant.objects.filter(schema_name__in=(*SCHEMAS, EMPTY_SCHEMA, MISSING_SCHEMA)).delete()


@pytest.fixture
def extra_migration(settings: Settings) -> None:
    """A pending additive migration in shop.core."""
    settings.MIGRATION_MODULES = EXTRA_MODULES


def test_fleet_migrate_skips_schemas_at_head(fleet: tuple[str, ...]) -> None:
    # given
    before = {schema: _recorded(schema) for schema in fleet}
    signalled: list[str] = []

    def record(**kwargs: Any) -> None:
        signalled.append(connection.schema_name)

    pre_migrate.connect(record, weak=False, dispatch_uid="fleet-test-skip")
    # when
    try:
        report = fleet_migrate(workers=1)
    finally:
        pre_migrate.disconnect(dispatch_uid="fleet-test-skip")
    # then
    assert set(fleet) <= set(report.at_head)
    assert report.migrated == ()
    assert report.failed == ()
    assert signalled == []
    assert {schema: _recorded(schema) for schema in fleet} == before


def test_fleet_migrate_applies_pending_migration_to_every_schema(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # given
    assert [_has_extra_column(schema) for schema in fleet] == [False, False, False]
    # when
    report = fleet_migrate(workers=2, schema_names=fleet)
    # then
    assert report.migrated == fleet
    assert report.at_head == ()
    assert report.failed == ()
    assert [outcome.applied for outcome in report.outcomes] == [(EXTRA,)] * 3
    assert [_has_extra_column(schema) for schema in fleet] == [True, True, True]
    assert [_has_extra_recorded(schema) for schema in fleet] == [True, True, True]


def test_fleet_migrate_reports_failing_schema_and_migrates_the_others(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # given
    broken = fleet[1]
    _sabotage(broken)
    # when
    report = fleet_migrate(workers=2, schema_names=fleet)
    # then
    assert report.migrated == (fleet[0], fleet[2])
    assert report.failed == (broken,)
    assert report.failures[0].error == (
        f'{EXTRA}: ProgrammingError: column "{EXTRA_COLUMN}" of relation '
        f'"{EXTRA_TABLE}" already exists'
    )
    assert report.failures[0].applied == ()
    assert [_has_extra_recorded(schema) for schema in fleet] == [True, False, True]


def test_fleet_migrate_rerun_resumes_only_the_failed_schema(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # given
    broken = fleet[1]
    _sabotage(broken)
    first = fleet_migrate(workers=2, schema_names=fleet)
    assert first.failed == (broken,)
    migrated_rows = {schema: _recorded(schema) for schema in (fleet[0], fleet[2])}
    _execute(f'ALTER TABLE "{broken}"."{EXTRA_TABLE}" DROP COLUMN "{EXTRA_COLUMN}"')
    # when
    second = fleet_migrate(workers=2, schema_names=fleet)
    # then
    assert second.migrated == (broken,)
    assert second.at_head == (fleet[0], fleet[2])
    assert second.failed == ()
    assert _has_extra_column(broken)
    assert _has_extra_recorded(broken)
    assert {schema: _recorded(schema) for schema in (fleet[0], fleet[2])} == migrated_rows


def test_migrate_fleet_command_summarises_and_exits_non_zero_on_failure(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # given
    _sabotage(fleet[2])
    out = io.StringIO()
    err = io.StringIO()
    args = [arg for schema in fleet for arg in ("--schema", schema)]
    # when
    with pytest.raises(CommandError) as raised:
        call_command("migrate_fleet", *args, "--workers=2", stdout=out, stderr=err)
    # then
    assert raised.value.returncode == 1
    assert str(raised.value) == (
        "1 schema(s) failed; fix them and run migrate_fleet again "
        "(it resumes each schema where it stopped)"
    )
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Fleet migration: 3 schemas in ")
    assert lines[1:6] == [
        "  at head         0",
        "  migrated        2",
        "  failed          1",
        "  migrations applied: 2",
        "Failures:",
    ]
    assert lines[6].startswith(f"  {fleet[2]}: {EXTRA}: ProgrammingError: column ")
    assert "migrate_fleet" in err.getvalue()  # the progress bar


def test_migrate_fleet_command_without_progress_bar_succeeds(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # given
    out = io.StringIO()
    err = io.StringIO()
    # when
    call_command("migrate_fleet", "--schema", fleet[0], "--no-progress", stdout=out, stderr=err)
    # then
    assert out.getvalue().splitlines()[1:4] == [
        "  at head         0",
        "  migrated        1",
        "  failed          0",
    ]
    assert err.getvalue() == ""
    assert [_has_extra_recorded(schema) for schema in fleet] == [True, False, False]


def test_fleet_migrate_emits_migrate_signals_inside_each_schema(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # given
    received: list[tuple[str, str, list[str], bool]] = []

    def record(signal: str) -> Any:
        def receiver(sender: Any, apps: Any, plan: Any, **kwargs: Any) -> None:
            if sender.label == "shop_core":
                model = apps.get_model("shop_core", "ShopProfile")
                has_field = EXTRA_COLUMN in {f.name for f in model._meta.get_fields()}
                received.append(
                    (signal, connection.schema_name, [str(m) for m, _ in plan], has_field)
                )

        return receiver

    pre_migrate.connect(record("pre"), weak=False, dispatch_uid="fleet-test-pre")
    post_migrate.connect(record("post"), weak=False, dispatch_uid="fleet-test-post")
    # when
    try:
        fleet_migrate(workers=1, schema_names=fleet[:2])
    finally:
        pre_migrate.disconnect(dispatch_uid="fleet-test-pre")
        post_migrate.disconnect(dispatch_uid="fleet-test-post")
    # then
    assert received == [
        ("pre", fleet[0], [EXTRA], False),
        ("post", fleet[0], [EXTRA], True),
        ("pre", fleet[1], [EXTRA], False),
        ("post", fleet[1], [EXTRA], True),
    ]


def test_fleet_migrate_reports_a_worker_that_died_and_goes_on(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # given: the worker that gets fleet[1] dies (as if killed for its memory)
    control_process = os.getpid()

    def die(sender: Any, **kwargs: Any) -> None:
        if os.getpid() != control_process and connection.schema_name == fleet[1]:
            os._exit(3)

    pre_migrate.connect(die, weak=False, dispatch_uid="fleet-test-die")
    # when
    try:
        report = fleet_migrate(workers=2, schema_names=fleet, max_tasks_per_child=1)
    finally:
        pre_migrate.disconnect(dispatch_uid="fleet-test-die")
    # then
    assert report.migrated == (fleet[0], fleet[2])
    assert report.failed == (fleet[1],)
    assert report.failures[0].error == "worker process died (exit code 3)"
    assert [_has_extra_recorded(schema) for schema in fleet] == [True, False, True]


def test_fleet_migrate_with_lock_timeout_fails_a_schema_whose_table_is_busy(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # given: another session holds a lock on fleet[0]'s table
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{fleet[0]}"."{EXTRA_TABLE}" IN ACCESS SHARE MODE')
        # when
        report = fleet_migrate(workers=2, schema_names=fleet, lock_timeout_s=0.2)
    finally:
        other.rollback()
        other.close()
    # then
    assert report.failed == (fleet[0],)
    assert report.failures[0].error == (
        f"{EXTRA}: OperationalError: canceling statement due to lock timeout"
    )
    assert report.migrated == fleet[1:]
    assert [_has_extra_recorded(schema) for schema in fleet] == [False, True, True]


def test_fleet_migrate_migrates_schema_without_django_migrations(fleet: tuple[str, ...]) -> None:
    # given
    schema_drop(EMPTY_SCHEMA)
    _execute(f'CREATE SCHEMA "{EMPTY_SCHEMA}"')
    Tenant.objects.create(schema_name=EMPTY_SCHEMA, slug="fleet-test-empty", name="Empty")
    expected = sorted(f"{app}.{name}" for _id, app, name, _at in _recorded(fleet[0]))
    # when
    report = fleet_migrate(workers=2, schema_names=[EMPTY_SCHEMA, fleet[0]])
    # then
    assert report.migrated == (EMPTY_SCHEMA,)
    assert report.at_head == (fleet[0],)
    applied = {outcome.schema_name: outcome.applied for outcome in report.outcomes}
    assert sorted(applied[EMPTY_SCHEMA]) == expected
    assert applied[fleet[0]] == ()
    assert sorted(f"{app}.{name}" for _id, app, name, _at in _recorded(EMPTY_SCHEMA)) == expected


def test_fleet_migrate_reports_tenant_without_schema_and_migrates_the_others(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # given
    Tenant.objects.create(schema_name=MISSING_SCHEMA, slug="fleet-test-missing", name="Missing")
    # when
    report = fleet_migrate(workers=2, schema_names=[MISSING_SCHEMA, fleet[0]])
    # then
    assert report.failed == (MISSING_SCHEMA,)
    assert report.failures[0].error == "schema does not exist"
    assert report.migrated == (fleet[0],)
    assert _execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [MISSING_SCHEMA]) == []


def test_fleet_schema_names_list_has_tenants_and_not_spares(fleet: tuple[str, ...]) -> None:
    # given
    SpareSchema.objects.create(schema_name="spare_fleet_test", migration_state="x")
    # when
    names = fleet_schema_names_list()
    # then
    assert set(fleet) <= set(names)
    assert "spare_fleet_test" not in names
    assert "public" not in names


def test_fleet_migrate_refuses_unknown_schema(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # when
    with pytest.raises(FleetSchemaUnknownError) as raised:
        fleet_migrate(workers=1, schema_names=[fleet[0], "fleet_test_nope"])
    # then
    assert raised.value.code == "fleet_schema_unknown"
    assert _has_extra_recorded(fleet[0]) is False


def test_fleet_migrate_refuses_to_run_beside_another_run(
    fleet: tuple[str, ...], extra_migration: None
) -> None:
    # given
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [FLEET_LOCK_KEY])
        # when
        with pytest.raises(FleetMigrationRunningError) as raised:
            fleet_migrate(workers=1, schema_names=fleet)
    finally:
        other.close()
    # then
    assert raised.value.code == "fleet_migration_running"
    assert [_has_extra_recorded(schema) for schema in fleet] == [False, False, False]
