"""Provisioning: a new shop's schema in milliseconds, from a pool of pre-migrated spare schemas.

Stock django-tenants runs every tenant migration for each new schema (seconds). We keep a pool
of spare schemas that a Celery task migrates ahead of time; a signup claims one with
`SELECT … FOR UPDATE SKIP LOCKED` (two signups never get the same spare, and neither waits for
the other) and renames it (`ALTER SCHEMA … RENAME`, well under a millisecond, transactional), in
the same transaction that creates the tenant rows: a failure rolls the rename back with
everything else, so it leaves no tenant row without a schema and no schema without a row.

Migration state. A spare is labelled with `migration_state_expected()` of the code that built
it: a digest of the migrations a fresh `migrate` records (every node of the graph, plus the
migrations a squash replaces) and of their source files, so an edited migration counts as a
new state too. It is labelled only after its recorded `django_migrations` rows were checked to
be exactly that set. A signup claims only spares labelled with its own process's expected state,
and checks the claimed schema's recorded rows again before renaming it (one cheap query), so
a spare built at an older (or newer) migration state is never handed out; `spare_pool_prune`
drops such spares, and spare schemas left behind by a crashed build.

Why spares are built with `migrate`: replaying the SQL that one migrate produced into further
schemas would be faster, but it is not provably the same schema (data migrations run ORM code
whose SQL depends on data and time, post_migrate handlers, operations that read the database),
and the pool is refilled in the background, so a build may take its ~0.2 s. Each spare is built
exactly as stock django-tenants builds a tenant schema: tests/test_provisioning.py compares the
two, catalog object by catalog object.

When a burst empties the pool, the signup builds a spare itself (slower), committed on its own
connection when the caller is inside a transaction, claims it, and asks Celery for a refill.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, TypeVar, cast

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import CharField, F, Func, Value
from django.db.models.functions import Concat
from django.db.models.lookups import IsNull
from django_tenants.postgresql_backend.base import is_valid_schema_name
from django_tenants.utils import get_tenant_base_migrate_command_class

from infra.db import tenant_schema
from infra.db.base import DatabaseWrapper as TenantDatabaseWrapper
from infra.planes import tenant_app_configs
from tenants.models import Agency, Domain, SpareSchema, Tenant
from tenants.selectors.provisioning import (
    SPARE_PREFIX,
    migration_state_expected,
    migrations_expected,
    migrations_recorded_in,
    schema_name_for,
    spare_schemas_orphaned,
)
from tenants.selectors.tenancy import shop_host_for, tenant_routing_forget
from tenants.services.audit import AuditContext, audit_record, audited, orchestrator, unaudited

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Serialises refills (pg_advisory_lock key; any fixed 64-bit number unique to this purpose).
_REFILL_LOCK_KEY: Final = 0x5FA4E5C4E3A0001
# How long a queued refill request stays useful: beat refills every minute anyway.
_REFILL_REQUEST_EXPIRES_S: Final = 60
# A signup that found the pool empty waits this long for the spare it builds.
_SLOW_PATH_BUILD_TIMEOUT_S: Final = 300
# The spare this signup built itself on the slow path: claim that one first.
_preferred_spare: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "preferred_spare", default=None
)


def _tenant_db() -> TenantDatabaseWrapper:
    """This thread's connection, typed as django-tenants' wrapper (schema switching)."""
    return cast(TenantDatabaseWrapper, connection)


class SparePoolEmptyError(Exception):
    """No claimable spare schema right now (internal: the caller builds one and retries)."""


class SpareSchemaMismatchError(RuntimeError):
    """A freshly built spare recorded other migrations than the code expects."""


@contextmanager
def _previous_schema_afterwards() -> Iterator[None]:
    previous = _tenant_db().tenant
    try:
        yield
    finally:
        _tenant_db().set_tenant(previous)


@unaudited("builds schema structure for the pool; no person acts")
def schema_migrate(schema_name: str) -> None:
    """Run every pending migration in one schema (Django's migrate, as django-tenants does)."""
    with _previous_schema_afterwards():
        # django_migrations must be created in the schema itself, not found in public.
        _tenant_db().set_schema(schema_name, include_public=False)
        MigrationRecorder(connection).ensure_schema()
        _tenant_db().set_schema(schema_name)
        call_command(
            get_tenant_base_migrate_command_class()(),
            verbosity=0,
            interactive=False,
            skip_checks=True,
        )


def _spare_name_new() -> str:
    # The creation time in the name lets prune tell a build in progress from a crashed one.
    return f"{SPARE_PREFIX}{int(time.time()):x}_{secrets.token_hex(4)}"


def _spare_schema_build_in(name: str) -> SpareSchema:
    state = migration_state_expected()
    expected = migrations_expected()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(name)}")
    schema_migrate(name)
    recorded = migrations_recorded_in(name)
    if recorded != expected:
        raise SpareSchemaMismatchError(
            f"spare {name} recorded {len(recorded or ())} migrations, expected {len(expected)}"
        )
    return SpareSchema.objects.create(schema_name=name, migration_state=state)


