"""Benchmark: a new shop from the spare-schema pool beside stock django-tenants.

    python -m tests.benchmarks.provision [--ours 50] [--stock 10] [--pool 10] [--burst 20]

Runs in a database of its own on the server of DATABASE_URL (default: the local server), which
it creates, migrates (public schema) and drops.

- ours: server time of `with_spare_schema(tenant_provision(...))` with a pre-filled pool: the
  claim and rename, the tenant and domain rows, default settings, the audit row, the commit and
  the after-commit work (refill request, routing cache). No account, so no password hashing.
- stock: django-tenants' standard path: a Tenant saved with auto_create_schema=True (creates
  the schema and runs every migration), plus the same domain row and default settings.
- burst: --burst signups one after another against a pool of --pool spares: those beyond the
  pool build a spare themselves (slow path). refill_s: the refill task bringing the emptied
  pool back to --pool spares.
One warm-up signup per path is not counted. The Celery broker is kombu's in-memory transport,
so refill requests leave nothing behind; the refill is run here, as the worker would run it.
The last line is one JSON object; ratio = stock_p50_ms / ours_p50_ms (> 1: we are faster).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from tests.benchmarks._common import benchmark_database, django_setup, percentile


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ours", type=int, default=50, help="shops provisioned our way")
    parser.add_argument("--stock", type=int, default=10, help="shops created the stock way")
    parser.add_argument("--pool", type=int, default=10, help="pool size for the burst")
    parser.add_argument("--burst", type=int, default=20, help="signups in the burst")
    arguments = parser.parse_args(argv)
    for name in ("ours", "stock", "pool", "burst"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return arguments


def _timed_ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def _run(arguments: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings
    from django.core.management import call_command

    from infra.celery import app
    from tenants.models import Domain, SpareSchema, Tenant
    from tenants.selectors.provisioning import migrations_expected, schema_name_for
    from tenants.services.provisioning import (
        spare_pool_refill,
        spare_schema_build,
        tenant_seed_defaults,
    )
    from tenants.tasks import spare_pool_refill_task
    from tests.benchmarks._common import schema_catalog
    from tests.support.shops import shop_provision, shop_provision_stock

    # An in-memory broker: the benchmark leaves nothing in Redis.
    app.conf.update(broker_url="memory://", result_backend=None)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    settings.SPARE_SCHEMA_POOL_SIZE = arguments.pool

    def ours(slug: str) -> Tenant:
        return shop_provision(slug)

    def stock(slug: str) -> Tenant:
        tenant = shop_provision_stock(slug)
        Domain.objects.create(
            domain=f"{slug}.{settings.PLATFORM_DOMAIN}",
            tenant=tenant,
            is_primary=True,
            is_verified=True,
        )
        tenant_seed_defaults(tenant)
        return tenant

    # Pre-fill the pool: one spare per signup of ours, plus the warm-up.
    build_ms = [_timed_ms(spare_schema_build) for _ in range(arguments.ours + 1)]

    ours_ms: list[float] = []
    ours_slow = 0
    for index in range(arguments.ours + 1):
        ours_slow += SpareSchema.objects.count() == 0
        elapsed = _timed_ms(lambda index=index: ours(f"ours-{index}"))  # type: ignore[misc]
        if index:
            ours_ms.append(elapsed)

    stock_ms: list[float] = []
    for index in range(arguments.stock + 1):
        elapsed = _timed_ms(lambda index=index: stock(f"stock-{index}"))  # type: ignore[misc]
        if index:
            stock_ms.append(elapsed)

    identical = schema_catalog(schema_name_for("ours-1")) == schema_catalog(
        schema_name_for("stock-1")
    )

    spare_pool_refill(size=arguments.pool)
    burst_ms: list[float] = []
    burst_slow = 0
    for index in range(arguments.burst):
        burst_slow += SpareSchema.objects.count() == 0
        burst_ms.append(_timed_ms(lambda index=index: ours(f"burst-{index}")))  # type: ignore[misc]
    pool_after_burst = SpareSchema.objects.count()

    refill_started = time.perf_counter()
    refilled = spare_pool_refill_task.apply().get()
    refill_s = time.perf_counter() - refill_started
    pool_after_refill = SpareSchema.objects.count()

    ours_p50 = percentile(ours_ms, 0.5)
    stock_p50 = percentile(stock_ms, 0.5)
    return {
        "n": len(ours_ms),
        "ours_p50_ms": round(ours_p50, 2),
        "ours_p95_ms": round(percentile(ours_ms, 0.95), 2),
        "ours_max_ms": round(max(ours_ms), 2),
        "ours_slow_path": ours_slow,
        "stock_n": len(stock_ms),
        "stock_p50_ms": round(stock_p50, 2),
        "stock_p95_ms": round(percentile(stock_ms, 0.95), 2),
        "ratio": round(stock_p50 / ours_p50, 1),
        "pool": arguments.pool,
        "burst": arguments.burst,
        "burst_slow_path": burst_slow,
        "burst_p50_ms": round(percentile(burst_ms, 0.5), 2),
        "burst_p95_ms": round(percentile(burst_ms, 0.95), 2),
        "pool_after_burst": pool_after_burst,
        "refill_s": round(refill_s, 3),
        "refill_built": refilled,
        "pool_after_refill": pool_after_refill,
        "spare_build_p50_ms": round(percentile(build_ms, 0.5), 1),
        "tenant_migrations": len(migrations_expected()),
        "identical_to_stock": identical,
        "postgres": _server_version(),
    }


def _server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    return str(row[0]) if row else "?"


def _table(result: dict[str, Any]) -> str:
    rows = [
        ("ours (pool claim + rename)", result["n"], result["ours_p50_ms"], result["ours_p95_ms"]),
        ("stock django-tenants", result["stock_n"], result["stock_p50_ms"], result["stock_p95_ms"]),
        (
            f"burst of {result['burst']} on a pool of {result['pool']}",
            result["burst"],
            result["burst_p50_ms"],
            result["burst_p95_ms"],
        ),
    ]
    lines = [f"{'path':<36}{'n':>5}{'p50 ms':>11}{'p95 ms':>11}", "-" * 63]
    lines += [f"{name:<36}{n:>5}{p50:>11.2f}{p95:>11.2f}" for name, n, p50, p95 in rows]
    lines += [
        "-" * 63,
        f"ratio (stock p50 / ours p50)        {result['ratio']}",
        f"burst signups on the slow path      {result['burst_slow_path']}",
        f"refill to {result['pool']} spares                  {result['refill_s']:.3f} s"
        f" ({result['refill_built']} built, {result['spare_build_p50_ms']} ms per spare p50)",
        f"tenant migrations recorded          {result['tenant_migrations']}",
        f"our schema identical to stock's     {result['identical_to_stock']}",
        f"PostgreSQL                          {result['postgres']}",
        f"total                               {result['total_s']:.1f} s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table, then the figures as one JSON object."""
    arguments = _arguments(argv)
    started = time.perf_counter()
    with benchmark_database("provision") as database_url:
        django_setup(database_url)
        result = _run(arguments)
    result["total_s"] = round(time.perf_counter() - started, 1)
    print(_table(result))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
