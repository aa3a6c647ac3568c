"""Benchmark: the H5 storefront's home and product pages beside a bare tenant-routed view.

    python -m tests.benchmarks.storefront [--products 500] [--duration 5] [--rounds 3]
        [--threads 2] [--connections 16] [--workers 2] [--sql] [--profile]

Runs in a database of its own on the server of DATABASE_URL (default: the local server), which
it creates, migrates and drops. One shop is provisioned (tests.support.shops) and given the
built-in "daily" theme, published, as on its first use (storefront_theme_seed). Its catalog is
made by the catalog services: products with two options of 2-3 values each (4-9 SKUs), one
Pillow-made image with its thumbnail, on the shelf, spread over two root categories of four
subcategories each. The shop's design is then edited
through the design services and published, so that the pages read products on a miss: the
home page's first product grid shows a root category, its second one six picked products, and
the product page's grid ("you may also like") the other root category.

Queries per page on a cache miss are counted in-process (django.test.Client with the shop's
Host, CaptureQueriesContext, STOREFRONT_PAGE_CACHE off, routing and live design warm), for the
home page and for the first product's page, first with 20 products, then again once the
catalog has grown to --products: a page's queries depend on its sections, not on the catalog.

The project is then served by gunicorn (--workers sync workers, DEBUG off, ENVIRONMENT=test, the
cache on REDIS_URL when set, else the database cache) on a free port of 127.0.0.1; every request
carries `Host: <slug>.localhost`, so it goes through the tenant routing middleware. After a
short warm-up of each, wrk loads these paths for --duration seconds, taking turns for --rounds
rounds (so that the paths compared share the machine's moments); each figure is the median of
the rounds:

- bare: GET /healthz on the shop host: routing middleware plus a view that reads nothing (no
  view is added to the project for the benchmark);
- home: GET / (the home layout: banner, badges, category grid, two product grids …);
- product: GET /products/<id> of the first product.

The first server runs with the page cache on (the default): wrk repeats one URL, so home and
product are warm-cache hits (home_rps, product_rps, home_p99_ms, *_fraction_of_bare). A second
server runs with STOREFRONT_PAGE_CACHE=0: every page is rendered (home_cold_rps,
product_cold_rps). The last line is one JSON object; *_fraction_of_bare = that page's req/s /
bare req/s of the same server.

In-process figures beside them: the median time of one request at a time, bare and page hits
(page cache warm) and misses (at both catalog sizes); --sql prints the SQL of the counted misses
with their times, --profile a cProfile of misses and of home page hits (stderr).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
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
BARE_PATH = "/healthz"
HOME_PATH = "/"
SMALL = 20  # the small catalog of the queries-per-page comparison
PICKED = 6  # products picked for the home page's second grid
ACTOR = "benchmark"
MISS_TIMED = 15  # in-process misses timed per page and catalog size
HIT_TIMED = 200  # in-process requests timed per path, page cache warm

COLOURS = ["红", "蓝", "黑", "白", "绿", "灰", "Navy", "Beige"]
SIZES = ["S", "M", "L", "XL", "XXL"]
NOUNS = ["连衣裙", "衬衫", "T恤", "外套", "牛仔裤", "卫衣", "Sneakers", "Backpack", "Jacket"]
ADJECTIVES = ["夏季", "新款", "复古", "轻薄", "Classic", "Organic", "Slim", "Oversized"]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--products", type=int, default=500, help=f"products in the catalog (more than {SMALL})"
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs per page and server (medians reported)"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--sql", action="store_true", help="print the SQL of each counted page to stderr"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of page misses to stderr"
    )
    arguments = parser.parse_args(argv)
    for name in ("duration", "rounds", "threads", "connections", "workers"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if arguments.products <= SMALL:
        parser.error(f"--products must be more than {SMALL}")
    if arguments.connections < arguments.threads:
        parser.error("--connections must be at least --threads")
    return arguments


# --- The catalog and the design


def _image(rng: random.Random) -> bytes:
    from PIL import Image, ImageDraw

    colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    image = Image.new("RGB", (240, 240), colour)
    ImageDraw.Draw(image).ellipse((40, 40, 200, 200), fill=(255 - colour[0], 128, colour[2]))
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=85)
    return output.getvalue()


class _Catalog:
    """The shop's catalog, made through the catalog services (in the shop's schema)."""

    def __init__(self) -> None:
        from shop.catalog.services.categories import category_create

        self.rng = random.Random(20240517)
        self.roots = [
            category_create(name=name, slug=slug) for name, slug in (("服装", "c"), ("鞋包", "s"))
        ]
        self.categories = [
            category_create(name=f"{root.name} {index}", slug=f"{root.slug}-{index}", parent=root)
            for root in self.roots
            for index in range(4)
        ]
        self.product_ids: list[int] = []

    def grow(self, total: int) -> None:
        """Add products until the catalog has `total`."""
        from shop.catalog.services.images import product_image_add
        from shop.catalog.services.products import OptionSpec, product_create

        rng = self.rng
        for index in range(len(self.product_ids), total):
            product = product_create(
                title=f"{rng.choice(ADJECTIVES)}{rng.choice(NOUNS)} {index}",
                subtitle=f"{rng.choice(ADJECTIVES)} · {rng.choice(ADJECTIVES)}",
                description="<p>" + "面料柔软，透气舒适。Soft and breathable. " * 8 + "</p>",
                # Round robin: both root categories have products from the first few on.
                category=self.categories[index % len(self.categories)],
                on_shelf=True,
                options=[
                    OptionSpec("颜色", rng.sample(COLOURS, rng.randint(2, 3))),
                    OptionSpec("尺码", rng.sample(SIZES, rng.randint(2, 3))),
                ],
                price_minor=rng.randrange(990, 99_900, 100),
                stock=rng.randint(1, 50),
                weight_grams=rng.randrange(100, 2000, 50),
            )
            product_image_add(product=product, file=io.BytesIO(_image(rng)), alt=product.title)
            self.product_ids.append(product.pk)


def _grids(pages: dict[str, Any], page: str) -> list[str]:
    return [section["id"] for section in pages.get(page, []) if section["type"] == "product_grid"]


def _design_edit(catalog: _Catalog) -> dict[str, int]:
    """Home: a category grid and a picked-products grid; product page: a category grid."""
    from themes.storefront.selectors import storefront_draft_get
    from themes.storefront.services.design import storefront_publish, storefront_section_update
    from themes.storefront.services.install import storefront_theme_seed

    # The default theme is installed on first use (a visit or the editor): the editor's here.
    storefront_theme_seed()
    draft = storefront_draft_get()
    if draft is None:
        raise RuntimeError("the shop has no storefront design after storefront_theme_seed")
    home = _grids(draft.pages, "home")
    product = _grids(draft.pages, "product")
    if len(home) < 2 or not product:
        raise RuntimeError(
            f"the seeded home page has {len(home)} product grids (2 expected), the product page"
            f" {len(product)} (1 expected): the benchmark expects the daily theme's layouts"
        )
    edits: list[tuple[str, str, dict[str, Any]]] = [
        ("home", home[0], {"category": catalog.roots[0].pk}),
        ("home", home[1], {"products": catalog.product_ids[:PICKED]}),
        ("product", product[0], {"category": catalog.roots[1].pk}),
    ]
    for page, section_id, values in edits:
        draft = storefront_section_update(
            revision=draft.revision, page=page, section_id=section_id, values=values, actor=ACTOR
        )
    version = storefront_publish(revision=draft.revision, actor=ACTOR, note="benchmark")
    return {"design_number": version.number, "home_grids": len(home)}


# --- In-process figures


def _client() -> Any:
    from django.test import Client

    return Client(HTTP_HOST=HOST)


_PRODUCT_LINK = re.compile(r'href="/products/(\d+)"')


def _page_miss(path: str) -> tuple[int, list[str], set[int], int]:
    """SQL queries of one request of `path` with the page cache off; product ids linked; the
    size of the page in bytes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    client = _client()
    with override_settings(STOREFRONT_PAGE_CACHE=False):
        first = client.get(path)  # routing and live design cached, as in a running process
        assert first.status_code == 200, (path, first.status_code, first.content[:500])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.content[:500])
    linked = {int(found) for found in _PRODUCT_LINK.findall(response.content.decode())}
    # A query run as a composed psycopg statement is recorded without its text.
    sql = [
        f"[{query['time']} s] {query['sql'] or '(text not recorded)'}"
        for query in queries.captured_queries
    ]
    return len(queries), sql, linked, len(response.content)


