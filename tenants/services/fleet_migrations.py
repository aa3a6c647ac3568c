"""Fleet migrations: bring every tenant schema to the head of the migration graph, in parallel.

Stock `migrate_schemas` runs Django's whole `migrate` command once per schema: it loads the
migration graph, rebuilds and renders the project state from every applied migration, and
emits the migrate signals, even for a schema with nothing to do. Here the control process:

1. reads every schema's django_migrations in a few set-based queries (one digest per schema),
   so schemas already at head cost nothing (no migrate run, no signals: nothing migrated);
2. groups the other schemas by their recorded state and, once per group, loads the graph (from
   one representative schema, so squashed migrations resolve as Django resolves them), plans,
   and builds and renders the pre-migration ProjectState and the post-migration apps;
3. forks at most `workers` worker processes, each replaced after `max_tasks_per_child` schemas
   (which bounds their memory), that inherit all of that; for each schema a worker clones the
   group's state and applies the plan. A worker that dies fails only the schema it had.

Each migration commits with its django_migrations row (PostgreSQL DDL is transactional), so a
failure leaves a schema at its last good migration: it is reported, the other schemas go on,
and a rerun resumes every schema from what it has recorded.

"At head" means every node of the graph is recorded in the schema: a tenant schema records
control-plane apps' migrations too (as no-ops), as django-tenants' migrate does.

Spare schemas of the provisioning pool are not migrated here: a spare can be claimed (renamed)
by a signup at any moment, which would race with an in-place migration, and the pool already
refuses spares at another migration state; its refill task prunes and rebuilds them.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from multiprocessing.connection import wait
from typing import Any, Literal, Protocol, cast

from django.apps import apps
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ModelState, ProjectState, StateApps
from django.utils.module_loading import module_has_submodule
from django_tenants.postgresql_backend.base import is_valid_schema_name
from django_tenants.signals import schema_migrated, schema_pre_migration
from django_tenants.utils import get_public_schema_name

from infra.db.base import DatabaseWrapper as TenantDatabaseWrapper
from tenants.models import Tenant
from tenants.services.audit import AuditContext, audit_record, audited, orchestrator, unaudited

logger = logging.getLogger(__name__)

SchemaStatus = Literal["at_head", "migrated", "failed"]
# One session-level advisory lock: two fleet migrations at once would fight over every schema.
FLEET_LOCK_KEY = 0x666C656574  # "fleet"
# Schemas per UNION ALL statement when reading django_migrations digests.
SURVEY_BATCH = 500
_NO_TABLE = ""


class FleetMigrationError(Exception):
    """A fleet migration could not start; `code` is stable."""

    code = "fleet_migration_error"


class FleetMigrationRunningError(FleetMigrationError):
    code = "fleet_migration_running"


class FleetMigrationConflictError(FleetMigrationError):
    code = "fleet_migration_conflict"


class FleetSchemaUnknownError(FleetMigrationError):
    code = "fleet_schema_unknown"


@dataclass(frozen=True)
class SchemaOutcome:
    """What happened to one schema."""

    schema_name: str
    status: SchemaStatus
    applied: tuple[str, ...] = ()
    error: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class FleetMigrationReport:
    """The outcome of every schema of one run, sorted by schema name."""

    outcomes: tuple[SchemaOutcome, ...]
    seconds: float
    workers: int

    def schemas(self, status: SchemaStatus) -> tuple[str, ...]:
        """Names of the schemas that ended with `status`."""
        return tuple(o.schema_name for o in self.outcomes if o.status == status)

    @property
    def at_head(self) -> tuple[str, ...]:
        return self.schemas("at_head")

    @property
    def migrated(self) -> tuple[str, ...]:
        return self.schemas("migrated")

    @property
    def failed(self) -> tuple[str, ...]:
        return self.schemas("failed")

    @property
    def failures(self) -> tuple[SchemaOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")


class FleetProgress(Protocol):
    """Told how many schemas there are, then of each schema's outcome as it ends."""

    def start(self, *, total: int) -> None: ...

    def advance(self, outcome: SchemaOutcome) -> None: ...


