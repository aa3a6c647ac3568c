"""Provisioning: a new shop's schema in milliseconds, from a pool of pre-migrated spare schemas.

Stock django-tenants runs every tenant migration for each new schema (seconds). We keep a pool
of spare schemas that a Celery task migrates ahead of time; a signup claims one with
`SELECT … FOR UPDATE SKIP LOCKED` and renames it (`ALTER SCHEMA … RENAME`, well under a
millisecond, transactional), in the same transaction that creates the tenant rows. A spare is
claimable only when its recorded migration state equals the state this code expects, so a spare
built before a new migration is never handed out; the refill task drops stale spares. When a
burst empties the pool, the signup builds a spare itself (slower) and claims it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.core.management import call_command
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.utils import get_tenant_base_migrate_command_class, schema_exists

from infra.planes import tenant_app_configs
from tenants.models import Agency, Domain, SpareSchema, Tenant
from tenants.selectors.tenancy import shop_host_for, tenant_routing_forget
from tenants.services.audit import AuditContext, audit_record, audited

logger = logging.getLogger(__name__)

T = TypeVar("T")
SPARE_PREFIX = "spare_"
SCHEMA_PREFIX = "shop_"


class SparePoolEmptyError(Exception):
    """No claimable spare schema right now (internal: the caller builds one and retries)."""


def schema_name_for(slug: str) -> str:
    """The schema of a shop: its slug, made a safe identifier."""
    return SCHEMA_PREFIX + slug.replace("-", "_")


def migration_state_of(applied: list[tuple[str, str]]) -> str:
    """A digest of a set of applied migrations."""
    lines = sorted(f"{app}.{name}" for app, name in applied)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@functools.cache
def migration_state_expected() -> str:
    """The migration state of a fully migrated tenant schema for the code that runs now.

    A tenant schema records every migration of the graph (those of control-plane apps are
    no-ops there), so the state is the digest of all nodes.
    """
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return migration_state_of(list(loader.graph.nodes))


def migration_state_of_schema(schema_name: str) -> str:
    """The migration state recorded in a schema's django_migrations table."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT app, name FROM "{schema_name}".django_migrations'  # noqa: S608 - our name
        )
        return migration_state_of([(app, name) for app, name in cursor.fetchall()])


@contextmanager
def _public_schema_afterwards() -> Iterator[None]:
    try:
        yield
    finally:
        connection.set_schema_to_public()


def schema_migrate(schema_name: str) -> None:
    """Run every pending migration in one schema (Django's migrate, as django-tenants does)."""
    with _public_schema_afterwards():
        # django_migrations must be created in the schema itself, not found in public.
        connection.set_schema(schema_name, include_public=False)
        MigrationRecorder(connection).ensure_schema()
        connection.set_schema(schema_name)
        call_command(
            get_tenant_base_migrate_command_class()(),
            verbosity=0,
            interactive=False,
            skip_checks=True,
        )


def spare_schema_build() -> SpareSchema:
    """Create and migrate one spare schema and put it in the pool (committed)."""
    name = SPARE_PREFIX + secrets.token_hex(8)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{name}"')
    try:
        schema_migrate(name)
        state = migration_state_of_schema(name)
        spare = SpareSchema.objects.create(schema_name=name, migration_state=state)
    except BaseException:
        schema_drop(name)
        raise
    return spare


def schema_drop(schema_name: str) -> None:
    """Drop a schema and everything in it."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')


def spare_pool_prune() -> int:
    """Drop spares migrated to another state than the current code expects; how many."""
    expected = migration_state_expected()
    dropped = 0
    while True:
        with transaction.atomic():
            stale = (
                SpareSchema.objects.select_for_update(skip_locked=True)
                .exclude(migration_state=expected)
                .first()
            )
            if stale is None:
                return dropped
            schema_drop(stale.schema_name)
            stale.delete()
            dropped += 1


def spare_pool_refill(*, size: int | None = None) -> int:
    """Top the pool up to `size` claimable spares (SPARE_SCHEMA_POOL_SIZE); how many built."""
    target = settings.SPARE_SCHEMA_POOL_SIZE if size is None else size
    spare_pool_prune()
    expected = migration_state_expected()
    built = 0
    while SpareSchema.objects.filter(migration_state=expected).count() < target:
        spare = spare_schema_build()
        if spare.migration_state != expected:
            # The database is at another migration state than this code (a deploy in
            # progress); building more would only make more stale spares.
            logger.warning("spare %s built at an unexpected migration state", spare.schema_name)
            break
        built += 1
    return built


def _spare_claim() -> SpareSchema:
    spare = (
        SpareSchema.objects.select_for_update(skip_locked=True)
        .filter(migration_state=migration_state_expected())
        .order_by("id")
        .first()
    )
    if spare is None:
        raise SparePoolEmptyError
    return spare


def with_spare_schema(provision: Callable[[], T]) -> T:
    """Run a provisioning transaction; if the pool was empty, build a spare and run it again."""
    for _attempt in range(5):
        try:
            return provision()
        except SparePoolEmptyError:
            spare_schema_build()
    raise RuntimeError("could not claim a spare schema after building five")


def tenant_seed_defaults(tenant: Tenant) -> None:
    """Enter the shop's schema and let every tenant-plane app create its default rows."""
    previous = connection.tenant
    connection.set_tenant(tenant)
    try:
        for config in tenant_app_configs():
            config.seed_defaults()
    finally:
        connection.set_tenant(previous)


def _request_refill() -> None:
    from tenants.tasks import spare_pool_refill_task

    try:
        spare_pool_refill_task.delay()
    except Exception:  # the beat schedule refills anyway
        logger.warning("could not enqueue the spare pool refill", exc_info=True)


@audited
def tenant_provision(
    *,
    slug: str,
    name: str,
    currency: str,
    language: str,
    time_zone: str,
    context: AuditContext,
    agency: Agency | None = None,
) -> Tenant:
    """Create a shop from a spare schema: schema, tenant and domain rows, default settings.

    Must run inside `with_spare_schema` (it raises SparePoolEmptyError when the pool is empty).
    """
    schema_name = schema_name_for(slug)
    spare = _spare_claim()
    tenant = Tenant.objects.create(
        schema_name=schema_name,
        slug=slug,
        name=name,
        currency=currency,
        language=language,
        time_zone=time_zone,
        agency=agency,
    )
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER SCHEMA "{spare.schema_name}" RENAME TO "{schema_name}"')
    spare.delete()
    host = shop_host_for(slug)
    Domain.objects.create(domain=host, tenant=tenant, is_primary=True, is_verified=True)
    tenant_seed_defaults(tenant)
    audit_record(
        context=context,
        action="tenant.provisioned",
        tenant=tenant,
        target=tenant,
        data={"slug": slug, "schema": schema_name, "spare": spare.schema_name},
    )
    transaction.on_commit(_request_refill)
    transaction.on_commit(lambda: tenant_routing_forget(tenant=tenant, hosts=[host]))
    return tenant


def tenant_schema_exists(tenant: Tenant) -> bool:
    """Whether the shop's schema is there (for checks and admin)."""
    return bool(schema_exists(tenant.schema_name))