def _page_miss_ms(path: str, count: int) -> float:
    """Median in-process time of `count` requests of `path` with the page cache off."""
    from django.test.utils import override_settings

    client = _client()
    timings = []
    with override_settings(STOREFRONT_PAGE_CACHE=False):
        client.get(path)
        for _ in range(count):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
    return percentile(timings, 0.5)


def _page_profile(path: str, count: int, *, cached: bool) -> None:
    import cProfile
    import pstats

    from django.test.utils import override_settings

    client = _client()
    with override_settings(STOREFRONT_PAGE_CACHE=cached):
        client.get(path)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(count):
            client.get(path)
        profiler.disable()
    what = "cache hit" if cached else "cache miss"
    print(f"--- cProfile of {count} requests of {path} (in-process, {what})", file=sys.stderr)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def _inprocess_ms(path: str, count: int) -> float:
    """Median in-process time of `count` requests of `path`, page cache on (warm)."""
    from django.test.utils import override_settings

    client = _client()
    timings = []
    with override_settings(STOREFRONT_PAGE_CACHE=True):
        for _ in range(5):
            client.get(path)
        for _ in range(count):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
    return percentile(timings, 0.5)


def _page_hit_queries(path: str) -> int:
    """SQL queries of one request of `path` served from the page cache (warm)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    client = _client()
    with override_settings(STOREFRONT_PAGE_CACHE=True):
        assert client.get(path).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(queries)


def _cache_table_queries(sql: list[str]) -> int:
    """Of these queries, those on the database cache's table (none with Redis)."""
    from django.conf import settings

    table = settings.CACHES["default"].get("LOCATION", "")
    if "DatabaseCache" not in settings.CACHES["default"]["BACKEND"]:
        return 0
    return sum(1 for query in sql if f'"{table}"' in query)