@dataclass
class _Group:
    """Schemas that recorded the same migrations, and what migrating them needs."""

    representative: str
    has_table: bool
    loader: MigrationLoader | None = None
    plan: list[tuple[Migration, bool]] = field(default_factory=list)
    full_plan: list[tuple[Migration, bool]] = field(default_factory=list)
    pre_state: ProjectState | None = None
    post_apps: StateApps | None = None
    error: str = ""


@dataclass(frozen=True)
class _Settings:
    database: str
    lock_timeout_ms: int


class _SharedLoaderExecutor(MigrationExecutor):
    """Django's executor on a graph loaded once, not once per schema."""

    def __init__(
        self, connection: TenantDatabaseWrapper, loader: MigrationLoader, progress: Any = None
    ) -> None:
        self.connection = connection
        self.loader = loader
        self.recorder = MigrationRecorder(connection)
        self.progress_callback = progress

    def state_before(self, full_plan: list[tuple[Migration, bool]]) -> ProjectState:
        """The project state of the applied migrations (as `migrate` builds it)."""
        state = ProjectState(real_apps=self.loader.unmigrated_apps)
        nodes = self.loader.graph.nodes
        applied = {nodes[key] for key in self.loader.applied_migrations or {} if key in nodes}
        for migration, _backwards in full_plan:
            if migration in applied:
                migration.mutate_state(state, preserve=False)
        return state

    def plan_apply(
        self,
        state: ProjectState,
        plan: list[tuple[Migration, bool]],
        full_plan: list[tuple[Migration, bool]],
    ) -> ProjectState:
        """Apply a forwards plan in the order of the full plan, as `migrate` does."""
        to_run = {migration for migration, _backwards in plan}
        for migration, _backwards in full_plan:
            if migration in to_run:
                state = self.apply_migration(state, migration)
        return state


# Set by the control process before it forks its workers, which inherit them.
_groups: dict[str, _Group] = {}
_settings = _Settings(database=DEFAULT_DB_ALIAS, lock_timeout_ms=0)
# Connections inherited from the control process: kept referenced (never closed or collected)
# so that a worker cannot end the control process's session through a shared socket.
_inherited_connections: list[Any] = []


@unaudited("reads the tenant schemas; writes nothing")
def fleet_schema_names_list(*, schema_names: Sequence[str] | None = None) -> list[str]:
    """The tenant schemas (Tenant rows, public excluded), or those of `schema_names`, sorted."""
    tenants = Tenant.objects.exclude(schema_name=get_public_schema_name())
    if schema_names is not None:
        tenants = tenants.filter(schema_name__in=list(schema_names))
    names = sorted(tenants.values_list("schema_name", flat=True))
    if schema_names is not None:
        unknown = sorted(set(schema_names) - set(names))
        if unknown:
            raise FleetSchemaUnknownError(f"no tenant has the schema: {', '.join(unknown)}")
    return names


@orchestrator
def fleet_migrate(
    *,
    workers: int,
    schema_names: Sequence[str] | None = None,
    max_tasks_per_child: int = 100,
    lock_timeout_s: float = 0,
    progress: FleetProgress | None = None,
    database: str = DEFAULT_DB_ALIAS,
    context: AuditContext | None = None,
) -> FleetMigrationReport:
    """Apply pending migrations to every tenant schema (or those named); report each outcome.

    The run ends with one audit row (counts and failed schemas); `context` says who ran it.

    Runs `workers` processes (in this process when 1); schemas already at head are skipped.
    Never raises for a failing schema: its outcome says why. `lock_timeout_s` (0: wait) bounds
    how long a migration waits for a table lock before it fails (and a rerun retries it).
    """
    started = time.perf_counter()
    connection = _tenant_connection(database)
    if connection.in_atomic_block:
        raise FleetMigrationError("fleet_migrate commits per migration: call it outside atomic")
    connection.set_schema_to_public()
    with _fleet_lock(connection):
        names = fleet_schema_names_list(schema_names=schema_names)
        if progress is not None:
            progress.start(total=len(names))
        _register_migrate_signal_receivers()
        outcomes: list[SchemaOutcome] = []
        pending: list[tuple[str, str]] = []
        groups: dict[str, _Group] = {}
        digests, problems = _schema_digests(connection, names)
        for name, problem in problems.items():
            outcomes.append(_report(progress, name, "failed", error=problem))
        for name, digest in digests.items():
            if digest not in groups:
                groups[digest] = _Group(representative=name, has_table=digest != _NO_TABLE)
            pending.append((name, digest))
        for group in groups.values():
            _group_prepare(connection, group)
        todo: list[tuple[str, str]] = []
        for name, key in pending:
            group = groups[key]
            if group.error:
                outcomes.append(_report(progress, name, "failed", error=group.error))
            elif not group.plan:
                outcomes.append(_report(progress, name, "at_head"))
            else:
                todo.append((name, key))
        global _groups, _settings
        _groups = groups
        _settings = _Settings(database=database, lock_timeout_ms=int(lock_timeout_s * 1000))
        try:
            for outcome in _migrate_all(todo, workers=workers, max_tasks=max_tasks_per_child):
                outcomes.append(outcome)
                if progress is not None:
                    progress.advance(outcome)
        finally:
            _groups = {}
            if lock_timeout_s:
                with connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")
        connection.set_schema_to_public()
    outcomes.sort(key=lambda o: o.schema_name)
    report = FleetMigrationReport(
        outcomes=tuple(outcomes), seconds=time.perf_counter() - started, workers=workers
    )
    _fleet_run_record(report=report, context=context or AuditContext.system())
    return report


