"""Benchmark: booking and settling commissions through the order-paid path, beside a bulk insert.

    python -m tests.benchmarks.commission [--orders 20000] [--buyers 300]

Runs in a database of its own (created, migrated, dropped) on the server of DATABASE_URL. One
shop is provisioned with distribution on (depth 3, 10 % / 5 % / 2 %) and three distributor
chains: buyers bound so that a third of the orders have an upline chain of depth 1, a third
depth 2 and a third depth 3. The paid orders (one line each) are written in bulk: what is
measured is the commission path, not checkout.

- book: `commissions_book`, the function the `order.paid` subscriber runs, one transaction per
  order as the outbox delivers it (decisions, commission rows, ledger postings, the ledger's
  commit-time balance check). queries_per_order_depthN: SQL statements of one booking at each
  depth (the issue allows depth 3 at most 2 more than depth 1).
- settle_s: every order's commissions moved pending → frozen → available: the received
  subscriber's move, one transaction per order, then one run of the settlement's unfreeze job
  (distribution.services.settlement, after the shop's freeze days) releasing all of them
  set-based, one ledger posting per distributor.
- reference: the same number of ledger rows (a transaction and two entries per commission)
  written with one bulk insert per table, in one transaction.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

from tests.benchmarks._common import benchmark_database, django_setup

SLUG = "bench"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20000, help="paid orders to book")
    parser.add_argument("--buyers", type=int, default=300, help="buyers (a third per depth)")
    arguments = parser.parse_args(argv)
    if arguments.orders < 3 or arguments.buyers < 3:
        parser.error("--orders and --buyers must be at least 3")
    return arguments


def _setup(arguments: argparse.Namespace) -> tuple[Any, dict[int, list[int]]]:
    """The shop, its settings, chains and buyers, and the paid orders; order ids by depth."""
    from django.core.management import call_command
    from django.utils import timezone

    from distribution.services.bindings import distributor_make, referral_bind
    from distribution.services.settings import distribution_settings_update
    from infra.celery import app
    from infra.db import tenant_schema
    from shop.customers.models import Member
    from shop.orders.models import Order, OrderLine, OrderStatus
    from tests.support.commerce import product_make, sku_of
    from tests.support.shops import shop_provision

    app.conf.update(broker_url="memory://", result_backend=None)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    tenant = shop_provision(SLUG, name="Benchmark shop")
    by_depth: dict[int, list[int]] = {1: [], 2: [], 3: []}
    with tenant_schema(tenant):
        # Every order here is paid within the same minute by a few hundred buyers, which the
        # velocity rules (risk holds) would rightly hold: they are switched off so that the
        # commissions reach settlement. Their query still runs for every booking.
        distribution_settings_update(
            changes={
                "enabled": True,
                "depth": 3,
                "level_rates": [1000, 500, 200],
                "risk_buyer_orders_per_day": 0,
                "risk_earner_orders_per_hour": 0,
            },
            actor="benchmark",
        )
        # One chain top ← middle ← bottom: buyers under top have depth 1, and so on.
        top, middle, bottom = (Member.objects.create(nickname=f"d{i}") for i in range(3))
        for member in (top, middle, bottom):
            distributor_make(member=member)
        referral_bind(member=middle, code=distributor_make(member=top).code, trigger="first_visit")
        referral_bind(
            member=bottom, code=distributor_make(member=middle).code, trigger="first_visit"
        )
        uplines = {1: top, 2: middle, 3: bottom}
        buyers: dict[int, list[Member]] = {1: [], 2: [], 3: []}
        for index in range(arguments.buyers):
            depth = index % 3 + 1
            buyer = Member.objects.create(nickname=f"buyer {index}")
            referral_bind(
                member=buyer,
                code=distributor_make(member=uplines[depth]).code,
                trigger="first_visit",
            )
            buyers[depth].append(buyer)
        sku = sku_of(product_make(title="Bench tea", price_minor=9999, stock=0))
        now = timezone.now()
        orders = []
        for index in range(arguments.orders):
            depth = index % 3 + 1
            buyer = buyers[depth][index // 3 % len(buyers[depth])]
            orders.append(
                Order(
                    number=f"B{index:015d}",
                    member=buyer,
                    status=OrderStatus.PAID,
                    currency="CNY",
                    items_minor=9999,
                    total_minor=9999,
                    recipient_name="x",
                    recipient_phone_encrypted="x",
                    province="广东省",
                    city="深圳市",
                    address_detail="x",
                    pay_deadline=now + timedelta(minutes=30),
                    paid_at=now,
                )
            )
        created = Order.objects.bulk_create(orders, batch_size=2000)
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    sku=sku,
                    product_id=sku.product_id,
                    sku_code=sku.code,
                    title="Bench tea",
                    unit_price_minor=9999,
                    quantity=1,
                    paid_minor=9999,
                )
                for order in created
            ],
            batch_size=2000,
        )
        for index, order in enumerate(created):
            by_depth[index % 3 + 1].append(order.pk)
    return tenant, by_depth


def _run(arguments: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from distribution.models import Commission, LedgerAccount, LedgerEntry, LedgerTransaction
    from distribution.services.commissions import commissions_book, commissions_move
    from distribution.services.settings import distribution_settings_get
    from distribution.services.settlement import settlement_unfreeze
    from infra.db import tenant_schema

    started = time.perf_counter()
    tenant, by_depth = _setup(arguments)
    setup_s = time.perf_counter() - started
    with tenant_schema(tenant):
        # Queries of one booking per depth (the first order of each depth, warm connection).
        queries: dict[int, int] = {}
        samples = []
        for depth in (1, 2, 3):  # warm-up: the first booking of a chain opens its accounts
            order_id = by_depth[depth].pop(0)
            samples.append(order_id)
            with transaction.atomic():
                commissions_book(order_id=order_id, event_id=str(uuid.uuid4()))
        sql: dict[int, list[str]] = {}
        for depth in (1, 2, 3):
            order_id = by_depth[depth].pop(0)
            samples.append(order_id)
            with CaptureQueriesContext(connection) as captured, transaction.atomic():
                commissions_book(order_id=order_id, event_id=str(uuid.uuid4()))
            queries[depth] = len(captured.captured_queries)
            sql[depth] = [query["sql"][:120] for query in captured.captured_queries]
        if os.environ.get("BENCH_SQL"):
            print("\n".join(sql[3]), file=sys.stderr)
        order_ids = [order_id for depth in (1, 2, 3) for order_id in by_depth[depth]]
        order_ids.sort()
        booked_started = time.perf_counter()
        for order_id in order_ids:
            with transaction.atomic():
                commissions_book(order_id=order_id, event_id=str(uuid.uuid4()))
        book_s = time.perf_counter() - booked_started
        all_ids = sorted([*order_ids, *samples])
        settle_started = time.perf_counter()
        for order_id in all_ids:
            with transaction.atomic():
                commissions_move(order_id=order_id, step="received")
        freeze_days = distribution_settings_get().freeze_days
        release_started = time.perf_counter()
        run = settlement_unfreeze(at=timezone.now() + timedelta(days=freeze_days, hours=1))
        release_s = time.perf_counter() - release_started
        settle_s = time.perf_counter() - settle_started
        released = run.commissions if run is not None else 0
        commissions = Commission.objects.count()
        available = Commission.objects.filter(state="available").count()
        by_state = dict(
            Commission.objects.values("state")
            .annotate(count=Count("id"))
            .values_list("state", "count")
        )
        # The reference: as many ledger rows as the bookings wrote, in bulk.
        accounts = list(LedgerAccount.objects.order_by("id")[:2])
        reference_started = time.perf_counter()
        with transaction.atomic():
            transactions = LedgerTransaction.objects.bulk_create(
                [
                    LedgerTransaction(source="bench", source_id=str(i), purpose="bulk")
                    for i in range(commissions)
                ],
                batch_size=5000,
            )
            LedgerEntry.objects.bulk_create(
                [
                    LedgerEntry(
                        transaction=t, account=account, amount_minor=sign * 100, currency="CNY"
                    )
                    for t in transactions
                    for account, sign in zip(accounts, (-1, 1), strict=True)
                ],
                batch_size=5000,
            )
        reference_s = time.perf_counter() - reference_started
    orders = arguments.orders
    return {
        "orders": orders,
        "orders_per_s": round((orders - 6) / book_s, 1),
        "queries_per_order_depth1": queries[1],
        "queries_per_order_depth2": queries[2],
        "queries_per_order_depth3": queries[3],
        "settle_s": round(settle_s, 2),
        "release_s": round(release_s, 3),
        "book_s": round(book_s, 2),
        "commissions": commissions,
        "available": available,
        "released_by_settlement": released,
        "commissions_by_state": by_state,
        "reference_bulk_insert_s": round(reference_s, 2),
        "reference_rows": commissions * 3,
        "setup_s": round(setup_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    started = time.perf_counter()
    with benchmark_database("commission") as database_url:
        django_setup(database_url)
        result = _run(arguments)
    result["total_s"] = round(time.perf_counter() - started, 1)
    print(
        f"{result['orders']} paid orders: booked at {result['orders_per_s']:.1f} orders/s "
        f"({result['commissions']} commissions in {result['book_s']:.1f} s); queries per order "
        f"by depth 1/2/3: {result['queries_per_order_depth1']}/"
        f"{result['queries_per_order_depth2']}/{result['queries_per_order_depth3']}; "
        f"settled (pending → frozen → available) in {result['settle_s']:.1f} s; "
        f"reference bulk insert of {result['reference_rows']} ledger rows "
        f"{result['reference_bulk_insert_s']:.2f} s"
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
