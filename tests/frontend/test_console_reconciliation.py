"""The console's reconciliation page: runs by day and provider, unexplained differences by kind,
marking one explained (who and how recorded), running a day now; owners and admins only act."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from infra.db import tenant_schema
from shop.payments.models import Payment, ReconciliationMismatch, ReconciliationRun
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Account, Role, Tenant
from tests.support.commerce import order_make
from tests.support.console import console_client, console_login

BASE = "/console/alpha/orders/reconciliation"
DAY = date(2026, 3, 14)


@pytest.fixture
def owner(shop: Tenant) -> tuple[Client, Account]:
    return console_login(shop, Role.OWNER, "boss@example.com")


@pytest.fixture
def staff_client(shop: Tenant) -> Client:
    return console_client(shop, Role.STAFF, "staff@example.com")


def _seed() -> dict[str, ReconciliationMismatch]:
    """One unexplained difference of each kind on one WeChat Pay run, and one explained."""
    run = ReconciliationRun.objects.create(
        gateway="wechatpay",
        bill_date=DAY,
        finished_at=timezone.now(),
        provider_rows=5,
        matched=1,
        mismatches=4,
    )
    kinds = {
        "missing_here": {
            "out_trade_no": "X1P01",
            "provider_amount_minor": 1200,
            "provider_status": "SUCCESS",
        },
        "missing_at_provider": {
            "out_trade_no": "X2P01",
            "our_amount_minor": 3300,
            "our_status": "succeeded",
        },
        "amount": {
            "out_trade_no": "X3P01",
            "our_amount_minor": 1000,
            "provider_amount_minor": 990,
            "our_status": "succeeded",
            "provider_status": "SUCCESS",
        },
        "status": {
            "out_trade_no": "X4P01",
            "our_amount_minor": 500,
            "provider_amount_minor": 500,
            "our_status": "pending",
            "provider_status": "SUCCESS",
        },
    }
    seeded = {
        kind: ReconciliationMismatch.objects.create(run=run, kind=kind, **fields)
        for kind, fields in kinds.items()
    }
    ReconciliationMismatch.objects.create(
        run=run,
        kind="amount",
        out_trade_no="OLD1P01",
        resolved_at=timezone.now(),
        resolved_by="system",
        resolution_note="Old one",
    )
    return seeded


def _listed(html: str) -> list[int]:
    return [
        int(pk) for pk in re.findall(r'<li class="record mismatch" data-mismatch="(\d+)">', html)
    ]


def test_the_page_lists_unexplained_differences_by_kind(owner: tuple[Client, Account]) -> None:
    # given
    client, _account = owner
    seeded = _seed()
    # when
    everything = client.get(f"{BASE}/")
    amounts = client.get(f"{BASE}/", {"kind": "amount"})
    # then
    html = everything.content.decode()
    assert everything.status_code == 200
    assert _listed(html) == [item.pk for item in seeded.values()]
    assert re.search(r'data-kind="" aria-current="page">All <span class="count">4</span>', html)
    assert 'data-kind="missing_here">Missing here <span class="count">1</span>' in html
    assert 'data-kind="amount">Amounts differ <span class="count">1</span>' in html
    assert "<code>X3P01</code>" in html
    assert "CN¥10.00 · succeeded" in html
    assert "CN¥9.90 · SUCCESS" in html
    assert "CN¥33.00 · succeeded" in html
    assert "WeChat Pay · 2026-03-14" in html
    assert '<tr data-run="' in html
    assert "Old one" in html  # recently explained
    assert _listed(amounts.content.decode()) == [seeded["amount"].pk]


def test_resolving_a_difference_records_who_and_the_note(owner: tuple[Client, Account]) -> None:
    # given
    client, account = owner
    seeded = _seed()
    mismatch = seeded["missing_here"]
    # when
    response = client.post(
        f"{BASE}/mismatches/{mismatch.pk}/resolve/",
        {f"m{mismatch.pk}-note": "  Paid at the counter, recorded by hand  "},
    )
    # then
    assert response.status_code == 302
    mismatch.refresh_from_db()
    assert mismatch.resolved_at is not None
    assert (mismatch.resolved_by, mismatch.resolution_note) == (
        f"account:{account.pk}",
        "Paid at the counter, recorded by hand",
    )
    html = client.get(f"{BASE}/").content.decode()
    assert mismatch.pk not in _listed(html)
    assert f'data-resolved="{mismatch.pk}"' in html
    assert "boss@example.com" in html


def test_resolving_needs_a_note(owner: tuple[Client, Account]) -> None:
    # given
    client, _account = owner
    mismatch = _seed()["amount"]
    # when
    response = client.post(
        f"{BASE}/mismatches/{mismatch.pk}/resolve/", {f"m{mismatch.pk}-note": ""}
    )
    # then
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    mismatch.refresh_from_db()
    assert (mismatch.resolved_at, mismatch.resolved_by) == (None, "")


def test_staff_may_look_but_not_resolve_nor_run(staff_client: Client) -> None:
    # given
    mismatch = _seed()["status"]
    # when
    page = staff_client.get(f"{BASE}/").content.decode()
    resolve = staff_client.post(
        f"{BASE}/mismatches/{mismatch.pk}/resolve/", {f"m{mismatch.pk}-note": "x"}
    )
    run = staff_client.post(f"{BASE}/run/", {"gateway": "sandbox", "day": "2026-03-13"})
    # then
    assert mismatch.pk in _listed(page)
    assert 'id="run-form"' not in page
    assert "Mark as explained" not in page
    assert (resolve.status_code, run.status_code) == (403, 403)
    mismatch.refresh_from_db()
    assert mismatch.resolved_at is None
    assert ReconciliationRun.objects.count() == 1


def test_running_a_day_now_stores_the_run_and_its_differences(
    owner: tuple[Client, Account], shop: Tenant
) -> None:
    # given: a sandbox payment that succeeded yesterday (the sandbox's bill is empty)
    client, _account = owner
    order = order_make(price_minor=4200)
    started = payment_start(order=order, method="sandbox", notify_url="http://alpha.localhost/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    zone = ZoneInfo(shop.time_zone)
    yesterday = timezone.localtime(timezone.now(), zone).date() - timedelta(days=1)
    Payment.objects.filter(pk=started.payment.pk).update(
        succeeded_at=timezone.now() - timedelta(days=1)
    )
    # when
    response = client.post(f"{BASE}/run/", {"gateway": "sandbox", "day": yesterday.isoformat()})
    # then
    assert response.status_code == 302
    run = ReconciliationRun.objects.get(gateway="sandbox", bill_date=yesterday)
    assert (run.provider_rows, run.matched, run.mismatches, run.error) == (0, 0, 1, "")
    mismatch = ReconciliationMismatch.objects.get(run=run)
    assert (mismatch.kind, mismatch.out_trade_no, mismatch.our_amount_minor) == (
        "missing_at_provider",
        started.payment.out_trade_no,
        4200,
    )
    html = client.get(f"{BASE}/").content.decode()
    assert f"Sandbox, {yesterday.isoformat()}: 0 matched, 1 differences." in html
    assert mismatch.pk in _listed(html)


def test_today_cannot_be_reconciled_yet(owner: tuple[Client, Account], shop: Tenant) -> None:
    # given
    client, _account = owner
    today = timezone.localtime(timezone.now(), ZoneInfo(shop.time_zone)).date()
    # when
    response = client.post(f"{BASE}/run/", {"gateway": "sandbox", "day": today.isoformat()})
    # then
    assert response.status_code == 400
    assert "Choose a day before today: its bill is complete." in response.content.decode()
    assert not ReconciliationRun.objects.exists()


def test_a_difference_of_another_shop_is_not_found(
    owner: tuple[Client, Account], other_shop: Tenant
) -> None:
    # given
    client, _account = owner
    with tenant_schema(other_shop):
        foreign = _seed()["amount"]
    ReconciliationMismatch.objects.filter(pk=foreign.pk).delete()  # the same id here, if any
    # when
    response = client.post(f"{BASE}/mismatches/{foreign.pk}/resolve/", {f"m{foreign.pk}-note": "x"})
    # then
    assert response.status_code == 404
    with tenant_schema(other_shop):
        foreign.refresh_from_db()
        assert foreign.resolved_at is None