# --- The run


def _wrk(url: str, arguments: argparse.Namespace, duration: int) -> Load:
    return wrk_run(
        url,
        host=HOST,
        threads=arguments.threads,
        connections=arguments.connections,
        duration=duration,
    )


def _median_load(runs: list[Load]) -> Load:
    """The rounds of one path as one figure: medians of req/s and latencies, requests summed."""
    return Load(
        rps=percentile([run.rps for run in runs], 0.5),
        requests=sum(run.requests for run in runs),
        p50_ms=percentile([run.p50_ms for run in runs], 0.5),
        p99_ms=percentile([run.p99_ms for run in runs], 0.5),
        errors=sum(run.errors for run in runs),
    )


def _served(
    environment: dict[str, str],
    arguments: argparse.Namespace,
    log: Path,
    paths: list[tuple[str, str]],
    suffix: str,
    loads: dict[str, Load],
) -> None:
    """One server; each path warmed up, then loaded in --rounds rounds taking turns, so that
    the paths compared share the machine's moments (other work on it shifts over time)."""
    from django.db import connection

    runs: dict[str, list[Load]] = {name: [] for name, _ in paths}
    with gunicorn_server(environment, arguments.workers, log, host=HOST) as server:
        for _, path in paths:
            _wrk(server.base_url + path, arguments, min(2, arguments.duration))  # warm-up
        for _ in range(arguments.rounds):
            for name, path in paths:
                runs[name].append(_wrk(server.base_url + path, arguments, arguments.duration))
        connection.close()
    for name, measured in runs.items():
        loads[name + suffix] = _median_load(measured)


