"""Benchmark: the storefront catalog API beside a bare tenant-routed view, under wrk.

    python -m tests.benchmarks.catalog_api [--products 500] [--duration 10] [--threads 2]
        [--connections 16] [--workers 2] [--single 50] [--profile]

Runs in a database of its own on the server of DATABASE_URL (default: the local server), which
it creates, migrates and drops. One shop is provisioned (tests.support.shops) with --products
products made by the catalog services: two options of 2-3 values each (so 4-9 SKUs), one
Pillow-made image with its thumbnail, on the shelf, spread over a few categories.

The project is then served by gunicorn (--workers sync workers, DEBUG off, ENVIRONMENT=test, the
cache on REDIS_URL when set, else the database cache) on a free port of 127.0.0.1; every request
carries `Host: <slug>.localhost`, so it goes through the tenant routing middleware. wrk loads,
for --duration seconds each (after a short warm-up):

- bare: GET /healthz on the shop host: routing middleware plus a view that reads nothing (no
  view is added to the project for the benchmark);
- list: GET /api/v1/products (page 1: 20 products with their SKUs and thumbnail);
- detail: GET /api/v1/products/<id> of the first product on page 1.

The catalog reads are cached per shop (shop.catalog.api.caching, invalidated by every catalog
write through a version number). The issue measures the uncached path, so the first server runs
with CATALOG_READ_CACHE off: list_rps, detail_rps and their *_fraction_of_bare are uncached. A
second server, cache on, gives the *_cached_* figures: under wrk the same URL repeats, so those
are the warm-cache steady state (hits).

list_single_ms measures cache misses, as the issue's uncached comparison with Saleor does: the
median of --single lone list requests one after another (Python requests, one kept-alive
connection, after a warm-up), the shop's catalog version bumped before each (outside the timed
span), as a catalog write would. list_queries and list_inprocess_ms are misses too: SQL queries
of one list request counted in-process (django.test.Client and CaptureQueriesContext on the same
database, routing warm), and its in-process time.
The anonymous throttle stays on (the detail has it; the list has none: see
shop.catalog.api.caching), with a rate high enough never to refuse (THROTTLE_ANON).
The last line is one JSON object; *_fraction_of_bare = that path's req/s / bare req/s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchmarks._common import (
    Load,
    benchmark_database,
    cache_namespace,
    django_setup,
    gunicorn_server,
    percentile,
    wrk_run,
)

SLUG = "bench"
HOST = f"{SLUG}.localhost"
LIST_PATH = "/api/v1/products"
BARE_PATH = "/healthz"
# Never reached in a run (DRF keeps one second of request times per client address).
THROTTLE_RATE = "1000000/s"

COLOURS = ["红", "蓝", "黑", "白", "绿", "灰", "Navy", "Beige"]
SIZES = ["S", "M", "L", "XL", "XXL"]
NOUNS = ["连衣裙", "衬衫", "T恤", "外套", "牛仔裤", "卫衣", "Sneakers", "Backpack", "Jacket"]
ADJECTIVES = ["夏季", "新款", "复古", "轻薄", "Classic", "Organic", "Slim", "Oversized"]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--products", type=int, default=500, help="products in the catalog")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per path")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--single", type=int, default=50, help="lone list requests timed")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of list requests to stderr"
    )
    arguments = parser.parse_args(argv)
    for name in ("products", "duration", "threads", "connections", "workers", "single"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if arguments.connections < arguments.threads:
        parser.error("--connections must be at least --threads")
    return arguments


# --- The catalog


def _image(rng: random.Random) -> bytes:
    from PIL import Image, ImageDraw

    colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    image = Image.new("RGB", (240, 240), colour)
    ImageDraw.Draw(image).ellipse((40, 40, 200, 200), fill=(255 - colour[0], 128, colour[2]))
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=85)
    return output.getvalue()


def _catalog_build(products: int) -> int:
    """The shop's catalog through the catalog services; the number of SKUs made."""
    from shop.catalog.models import Sku
    from shop.catalog.services.categories import category_create
    from shop.catalog.services.images import product_image_add
    from shop.catalog.services.products import OptionSpec, product_create

    rng = random.Random(20240503)
    roots = [category_create(name=name, slug=slug) for name, slug in (("服装", "c"), ("鞋包", "s"))]
    categories = [
        category_create(name=f"{root.name} {index}", slug=f"{root.slug}-{index}", parent=root)
        for root in roots
        for index in range(4)
    ]
    for index in range(products):
        product = product_create(
            title=f"{rng.choice(ADJECTIVES)}{rng.choice(NOUNS)} {index}",
            subtitle=f"{rng.choice(ADJECTIVES)} · {rng.choice(ADJECTIVES)}",
            description="<p>" + "面料柔软，透气舒适。Soft and breathable. " * 8 + "</p>",
            category=rng.choice(categories),
            on_shelf=True,
            options=[
                OptionSpec("颜色", rng.sample(COLOURS, rng.randint(2, 3))),
                OptionSpec("尺码", rng.sample(SIZES, rng.randint(2, 3))),
            ],
            price_minor=rng.randrange(990, 99_900, 100),
            stock=rng.randint(0, 50),
            weight_grams=rng.randrange(100, 2000, 50),
        )
        product_image_add(product=product, file=io.BytesIO(_image(rng)), alt=product.title)
    return Sku.objects.count()


