"""Celery on a real worker (celery.contrib.testing, broker = Redis): tenant-plane tasks run in the
schema they were sent from and are refused without one; control-plane tasks run in public.

The worker runs in a thread of this process against the same test database, so the tests commit
(transaction=True) on two shops of this module's own, created and dropped here. pytest-django
empties the public tables after each such test; the shops' rows (and the session shops' rows) are
put back before each test and at the end, since their schemas outlive the flush.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from celery import Celery, signals
from django.conf import settings
from django.db import connection, connections

from infra.celery import ControlPlaneTask, TenantSchemaRequiredError, app
from shop.core.models import ShopProfile
from shop.core.tasks import shop_defaults_seed_task
from tenants.models import Domain, Tenant, TenantStatus
from tenants.services.provisioning import schema_drop
from tenants.tasks import tenant_fanout_task
from tests.support.shops import shop_provision

pytestmark = [
    pytest.mark.serial,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL,
        reason="needs a Redis broker: set REDIS_URL (make test always provides one)",
    ),
]

tenant_connection = cast(Any, connection)  # django-tenants' wrapper: set_tenant, schema_name
SEED_TASK = "shop.core.tasks.shop_defaults_seed_task"
WAIT_S = 60.0  # a guard against a hung worker, not a timing requirement


@app.task(base=ControlPlaneTask, name="tests.test_celery.schema_probe_task")
def schema_probe_task() -> str:
    """A control-plane task that reports the schema it ran in."""
    return str(tenant_connection.schema_name)


@dataclass
class Outcome:
    state: str
    result: Any
    error: BaseException | None


class Outcomes:
    """What the worker did with each task, from Celery's own signals (sent in the worker thread)."""

    def __init__(self) -> None:
        self._outcomes: dict[str, Outcome] = {}
        self._errors: dict[str, BaseException] = {}
        self._changed = threading.Condition()

    def on_failure(self, task_id: str, exception: BaseException, **_: Any) -> None:
        with self._changed:
            self._errors[task_id] = exception

    def on_postrun(self, task_id: str, state: str, retval: Any, **_: Any) -> None:
        # The worker thread's connection must not hold a transaction or outlive the test
        # database (its flush and drop wait for every connection).
        connections.close_all()
        with self._changed:
            self._outcomes[task_id] = Outcome(state, retval, self._errors.get(task_id))
            self._changed.notify_all()

    def wait(self, task_id: str) -> Outcome:
        with self._changed:
            if not self._changed.wait_for(lambda: task_id in self._outcomes, timeout=WAIT_S):
                raise AssertionError(f"the worker did not run task {task_id}")
            return self._outcomes[task_id]


@dataclass
class Rows:
    """Control-plane rows to put back after pytest-django's flush (their schemas stay)."""

    tenants: list[Tenant]
    domains: list[Domain]

    def restore(self) -> None:
        tenant_connection.set_schema_to_public()
        present = set(Tenant.objects.values_list("pk", flat=True))
        Tenant.objects.bulk_create([tenant for tenant in self.tenants if tenant.pk not in present])
        present_domains = set(Domain.objects.values_list("pk", flat=True))
        Domain.objects.bulk_create(
            [domain for domain in self.domains if domain.pk not in present_domains]
        )


def _provision(slug: str) -> Tenant:
    return shop_provision(slug, slug)


@pytest.fixture(scope="module")
def task_shops(
    shops: dict[str, Tenant], django_db_blocker: Any
) -> Iterator[tuple[Tenant, Tenant, Rows]]:
    """Two shops of this module, committed; dropped at the end."""
    with django_db_blocker.unblock():
        tenant_connection.set_schema_to_public()
        one, two = _provision("celery-one"), _provision("celery-two")
        session_shops = list(shops.values())
        rows = Rows(
            tenants=[*Tenant.objects.filter(pk__in=[shop.pk for shop in session_shops]), one, two],
            domains=list(Domain.objects.all()),
        )
    yield one, two, rows
    with django_db_blocker.unblock():
        rows.restore()
        Tenant.objects.filter(pk__in=[one.pk, two.pk]).delete()
        for tenant in (one, two):
            schema_drop(tenant.schema_name)