def _run(arguments: argparse.Namespace, database_url: str, media_root: Path) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from infra.celery import app
    from infra.db import tenant_schema
    from shop.catalog.models import Sku
    from tests.support.shops import shop_provision

    # An in-memory broker: provisioning's after-commit requests leave nothing in Redis.
    app.conf.update(broker_url="memory://", result_backend=None)
    started = time.perf_counter()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    tenant = shop_provision(SLUG, name="Benchmark shop")
    with tenant_schema(tenant):
        catalog = _Catalog()
        catalog.grow(SMALL)
        design = _design_edit(catalog)
    product_path = f"/products/{catalog.product_ids[0]}"
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    counted: dict[str, Any] = {}
    sql: dict[str, list[str]] = {}
    for size in (SMALL, arguments.products):
        if size > len(catalog.product_ids):
            with tenant_schema(tenant):
                catalog.grow(size)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        for page, path in (("home", HOME_PATH), ("product", product_path)):
            queries, page_sql, linked, size_bytes = _page_miss(path)
            counted[f"{page}_bytes_{size}"] = size_bytes
            counted[f"{page}_miss_ms_{size}"] = round(_page_miss_ms(path, MISS_TIMED), 2)
            if arguments.profile and size == arguments.products:
                _page_profile(path, 20, cached=False)
            counted[f"{page}_queries_{size}"] = queries
            counted[f"{page}_cache_table_queries_{size}"] = _cache_table_queries(page_sql)
            counted[f"{page}_products_shown_{size}"] = len(linked - {catalog.product_ids[0]})
            sql[f"{page} ({size} products)"] = page_sql
    with tenant_schema(tenant):
        skus = Sku.objects.count()
    home_hit_queries = _page_hit_queries(HOME_PATH)
    product_hit_queries = _page_hit_queries(product_path)
    if arguments.profile:
        _page_profile(HOME_PATH, 300, cached=True)
    hit_ms = {
        name: round(_inprocess_ms(path, HIT_TIMED), 3)
        for name, path in (("bare", BARE_PATH), ("home", HOME_PATH), ("product", product_path))
    }
    setup_s = time.perf_counter() - started
    for size in (SMALL, arguments.products):
        # A miss path that reads no products would measure nothing: the grids must show some.
        assert counted[f"home_products_shown_{size}"] >= PICKED, counted
        assert counted[f"product_products_shown_{size}"] >= 1, counted
    # Our connection closed: the server's workers are the only clients during the load.
    connection.close()

    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "infra.settings",
        "ENVIRONMENT": "test",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "LOG_LEVEL": "WARNING",
    }
    paths = [("bare", BARE_PATH), ("home", HOME_PATH), ("product", product_path)]
    loads: dict[str, Load] = {}
    _served(
        {**environment, "STOREFRONT_PAGE_CACHE": "1"},
        arguments,
        media_root / "gunicorn-warm.log",
        paths,
        "",
        loads,
    )
    _served(
        {**environment, "STOREFRONT_PAGE_CACHE": "0"},
        arguments,
        media_root / "gunicorn-cold.log",
        paths,
        "_cold",
        loads,
    )

    bare = loads["bare"].rps
    bare_cold = loads["bare_cold"].rps
    large = arguments.products
    result: dict[str, Any] = {
        "bare_rps": round(bare, 1),
        "home_rps": round(loads["home"].rps, 1),
        "product_rps": round(loads["product"].rps, 1),
        "home_fraction_of_bare": round(loads["home"].rps / bare, 3),
        "product_fraction_of_bare": round(loads["product"].rps / bare, 3),
        "bare_p50_ms": round(loads["bare"].p50_ms, 2),
        "bare_p99_ms": round(loads["bare"].p99_ms, 2),
        "home_p50_ms": round(loads["home"].p50_ms, 2),
        "home_p99_ms": round(loads["home"].p99_ms, 2),
        "product_p50_ms": round(loads["product"].p50_ms, 2),
        "product_p99_ms": round(loads["product"].p99_ms, 2),
        "bare_cold_run_rps": round(bare_cold, 1),
        "bare_cold_run_p50_ms": round(loads["bare_cold"].p50_ms, 2),
        "bare_cold_run_p99_ms": round(loads["bare_cold"].p99_ms, 2),
        "home_cold_rps": round(loads["home_cold"].rps, 1),
        "product_cold_rps": round(loads["product_cold"].rps, 1),
        "home_cold_fraction_of_bare": round(loads["home_cold"].rps / bare_cold, 3),
        "product_cold_fraction_of_bare": round(loads["product_cold"].rps / bare_cold, 3),
        "home_cold_p50_ms": round(loads["home_cold"].p50_ms, 2),
        "home_cold_p99_ms": round(loads["home_cold"].p99_ms, 2),
        "product_cold_p50_ms": round(loads["product_cold"].p50_ms, 2),
        "product_cold_p99_ms": round(loads["product_cold"].p99_ms, 2),
        f"home_queries_{SMALL}": counted[f"home_queries_{SMALL}"],
        f"home_queries_{large}": counted[f"home_queries_{large}"],
        f"product_queries_{SMALL}": counted[f"product_queries_{SMALL}"],
        f"product_queries_{large}": counted[f"product_queries_{large}"],
        "queries_constant": (
            counted[f"home_queries_{large}"] == counted[f"home_queries_{SMALL}"]
            and counted[f"product_queries_{large}"] == counted[f"product_queries_{SMALL}"]
        ),
        "home_hit_queries": home_hit_queries,
        "bare_inprocess_ms": hit_ms["bare"],
        "home_hit_inprocess_ms": hit_ms["home"],
        "product_hit_inprocess_ms": hit_ms["product"],
        "product_hit_queries": product_hit_queries,
        "counted": counted,
        "errors": sum(load.errors for load in loads.values()),
        "requests": {name: load.requests for name, load in loads.items()},
        "products": large,
        "skus": skus,
        "product_path": product_path,
        "workers": arguments.workers,
        "wrk": f"-t{arguments.threads} -c{arguments.connections} -d{arguments.duration}s",
        "rounds": arguments.rounds,
        "duration_s": arguments.duration,
        "cache": "redis" if os.environ.get("REDIS_URL") else "database",
        "load_measures": "page cache on, warm (wrk repeats one URL); *_cold_*: page cache off",
        "setup_s": round(setup_s, 1),
        **design,
        "_sql": sql,
    }
    return result


