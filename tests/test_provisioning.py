"""Provisioning from the spare-schema pool: same schema as stock django-tenants, never stale.

These tests commit schemas and rows (other connections must see them), so they run with
`transaction=True`, serially, and remove every schema and row they made.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import override_settings

from infra.db.base import DatabaseWrapper as TenantDatabaseWrapper
from tenants.models import AuditLog, Domain, SpareSchema, Tenant
from tenants.selectors.provisioning import (
    migration_state_expected,
    migration_state_forget,
    migrations_expected,
    schema_name_for,
)
from tenants.services.audit import AuditContext
from tenants.services.provisioning import (
    schema_drop,
    spare_pool_prune,
    spare_pool_refill,
    spare_schema_build,
    tenant_provision,
    with_spare_schema,
)
from tenants.tasks import spare_pool_refill_task
from tests.benchmarks._common import schema_catalog
from tests.support.shops import shop_provision, shop_provision_stock

pytestmark = [pytest.mark.serial, pytest.mark.django_db(transaction=True)]

PROBE_MIGRATIONS = "tests.provisioning_migrations"


@dataclass
class Made:
    """What a test made, removed afterwards."""

    slugs: list[str] = field(default_factory=list)
    schemas: list[str] = field(default_factory=list)


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname <> 'information_schema'"
            " AND NOT starts_with(nspname, 'pg_')"
        )
        return {name for (name,) in cursor.fetchall()}


def _spare_schemas() -> set[str]:
    return {name for name in _schemas() if name.startswith("spare_")}


def _public() -> None:
    cast(TenantDatabaseWrapper, connection).set_schema_to_public()


def _pool_empty() -> None:
    _public()
    for name in _spare_schemas():
        schema_drop(name)
    SpareSchema.objects.all().delete()


@pytest.fixture
def made(transactional_db: None) -> Iterator[Made]:
    """An empty pool and a fresh expected state; afterwards, all that the test made is gone."""
    migration_state_forget()
    _pool_empty()
    record = Made()
    yield record
    _public()
    for tenant in Tenant.objects.filter(slug__in=record.slugs):
        AuditLog.objects.filter(tenant=tenant).delete()
        schema_drop(tenant.schema_name)
        Tenant.objects.filter(pk=tenant.pk).delete()
    for name in record.schemas:
        schema_drop(name)
    _pool_empty()
    migration_state_forget()


def _provision(made: Made, slug: str) -> Tenant:
    made.slugs.append(slug)
    return shop_provision(slug)


def _provision_stock(made: Made, slug: str) -> Tenant:
    made.slugs.append(slug)
    return shop_provision_stock(slug)


def _spare_used(tenant: Tenant) -> str:
    entry = AuditLog.objects.get(tenant=tenant, action="tenant.provisioned")
    spare: str = entry.data["spare"]
    return spare


def _columns(schema_name: str, table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [schema_name, table],
        )
        return [name for (name,) in cursor.fetchall()]


def test_a_shop_from_a_claimed_spare_is_identical_to_a_freshly_migrated_one(made: Made) -> None:
    # given
    spare = spare_schema_build()
    # when
    fast = _provision(made, "prov-fast")
    stock = _provision_stock(made, "prov-stock")
    # then
    assert _spare_used(fast) == spare.schema_name
    assert SpareSchema.objects.count() == 0
    assert spare.schema_name not in _schemas()
    fast_catalog = schema_catalog(fast.schema_name)
    stock_catalog = schema_catalog(stock.schema_name)
    assert fast_catalog == stock_catalog
    assert ("shop_core_shopprofile", "r", "p") in {row[:3] for row in fast_catalog["relations"]}
    assert len(fast_catalog["constraints"]) >= 3
    assert len(fast_catalog["indexes"]) >= 2
    assert set(fast_catalog["migrations"]) == migrations_expected()
    assert ("shop_core", "0001_initial") in migrations_expected()


def test_after_a_new_migration_a_stale_spare_is_never_handed_out(made: Made) -> None:
    # given: two spares built before the new migration existed
    stale = {spare_schema_build().schema_name, spare_schema_build().schema_name}
    stale_state = migration_state_expected()
    with override_settings(MIGRATION_MODULES={"shop_core": PROBE_MIGRATIONS}):
        migration_state_forget()
        # when
        shop = _provision(made, "prov-new")
        stock = _provision_stock(made, "prov-new-stock")
        # then: a spare was built for the new state; the stale ones were left alone
        assert migration_state_expected() != stale_state
        assert ("shop_core", "provisioning_probe") in migrations_expected()
        assert _spare_used(shop) not in stale
        assert set(SpareSchema.objects.values_list("schema_name", "migration_state")) == {
            (name, stale_state) for name in stale
        }
        assert stale <= _schemas()
        assert "provisioning_probe" in _columns(shop.schema_name, "shop_core_shopprofile")
        assert schema_catalog(shop.schema_name) == schema_catalog(stock.schema_name)
        assert ("shop_core", "provisioning_probe") in schema_catalog(shop.schema_name)["migrations"]
        # when
        dropped = spare_pool_prune()
        # then
        assert dropped == 2
        assert SpareSchema.objects.count() == 0
        assert not stale & _schemas()


def test_with_an_empty_pool_provisioning_takes_the_slow_path_and_the_refill_tops_it_up(
    made: Made,
) -> None:
    # given
    assert SpareSchema.objects.count() == 0
    # when
    shop = _provision(made, "prov-slow")
    # then
    assert shop.schema_name in _schemas()
    assert set(schema_catalog(shop.schema_name)["migrations"]) == migrations_expected()
    assert Domain.objects.filter(tenant=shop, domain="prov-slow.localhost").count() == 1
    assert SpareSchema.objects.count() == 0
    assert _spare_schemas() == set()
    # when
    with override_settings(SPARE_SCHEMA_POOL_SIZE=2):
        built = spare_pool_refill_task.apply().get()
    # then
    assert built == 2
    pool = list(SpareSchema.objects.values_list("schema_name", "migration_state"))
    assert {state for _name, state in pool} == {migration_state_expected()}
    assert {name for name, _state in pool} == _spare_schemas()
    assert len(pool) == 2


def test_a_burst_larger_than_the_pool_succeeds_and_the_refill_restores_the_pool(
    made: Made,
) -> None:
    # given
    assert spare_pool_refill(size=2) == 2
    pooled = set(SpareSchema.objects.values_list("schema_name", flat=True))
    # when
    shops = [_provision(made, f"prov-burst-{index}") for index in range(3)]
    # then
    used = [_spare_used(shop) for shop in shops]
    assert set(used[:2]) == pooled
    assert used[2] not in pooled
    assert {shop.schema_name for shop in shops} <= _schemas()
    assert SpareSchema.objects.count() == 0
    # when
    built = spare_pool_refill(size=2)
    # then
    assert built == 2
    assert SpareSchema.objects.filter(migration_state=migration_state_expected()).count() == 2


def test_two_concurrent_claims_get_different_spares(made: Made) -> None:
    # given
    spares = {spare_schema_build().schema_name, spare_schema_build().schema_name}
    slugs = ["prov-race-a", "prov-race-b"]
    made.slugs.extend(slugs)
    # Both threads hold their claimed spare's row lock until both have claimed one.
    both_claimed = threading.Barrier(2, timeout=20)
    tenants: dict[str, Tenant] = {}
    errors: list[BaseException] = []

    def signup(slug: str) -> None:
        def provision() -> Tenant:
            with transaction.atomic():
                tenant = tenant_provision(
                    slug=slug,
                    name=slug,
                    currency="CNY",
                    language="zh-hans",
                    time_zone="Asia/Shanghai",
                    context=AuditContext.system(),
                )
                both_claimed.wait()
                return tenant

        try:
            tenants[slug] = with_spare_schema(provision)
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=signup, args=(slug,)) for slug in slugs]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    used = {_spare_used(tenants[slug]) for slug in slugs}
    assert used == spares
    assert SpareSchema.objects.count() == 0
    assert {schema_name_for(slug) for slug in slugs} <= _schemas()


def test_a_failed_provisioning_leaves_no_schema_and_no_tenant_row(made: Made) -> None:
    # given: the slug is taken, and one spare waits in the pool
    _provision(made, "prov-dup")
    spare = spare_schema_build()
    schemas_before = _schemas()
    audit_before = AuditLog.objects.count()
    # when: the unique index refuses the second row (as it does for a racing twin)
    with pytest.raises(IntegrityError):
        with_spare_schema(
            lambda: tenant_provision(
                slug="prov-dup",
                name="Again",
                currency="USD",
                language="en",
                time_zone="UTC",
                context=AuditContext.system(),
            )
        )
    # then
    assert _schemas() == schemas_before
    assert list(SpareSchema.objects.values_list("pk", "schema_name")) == [
        (spare.pk, spare.schema_name)
    ]
    assert list(Tenant.objects.filter(slug="prov-dup").values_list("name", flat=True)) == [
        "Shop prov-dup"
    ]
    assert AuditLog.objects.count() == audit_before


def test_a_failed_rename_leaves_no_tenant_row_and_keeps_the_spare(made: Made) -> None:
    # given: a schema already has the new shop's name
    taken = schema_name_for("prov-taken")
    made.schemas.append(taken)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{taken}"')
    spare = spare_schema_build()
    schemas_before = _schemas()
    # when
    with pytest.raises(DatabaseError):
        _provision(made, "prov-taken")
    # then
    assert _schemas() == schemas_before
    assert Tenant.objects.filter(slug="prov-taken").count() == 0
    assert Domain.objects.filter(domain="prov-taken.localhost").count() == 0
    assert list(SpareSchema.objects.values_list("pk", flat=True)) == [spare.pk]
    assert _columns(taken, "shop_core_shopprofile") == []


def test_a_spare_whose_recorded_migrations_disagree_with_its_label_is_dropped(
    made: Made,
) -> None:
    # given: the first spare lost a recorded migration (a build cut short, a hand edit)
    broken = spare_schema_build()
    sound = spare_schema_build()
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{broken.schema_name}".django_migrations'
            " WHERE app = 'shop_core' AND name = '0001_initial'"
        )
    # when
    shop = _provision(made, "prov-checked")
    # then
    assert _spare_used(shop) == sound.schema_name
    assert SpareSchema.objects.count() == 0
    assert broken.schema_name not in _schemas()
    assert set(schema_catalog(shop.schema_name)["migrations"]) == migrations_expected()


def test_prune_drops_spare_schemas_of_crashed_builds_but_not_builds_in_progress(
    made: Made,
) -> None:
    # given: no pool row for two spare schemas, one from a build started two hours ago
    import time

    crashed = f"spare_{int(time.time()) - 7200:x}_0badc0de"
    building = f"spare_{int(time.time()):x}_0000beef"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{crashed}"')
        cursor.execute(f'CREATE SCHEMA "{building}"')
    pooled = spare_schema_build()
    # when
    dropped = spare_pool_prune()
    # then
    assert dropped == 1
    assert _spare_schemas() == {building, pooled.schema_name}
    assert list(SpareSchema.objects.values_list("schema_name", flat=True)) == [pooled.schema_name]


def test_the_slow_path_inside_a_rolled_back_transaction_leaves_only_a_pooled_spare(
    made: Made,
) -> None:
    # given
    schemas_before = _schemas()

    class Abandoned(Exception):
        pass

    seen_inside: list[bool] = []

    def signup_then_abandon() -> None:
        with transaction.atomic():
            shop = _provision(made, "prov-abandoned")
            seen_inside.append(shop.schema_name in _schemas())
            raise Abandoned

    # when: the caller's transaction builds a spare on the slow path, then rolls back
    with pytest.raises(Abandoned):
        signup_then_abandon()
    # then: no shop; the spare built on the way was committed on its own and is in the pool
    assert seen_inside == [True]
    assert Tenant.objects.filter(slug="prov-abandoned").count() == 0
    assert Domain.objects.filter(domain="prov-abandoned.localhost").count() == 0
    spares = list(SpareSchema.objects.values_list("schema_name", "migration_state"))
    assert len(spares) == 1
    assert spares[0][1] == migration_state_expected()
    assert _schemas() - schemas_before == {spares[0][0]}
    assert set(schema_catalog(spares[0][0])["migrations"]) == migrations_expected()


def test_a_pool_row_whose_schema_is_gone_is_skipped_and_pruned(made: Made) -> None:
    # given: the first spare's schema was dropped behind the pool's back
    gone = spare_schema_build()
    sound = spare_schema_build()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{gone.schema_name}" CASCADE')
    # when
    shop = _provision(made, "prov-skip")
    # then
    assert _spare_used(shop) == sound.schema_name
    assert list(SpareSchema.objects.values_list("pk", flat=True)) == [gone.pk]
    # when
    dropped = spare_pool_prune()
    # then
    assert dropped == 1
    assert SpareSchema.objects.count() == 0


def test_two_refills_at_once_fill_the_pool_exactly_once(made: Made) -> None:
    # given
    start_together = threading.Barrier(2, timeout=20)
    built: list[int] = []
    errors: list[BaseException] = []

    def refill() -> None:
        try:
            start_together.wait()
            built.append(spare_pool_refill(size=3))
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=refill) for _ in range(2)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    assert sum(built) == 3
    assert SpareSchema.objects.filter(migration_state=migration_state_expected()).count() == 3
    assert len(_spare_schemas()) == 3
