"""Settlement: frozen commissions become available after the shop's freeze days, hourly or on
day N of the month in the shop's time zone; once per period, even run twice or concurrently."""

from __future__ import annotations

import functools
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from distribution.models import Commission, LedgerAccountKind, LedgerTransaction, SettlementRun
from distribution.services.commissions import commissions_reverse_for_refund
from distribution.services.ledger import ledger_account_for, ledger_balance, ledger_post
from distribution.services.settings import distribution_settings_update
from distribution.services.settlement import settlement_periodic, settlement_unfreeze
from distribution.tasks import settlement_periodic_task, settlement_unfreeze_task
from infra.db import tenant_schema
from tenants.models import Tenant
from tests.distribution.settlement_support import balance, chain, frozen, paid
from tests.support.commerce import member_make, order_make
from tests.support.threads import committed, run_in_threads

Kind = LedgerAccountKind
SHANGHAI = ZoneInfo("Asia/Shanghai")


def balance_of(member_id: int, kind: str) -> int:
    return ledger_balance(account=ledger_account_for(member_id=member_id, kind=kind))


def _frozen_at(order_id: int) -> datetime:
    return max(
        Commission.objects.filter(order_id=order_id).values_list("state_changed_at", flat=True)
    )


def _settlement_postings() -> int:
    return LedgerTransaction.objects.filter(source="settlement").count()


def _next_day(day_of_month: int, after: date) -> date:
    """The first date on or after `after` that is that day of its month."""
    day = after
    while day.day != day_of_month:
        day += timedelta(days=1)
    return day


@pytest.mark.django_db
def test_the_unfreeze_job_releases_once_the_freeze_days_have_passed(shop: Tenant) -> None:
    # given: 3 freeze days; a frozen commission of 5.00 and a pending one of 3.00 (not received)
    distribution_settings_update(changes={"enabled": True, "freeze_days": 3}, actor="a")
    upline, buyer = chain(2)
    order = frozen(paid(buyer, price_minor=5000))
    pending = paid(buyer, price_minor=3000)
    frozen_at = _frozen_at(order.pk)
    # when: a run a second before the 3 days are over, then one an hour after
    early = settlement_unfreeze(at=frozen_at + timedelta(days=3, seconds=-1))
    after_early = (balance(upline, Kind.COMMISSION_FROZEN), _settlement_postings())
    late = settlement_unfreeze(at=frozen_at + timedelta(days=3, hours=1))
    # then: nothing early; then exactly the frozen commission, in one posting
    assert after_early == (500, 0)
    assert early is not None
    assert (early.commissions, early.released_minor, early.finished_at is not None) == (0, 0, True)
    assert late is not None
    assert (late.commissions, late.distributors, late.released_minor) == (1, 1, 500)
    assert balance(upline, Kind.COMMISSION_FROZEN) == 0
    assert balance(upline, Kind.COMMISSION_AVAILABLE) == 500
    assert balance(upline, Kind.COMMISSION_PENDING) == 300
    assert Commission.objects.get(order=order).state == "available"
    assert Commission.objects.get(order=pending).state == "pending"
    posting = LedgerTransaction.objects.get(source="settlement")
    assert (posting.source_id, posting.purpose) == (
        f"unfreeze:{(frozen_at + timedelta(days=3, hours=1)).astimezone(UTC):%Y-%m-%dT%H}",
        f"release:{upline.pk}",
    )