def _table(result: dict[str, Any]) -> str:
    large = result["products"]
    counted = result["counted"]
    header = f"{'page':<34}{'req/s':>10}{'of bare':>9}{'p50 ms':>9}{'p99 ms':>9}{'requests':>10}"
    lines = [header, "-" * len(header)]
    rows = [  # label, figures' prefix, wrk run, the bare figures' prefix of the same server
        ("bare: /healthz on the shop host", "bare", "bare", "bare"),
        ("home: / (cache warm)", "home", "home", "bare"),
        ("product: /products/<id> (warm)", "product", "product", "bare"),
        ("bare (page-cache-off server)", "bare_cold_run", "bare_cold", "bare_cold_run"),
        ("home: / (page cache off)", "home_cold", "home_cold", "bare_cold_run"),
        ("product: /products/<id> (off)", "product_cold", "product_cold", "bare_cold_run"),
    ]
    for label, prefix, run, reference in rows:
        rps = result[f"{prefix}_rps"]
        lines.append(
            f"{label:<34}{rps:>10.1f}{rps / result[f'{reference}_rps']:>9.3f}"
            f"{result[f'{prefix}_p50_ms']:>9.2f}{result[f'{prefix}_p99_ms']:>9.2f}"
            f"{result['requests'][run]:>10}"
        )
    lines.append("-" * len(header))
    lines.append(
        f"{'SQL queries per page, cache miss':<34}{f'{SMALL} products':>16}"
        f"{f'{large} products':>16}{'equal':>8}"
    )
    for page in ("home", "product"):
        small_count = counted[f"{page}_queries_{SMALL}"]
        large_count = counted[f"{page}_queries_{large}"]
        lines.append(
            f"{page:<34}{small_count:>16}{large_count:>16}"
            f"{'yes' if small_count == large_count else 'NO':>8}"
        )
    lines += [
        f"{'  of which on the cache table':<34}{counted[f'home_cache_table_queries_{SMALL}']:>16}"
        f"{counted[f'home_cache_table_queries_{large}']:>16}   (home)",
        f"{'  products linked by the page':<34}{counted[f'home_products_shown_{SMALL}']:>16}"
        f"{counted[f'home_products_shown_{large}']:>16}   (home)",
        f"{'':<34}{counted[f'product_products_shown_{SMALL}']:>16}"
        f"{counted[f'product_products_shown_{large}']:>16}   (product)",
        f"{'  page size, bytes':<34}{counted[f'home_bytes_{SMALL}']:>16}"
        f"{counted[f'home_bytes_{large}']:>16}   (home)",
        f"{'':<34}{counted[f'product_bytes_{SMALL}']:>16}"
        f"{counted[f'product_bytes_{large}']:>16}   (product)",
        f"{'  in-process time, median ms':<34}{counted[f'home_miss_ms_{SMALL}']:>16.2f}"
        f"{counted[f'home_miss_ms_{large}']:>16.2f}   (home)",
        f"{'':<34}{counted[f'product_miss_ms_{SMALL}']:>16.2f}"
        f"{counted[f'product_miss_ms_{large}']:>16.2f}   (product)",
        f"SQL queries per page, cache hit: home {result['home_hit_queries']},"
        f" product {result['product_hit_queries']}",
        f"in-process, one at a time (median ms): bare {result['bare_inprocess_ms']:.2f},"
        f" home hit {result['home_hit_inprocess_ms']:.2f},"
        f" product hit {result['product_hit_inprocess_ms']:.2f}",
        "-" * len(header),
        "bare = GET /healthz with Host: <shop>.localhost: the tenant routing middleware and the",
        "       full middleware stack, a view that reads nothing (no benchmark URL was added)",
        "warm: page cache on, wrk repeats one URL (hits); off: STOREFRONT_PAGE_CACHE=0, every",
        "       page rendered from the live theme (a miss); of bare = / bare of the same server",
        f"failed responses (non-2xx, socket errors) {result['errors']}",
        f"catalog: {large} products, {result['skus']} SKUs, one image each; design"
        f" #{result['design_number']}: home grids = a category + {PICKED} picked products,"
        " product page grid = a category",
        f"server: gunicorn, {result['workers']} sync workers, DEBUG off, cache: {result['cache']};"
        f" load: wrk {result['wrk']}, {result['rounds']} rounds taking turns (medians)",
        f"setup (migrate, shop, catalog, query counts) {result['setup_s']:.1f} s;"
        f" total {result['total_s']:.1f} s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table, then the figures as one JSON object."""
    arguments = _arguments(argv)
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-storefront-") as media,
        cache_namespace("storefront"),
        benchmark_database("storefront") as database_url,
    ):
        os.environ["MEDIA_ROOT"] = media
        django_setup(database_url)
        result = _run(arguments, database_url, Path(media))
    result["total_s"] = round(time.perf_counter() - started, 1)
    sql = result.pop("_sql")
    if arguments.sql:
        for label, queries in sql.items():
            print(f"--- SQL of the {label} page (cache miss)", file=sys.stderr)
            for query in queries:
                print(query, file=sys.stderr)
    print(_table(result))
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