# --- In-process figures


def _client() -> Any:
    from django.test import Client

    return Client(HTTP_HOST=HOST)


def _cache_bump() -> None:
    """Make the shop's cached catalog reads stale, as a committed catalog write does."""
    from infra.db import tenant_schema
    from shop.catalog.cache import catalog_version_bump
    from tenants.models import Tenant

    with tenant_schema(Tenant.objects.get(slug=SLUG)):
        catalog_version_bump()


def _list_queries() -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client()
    assert client.get(LIST_PATH).status_code == 200  # routing cached, as in a running process
    _cache_bump()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_PATH)
    assert response.status_code == 200, response.content[:300]
    return len(queries), [query["sql"] for query in queries.captured_queries]


def _list_inprocess_ms(count: int) -> float:
    client = _client()
    for _ in range(5):
        client.get(LIST_PATH)
    timings = []
    for _ in range(count):
        _cache_bump()
        started = time.perf_counter()
        client.get(LIST_PATH)
        timings.append((time.perf_counter() - started) * 1000)
    return percentile(timings, 0.5)


def _list_profile(count: int) -> None:
    import cProfile
    import pstats

    client = _client()
    client.get(LIST_PATH)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        _cache_bump()  # profiled too: one cache write
        client.get(LIST_PATH)
    profiler.disable()
    print(f"--- cProfile of {count} list requests (in-process)", file=sys.stderr)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)


# --- The server and the load


def _wrk(url: str, arguments: argparse.Namespace, duration: int) -> Load:
    return wrk_run(
        url,
        host=HOST,
        threads=arguments.threads,
        connections=arguments.connections,
        duration=duration,
    )


def _single_ms(base_url: str, count: int) -> float:
    """Median of lone list requests (misses), one after another on one kept-alive connection."""
    import requests

    timings = []
    with requests.Session() as session:
        session.headers["Host"] = HOST
        for _ in range(10):
            session.get(base_url + LIST_PATH, timeout=10).raise_for_status()
        for _ in range(count):
            _cache_bump()
            started = time.perf_counter()
            response = session.get(base_url + LIST_PATH, timeout=10)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            timings.append(elapsed)
    return percentile(timings, 0.5)


# --- The run


