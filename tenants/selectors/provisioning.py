"""Reads about provisioning: schema names, migration states, the spare pool's leftovers."""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import time
from pathlib import Path
from typing import Final

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django_tenants.utils import schema_exists

from tenants.models import SpareSchema, Tenant

SPARE_PREFIX: Final = "spare_"
SCHEMA_PREFIX: Final = "shop_"
# A spare schema with no pool row is a build in progress or the leftover of a crashed one; no
# build takes this long, so prune drops those older than this.
SPARE_ORPHAN_AGE_S: Final = 3600
SPARE_NAME = re.compile(r"^spare_([0-9a-f]{8,})_[0-9a-f]{8}$")


def schema_name_for(slug: str) -> str:
    """The schema of a shop: its slug, made a safe identifier."""
    return SCHEMA_PREFIX + slug.replace("-", "_")


def migration_state_of(applied: list[tuple[str, str]]) -> str:
    """A digest of a set of applied migrations."""
    lines = sorted(f"{app}.{name}" for app, name in applied)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _migration_loader() -> MigrationLoader:
    return MigrationLoader(None, ignore_no_migrations=True)


@functools.cache
def migrations_expected() -> frozenset[tuple[str, str]]:
    """The (app, name) rows a fresh `migrate` records in a new tenant schema, for this code.

    A tenant schema records every migration of the graph (those of control-plane apps are
    no-ops there); a squashed migration is recorded together with each migration it replaces.
    """
    graph = _migration_loader().graph
    expected: set[tuple[str, str]] = set(graph.nodes)
    for migration in graph.nodes.values():
        expected.update((app, name) for app, name in migration.replaces)
    return frozenset(expected)


def _migration_source_digest(migration: Migration) -> str:
    module = sys.modules.get(type(migration).__module__)
    path = getattr(module, "__file__", None)
    if not path:
        return "no-source"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@functools.cache
def migration_state_expected() -> str:
    """The label of a spare that this code may hand out (cached per process: code is fixed).

    The digest of `migrations_expected()` and of the source of every migration of the graph.
    """
    nodes = _migration_loader().graph.nodes
    sources = sorted(
        f"{app}.{name} {_migration_source_digest(migration)}"
        for (app, name), migration in nodes.items()
    )
    names = migration_state_of(list(migrations_expected()))
    return hashlib.sha256("\n".join([names, *sources]).encode()).hexdigest()


def migration_state_forget() -> None:
    """Forget the cached expected migration state (tests that change the migrations)."""
    migrations_expected.cache_clear()
    migration_state_expected.cache_clear()


def migrations_recorded_in(schema_name: str) -> frozenset[tuple[str, str]] | None:
    """The migrations recorded in a schema's own django_migrations; None when it has none."""
    table = f"{connection.ops.quote_name(schema_name)}.django_migrations"
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [table])
        row = cursor.fetchone()
        if row is None or row[0] is None:
            return None
        cursor.execute(f"SELECT app, name FROM {table}")
        return frozenset((app, name) for app, name in cursor.fetchall())


def migration_state_of_schema(schema_name: str) -> str:
    """The digest of the migrations recorded in a schema's django_migrations table."""
    return migration_state_of(list(migrations_recorded_in(schema_name) or ()))


def spare_schemas_orphaned(*, older_than_s: float = SPARE_ORPHAN_AGE_S) -> list[str]:
    """Spare schemas without a pool row whose build started more than `older_than_s` ago."""
    pooled = set(SpareSchema.objects.values_list("schema_name", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY nspname",
            [SPARE_PREFIX],
        )
        names = [name for (name,) in cursor.fetchall() if name not in pooled]
    now = time.time()
    orphaned = []
    for name in names:
        match = SPARE_NAME.match(name)
        if match is None or now - int(match.group(1), 16) > older_than_s:
            orphaned.append(name)
    return orphaned


def tenant_schema_exists(tenant: Tenant) -> bool:
    """Whether the shop's schema is there (for checks and admin)."""
    return bool(schema_exists(tenant.schema_name))
