"""What every benchmark needs: its own database, Django configured on it, percentiles.

Also `schema_catalog`, the description of a schema that the provisioning tests and benchmark
compare: two schemas built the same way have equal catalogs, whatever their names.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
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
    from django.core.management import call_command

    # Without REDIS_URL the caches are database tables (as under `make dev`): make them.
    call_command("createcachetable", verbosity=0)


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


# --- Serving the project and loading it (the HTTP benchmarks)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    workers: int


@contextmanager
def gunicorn_server(
    environment: dict[str, str],
    workers: int,
    log: Path,
    *,
    host: str,
    ready_path: str = "/healthz",
    extra_args: list[str] | None = None,
) -> Iterator[Server]:
    """gunicorn serving the project on a free port of 127.0.0.1; stopped on leaving."""
    import requests

    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "infra.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--backlog",
        "2048",
        *(extra_args or []),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", process, workers)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited {process.returncode}:\n{log.read_text()}")
            with suppress(requests.RequestException):
                response = requests.get(
                    server.base_url + ready_path, headers={"Host": host}, timeout=2
                )
                if response.status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 90 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Load:
    rps: float
    requests: int
    p50_ms: float
    p99_ms: float
    errors: int
    output: str = ""


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text}")
    return float(match[1]) * _UNITS_MS[match[2]]


def wrk_run(
    url: str,
    *,
    host: str,
    threads: int,
    connections: int,
    duration: int,
    script: Path | None = None,
    until: Callable[[], bool] | None = None,
) -> Load:
    """wrk against `url` with `Host: host`; req/s, latency percentiles, failed responses.

    `script`: a wrk Lua script; what it prints is in Load.output. `until`: polled every 50 ms;
    once true, wrk is interrupted (SIGINT: it reports on the time it ran) instead of running
    for the whole `duration`.
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    process = subprocess.Popen(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "--latency",
            "-H",
            f"Host: {host}",
            *(["-s", str(script)] if script else []),
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if until is not None:
        while process.poll() is None and not until():
            time.sleep(0.05)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=duration + 60)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{out}\n{err}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    if not (rps and total and p50 and p99):
        raise RuntimeError(f"unexpected wrk output:\n{out}\n{err}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx[1]) if non_2xx else 0
    if socket_errors:
        errors += sum(int(value) for value in socket_errors.groups())
    return Load(float(rps[1]), int(total[1]), wrk_ms(p50[1]), wrk_ms(p99[1]), errors, out)


@contextmanager
def cache_namespace(label: str) -> Iterator[str]:
    """A cache key prefix of our own; with Redis, its keys are deleted afterwards."""
    token = f"bench-{label}-{secrets.token_hex(4)}"
    previous = os.environ.get("CACHE_KEY_PREFIX")
    os.environ["CACHE_KEY_PREFIX"] = token
    try:
        yield token
    finally:
        if previous is None:
            os.environ.pop("CACHE_KEY_PREFIX", None)
        else:
            os.environ["CACHE_KEY_PREFIX"] = previous
        redis_url = os.environ.get("REDIS_URL")
        if redis_url:
            import redis

            client = redis.Redis.from_url(redis_url)
            keys = list(client.scan_iter(match=f"*{token}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
