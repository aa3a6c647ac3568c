"""Daily reconciliation: each provider's bill for a day against our payments and refunds.

The bill's rows (already in minor units: WeChat's bills are in 元, its gateway converts) are
matched by our references. Each difference is stored by kind: missing here (the provider has
it, we do not), missing at the provider, amount, status. A re-run of the same day replaces the
run's unresolved items and keeps the resolved ones.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from billing.selectors import payment_providers_of
from shop.core.selectors import shop_context
from shop.payments.gateways import gateway_get
from shop.payments.gateways.base import BillRow, GatewayError
from shop.payments.models import (
    Payment,
    ReconciliationMismatch,
    ReconciliationRun,
    Refund,
)

logger = logging.getLogger(__name__)
Kind = ReconciliationMismatch.Kind


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = shop_context().time_zone
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


def _mismatches(
    *, gateway: str, day: date, rows: list[BillRow]
) -> tuple[int, list[ReconciliationMismatch]]:
    start, end = _day_bounds(day)
    payments = _match(
        record_type="payment",
        theirs={row.out_trade_no: row for row in rows if row.record_type == "payment"},
        records=Payment.objects.filter(gateway=gateway),
        reference="out_trade_no",
        succeeded=Payment.Status.SUCCEEDED,
        start=start,
        end=end,
    )
    refunds = _match(
        record_type="refund",
        theirs={row.out_refund_no: row for row in rows if row.record_type == "refund"},
        records=Refund.objects.filter(payment__gateway=gateway),
        reference="out_refund_no",
        succeeded=Refund.Status.SUCCEEDED,
        start=start,
        end=end,
    )
    return payments[0] + refunds[0], payments[1] + refunds[1]


def _match(
    *,
    record_type: str,
    theirs: dict[str, BillRow],
    records: QuerySet[Any],
    reference: str,
    succeeded: str,
    start: datetime,
    end: datetime,
) -> tuple[int, list[ReconciliationMismatch]]:
    """Match the bill's rows of one kind (payments or refunds) to our records by reference.

    Ours of the day are those that succeeded in it; a bill row whose record succeeded on
    another day (or never) is looked up by its reference.
    """
    ours_today = {
        getattr(record, reference): record
        for record in records.filter(
            status=succeeded, succeeded_at__gte=start, succeeded_at__lt=end
        )
    }
    elsewhere = {
        getattr(record, reference): record
        for record in records.filter(
            **{f"{reference}__in": [no for no in theirs if no not in ours_today]}
        )
    }
    found: list[ReconciliationMismatch] = []
    matched = 0
    for number, row in theirs.items():
        ours = ours_today.get(number) or elsewhere.get(number)
        item = ReconciliationMismatch(
            record_type=record_type,
            out_trade_no=number,
            provider_ref=row.provider_ref,
            provider_amount_minor=row.amount_minor,
            provider_status=row.status,
        )
        if ours is None:
            item.kind = Kind.MISSING_HERE
        elif ours.status != succeeded or row.status != "succeeded":
            item.kind = Kind.STATUS
        elif ours.amount_minor != row.amount_minor:
            item.kind = Kind.AMOUNT
        else:
            matched += 1
            continue
        if ours is not None:
            item.our_amount_minor, item.our_status = ours.amount_minor, ours.status
        found.append(item)
    for number, ours in ours_today.items():
        if number not in theirs:
            found.append(
                ReconciliationMismatch(
                    kind=Kind.MISSING_AT_PROVIDER,
                    record_type=record_type,
                    out_trade_no=number,
                    provider_ref=ours.provider_ref,
                    our_amount_minor=ours.amount_minor,
                    our_status=ours.status,
                )
            )
    return matched, found


def reconcile_gateway(*, gateway: str, day: date) -> ReconciliationRun:
    """Fetch the gateway's bill for `day` and store the run and its mismatches."""
    run, _created = ReconciliationRun.objects.get_or_create(gateway=gateway, bill_date=day)
    try:
        rows = gateway_get(gateway).bill_rows(tenant_id=shop_context().tenant_id, bill_date=day)
    except GatewayError as error:
        ReconciliationRun.objects.filter(pk=run.pk).update(
            error=str(error)[:500], finished_at=timezone.now()
        )
        run.refresh_from_db()
        return run
    matched, found = _mismatches(gateway=gateway, day=day, rows=rows)
    with transaction.atomic():
        ReconciliationMismatch.objects.filter(run=run, resolved_at__isnull=True).delete()
        for item in found:
            item.run = run
        ReconciliationMismatch.objects.bulk_create(found, ignore_conflicts=True)
        run.provider_rows = len(rows)
        run.matched = matched
        run.mismatches = len(found)
        run.error = ""
        run.finished_at = timezone.now()
        run.save(update_fields=["provider_rows", "matched", "mismatches", "error", "finished_at"])
    return run


def reconcile_day(*, bill_date: str | None = None) -> dict[str, int]:
    """Reconcile every provider the shop has an account with; mismatches per gateway."""
    if bill_date is None:
        today = timezone.localtime(timezone.now(), shop_context().time_zone).date()
        day = today - timedelta(days=1)
    else:
        day = date.fromisoformat(bill_date)
    result: dict[str, int] = {}
    for provider in payment_providers_of(tenant_id=shop_context().tenant_id):
        result[provider] = reconcile_gateway(gateway=provider, day=day).mismatches
    return result


@transaction.atomic
def mismatch_resolve(
    *, mismatch: ReconciliationMismatch, actor: str, note: str
) -> ReconciliationMismatch:
    """Staff mark a mismatch as explained (with a note)."""
    ReconciliationMismatch.objects.filter(pk=mismatch.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor, resolution_note=note.strip()[:500]
    )
    mismatch.refresh_from_db()
    return mismatch