@audited
def _fleet_run_record(*, report: FleetMigrationReport, context: AuditContext) -> None:
    audit_record(
        context=context,
        action="fleet.migrated",
        data={
            "at_head": len(report.at_head),
            "migrated": len(report.migrated),
            "failed": list(report.failed),
            "seconds": round(report.seconds, 3),
            "workers": report.workers,
        },
    )


def _tenant_connection(alias: str) -> TenantDatabaseWrapper:
    return cast(TenantDatabaseWrapper, connections[alias])


def _report(
    progress: FleetProgress | None, name: str, status: SchemaStatus, error: str = ""
) -> SchemaOutcome:
    outcome = SchemaOutcome(schema_name=name, status=status, error=error)
    if progress is not None:
        progress.advance(outcome)
    return outcome


@contextmanager
def _fleet_lock(connection: TenantDatabaseWrapper) -> Iterator[None]:
    """Hold the session-level advisory lock of fleet migrations, or raise."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [FLEET_LOCK_KEY])
        (locked,) = cursor.fetchone()
    if not locked:
        raise FleetMigrationRunningError("another fleet migration is running")
    try:
        yield
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [FLEET_LOCK_KEY])


def _register_migrate_signal_receivers() -> None:
    # As `migrate` does: import every app's management module, which may connect receivers.
    for app_config in apps.get_app_configs():
        if module_has_submodule(app_config.module, "management"):
            import_module(".management", app_config.name)


def _schema_digests(
    connection: TenantDatabaseWrapper, names: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Per schema, a digest of its recorded migrations (_NO_TABLE without django_migrations);
    and per schema that cannot be migrated, why."""
    digests: dict[str, str] = {}
    problems = {name: "invalid schema name" for name in names if not is_valid_schema_name(name)}
    valid = [name for name in names if name not in problems]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname, EXISTS (
                SELECT 1 FROM pg_class c
                WHERE c.relnamespace = n.oid AND c.relname = 'django_migrations'
                  AND c.relkind IN ('r', 'p')
            )
            FROM pg_namespace n WHERE n.nspname = ANY(%s)
            """,
            [valid],
        )
        has_table: dict[str, bool] = dict(cursor.fetchall())
        with_table = [name for name in valid if has_table.get(name)]
        for start in range(0, len(with_table), SURVEY_BATCH):
            batch = with_table[start : start + SURVEY_BATCH]
            cursor.execute(
                " UNION ALL ".join(
                    "SELECT %s, md5(coalesce(string_agg(app || '.' || name, ',' "
                    f"ORDER BY app, name), '')) FROM {_quote(name)}.django_migrations"
                    for name in batch
                ),
                batch,
            )
            digests.update(cursor.fetchall())
    for name in valid:
        if name not in has_table:
            problems[name] = "schema does not exist"
        elif not has_table[name]:
            digests[name] = _NO_TABLE
    return digests, problems


def _quote(schema_name: str) -> str:
    return '"' + schema_name.replace('"', '""') + '"'


def _group_prepare(connection: TenantDatabaseWrapper, group: _Group) -> None:
    """Load the graph as the representative schema sees it; plan; build the shared states."""
    try:
        connection.set_schema(group.representative, include_public=False)
        loader = MigrationLoader(connection, replace_migrations=True)
        conflicts = loader.detect_conflicts()
        if conflicts:
            names = "; ".join(f"{', '.join(n)} in {app}" for app, n in conflicts.items())
            raise FleetMigrationConflictError(
                f"conflicting migrations (run makemigrations --merge): {names}"
            )
        loader.check_consistent_history(connection)
        executor = _SharedLoaderExecutor(connection, loader)
        group.loader = loader
        group.plan = executor.migration_plan(loader.graph.leaf_nodes())
        if not group.plan:
            return
        group.full_plan = executor.migration_plan(loader.graph.leaf_nodes(), clean_start=True)
        pre_state = executor.state_before(group.full_plan)
        pre_state.apps  # noqa: B018 - render once here; each schema clones the rendered state
        group.pre_state = pre_state
        group.post_apps = _post_migrate_apps(pre_state, group.plan)
    except FleetMigrationConflictError:
        raise
    except Exception as error:  # reported for every schema of the group
        logger.exception("cannot plan migrations for %s", group.representative)
        group.error = _describe(error)
    finally:
        connection.set_schema_to_public()


def _post_migrate_apps(pre_state: ProjectState, plan: list[tuple[Migration, bool]]) -> StateApps:
    """The apps `migrate` hands to post_migrate receivers; the same for every schema of a group."""
    state = pre_state.clone()
    for migration, _backwards in plan:
        migration.mutate_state(state, preserve=False)
    state.clear_delayed_apps_cache()
    post_apps = state.apps
    # As `migrate` does: re-render the unmigrated apps' models with their relations.
    with post_apps.bulk_update():
        model_keys = []
        for model_state in post_apps.real_models:
            model_key = model_state.app_label, model_state.name_lower
            model_keys.append(model_key)
            post_apps.unregister_model(*model_key)
    post_apps.render_multiple(
        [ModelState.from_model(apps.get_model(*model)) for model in model_keys]
    )
    return post_apps


def _migrate_all(
    todo: list[tuple[str, str]], *, workers: int, max_tasks: int
) -> Iterator[SchemaOutcome]:
    if not todo:
        return
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for task in todo:
            yield _schema_migrate(task)
        return
    yield from _WorkerPool(workers=workers, max_tasks=max_tasks).run(todo)


@dataclass
class _Worker:
    process: Any
    channel: Any
    task: tuple[str, str] | None = None
    done: int = 0


class _WorkerPool:
    """At most `workers` forked processes, each replaced after `max_tasks` schemas.

    Not multiprocessing.Pool: when a worker dies (killed for memory, say), Pool loses its task
    and waits forever; here the schema is reported failed and a new worker takes its place.
    The workers are forked, so they inherit the loaded graph and the rendered states.
    """

    def __init__(self, *, workers: int, max_tasks: int) -> None:
        self.workers = workers
        self.max_tasks = max_tasks
        self.context = multiprocessing.get_context("fork")
        self.live: list[_Worker] = []
        self.queue: deque[tuple[str, str]] = deque()

    def run(self, todo: list[tuple[str, str]]) -> Iterator[SchemaOutcome]:
        self.queue.extend(todo)
        try:
            for _ in range(min(self.workers, len(todo))):
                self._feed(self._spawn())
            while self.live:
                ready = wait(
                    [w.channel for w in self.live] + [w.process.sentinel for w in self.live]
                )
                for worker in list(self.live):
                    if worker.channel in ready or worker.process.sentinel in ready:
                        outcome = self._collect(worker)
                        if outcome is not None:
                            yield outcome
        finally:
            for worker in self.live:
                worker.process.terminate()
            for worker in self.live:
                self._retire(worker)

    def _collect(self, worker: _Worker) -> SchemaOutcome | None:
        try:
            outcome: SchemaOutcome | None = worker.channel.recv() if worker.channel.poll() else None
        except EOFError:
            outcome = None
        if outcome is None:
            if worker.process.is_alive():
                return None
            # The worker died without an answer: its schema failed, a new worker goes on.
            self._retire(worker)
            if self.queue:
                self._feed(self._spawn())
            if worker.task is None:
                return None
            return SchemaOutcome(
                schema_name=worker.task[0],
                status="failed",
                error=f"worker process died (exit code {worker.process.exitcode})",
            )
        worker.done += 1
        worker.task = None
        if worker.done >= self.max_tasks:
            self._retire(worker)
            if self.queue:
                self._feed(self._spawn())
        else:
            self._feed(worker)
        return outcome

    def _spawn(self) -> _Worker:
        channel, child_channel = self.context.Pipe()
        process = self.context.Process(
            target=_worker_main, args=(child_channel, self.max_tasks), daemon=True
        )
        process.start()
        child_channel.close()
        worker = _Worker(process=process, channel=channel)
        self.live.append(worker)
        return worker

    def _feed(self, worker: _Worker) -> None:
        if self.queue:
            worker.task = self.queue.popleft()
            worker.channel.send(worker.task)
        else:
            worker.channel.send(None)
            self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        if worker in self.live:
            self.live.remove(worker)
        worker.process.join()
        worker.channel.close()


def _worker_main(channel: Any, max_tasks: int) -> None:
    """A worker: migrate the schemas it is sent, up to `max_tasks`, then exit."""
    _worker_start()
    for _ in range(max_tasks):
        task = channel.recv()
        if task is None:
            break
        channel.send(_schema_migrate(task))
    channel.close()


def _worker_start() -> None:
    """In a new worker: never use the control process's connections; open its own."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _inherited_connections.append(connection.connection)
            connection.connection = None
        connection.close()  # only resets the wrapper's state: it holds no connection now