@pytest.mark.django_db
def test_a_second_run_in_the_same_hour_books_nothing(shop: Tenant) -> None:
    # given: two frozen commissions of two distributors, released by a run
    distribution_settings_update(
        changes={"enabled": True, "freeze_days": 0, "depth": 2, "level_rates": [1000, 500]},
        actor="a",
    )
    grand, upline, buyer = chain(3)
    order = frozen(paid(buyer, price_minor=10000))
    at = (_frozen_at(order.pk) + timedelta(hours=1)).replace(minute=30, second=0, microsecond=0)
    first = settlement_unfreeze(at=at)
    postings = _settlement_postings()
    # when: the job runs again in the same hour, after another commission froze
    later = frozen(paid(buyer, price_minor=2000))
    again = settlement_unfreeze(at=at + timedelta(seconds=1))
    # then: the same run, nothing more booked; the new one waits for the next hour
    assert first is not None
    assert again is not None
    assert again.pk == first.pk
    assert (first.distributors, first.released_minor) == (2, 1500)
    assert _settlement_postings() == postings == 2
    assert (
        balance(upline, Kind.COMMISSION_AVAILABLE),
        balance(grand, Kind.COMMISSION_AVAILABLE),
    ) == (
        1000,
        500,
    )
    assert Commission.objects.filter(order=later, state="frozen").count() == 2
    next_hour = settlement_unfreeze(at=at + timedelta(hours=1))
    assert next_hour is not None
    assert next_hour.released_minor == 300
    assert balance(upline, Kind.COMMISSION_AVAILABLE) == 1200


@pytest.mark.django_db
def test_the_unfreeze_job_leaves_shops_with_a_settlement_day_alone(shop: Tenant) -> None:
    # given: settlement on day 5; a frozen commission long past its freeze days
    distribution_settings_update(
        changes={"enabled": True, "freeze_days": 0, "settlement_day": 5}, actor="a"
    )
    upline, buyer = chain(2)
    order = frozen(paid(buyer, price_minor=5000))
    # when
    result = settlement_unfreeze(at=_frozen_at(order.pk) + timedelta(days=40))
    # then
    assert result is None
    assert balance(upline, Kind.COMMISSION_FROZEN) == 500
    assert not SettlementRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "settles"), [("UTC", False), ("Asia/Shanghai", True)], ids=["utc", "shanghai"]
)
def test_day_n_is_the_shops_own_day(
    shop: Tenant, monkeypatch: pytest.MonkeyPatch, zone: str, settles: bool
) -> None:
    # given: settlement on day 5, 1 freeze day; a frozen commission; the shop's time zone
    monkeypatch.setattr(shop, "time_zone", zone)
    distribution_settings_update(
        changes={"enabled": True, "freeze_days": 1, "settlement_day": 5}, actor="a"
    )
    upline, buyer = chain(2)
    order = frozen(paid(buyer, price_minor=5000))
    fifth = _next_day(5, (_frozen_at(order.pk) + timedelta(days=2)).date())
    # when: 00:30 on the 5th in Shanghai, which is 16:30 on the 4th in UTC
    at = datetime(fifth.year, fifth.month, 5, 0, 30, tzinfo=SHANGHAI)
    before = settlement_periodic(at=at - timedelta(hours=1))
    result = settlement_periodic(at=at)
    # then: the Shanghai shop settles (its 5th began), the UTC shop not yet (still its 4th);
    # neither settles at 23:30 on the 4th in Shanghai
    assert before is None
    assert (result is not None) is settles
    assert balance(upline, Kind.COMMISSION_AVAILABLE) == (500 if settles else 0)
    assert balance(upline, Kind.COMMISSION_FROZEN) == (0 if settles else 500)
    if result is not None:
        assert result.period == f"{fifth:%Y-%m}"


