"""Benchmark: checkout + sandbox payment through the HTTP API under concurrent buyers.

    python -m tests.benchmarks.checkout [--buyers 200] [--stock N] [--workers 4]
        [--threads 2] [--duration 120] [--bare-duration 10]

Runs in a database of its own (created, migrated, dropped) on the server of DATABASE_URL. One
shop is provisioned with one SKU of --stock units (default: half the buyers), and --buyers
members, each with an address and a bearer token (made by the services). gunicorn serves the
project (--workers gthread workers of --worker-threads threads, keep-alive, DEBUG off) on a free
port of 127.0.0.1; every request carries `Host: <slug>.localhost`.

wrk first loads GET /healthz on the shop host (bare: routing + a view that reads nothing).
Then wrk, with --buyers connections and the Lua script checkout.lua, runs every buyer's flow:
POST /api/v1/checkout (1 unit, Idempotency-Key), POST /api/v1/orders/<n>/pay (sandbox),
POST the returned confirm path; each step is sent when the previous response arrives, and a
connection with nothing to send polls a payment's status (a waiting client). It stops when
every buyer has paid or been told "sold out".

wrk is interrupted as soon as gunicorn's access log shows every step answered.
Figures: orders_per_s = paid orders / wrk's run time; p50/p99 from wrk over every request of
the run (steps and polls), and per step from gunicorn's access log (server time); sold = units
of the paid orders; oversold = units sold beyond the stock (plus any stock below zero). The
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from tests.benchmarks._common import (
    benchmark_database,
    cache_namespace,
    django_setup,
    gunicorn_server,
    percentile,
    wrk_run,
)

SLUG = "bench"
HOST = f"{SLUG}.localhost"
SCRIPT = Path(__file__).with_name("checkout.lua")
THROTTLE_RATE = "1000000/s"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=200, help="concurrent buyers")
    parser.add_argument("--stock", type=int, default=0, help="units (default: buyers / 2)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--worker-threads", type=int, default=4, help="threads per gunicorn worker (gthread)"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=120, help="longest run, seconds")
    parser.add_argument("--bare-duration", type=int, default=10, help="seconds of bare load")
    arguments = parser.parse_args(argv)
    if arguments.buyers < arguments.threads:
        parser.error("--buyers must be at least --threads")
    arguments.stock = arguments.stock or arguments.buyers // 2
    return arguments


def _setup(arguments: argparse.Namespace, buyers_file: Path) -> int:
    """The shop, its SKU and buyers; the SKU id."""
    from django.core.management import call_command

    from infra.celery import app
    from infra.db import tenant_schema
    from tests.support.commerce import (
        address_make,
        member_make,
        member_token,
        product_make,
        sku_of,
    )
    from tests.support.shops import shop_provision

    app.conf.update(broker_url="memory://", result_backend=None)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    tenant = shop_provision(SLUG, name="Benchmark shop")
    lines = []
    with tenant_schema(tenant):
        sku = sku_of(product_make(title="限量 Limited", price_minor=9900, stock=arguments.stock))
        for _ in range(arguments.buyers):
            member = member_make()
            address = address_make(member)
            token = member_token(member)["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
            lines.append(f"{token} {address.pk} {sku.pk}")
    buyers_file.write_text("\n".join(lines) + "\n")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    return int(sku.pk)


def _outcome(sku_id: int, stock: int) -> dict[str, int]:
    from django.db.models import Sum

    from infra.db import tenant_schema
    from shop.catalog.models import Sku
    from shop.orders.models import Order, OrderLine, OrderStatus
    from shop.payments.models import Payment
    from tenants.models import Tenant

    with tenant_schema(Tenant.objects.get(slug=SLUG)):
        left = Sku.objects.get(pk=sku_id).stock
        sold = (
            OrderLine.objects.filter(sku_id=sku_id, order__status=OrderStatus.PAID).aggregate(
                units=Sum("quantity")
            )["units"]
            or 0
        )
        reserved = (
            OrderLine.objects.filter(sku_id=sku_id)
            .exclude(order__status=OrderStatus.CANCELLED)
            .aggregate(units=Sum("quantity"))["units"]
            or 0
        )
        return {
            "sold": sold,
            "stock_left": left,
            "reserved": reserved,
            "oversold": max(0, sold - stock) + max(0, -left) + max(0, reserved + left - stock),
            "paid_orders": Order.objects.filter(status=OrderStatus.PAID).count(),
            "payments_succeeded": Payment.objects.filter(status="succeeded").count(),
        }


_ACCESS = re.compile(r"^(?P<method>\S+) (?P<path>\S+) (?P<status>\d+) (?P<ms>\d+)$")


def _steps(log: Path) -> dict[str, dict[str, float]]:
    """Server time per step (p50, p99 ms) from gunicorn's access log."""
    times: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        match = _ACCESS.match(line.strip())
        if not match:
            continue
        path = match["path"]
        if path == "/api/v1/checkout":
            step = "checkout"
        elif path.endswith("/pay"):
            step = "pay"
        elif path.endswith("/sandbox-confirm"):
            step = "confirm"
        elif path.startswith("/api/v1/payments/"):
            step = "poll"
        else:
            continue
        times.setdefault(step, []).append(float(match["ms"]))
    return {
        step: {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.5), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
        }
        for step, values in times.items()
    }


def _all_answered(log: Path, buyers: int) -> bool:
    """Every buyer's checkout answered, and every order checked out paid and confirmed."""
    checkouts = confirms = created = 0
    with suppress(FileNotFoundError):
        for line in log.read_text().splitlines():
            match = _ACCESS.match(line.strip())
            if not match:
                continue
            if match["path"] == "/api/v1/checkout":
                checkouts += 1
                created += match["status"] == "201"
            elif match["path"].endswith("/sandbox-confirm") and match["status"] == "200":
                confirms += 1
    return checkouts >= buyers and confirms >= created