def _run(arguments: argparse.Namespace, database_url: str, media_root: Path) -> dict[str, Any]:
    from django.core.management import call_command

    from infra.celery import app
    from infra.db import tenant_schema
    from tests.support.shops import shop_provision

    # An in-memory broker: provisioning's after-commit requests leave nothing in Redis.
    app.conf.update(broker_url="memory://", result_backend=None)
    started = time.perf_counter()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    tenant = shop_provision(SLUG, name="Benchmark shop")
    with tenant_schema(tenant):
        skus = _catalog_build(arguments.products)
    # Planner statistics, as autovacuum would have gathered them on a live shop.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    setup_s = time.perf_counter() - started

    list_queries, list_sql = _list_queries()
    first_page = _client().get(LIST_PATH).json()
    results = first_page["results"]
    assert first_page["count"] == arguments.products, first_page["count"]
    assert len(results) == min(20, arguments.products)
    assert all(item["skus"] and item["thumbnail_url"] for item in results)
    product_id = results[0]["id"]
    detail = _client().get(f"{LIST_PATH}/{product_id}")
    assert detail.status_code == 200, detail.content[:300]
    list_inprocess_ms = _list_inprocess_ms(30)
    if arguments.profile:
        _list_profile(50)
    # Our connection closed: the server's workers are the only clients during the load.
    connection.close()

    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "infra.settings",
        "ENVIRONMENT": "test",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "THROTTLE_ANON": THROTTLE_RATE,
        "THROTTLE_USER": THROTTLE_RATE,
        "LOG_LEVEL": "WARNING",
    }
    # The figures are uncached: the first server runs with the read cache off. A second
    # one, cache on, shows the steady state a shop sees (wrk repeats one URL: cache hits).
    loads: dict[str, Load] = {}
    paths = (("bare", BARE_PATH), ("list", LIST_PATH), ("detail", f"{LIST_PATH}/{product_id}"))
    uncached = {**environment, "CATALOG_READ_CACHE": "false"}
    with gunicorn_server(
        uncached, arguments.workers, media_root / "gunicorn.log", host=HOST
    ) as server:
        for name, path in paths:
            _wrk(server.base_url + path, arguments, min(2, arguments.duration))  # warm-up
            loads[name] = _wrk(server.base_url + path, arguments, arguments.duration)
        list_single_ms = _single_ms(server.base_url, arguments.single)
        connection.close()
    with gunicorn_server(
        environment, arguments.workers, media_root / "gunicorn-cached.log", host=HOST
    ) as server:
        for name, path in paths:
            _wrk(server.base_url + path, arguments, min(2, arguments.duration))  # warm-up
            loads[f"{name}_cached"] = _wrk(server.base_url + path, arguments, arguments.duration)
        connection.close()

    bare = loads["bare"].rps
    return {
        "bare_rps": round(bare, 1),
        "list_rps": round(loads["list"].rps, 1),
        "detail_rps": round(loads["detail"].rps, 1),
        "list_fraction_of_bare": round(loads["list"].rps / bare, 3),
        "detail_fraction_of_bare": round(loads["detail"].rps / bare, 3),
        "bare_p50_ms": round(loads["bare"].p50_ms, 2),
        "bare_p99_ms": round(loads["bare"].p99_ms, 2),
        "list_p50_ms": round(loads["list"].p50_ms, 2),
        "list_p99_ms": round(loads["list"].p99_ms, 2),
        "detail_p50_ms": round(loads["detail"].p50_ms, 2),
        "detail_p99_ms": round(loads["detail"].p99_ms, 2),
        "list_single_ms": round(list_single_ms, 2),
        "list_inprocess_ms": round(list_inprocess_ms, 2),
        "list_queries": list_queries,
        "bare_cached_run_rps": round(loads["bare_cached"].rps, 1),
        "list_cached_rps": round(loads["list_cached"].rps, 1),
        "detail_cached_rps": round(loads["detail_cached"].rps, 1),
        "list_cached_fraction_of_bare": round(
            loads["list_cached"].rps / loads["bare_cached"].rps, 3
        ),
        "detail_cached_fraction_of_bare": round(
            loads["detail_cached"].rps / loads["bare_cached"].rps, 3
        ),
        "list_cached_p99_ms": round(loads["list_cached"].p99_ms, 2),
        "errors": sum(load.errors for load in loads.values()),
        "requests": {name: load.requests for name, load in loads.items()},
        "products": arguments.products,
        "skus": skus,
        "page_skus": sum(len(item["skus"]) for item in results),
        "workers": arguments.workers,
        "wrk": f"-t{arguments.threads} -c{arguments.connections} -d{arguments.duration}s",
        "duration_s": arguments.duration,
        "cache": "redis" if os.environ.get("REDIS_URL") else "database",
        "load_measures": "uncached (CATALOG_READ_CACHE off); *_cached_*: warm cache (hits)",
        "single_measures": "cache misses (version bumped before each)",
        "setup_s": round(setup_s, 1),
        "_list_sql": list_sql,
    }


