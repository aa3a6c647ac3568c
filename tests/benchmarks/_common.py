"""What every benchmark needs: its own database, Django configured on it, percentiles.

Also `schema_catalog`, the description of a schema that the provisioning tests and benchmark
compare: two schemas built the same way have equal catalogs, whatever their names.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SERVER_URL = "postgres://root@127.0.0.1:5432/postgres"


def server_url() -> str:
    """The PostgreSQL server to use: DATABASE_URL, or the local server."""
    return os.environ.get("DATABASE_URL") or DEFAULT_SERVER_URL


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def _admin_connect(url: str) -> Any:
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        autocommit=True,
    )


@contextmanager
def benchmark_database(label: str) -> Iterator[str]:
    """Create a database of our own on the server, yield its URL, and drop it afterwards."""
    url = server_url()
    name = f"bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    with _admin_connect(url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(url, name)
    finally:
        from django.db import connections

        # Our own connections first (a no-op when Django was never set up); FORCE ends others.
        with suppress(Exception):
            connections.close_all()
        with _admin_connect(url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_setup(database_url: str) -> None:
    """Configure Django (infra.settings, ENVIRONMENT=test) on the benchmark's database."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "infra.settings"
    os.environ["ENVIRONMENT"] = "test"
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) by linear interpolation between the closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# Each entry: what it describes, and a query of rows for schema %(schema)s. Rows whose values
# are data rather than structure (sequence positions, applied-at times) are left out.
_CATALOG_QUERIES: dict[str, str] = {
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, c.relowner::regrole::text,
               coalesce(c.relacl::text, ''), coalesce(obj_description(c.oid, 'pg_class'), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s
    """,
    "columns": """
        SELECT table_name, column_name, ordinal_position, data_type, udt_name,
               coalesce(character_maximum_length, -1), coalesce(numeric_precision, -1),
               coalesce(numeric_scale, -1), is_nullable, coalesce(column_default, ''),
               is_identity, coalesce(identity_generation, ''), coalesce(identity_start, ''),
               coalesce(identity_increment, ''), coalesce(identity_maximum, ''),
               coalesce(identity_minimum, ''), coalesce(identity_cycle, ''), is_generated,
               coalesce(generation_expression, ''), coalesce(collation_name, '')
        FROM information_schema.columns WHERE table_schema = %(schema)s
    """,
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %(schema)s
    """,
    "constraints": """
        SELECT coalesce(cl.relname, ''), co.conname, co.contype, pg_get_constraintdef(co.oid),
               co.condeferrable, co.condeferred, co.convalidated
        FROM pg_constraint co
        JOIN pg_namespace n ON n.oid = co.connamespace
        LEFT JOIN pg_class cl ON cl.oid = co.conrelid
        WHERE n.nspname = %(schema)s
    """,
    "sequences": """
        SELECT s.sequencename, s.data_type::text, s.start_value, s.min_value, s.max_value,
               s.increment_by, s.cycle, s.cache_size,
               coalesce((SELECT t.relname || '.' || a.attname || ':' || d.deptype::text
                         FROM pg_depend d
                         JOIN pg_class t ON t.oid = d.refobjid
                         JOIN pg_attribute a ON a.attrelid = d.refobjid
                                             AND a.attnum = d.refobjsubid
                         WHERE d.objid = (quote_ident(s.schemaname) || '.'
                                          || quote_ident(s.sequencename))::regclass
                           AND d.classid = 'pg_class'::regclass
                           AND d.refclassid = 'pg_class'::regclass
                           AND d.deptype IN ('a', 'i')), '')
        FROM pg_sequences s WHERE s.schemaname = %(schema)s
    """,
    "views": """
        SELECT viewname, definition FROM pg_views WHERE schemaname = %(schema)s
    """,
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = %(schema)s AND p.prokind IN ('f', 'p')
    """,
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s AND NOT t.tgisinternal
    """,
    "types": """
        SELECT t.typname, t.typtype, format_type(t.oid, NULL)
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = %(schema)s
    """,
}


def _normalised(value: Any, schema_name: str) -> Any:
    if isinstance(value, str):
        return value.replace(schema_name, "<schema>")
    return value


def schema_catalog(schema_name: str) -> dict[str, list[tuple[Any, ...]]]:
    """Tables, columns, types, defaults, indexes, constraints, sequences, views, functions,
    triggers and recorded migrations (app, name) of a schema, with its own name replaced by
    `<schema>` wherever it appears, each list sorted."""
    from django.db import connection

    catalog: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        for part, sql in _CATALOG_QUERIES.items():
            cursor.execute(sql, {"schema": schema_name})
            catalog[part] = sorted(
                tuple(_normalised(value, schema_name) for value in row) for row in cursor.fetchall()
            )
        quoted = connection.ops.quote_name(schema_name)
        cursor.execute(f"SELECT app, name FROM {quoted}.django_migrations")
        catalog["migrations"] = sorted(cursor.fetchall())
    return catalog