@unaudited("pool upkeep; no person acts")
def spare_schema_build() -> SpareSchema:
    """Create and migrate one spare schema and put it in the pool (committed).

    Inside a transaction it is built in a savepoint of that transaction instead (and commits
    with it); either way a failure leaves no schema behind.
    """
    name = _spare_name_new()
    if connection.in_atomic_block:
        with transaction.atomic():
            return _spare_schema_build_in(name)
    try:
        return _spare_schema_build_in(name)
    except BaseException:
        schema_drop(name)
        raise


def _spare_schema_build_committed() -> SpareSchema:
    """Build a spare and commit it, even when the caller is inside a transaction.

    A caller's transaction gets the build on a connection of its own (another thread): the
    spare is in the pool whatever the caller's transaction does, no migration runs inside it
    (some cannot: CREATE INDEX CONCURRENTLY), and it holds no DDL locks for the build.
    """
    if not connection.in_atomic_block:
        return spare_schema_build()
    outcome: dict[str, SpareSchema | BaseException] = {}

    def build() -> None:
        try:
            outcome["spare"] = spare_schema_build()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=build, name="spare-schema-build", daemon=True)
    thread.start()
    # Should the build ever wait for a lock that the caller's transaction holds, give up
    # rather than hang: the caller rolls back, and the build then finishes into the pool.
    thread.join(timeout=_SLOW_PATH_BUILD_TIMEOUT_S)
    if thread.is_alive():
        raise RuntimeError("the spare schema build for this signup did not finish in time")
    result = outcome.get("spare", outcome.get("error"))
    if isinstance(result, SpareSchema):
        return result
    if isinstance(result, BaseException):
        raise result
    raise RuntimeError("the spare schema build ended without a result")


@unaudited("pool upkeep and test cleanup; no person acts")
def schema_drop(schema_name: str) -> None:
    """Drop a schema and everything in it."""
    _tenant_db().set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(schema_name)} CASCADE")


def _spare_discard(spare: SpareSchema) -> None:
    """Drop a spare and its pool row, in the current transaction (the row is locked by us)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(spare.schema_name)} CASCADE"
        )
    spare.delete()


@unaudited("pool upkeep; no person acts")
def spare_pool_prune() -> int:
    """Drop spares built for another migration state or gone missing, and crashed builds.

    Returns how many it dropped.
    """
    expected = migration_state_expected()
    dropped = 0
    while True:
        with transaction.atomic():
            stale = (
                SpareSchema.objects.select_for_update(skip_locked=True)
                .exclude(_spare_has_its_tables(), migration_state=expected)
                .order_by("id")
                .first()
            )
            if stale is None:
                break
            logger.info("dropping stale or broken spare %s", stale.schema_name)
            _spare_discard(stale)
            dropped += 1
    for name in spare_schemas_orphaned():
        logger.warning("dropping spare schema %s left by a failed build", name)
        schema_drop(name)
        dropped += 1
    return dropped


def _refill_lock_try() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_REFILL_LOCK_KEY])
        row = cursor.fetchone()
    return bool(row and row[0])


def _refill_unlock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_REFILL_LOCK_KEY])


@unaudited("pool upkeep; no person acts")
def spare_pool_refill(*, size: int | None = None) -> int:
    """Top the pool up to `size` claimable spares (SPARE_SCHEMA_POOL_SIZE); how many built.

    One refill works at a time; another returns at once (a burst of signups queues many, and
    none of them should hold a worker while it waits). The one at work checks the pool again
    after letting go, so a spare claimed while it finished is replaced all the same.
    """
    target = settings.SPARE_SCHEMA_POOL_SIZE if size is None else size
    _tenant_db().set_schema_to_public()
    built = 0
    while True:
        if not _refill_lock_try():
            return built
        try:
            spare_pool_prune()
            while _spares_claimable_count() < target:
                spare_schema_build()
                built += 1
        finally:
            _refill_unlock()
        if _spares_claimable_count() >= target:
            return built


def _spares_claimable_count() -> int:
    return SpareSchema.objects.filter(migration_state=migration_state_expected()).count()


def _spare_has_its_tables() -> IsNull:
    """SQL: the spare's schema and its django_migrations table exist."""
    text: CharField[str, str] = CharField()
    migrations_table = Func(
        Concat(
            Func(F("schema_name"), function="quote_ident", output_field=text),
            Value(".django_migrations"),
            output_field=text,
        ),
        function="to_regclass",
        output_field=text,
    )
    return IsNull(migrations_table, False)


