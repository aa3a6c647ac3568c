"""Benchmark: `manage.py migrate_fleet` beside `migrate_schemas --executor standard`.

    python -m tests.benchmarks.fleet_migrate [--schemas 100] [--workers N]

In a database of its own on the server of DATABASE_URL (dropped at the end), it builds
`--schemas` tenant schemas at the project's migration state (one schema migrated the stock way,
then the SQL that migrate ran replayed into the others; the copies are checked catalog object
by catalog object against the original) with a Tenant row each. Then it times:

(a) one additive migration (tests.benchmarks.fleet_extra_migrations: AddField on shop.core)
    applied to every schema, the stock way first; the migration is then reverted in every
    schema (column dropped, row deleted) and applied our way;
(b) a run where every schema is already at head, ours and stock.

Both commands run in this process through call_command, with checks skipped and verbosity 0.
Ratios are stock time / our time. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from typing import Any, cast

from tests.benchmarks._common import benchmark_database, django_setup

EXTRA_MODULES = {"shop_core": "tests.benchmarks.fleet_extra_migrations"}
TEMPLATE = "fleet_template"
SKIPPED_PREFIXES = ("SELECT", "SHOW", "SET ", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")


def _schema(index: int) -> str:
    return f"fleet_{index:05d}"


def _capture_migrate(schema: str) -> list[tuple[str, Any]]:
    """Migrate `schema` the stock way; return the statements that changed it."""
    from django.db import connection

    from tenants.services.provisioning import schema_migrate

    statements: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if many:
            raise RuntimeError("executemany in a migration: cannot replay it")
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    with connection.execute_wrapper(capture):
        schema_migrate(schema)
    replayed = [
        (sql, params)
        for sql, params in statements
        if not sql.lstrip().upper().startswith(SKIPPED_PREFIXES)
    ]
    for sql, _params in replayed:
        if schema in sql:
            raise RuntimeError(f"a statement names the template schema: {sql[:200]}")
    return replayed


def _schemas_build(count: int) -> float:
    """Build `count` tenant schemas and rows; seconds taken."""
    import psycopg
    from django.db import connection

    from tenants.models import Tenant
    from tests.benchmarks._common import schema_catalog

    started = time.perf_counter()
    statements = _capture_migrate(TEMPLATE)
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        cursor_factory=psycopg.ClientCursor,
    ) as raw:
        for index in range(count):
            name = _schema(index)
            with raw.transaction(), raw.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{name}"')
                cursor.execute(f'SET LOCAL search_path = "{name}", public')
                for sql, params in statements:
                    cursor.execute(sql, params)
    Tenant.objects.bulk_create(
        Tenant(schema_name=_schema(i), slug=f"fleet-{i:05d}", name=f"Fleet {i}")
        for i in range(count)
    )
    expected = schema_catalog(TEMPLATE)
    for index in {0, count - 1}:
        if schema_catalog(_schema(index)) != expected:
            raise RuntimeError(f"{_schema(index)} differs from the stock-built schema")
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{TEMPLATE}" CASCADE')
    return time.perf_counter() - started


def _count_with_extra(count: int) -> int:
    """How many fleet schemas have the extra column and its django_migrations row."""
    from django.db import connection

    from tests.benchmarks.fleet_extra_migrations import EXTRA_COLUMN, EXTRA_MIGRATION, EXTRA_TABLE

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema LIKE 'fleet\\_%%' AND table_name = %s AND column_name = %s",
            [EXTRA_TABLE, EXTRA_COLUMN],
        )
        (columns,) = cursor.fetchone()
        cursor.execute(
            " UNION ALL ".join(
                f'SELECT count(*) FROM "{_schema(i)}".django_migrations '
                "WHERE app = %s AND name = %s"
                for i in range(count)
            ),
            list(EXTRA_MIGRATION) * count,
        )
        rows = sum(n for (n,) in cursor.fetchall())
    if columns != rows:
        raise RuntimeError(f"{columns} schemas have the column but {rows} record it")
    return int(columns)


def _extra_revert(count: int) -> None:
    from django.db import connection, transaction

    from tests.benchmarks.fleet_extra_migrations import EXTRA_COLUMN, EXTRA_MIGRATION, EXTRA_TABLE

    with transaction.atomic(), connection.cursor() as cursor:
        for index in range(count):
            name = _schema(index)
            cursor.execute(f'ALTER TABLE "{name}"."{EXTRA_TABLE}" DROP COLUMN "{EXTRA_COLUMN}"')
            cursor.execute(
                f'DELETE FROM "{name}".django_migrations WHERE app = %s AND name = %s',
                list(EXTRA_MIGRATION),
            )


def _timed(run: Any) -> float:
    from django.db import connection as default_connection

    from infra.db.base import DatabaseWrapper as TenantDatabaseWrapper

    connection = cast(TenantDatabaseWrapper, default_connection)
    connection.set_schema_to_public()
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        run()
    elapsed = time.perf_counter() - started
    connection.set_schema_to_public()
    return elapsed


def _stock() -> None:
    from django.core.management import call_command

    call_command(
        "migrate_schemas", tenant=True, executor="standard", interactive=False, verbosity=0
    )


def _ours(workers: int) -> None:
    from django.core.management import call_command

    call_command(
        "migrate_fleet", workers=workers, no_progress=True, stdout=io.StringIO(), verbosity=0
    )


def _expect(what: str, actual: int, expected: int) -> None:
    if actual != expected:
        raise RuntimeError(f"{what}: {actual} schemas have the extra migration, not {expected}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemas", type=int, default=100, help="tenant schemas (default 100)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="our workers (default: CPUs)"
    )
    args = parser.parse_args(argv)
    count = args.schemas

    with benchmark_database("fleet") as url:
        django_setup(url)
        from django.core.management import call_command
        from django.db import connection
        from django.test import override_settings

        call_command(
            "migrate_schemas", shared=True, executor="standard", interactive=False, verbosity=0
        )
        print(f"building {count} schemas …", file=sys.stderr, flush=True)
        build_s = _schemas_build(count)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            (server,) = cursor.fetchone()

        with override_settings(MIGRATION_MODULES=EXTRA_MODULES):
            print("(a) additive migration: stock …", file=sys.stderr, flush=True)
            stock_additive_s = _timed(_stock)
            _expect("after stock", _count_with_extra(count), count)
            _extra_revert(count)
            _expect("after revert", _count_with_extra(count), 0)
            print("(a) additive migration: ours …", file=sys.stderr, flush=True)
            ours_additive_s = _timed(lambda: _ours(args.workers))
            _expect("after ours", _count_with_extra(count), count)
            print("(b) every schema at head: ours, stock …", file=sys.stderr, flush=True)
            ours_noop_s = _timed(lambda: _ours(args.workers))
            stock_noop_s = _timed(_stock)
            _expect("after no-op runs", _count_with_extra(count), count)

    result = {
        "schemas": count,
        "workers": args.workers,
        "ours_additive_s": round(ours_additive_s, 3),
        "stock_additive_s": round(stock_additive_s, 3),
        "ours_noop_s": round(ours_noop_s, 3),
        "stock_noop_s": round(stock_noop_s, 3),
        "additive_ratio": round(stock_additive_s / ours_additive_s, 2),
        "noop_ratio": round(stock_noop_s / ours_noop_s, 2),
        "build_s": round(build_s, 2),
        "postgresql": server,
    }
    print()
    print(
        f"fleet_migrate: {count} schemas (built in {build_s:.1f} s), our workers: "
        f"{args.workers}, stock: migrate_schemas --executor standard, PostgreSQL {server}"
    )
    print(f"{'run':<28}{'ours (s)':>10}{'stock (s)':>11}{'stock/ours':>12}")
    print(
        f"{'(a) one additive migration':<28}{ours_additive_s:>10.2f}{stock_additive_s:>11.2f}"
        f"{result['additive_ratio']:>12.1f}"
    )
    print(
        f"{'(b) every schema at head':<28}{ours_noop_s:>10.2f}{stock_noop_s:>11.2f}"
        f"{result['noop_ratio']:>12.1f}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
