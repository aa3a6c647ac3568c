"""Distributor grades: automatic upgrades (any / all of the conditions, each condition), the
retention rule's one-step downgrade and its lock, the merchant's override (locked, audited), the
nightly pass (idempotent, queries not growing with the shop), upgrades from order events, and the
grade list's rules (rank unique, at most 3 levels of rates, delete only when unused)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from distribution.errors import GradeInUseError, GradeNotFoundError
from distribution.models import Distributor, Grade, GradeChange
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.grades import (
    grade_create,
    grade_delete,
    grade_evaluate,
    grade_set_manual,
    grade_stats,
    grade_update,
    grades_nightly,
)
from distribution.services.settings import distribution_settings_update
from distribution.tasks import grades_nightly_task
from infra.errors import ValidationFailed
from shop.customers.models import Member
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.orders.services.orders import order_receive, order_ship, orders_progress
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.support.commerce import member_make, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db


def _on(depth: int = 2) -> None:
    distribution_settings_update(
        changes={"enabled": True, "depth": depth, "level_rates": [1000, 500, 200][:depth]},
        actor="a",
    )


def _grade(name: str, rank: int, **values: Any) -> Grade:
    return grade_create(values={"name": name, "rank": rank, **values})


def _distributor(member: Member | None = None) -> Member:
    member = member or member_make()
    distributor_make(member=member)
    return member


def _invite(upline: Member, member: Member | None = None) -> Member:
    member = member or member_make()
    result = referral_bind(
        member=member, code=distributor_make(member=upline).code, trigger="first_visit"
    )
    assert result.bound, result
    return member


def _paid(member: Member, *, price_minor: int, product: Any = None) -> Order:
    product = product or product_make(price_minor=price_minor, stock=50)
    order = order_make(member=member, items=[(sku_of(product), 1)])
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    return order


def _grade_of(member: Member) -> str:
    distributor = Distributor.objects.select_related("grade").get(member=member)
    if distributor.grade is not None:
        return distributor.grade.name
    default = Grade.objects.filter(is_default=True).first()
    return default.name if default else ""


def _changes(member: Member) -> list[tuple[str, str, str, str]]:
    return [
        (change.from_grade_name, change.to_grade_name, change.reason, change.actor)
        for change in GradeChange.objects.filter(member=member).order_by("id")
    ]


# --- Upgrades


def test_any_mode_upgrades_on_one_condition_and_records_why(shop: Tenant) -> None:
    # given: VIP needs 2 invites or 1000.00 of own spend
    _on()
    _grade("普通", 0, is_default=True)
    _grade("VIP", 10, condition_mode="any", invites_min=2, own_spend_min_minor=100000)
    upline = _distributor()
    _invite(upline)
    assert _grade_of(upline) == "普通"
    # when: the second invite binds (the binding service evaluates the upline)
    _invite(upline)
    # then
    assert _grade_of(upline) == "VIP"
    assert _changes(upline) == [("普通", "VIP", "auto_upgrade", "system")]
    distributor = Distributor.objects.get(member=upline)
    assert distributor.grade_since is not None
    assert distributor.grade_locked is False


def test_all_mode_waits_for_every_condition(shop: Tenant) -> None:
    # given: VIP needs 1 invite and 1 own order
    _on()
    _grade("VIP", 10, condition_mode="all", invites_min=1, own_orders_min=1)
    member = _distributor()
    _invite(member)
    # when: only the invite
    first = grade_evaluate(member_id=member.pk)
    # then
    assert first is None
    assert _grade_of(member) == ""
    # when: and an order
    _paid(member, price_minor=100)
    second = grade_evaluate(member_id=member.pk)
    # then
    assert second is not None
    assert (second.from_grade_id, second.to_grade_name) == (None, "VIP")
    assert _grade_of(member) == "VIP"


def test_an_upgrade_goes_to_the_highest_grade_reached(shop: Tenant) -> None:
    # given
    _on()
    _grade("VIP", 10, own_orders_min=1)
    _grade("SVIP", 20, own_orders_min=2)
    _grade("Manager", 30, own_orders_min=5)
    member = _distributor()
    _paid(member, price_minor=100)
    _paid(member, price_minor=100)
    # when
    grade_evaluate(member_id=member.pk)
    # then
    assert _grade_of(member) == "SVIP"
    assert _changes(member) == [("", "SVIP", "auto_upgrade", "system")]


def test_a_grade_without_conditions_is_never_reached_automatically(shop: Tenant) -> None:
    # given
    _on()
    _grade("Partner", 50)
    member = _distributor()
    _paid(member, price_minor=100000)
    # when
    change = grade_evaluate(member_id=member.pk)
    # then
    assert change is None
    assert not GradeChange.objects.filter(member=member).exists()


def _team() -> tuple[Member, Member, Member, Member]:
    """top ← child ← grandchild ← great-grandchild, all distributors."""
    top = _distributor()
    child = _distributor(_invite(top))
    grandchild = _distributor(_invite(child))
    great = _distributor(_invite(grandchild))
    return top, child, grandchild, great


@pytest.mark.parametrize(
    "condition",
    [
        "invites_min",
        "own_spend_min_minor",
        "own_orders_min",
        "team_spend_min_minor",
        "team_orders_min",
    ],
)
def test_each_condition_upgrades_at_its_threshold_and_not_below(
    shop: Tenant, condition: str
) -> None:
    # given: depth 2, so the team is the child and the grandchild (not the great-grandchild);
    # the top has 1 invite already
    _on(depth=2)
    top, child, grandchild, great = _team()
    thresholds = {
        "invites_min": 2,
        "own_spend_min_minor": 5000,
        "own_orders_min": 2,
        "team_spend_min_minor": 3000,
        "team_orders_min": 2,
    }
    _grade("VIP", 10, **{condition: thresholds[condition]})
    below: dict[str, Callable[[], object]] = {
        "invites_min": lambda: None,  # one invite
        "own_spend_min_minor": lambda: _paid(top, price_minor=4999),
        "own_orders_min": lambda: _paid(top, price_minor=100),
        # 29.99 in the team, and more three levels down (beyond the team)
        "team_spend_min_minor": lambda: (
            _paid(grandchild, price_minor=2999),
            _paid(great, price_minor=100000),
            _paid(top, price_minor=100000),
        ),
        "team_orders_min": lambda: (_paid(child, price_minor=100), _paid(great, price_minor=100)),
    }
    at: dict[str, Callable[[], object]] = {
        "invites_min": lambda: _invite(top),
        "own_spend_min_minor": lambda: _paid(top, price_minor=1),
        "own_orders_min": lambda: _paid(top, price_minor=100),
        "team_spend_min_minor": lambda: _paid(child, price_minor=1),
        "team_orders_min": lambda: _paid(grandchild, price_minor=100),
    }
    # when: just below the threshold
    below[condition]()
    grade_evaluate(member_id=top.pk)
    # then
    assert _grade_of(top) == ""
    # when: at it
    at[condition]()
    grade_evaluate(member_id=top.pk)
    # then
    assert _grade_of(top) == "VIP"
    assert _changes(top) == [("", "VIP", "auto_upgrade", "system")]


def test_bought_product_upgrades_on_any_of_the_products(shop: Tenant) -> None:
    # given
    _on()
    gift = product_make(title="礼包", price_minor=39900, stock=10)
    other = product_make(title="Tea", price_minor=100, stock=10)
    _grade("VIP", 10, product_ids=[gift.pk])
    member = _distributor()
    _paid(member, price_minor=100, product=other)
    assert grade_evaluate(member_id=member.pk) is None
    # when
    _paid(member, price_minor=39900, product=gift)
    change = grade_evaluate(member_id=member.pk)
    # then
    assert change is not None
    assert _grade_of(member) == "VIP"


def test_own_spend_is_paid_minus_refunded_and_ignores_unpaid_orders(shop: Tenant) -> None:
    # given: 100.00 paid with 30.00 refunded, and an unpaid order of 500.00
    _on()
    member = _distributor()
    paid = _paid(member, price_minor=10000)
    Order.objects.filter(pk=paid.pk).update(refunded_minor=3000)
    order_make(member=member, price_minor=50000)
    # when
    stats = grade_stats(since={member.pk: None}, depth=2)[member.pk]
    # then
    assert (stats.own_spend_minor, stats.own_orders) == (7000, 1)


# --- Retention


def _held_for(member: Member, days: int) -> None:
    Distributor.objects.filter(member=member).update(
        grade_since=timezone.now() - timedelta(days=days)
    )


def test_retention_downgrades_one_step_when_the_window_falls_short(shop: Tenant) -> None:
    # given: SVIP is kept only with 100.00 of own spend over the last 30 days; held 31 days,
    # its last order paid 40 days ago
    _on()
    _grade("普通", 0, is_default=True)
    _grade("VIP", 10, own_orders_min=1)
    _grade("SVIP", 20, own_orders_min=1, retention_days=30, retention_own_spend_min_minor=10000)
    member = _distributor()
    order = _paid(member, price_minor=20000)
    grade_evaluate(member_id=member.pk)
    assert _grade_of(member) == "SVIP"
    _held_for(member, 31)
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=40))
    # when
    change = grade_evaluate(member_id=member.pk)
    # then: one step down (VIP, not 普通), audited, and upgrades now count only new activity
    assert change is not None
    assert _grade_of(member) == "VIP"
    assert _changes(member)[-1] == ("SVIP", "VIP", "retention_downgrade", "system")
    distributor = Distributor.objects.get(member=member)
    assert distributor.grade_counts_since is not None
    # when: evaluated again (the lifetime order would meet SVIP's condition)
    again = grade_evaluate(member_id=member.pk)
    # then: the retention lock holds; VIP has no retention, so it stays
    assert again is None
    assert _grade_of(member) == "VIP"
    # when: a new order after the downgrade
    _paid(member, price_minor=100)
    back = grade_evaluate(member_id=member.pk)
    # then: re-qualified by new activity
    assert back is not None
    assert _grade_of(member) == "SVIP"


def test_retention_keeps_the_grade_when_the_window_meets_it(shop: Tenant) -> None:
    # given: spend inside the window
    _on()
    _grade("VIP", 10, own_orders_min=1, retention_days=30, retention_own_spend_min_minor=10000)
    member = _distributor()
    _paid(member, price_minor=10000)
    grade_evaluate(member_id=member.pk)
    _held_for(member, 31)
    # when
    change = grade_evaluate(member_id=member.pk)
    # then
    assert change is None
    assert _grade_of(member) == "VIP"


def test_retention_without_thresholds_uses_the_conditions_over_the_window(shop: Tenant) -> None:
    # given: VIP needs 2 orders, kept while there were 2 in the last 30 days; to the default
    _on()
    _grade("普通", 0, is_default=True)
    _grade("VIP", 10, own_orders_min=2, retention_days=30)
    member = _distributor()
    first = _paid(member, price_minor=100)
    _paid(member, price_minor=100)
    grade_evaluate(member_id=member.pk)
    assert _grade_of(member) == "VIP"
    _held_for(member, 31)
    Order.objects.filter(pk=first.pk).update(paid_at=timezone.now() - timedelta(days=45))
    # when
    grade_evaluate(member_id=member.pk)
    # then: down to the default grade (stored as no grade of their own)
    assert _grade_of(member) == "普通"
    assert Distributor.objects.get(member=member).grade_id is None
    assert _changes(member)[-1] == ("VIP", "普通", "retention_downgrade", "system")


def test_a_grade_held_shorter_than_the_window_is_not_checked(shop: Tenant) -> None:
    # given: upgraded just now, no spend in the window would be needed yet
    _on()
    _grade("VIP", 10, own_orders_min=1, retention_days=30, retention_own_spend_min_minor=999999)
    member = _distributor()
    _paid(member, price_minor=100)
    grade_evaluate(member_id=member.pk)
    # when
    change = grade_evaluate(member_id=member.pk)
    # then
    assert change is None
    assert _grade_of(member) == "VIP"


# --- Manual override


def test_the_manual_override_locks_and_audits(shop: Tenant) -> None:
    # given
    _on()
    _grade("普通", 0, is_default=True)
    manager = _grade("区域经理", 30)
    _grade("VIP", 10, own_orders_min=1, retention_days=1, retention_own_spend_min_minor=10**9)
    member = _distributor()
    # when
    change = grade_set_manual(
        member_id=member.pk, grade_id=manager.pk, actor="account:7 boss@example.com", note="区域"
    )
    # then
    assert (change.from_grade_name, change.to_grade_name, change.reason) == (
        "普通",
        "区域经理",
        "manual",
    )
    assert (change.actor, change.note) == ("account:7 boss@example.com", "区域")
    distributor = Distributor.objects.get(member=member)
    assert (distributor.grade_id, distributor.grade_locked) == (manager.pk, True)
    # when: set by hand to VIP, held long past its retention, nothing in the window
    grade_set_manual(member_id=member.pk, grade_id=None, actor="a", note="")
    assert _grade_of(member) == "普通"
    vip = Grade.objects.get(name="VIP")
    grade_set_manual(member_id=member.pk, grade_id=vip.pk, actor="a", note="trial")
    _held_for(member, 10)
    _paid(member, price_minor=100)
    nightly = grades_nightly()
    # then: the lock keeps it
    assert nightly == 0
    assert _grade_of(member) == "VIP"
    # when: handed back to automation
    grade_set_manual(member_id=member.pk, grade_id=vip.pk, actor="a", note="auto", lock=False)
    _held_for(member, 10)
    grade_evaluate(member_id=member.pk)
    # then: retention applies again
    assert _grade_of(member) == "普通"
    assert [c[2] for c in _changes(member)] == [
        "manual",
        "manual",
        "manual",
        "manual",
        "retention_downgrade",
    ]


def test_the_manual_override_refuses_unknowns_and_changes_nothing(shop: Tenant) -> None:
    # given
    _on()
    vip = _grade("VIP", 10)
    member = _distributor()
    stranger = member_make()
    # when / then
    with pytest.raises(GradeNotFoundError):
        grade_set_manual(member_id=member.pk, grade_id=vip.pk + 999, actor="a")
    from distribution.errors import DistributorNotFoundError

    with pytest.raises(DistributorNotFoundError):
        grade_set_manual(member_id=stranger.pk, grade_id=vip.pk, actor="a")
    with pytest.raises(ValidationFailed):
        grade_set_manual(member_id=member.pk, grade_id=vip.pk, actor="a", note="x" * 501)
    assert not GradeChange.objects.exists()
    assert Distributor.objects.get(member=member).grade_id is None


def test_grade_changes_are_append_only_in_the_database(shop: Tenant) -> None:
    # given
    _on()
    vip = _grade("VIP", 10)
    member = _distributor()
    change = grade_set_manual(member_id=member.pk, grade_id=vip.pk, actor="a", note="n")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        GradeChange.objects.filter(pk=change.pk).update(note="changed")
    with pytest.raises(IntegrityError), transaction.atomic():
        GradeChange.objects.filter(pk=change.pk).delete()
    assert GradeChange.objects.get(pk=change.pk).note == "n"


# --- Nightly


def test_the_nightly_task_is_idempotent_and_its_queries_do_not_grow_with_the_shop(
    shop: Tenant,
) -> None:
    # given: 3 distributors who qualify
    _on()
    _grade("VIP", 10, own_orders_min=1)
    few = [_distributor() for _ in range(3)]
    for member in few:
        _paid(member, price_minor=100)
    # when
    with CaptureQueriesContext(connection) as small:
        first = grades_nightly_task()
    second = grades_nightly_task()
    # then
    assert (first, second) == (3, 0)
    assert all(_grade_of(member) == "VIP" for member in few)
    # given: 20 more
    many = [_distributor() for _ in range(20)]
    for member in many:
        _paid(member, price_minor=100)
    # when
    with CaptureQueriesContext(connection) as large:
        third = grades_nightly_task()
    # then: the same number of queries for 23 distributors as for 3
    assert third == 20
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_nightly_pass_leaves_disabled_distributors_alone(shop: Tenant) -> None:
    # given
    _on()
    _grade("VIP", 10, own_orders_min=1)
    member = _distributor()
    _paid(member, price_minor=100)
    Distributor.objects.filter(member=member).update(status=Distributor.Status.DISABLED)
    # when
    changed = grades_nightly()
    # then
    assert changed == 0
    assert _grade_of(member) == ""


# --- Events


def _deliver(topic: str, order: Order) -> None:
    for event in OutboxEvent.objects.filter(topic=topic, payload__order_id=order.pk):
        event_deliver(event_id=event.pk)


def test_an_order_paid_event_upgrades_the_buyer_and_their_upline(shop: Tenant) -> None:
    # given: VIP at 1 own order; Leader at 100.00 of team spend
    _on()
    _grade("VIP", 10, own_orders_min=1)
    _grade("Leader", 20, team_spend_min_minor=10000)
    upline = _distributor()
    buyer = _distributor(_invite(upline))
    order = _paid(buyer, price_minor=10000)
    assert (_grade_of(buyer), _grade_of(upline)) == ("", "")
    # when
    _deliver("order.paid", order)
    # then
    assert _grade_of(buyer) == "VIP"
    assert _grade_of(upline) == "Leader"


def test_an_order_completed_event_evaluates_again(shop: Tenant) -> None:
    # given: paid and delivered before VIP existed
    _on()
    buyer = _distributor()
    order = _paid(buyer, price_minor=5000)
    _deliver("order.paid", order)
    _grade("VIP", 10, own_spend_min_minor=5000)
    # when: shipped, received, completed by the timer, the event delivered
    order_ship(order=order, carrier="SF", tracking_number="1", actor="account:1")
    order_receive(order=order, actor=f"member:{buyer.pk}")
    order.refresh_from_db()
    assert order.complete_at is not None
    orders_progress(now=order.complete_at)
    _deliver("order.completed", order)
    # then
    assert _grade_of(buyer) == "VIP"


# --- The grade list


def test_grades_validate_and_refuse_bad_input_without_changes(shop: Tenant) -> None:
    # given
    vip = _grade("VIP", 10, level_rates=[1500, 800, 300])
    # when / then: a taken rank, four levels, over 100 %, a retention of 0 days
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"name": "SVIP", "rank": 10}, "rank", "rank_taken"),
        ({"name": "VIP", "rank": 11}, "name", "name_taken"),
        (
            {"name": "X", "rank": 12, "level_rates": [1, 2, 3, 4]},
            "level_rates",
            "depth_exceeds_limit",
        ),
        (
            {"name": "X", "rank": 12, "level_rates": [6000, 5000]},
            "level_rates",
            "rates_exceed_sale",
        ),
        ({"name": "X", "rank": 12, "retention_days": 0}, "retention_days", "min_value"),
        ({"name": "X", "rank": 12, "own_spend_min_minor": -1}, "own_spend_min_minor", "min_value"),
        ({"name": "X", "rank": 12, "product_ids": [10**12]}, "product_ids", "unknown_product"),
        ({"name": "X", "rank": 12, "condition_mode": "some"}, "condition_mode", "invalid_choice"),
        ({"name": "X", "rank": 12, "colour": "red"}, "colour", "unknown"),
    ]
    for values, field, code in cases:
        with pytest.raises(ValidationFailed) as raised:
            grade_create(values=values)
        assert raised.value.code == "validation_failed"
        assert [item["code"] for item in raised.value.fields[field]] == [code], values
    assert list(Grade.objects.values_list("name", flat=True)) == ["VIP"]
    with pytest.raises(ValidationFailed):
        grade_update(grade_id=vip.pk, changes={"level_rates": [1, 2, 3, 4]})
    vip.refresh_from_db()
    assert list(vip.level_rates) == [1500, 800, 300]


def test_the_database_refuses_more_than_three_levels_of_rates(shop: Tenant) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Grade.objects.create(name="X", rank=1, level_rates=[1, 2, 3, 4])


def test_one_default_grade_at_a_time(shop: Tenant) -> None:
    # given
    first = _grade("普通", 0, is_default=True)
    # when
    second = _grade("Basic", 1, is_default=True)
    # then
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_a_grade_is_deleted_only_when_unused(shop: Tenant) -> None:
    # given
    _on()
    vip = _grade("VIP", 10)
    default = _grade("普通", 0, is_default=True)
    unused = _grade("Old", 5)
    member = _distributor()
    grade_set_manual(member_id=member.pk, grade_id=vip.pk, actor="a")
    # when / then
    with pytest.raises(GradeInUseError):
        grade_delete(grade_id=vip.pk)
    _distributor()  # holds the default grade by having none
    with pytest.raises(GradeInUseError):
        grade_delete(grade_id=default.pk)
    grade_delete(grade_id=unused.pk)
    assert set(Grade.objects.values_list("name", flat=True)) == {"VIP", "普通"}
    with pytest.raises(GradeNotFoundError):
        grade_delete(grade_id=unused.pk)