@pytest.mark.django_db
def test_day_n_releases_only_what_passed_its_freeze_days_once_a_month(shop: Tenant) -> None:
    # given: settlement on day 10, 7 freeze days; one commission frozen 10 days before day 10,
    # another frozen 2 days before it
    distribution_settings_update(
        changes={"enabled": True, "freeze_days": 7, "settlement_day": 10}, actor="a"
    )
    upline, buyer = chain(2)
    old = frozen(paid(buyer, price_minor=5000))
    recent = frozen(paid(buyer, price_minor=2000))
    tenth = _next_day(10, (timezone.now() + timedelta(days=1)).date())
    day_n = datetime(tenth.year, tenth.month, 10, 8, 0, tzinfo=UTC)
    Commission.objects.filter(order=old).update(state_changed_at=day_n - timedelta(days=10))
    Commission.objects.filter(order=recent).update(state_changed_at=day_n - timedelta(days=2))
    # when: the 9th, the 10th, the 10th again, the 11th; then day 10 of the next month
    ninth = settlement_periodic(at=day_n - timedelta(days=1))
    first = settlement_periodic(at=day_n)
    postings = _settlement_postings()
    again = settlement_periodic(at=day_n + timedelta(hours=3))
    eleventh = settlement_periodic(at=day_n + timedelta(days=1))
    after_month = (
        balance(upline, Kind.COMMISSION_AVAILABLE),
        _settlement_postings(),
        Commission.objects.get(order=recent).state,
    )
    next_tenth = _next_day(10, tenth + timedelta(days=1))
    following = settlement_periodic(
        at=datetime(next_tenth.year, next_tenth.month, 10, 8, 0, tzinfo=UTC)
    )
    # then: nothing early; on the 10th only the commission past its 7 days; the same run (and
    # nothing booked) on the later calls; the other on the next month's 10th
    assert ninth is None
    assert first is not None
    assert again is not None
    assert eleventh is not None
    assert first.pk == again.pk == eleventh.pk
    assert (first.commissions, first.released_minor) == (1, 500)
    assert after_month == (500, postings, "frozen")
    assert following is not None
    assert following.released_minor == 200
    assert balance(upline, Kind.COMMISSION_AVAILABLE) == 700


@pytest.mark.django_db
def test_the_tasks_run_the_settlement_in_the_shop(shop: Tenant) -> None:
    # given: no settlement day; a commission frozen long ago
    distribution_settings_update(changes={"enabled": True, "freeze_days": 1}, actor="a")
    upline, buyer = chain(2)
    order = frozen(paid(buyer, price_minor=4000))
    Commission.objects.filter(order=order).update(
        state_changed_at=timezone.now() - timedelta(days=2)
    )
    # when
    periodic = settlement_periodic_task()
    released = settlement_unfreeze_task()
    # then
    assert (periodic, released) == (0, 400)
    assert balance(upline, Kind.COMMISSION_AVAILABLE) == 400