def _table(result: dict[str, Any]) -> str:
    rows = [
        ("bare: /healthz on the shop host", "bare"),
        ("list: /api/v1/products (page 1)", "list"),
        ("detail: /api/v1/products/<id>", "detail"),
    ]
    lines = [
        f"{'path':<36}{'req/s':>10}{'of bare':>9}{'p50 ms':>9}{'p99 ms':>9}{'requests':>10}",
        "-" * 83,
    ]
    for label, name in rows:
        fraction = 1.0 if name == "bare" else result[f"{name}_fraction_of_bare"]
        lines.append(
            f"{label:<36}{result[f'{name}_rps']:>10.1f}{fraction:>9.3f}"
            f"{result[f'{name}_p50_ms']:>9.2f}{result[f'{name}_p99_ms']:>9.2f}"
            f"{result['requests'][name]:>10}"
        )
    lines += [
        "-" * 83,
        "bare = GET /healthz with Host: <shop>.localhost: the tenant routing middleware and the",
        "       full middleware stack, a view that reads nothing (no benchmark URL was added)",
        "list and detail are uncached (CATALOG_READ_CACHE off), as the issue measures them;",
        f"with the read cache on (warm: wrk repeats one URL): list {result['list_cached_rps']:.1f}"
        f" req/s ({result['list_cached_fraction_of_bare']:.3f} of bare, p99"
        f" {result['list_cached_p99_ms']:.2f} ms), detail {result['detail_cached_rps']:.1f} req/s"
        f" ({result['detail_cached_fraction_of_bare']:.3f})",
        f"lone list request, cache miss (median, sequential) {result['list_single_ms']:.2f} ms",
        f"list request in-process, cache miss                {result['list_inprocess_ms']:.2f} ms",
        f"SQL queries per list request (cache miss)          {result['list_queries']}",
        f"failed responses (non-2xx, socket errors)          {result['errors']}",
        f"catalog: {result['products']} products, {result['skus']} SKUs "
        f"({result['page_skus']} on page 1), one image each",
        f"server: gunicorn, {result['workers']} sync workers, DEBUG off, cache: {result['cache']};"
        f" load: wrk {result['wrk']}",
        f"setup (migrate, shop, catalog) {result['setup_s']:.1f} s; "
        f"total {result['total_s']:.1f} s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table, then the figures as one JSON object."""
    arguments = _arguments(argv)
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-catalog-") as media,
        cache_namespace("catalog"),
        benchmark_database("catalog_api") as database_url,
    ):
        os.environ["MEDIA_ROOT"] = media
        django_setup(database_url)
        result = _run(arguments, database_url, Path(media))
    result["total_s"] = round(time.perf_counter() - started, 1)
    list_sql = result.pop("_list_sql")
    if arguments.profile:
        print("--- SQL of one list request", file=sys.stderr)
        for sql in list_sql:
            print(sql, file=sys.stderr)
    print(_table(result))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