def _run(arguments: argparse.Namespace, database_url: str, work: Path) -> dict[str, Any]:
    buyers_file = work / "buyers.txt"
    started = time.perf_counter()
    sku_id = _setup(arguments, buyers_file)
    setup_s = time.perf_counter() - started
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "infra.settings",
        "ENVIRONMENT": "test",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(work),
        "THROTTLE_ANON": THROTTLE_RATE,
        "THROTTLE_USER": THROTTLE_RATE,
        "LOG_LEVEL": "WARNING",
        "BENCH_BUYERS": str(buyers_file),
        "BENCH_THREADS": str(arguments.threads),
        "BENCH_HOST": HOST,
        # Celery tasks sent after commits (outbox delivery) go nowhere slow: no worker here.
        "CELERY_BROKER_URL": "memory://",
    }
    os.environ.update({k: environment[k] for k in ("BENCH_BUYERS", "BENCH_THREADS", "BENCH_HOST")})
    access_log = work / "access.log"
    extra = [
        # Threads keep connections alive: no request is lost to a closing connection.
        "--worker-class",
        "gthread",
        "--threads",
        str(arguments.worker_threads),
        "--keep-alive",
        "30",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(m)s %(U)s %(s)s %(M)s",
    ]
    with gunicorn_server(
        environment, arguments.workers, work / "gunicorn.log", host=HOST, extra_args=extra
    ) as server:
        wrk_run(
            server.base_url + "/healthz",
            host=HOST,
            threads=arguments.threads,
            connections=arguments.threads * 8,
            duration=2,
        )
        bare = wrk_run(
            server.base_url + "/healthz",
            host=HOST,
            threads=arguments.threads,
            connections=arguments.threads * 8,
            duration=arguments.bare_duration,
        )
        run = wrk_run(
            server.base_url + "/api/v1/checkout",
            host=HOST,
            threads=arguments.threads,
            connections=arguments.buyers,
            duration=arguments.duration,
            script=SCRIPT,
            until=lambda: _all_answered(access_log, arguments.buyers),
        )
    summary = re.search(
        r"CHECKOUT ok=(\d+) sold_out=(\d+) failed=(\d+) paid=(\d+) polls=(\d+) resent=(\d+)"
        r" duration_us=(\d+)",
        run.output,
    )
    if summary is None:
        raise RuntimeError(f"the wrk script printed no summary:\n{run.output}")
    checked_out, sold_out, failed, paid, polls, resent, duration_us = (
        int(v) for v in summary.groups()
    )
    run_s = duration_us / 1e6
    outcome = _outcome(sku_id, arguments.stock)
    orders_per_s = paid / run_s if run_s else 0.0
    return {
        "buyers": arguments.buyers,
        "stock": arguments.stock,
        "sold": outcome["sold"],
        "oversold": outcome["oversold"],
        "orders_per_s": round(orders_per_s, 1),
        "p50_ms": round(run.p50_ms, 1),
        "p99_ms": round(run.p99_ms, 1),
        "bare_rps": round(bare.rps, 1),
        "orders_fraction_of_bare": round(orders_per_s / bare.rps, 4) if bare.rps else 0.0,
        "checked_out": checked_out,
        "sold_out_answers": sold_out,
        "failed": failed,
        "lost": arguments.buyers - (paid + sold_out + failed),
        "paid_seen_by_client": paid,
        "paid_orders": outcome["paid_orders"],
        "payments_succeeded": outcome["payments_succeeded"],
        "stock_left": outcome["stock_left"],
        "polls": polls,
        "resent": resent,
        "run_s": round(run_s, 2),
        "requests": run.requests,
        "steps_server_ms": _steps(access_log),
        "workers": arguments.workers,
        "worker_threads": arguments.worker_threads,
        "wrk": f"-t{arguments.threads} -c{arguments.buyers} (script checkout.lua)",
        "setup_s": round(setup_s, 1),
    }


def _table(result: dict[str, Any]) -> str:
    lines = [
        f"buyers {result['buyers']}, stock {result['stock']}: sold {result['sold']}, "
        f"oversold {result['oversold']}, sold-out answers {result['sold_out_answers']}, "
        f"failed {result['failed']}, lost {result['lost']}, stock left {result['stock_left']}",
        f"paid orders {result['paid_orders']} in {result['run_s']:.2f} s: "
        f"{result['orders_per_s']:.1f} orders/s (checkout + pay + confirm)",
        f"latency over all requests of the run (wrk): p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms ({result['requests']} requests, {result['polls']} polls)",
        f"bare (GET /healthz on the shop host): {result['bare_rps']:.1f} req/s; "
        f"orders/s of bare {result['orders_fraction_of_bare']:.4f}",
        "server time per step (gunicorn access log):",
    ]
    for step, figures in sorted(result["steps_server_ms"].items()):
        lines.append(
            f"  {step:<9} n={figures['count']:<5} p50 {figures['p50_ms']:>7.1f} ms"
            f"  p99 {figures['p99_ms']:>7.1f} ms"
        )
    lines.append(
        f"server: gunicorn {result['workers']} gthread workers x {result['worker_threads']}"
        f" threads; load: wrk {result['wrk']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-checkout-") as work,
        cache_namespace("checkout"),
        benchmark_database("checkout") as database_url,
    ):
        os.environ["MEDIA_ROOT"] = work
        django_setup(database_url)
        result = _run(arguments, database_url, Path(work))
    result["total_s"] = round(time.perf_counter() - started, 1)
    print(_table(result), file=sys.stdout)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