def _frozen_commissions(alpha: Tenant, count: int) -> tuple[list[int], list[int]]:
    """Committed: `count` frozen commissions of 1.00 for each of two new distributors, with
    their money in the ledger (expense → frozen); (member ids, commission ids)."""

    def make() -> tuple[list[int], list[int]]:
        with tenant_schema(alpha):
            buyer = member_make()
            uplines = [member_make(), member_make()]
            expense = ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE)
            ids = []
            for upline in uplines:
                for _index in range(count):
                    order = order_make(member=buyer)
                    ids.append(
                        Commission.objects.create(
                            order=order,
                            order_line=order.lines.get(),
                            level=1,
                            beneficiary=upline,
                            buyer=buyer,
                            currency=alpha.currency,
                            base_minor=1000,
                            rate_kind="percentage",
                            rate=1000,
                            amount_minor=100,
                            state=Commission.State.FROZEN,
                            event_id=uuid.uuid4().hex,
                        ).pk
                    )
                ledger_post(
                    source="test",
                    source_id=uuid.uuid4().hex,
                    purpose="frozen",
                    lines=[
                        (expense, -100 * count),
                        (
                            ledger_account_for(member_id=upline.pk, kind=Kind.COMMISSION_FROZEN),
                            100 * count,
                        ),
                    ],
                )
            return [upline.pk for upline in uplines], ids

    return committed(make)


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_release_each_commission_once(shops: dict[str, Tenant]) -> None:
    # given: 5 frozen commissions for each of two distributors, committed; a far-away hour
    # of its own (the shop's freeze days are its defaults)
    alpha = shops["alpha"]
    members, commission_ids = _frozen_commissions(alpha, 5)
    at = (timezone.now() + timedelta(days=4000 + random.randint(0, 50000))).replace(
        minute=10, second=0, microsecond=0
    )
    results: list[object] = []

    def run(offset: int) -> int | None:
        with tenant_schema(alpha):
            result = settlement_unfreeze(at=at + timedelta(seconds=offset))
            return result.pk if result is not None else None

    try:
        # when: eight runs of the same hour at once
        results = run_in_threads([functools.partial(run, index) for index in range(8)])
        # then: one run; each distributor released once, in one posting
        with tenant_schema(alpha):
            assert len(set(results)) == 1
            assert all(isinstance(result, int) for result in results)
            for member_id in members:
                postings = LedgerTransaction.objects.filter(
                    source="settlement", entries__account__member_id=member_id
                ).distinct()
                assert postings.count() == 1
                assert (
                    balance_of(member_id, Kind.COMMISSION_FROZEN),
                    balance_of(member_id, Kind.COMMISSION_AVAILABLE),
                ) == (0, 500)
            assert set(
                Commission.objects.filter(pk__in=commission_ids).values_list("state", flat=True)
            ) == {"available"}
    finally:
        with tenant_schema(alpha):
            SettlementRun.objects.filter(pk__in=[r for r in results if isinstance(r, int)]).delete()
            Commission.objects.filter(pk__in=commission_ids).delete()


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_refunds_racing_the_settlement_reverse_each_commission_once(
    shops: dict[str, Tenant],
) -> None:
    # given: 3 frozen commissions of 1.00 for each of two distributors, committed
    alpha = shops["alpha"]
    members, commission_ids = _frozen_commissions(alpha, 3)
    refunded_ids = commission_ids[::2]  # some of each distributor's
    at = (timezone.now() + timedelta(days=4000 + random.randint(0, 50000))).replace(
        minute=20, second=0, microsecond=0
    )
    runs: list[object] = []

    def settle() -> int | None:
        with tenant_schema(alpha):
            result = settlement_unfreeze(at=at)
            return result.pk if result is not None else None

    def refund_one(commission_id: int) -> int:
        with tenant_schema(alpha):
            commission = Commission.objects.select_related("order_line").get(pk=commission_id)
            return commissions_reverse_for_refund(
                order_id=commission.order_id,
                refund_lines=[
                    {
                        "line_id": commission.order_line_id,
                        "amount_minor": commission.order_line.paid_minor,
                    }
                ],
                event_id=uuid.uuid4().hex,
            )

    try:
        # when: three settlement runs and the refunds at once
        results = run_in_threads(
            [settle] * 3
            + [functools.partial(refund_one, commission_id) for commission_id in refunded_ids]
        )
        runs = results[:3]
        # then: no error; each refunded commission reversed once (from frozen or, once
        # released, from available), the others released once
        assert not [result for result in results if isinstance(result, BaseException)]
        assert results[3:] == [100] * len(refunded_ids)
        with tenant_schema(alpha):
            states = dict(
                Commission.objects.filter(pk__in=commission_ids).values_list("pk", "state")
            )
            assert {states[pk] for pk in refunded_ids} == {"reversed"}
            assert {states[pk] for pk in set(commission_ids) - set(refunded_ids)} == {"available"}
            for member_id in members:
                left = Commission.objects.filter(
                    beneficiary_id=member_id, state="available"
                ).count()
                assert (
                    balance_of(member_id, Kind.COMMISSION_FROZEN),
                    balance_of(member_id, Kind.COMMISSION_AVAILABLE),
                ) == (0, 100 * left)
    finally:
        with tenant_schema(alpha):
            SettlementRun.objects.filter(pk__in=[r for r in runs if isinstance(r, int)]).delete()
            Commission.objects.filter(pk__in=commission_ids).delete()