def _spare_claim() -> SpareSchema:
    """Lock a claimable spare for this transaction (others skip it), checked against its rows.

    Pool rows whose schema went missing are skipped (prune deletes them), so that one such row
    cannot fail every signup.
    """
    claimable = SpareSchema.objects.select_for_update(skip_locked=True).filter(
        _spare_has_its_tables(), migration_state=migration_state_expected()
    )
    preferred = _preferred_spare.get()
    while True:
        spare = None
        if preferred is not None:
            spare = claimable.filter(pk=preferred).first()
            preferred = None
        if spare is None:
            spare = claimable.order_by("id").first()
        if spare is None:
            raise SparePoolEmptyError
        table = f"{connection.ops.quote_name(spare.schema_name)}.django_migrations"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT app, name FROM {table}")
            recorded = frozenset((app, name) for app, name in cursor.fetchall())
        if recorded == migrations_expected():
            return spare
        logger.error("spare %s does not hold the migrations its label says", spare.schema_name)
        _spare_discard(spare)


@orchestrator
def with_spare_schema(provision: Callable[[], T]) -> T:
    """Run a provisioning transaction; if the pool was empty, build a spare and run it again.

    `provision` must be atomic (an @audited service): it is run again after an empty pool.
    """
    token = _preferred_spare.set(None)
    try:
        for _attempt in range(5):
            try:
                return provision()
            except SparePoolEmptyError:
                spare = _spare_schema_build_committed()
                _preferred_spare.set(spare.pk)
        raise RuntimeError("could not claim a spare schema after building five")
    finally:
        _preferred_spare.reset(token)


@unaudited("runs inside tenant_provision, which audits")
def tenant_seed_defaults(tenant: Tenant) -> None:
    """Enter the shop's schema and let every tenant-plane app create its default rows."""
    with tenant_schema(tenant):
        for config in tenant_app_configs():
            config.seed_defaults()


def _request_refill() -> None:
    from tenants.tasks import spare_pool_refill_task

    try:
        # No retries: a signup must not wait for a broker that is down.
        spare_pool_refill_task.apply_async(retry=False, expires=_REFILL_REQUEST_EXPIRES_S)
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
    if not is_valid_schema_name(schema_name):
        raise ValueError(f"not a valid schema name: {schema_name!r}")
    spare = _spare_claim()
    # bulk_create skips TenantMixin.save, whose checks (a case-insensitive schema-name lookup;
    # our names are lower-case) would turn a lost race into a ValidationError instead of the
    # unique-constraint IntegrityError that signup reports as slug_taken.
    (tenant,) = Tenant.objects.bulk_create(
        [
            Tenant(
                schema_name=schema_name,
                slug=slug,
                name=name,
                currency=currency,
                language=language,
                time_zone=time_zone,
                agency=agency,
            )
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER SCHEMA {connection.ops.quote_name(spare.schema_name)}"
            f" RENAME TO {connection.ops.quote_name(schema_name)}"
        )
    spare.delete()
    host = shop_host_for(slug)
    # bulk_create skips DomainMixin.save, which only demotes the tenant's other primary
    # domains (a new shop has none) at the cost of three round trips.
    Domain.objects.bulk_create(
        [Domain(domain=host, tenant=tenant, is_primary=True, is_verified=True)]
    )
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
