"""Many processes buy the last units at once: none oversold, every loser told "sold out"."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from django.db import connections

from infra.db import tenant_schema
from shop.catalog.models import Sku
from shop.customers.models import Address, Member
from shop.orders.errors import SoldOutError
from shop.orders.models import Order
from shop.orders.services.checkout import CheckoutItem, order_checkout
from tenants.models import Tenant
from tests.support.commerce import address_make, member_make, product_make, sku_of
from tests.support.threads import committed

BUYERS = 24
STOCK = 7


def _buy(tenant: Tenant, sku_id: int, address_id: int, results: Any) -> None:
    """In a forked process (its own connection): one checkout of 1 unit."""
    try:
        with tenant_schema(tenant):
            address = Address.objects.get(pk=address_id)
            order = order_checkout(
                member=address.member,
                items=[CheckoutItem(sku_id=sku_id, quantity=1)],
                address_id=address_id,
            )
            results.put(("ok", order.pk))
    except SoldOutError as error:
        results.put((error.code, None))
    except Exception as error:  # noqa: BLE001 - reported to the test
        results.put((repr(error), None))
    finally:
        connections.close_all()


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_processes_buying_the_last_units_never_oversell(shops: dict[str, Tenant]) -> None:
    # given: 7 units and 24 members with an address each, committed
    alpha = shops["alpha"]

    def setup() -> tuple[int, list[int]]:
        with tenant_schema(alpha):
            sku = sku_of(product_make(title="Last units", stock=STOCK))
            return sku.pk, [address_make(member_make()).pk for _ in range(BUYERS)]

    sku_id, address_ids = committed(setup)
    connections.close_all()  # the children open their own connections
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [
        context.Process(target=_buy, args=(alpha, sku_id, address_id, results))
        for address_id in address_ids
    ]
    # when: all buy at once
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    # then
    assert sorted(outcome for outcome, _ in outcomes) == ["ok"] * STOCK + ["sold_out"] * (
        BUYERS - STOCK
    )

    def state() -> tuple[int, int]:
        with tenant_schema(alpha):
            return (
                Sku.objects.get(pk=sku_id).stock,
                Order.objects.filter(lines__sku_id=sku_id).count(),
            )

    try:
        assert committed(state) == (0, STOCK)
    finally:
        committed(lambda: _forget(alpha, sku_id, address_ids))


def _forget(tenant: Tenant, sku_id: int, address_ids: list[int]) -> None:
    """Delete what the test committed in the shared shop (other tests count members)."""
    with tenant_schema(tenant):
        member_ids = list(
            Address.objects.filter(pk__in=address_ids).values_list("member_id", flat=True)
        )
        Order.objects.filter(member_id__in=member_ids).delete()
        Member.objects.filter(pk__in=member_ids).delete()
        sku = Sku.objects.get(pk=sku_id)
        product = sku.product
        sku.delete()
        product.delete()