def _schema_migrate(task: tuple[str, str]) -> SchemaOutcome:
    """Apply the group's plan to one schema (in a worker, or in the control process)."""
    schema_name, key = task
    group = _groups[key]
    assert group.loader is not None
    assert group.pre_state is not None
    started = time.perf_counter()
    connection = _tenant_connection(_settings.database)
    applied: list[str] = []
    current: list[str] = []

    def on_progress(action: str, migration: Migration | None = None, fake: bool = False) -> None:
        if action == "apply_start":
            current[:] = [str(migration)]
        elif action == "apply_success":
            applied.append(str(migration))

    null = io.StringIO()
    try:
        if _settings.lock_timeout_ms:
            with connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = {_settings.lock_timeout_ms}")
        if not group.has_table:
            # Create django_migrations in the schema itself, not find the public one.
            connection.set_schema(schema_name, include_public=False)
            MigrationRecorder(connection).ensure_schema()
        connection.set_schema(schema_name)
        schema_pre_migration.send(sender=fleet_migrate, schema_name=schema_name)
        emit_pre_migrate_signal(
            0, False, connection.alias, stdout=null, apps=group.pre_state.apps, plan=group.plan
        )
        executor = _SharedLoaderExecutor(connection, group.loader, on_progress)
        executor.plan_apply(group.pre_state.clone(), group.plan, group.full_plan)
        if group.loader.replacements:
            executor.check_replacements()
        emit_post_migrate_signal(
            0, False, connection.alias, stdout=null, apps=group.post_apps, plan=group.plan
        )
        schema_migrated.send(sender=fleet_migrate, schema_name=schema_name)
    except Exception as error:  # one schema's failure must not stop the others
        where = f"{current[0]}: " if current and current[0] not in applied else ""
        logger.warning("migrating %s failed", schema_name, exc_info=True)
        return SchemaOutcome(
            schema_name=schema_name,
            status="failed",
            applied=tuple(applied),
            error=where + _describe(error),
            seconds=time.perf_counter() - started,
        )
    finally:
        connection.set_schema_to_public()
    return SchemaOutcome(
        schema_name=schema_name,
        status="migrated",
        applied=tuple(applied),
        seconds=time.perf_counter() - started,
    )


def _describe(error: BaseException) -> str:
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0] if message else ''}"