@pytest.fixture(scope="module")
def worker(task_shops: tuple[Tenant, Tenant, Rows]) -> Iterator[Outcomes]:
    """A real worker on the project's app and broker; messages left from earlier are dropped."""
    from celery.contrib.testing.worker import start_worker

    outcomes = Outcomes()
    signals.task_failure.connect(outcomes.on_failure, weak=False)
    signals.task_postrun.connect(outcomes.on_postrun, weak=False)
    # Provisioning queued pool refills; this worker is for the tasks under test only.
    app.control.purge()
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=WAIT_S, loglevel="WARNING"
        ):
            yield outcomes
    finally:
        signals.task_failure.disconnect(outcomes.on_failure)
        signals.task_postrun.disconnect(outcomes.on_postrun)


@pytest.fixture
def shop_pair(task_shops: tuple[Tenant, Tenant, Rows], worker: Outcomes) -> tuple[Tenant, Tenant]:
    """The module's two shops, their rows present, with no shop profile in either schema."""
    one, two, rows = task_shops
    rows.restore()
    for tenant in (one, two):
        tenant_connection.set_tenant(tenant)
        ShopProfile.objects.all().delete()
    tenant_connection.set_schema_to_public()
    return one, two


def _profiles(tenant: Tenant) -> int:
    tenant_connection.set_tenant(tenant)
    try:
        return ShopProfile.objects.count()
    finally:
        tenant_connection.set_schema_to_public()


def test_tenant_task_runs_on_the_worker_in_the_schema_it_was_sent_from(
    shop_pair: tuple[Tenant, Tenant], worker: Outcomes
) -> None:
    # given
    one, two = shop_pair
    tenant_connection.set_tenant(one)
    # when
    sent = shop_defaults_seed_task.delay()
    tenant_connection.set_schema_to_public()
    outcome = worker.wait(sent.id)
    # then
    assert (outcome.state, outcome.error) == ("SUCCESS", None)
    assert "shop_core" in outcome.result
    assert (_profiles(one), _profiles(two)) == (1, 0)


def test_tenant_task_sent_from_the_public_schema_is_refused(
    shop_pair: tuple[Tenant, Tenant], worker: Outcomes
) -> None:
    # given
    one, two = shop_pair
    tenant_connection.set_schema_to_public()
    # when
    sent = app.send_task(SEED_TASK)
    outcome = worker.wait(sent.id)
    # then
    assert outcome.state == "FAILURE"
    assert isinstance(outcome.error, TenantSchemaRequiredError)
    assert (_profiles(one), _profiles(two)) == (0, 0)


def test_tenant_task_without_a_schema_header_is_refused(
    shop_pair: tuple[Tenant, Tenant], worker: Outcomes
) -> None:
    # given: a message as a plain Celery client sends it, without the `_schema_name` header
    one, two = shop_pair
    tenant_connection.set_tenant(one)
    # when
    sent = Celery.send_task(app, SEED_TASK)
    tenant_connection.set_schema_to_public()
    outcome = worker.wait(sent.id)
    # then
    assert outcome.state == "FAILURE"
    assert isinstance(outcome.error, TenantSchemaRequiredError)
    assert (_profiles(one), _profiles(two)) == (0, 0)


def test_control_plane_task_runs_in_public_even_when_sent_from_a_shop(
    shop_pair: tuple[Tenant, Tenant], worker: Outcomes
) -> None:
    # given
    one, _two = shop_pair
    tenant_connection.set_tenant(one)
    # when
    sent = schema_probe_task.delay()
    tenant_connection.set_schema_to_public()
    outcome = worker.wait(sent.id)
    # then
    assert (outcome.state, outcome.result, outcome.error) == ("SUCCESS", "public", None)


def test_fanout_sends_a_tenant_task_to_every_active_shop_in_its_own_schema(
    shop_pair: tuple[Tenant, Tenant], worker: Outcomes
) -> None:
    # given: shop two is suspended (no scheduled work runs for it)
    one, two = shop_pair
    Tenant.objects.filter(pk=two.pk).update(status=TenantStatus.SUSPENDED)
    # when
    sent = tenant_fanout_task.delay(SEED_TASK)
    outcome = worker.wait(sent.id)
    deadline = time.monotonic() + WAIT_S
    while _profiles(one) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    # then
    assert outcome.state == "SUCCESS"
    assert outcome.result == Tenant.objects.filter(status=TenantStatus.ACTIVE).count()
    assert (_profiles(one), _profiles(two)) == (1, 0)
    Tenant.objects.filter(pk=two.pk).update(status=TenantStatus.ACTIVE)
