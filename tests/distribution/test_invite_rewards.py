"""Invite rewards: a bound member's first paid order earns their upline the reward, capped per
upline and shop-local day and by what the order paid without shipping; booked, held, frozen and
reversed on refunds like every commission, explained on the order, and only with the merchant's
acknowledgement of the risk."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from distribution.errors import RiskAcknowledgementRequiredError
from distribution.models import (
    Commission,
    CommissionDecision,
    DistributionSettings,
    LedgerAccountKind,
    LedgerTransaction,
    RiskFlag,
)
from distribution.selectors import (
    order_commission_explanation,
    order_commission_explanation_for_console,
)
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.invites import invite_reward_book
from distribution.services.ledger import ledger_account_for, ledger_balance
from distribution.services.qualification import distributor_disable
from distribution.services.settings import distribution_settings_update
from infra.db import tenant_schema
from infra.errors import ValidationFailed
from shop.customers.models import Member
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.distribution.settlement_support import balance, deliver, frozen, refund
from tests.support.commerce import member_make, order_make, product_make, sku_of
from tests.support.threads import committed, run_in_threads

pytestmark = pytest.mark.django_db
Kind = LedgerAccountKind
SHANGHAI = ZoneInfo("Asia/Shanghai")
THREADS = 8


def _on(*, reward: int = 500, cap: int = 5, **changes: object) -> None:
    distribution_settings_update(
        changes={
            "enabled": True,
            "depth": 1,
            "level_rates": [1000],
            "invite_reward_minor": reward,
            "invite_reward_daily_cap": cap,
            **changes,
        },
        actor="t",
        acknowledge_risks=True,
    )


def _recruit(upline: Member) -> Member:
    """A new member bound to the upline (an active distributor)."""
    member = member_make()
    code = distributor_make(member=upline).code
    referral_bind(member=member, code=code, trigger="first_visit")
    return member


def _paid(
    member: Member,
    *,
    price_minor: int = 10000,
    paid_at: datetime | None = None,
    device: str = "",
) -> Order:
    """A paid order (paid at `paid_at` when given), order.paid delivered."""
    order = order_make(
        member=member, items=[(sku_of(product_make(price_minor=price_minor, stock=50)), 1)]
    )
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    Order.objects.filter(pk=order.pk).update(
        device_id=device, **({"paid_at": paid_at} if paid_at else {})
    )
    order.refresh_from_db()
    deliver("order.paid", order)
    return order


def _shop_expense() -> int:
    return ledger_balance(
        account=ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE)
    )


def _invites(upline: Member) -> list[tuple[int, int, str]]:
    return list(
        Commission.objects.filter(kind="invite", beneficiary=upline)
        .order_by("id")
        .values_list("order_id", "amount_minor", "state")
    )


def test_the_first_paid_order_of_a_bound_member_rewards_their_upline(shop: Tenant) -> None:
    # given: 5.00 per new buyer; 10 % to the direct upline
    _on(reward=500)
    upline = member_make()
    buyer = _recruit(upline)
    expense = _shop_expense()
    # when: the buyer's first and second paid orders of 100.00
    first = _paid(buyer)
    second = _paid(buyer)
    # then: the reward once, on the first order's first line, beside the level commission
    assert _invites(upline) == [(first.pk, 500, "pending")]
    reward = Commission.objects.get(kind="invite", beneficiary=upline)
    assert (reward.level, reward.order_line_id) == (0, first.lines.get().pk)
    assert (reward.rule["reward_minor"], reward.rule["daily_cap"]) == (500, 5)
    assert balance(upline, Kind.COMMISSION_PENDING) == 500 + 1000 + 1000
    assert _shop_expense() - expense == -(500 + 1000 + 1000)
    assert Commission.objects.filter(order=second, kind="invite").count() == 0
    # and the order's explanation says it, with the amount
    explanation = order_commission_explanation(order_id=first.pk)
    assert [(item["level"], item["member_id"], item["reason"]) for item in explanation] == [
        (0, upline.pk, "invite_reward"),
        (1, upline.pk, "earns"),
    ]
    assert (explanation[0]["amount_minor"], explanation[1]["amount_minor"]) == (500, 1000)
    console = order_commission_explanation_for_console(order_id=first.pk)
    assert [item["amount_minor"] for item in console] == [500, 1000]


def test_the_reward_is_at_most_what_the_order_paid_without_shipping(shop: Tenant) -> None:
    # given: 50.00 per new buyer
    _on(reward=5000)
    upline = member_make()
    buyer = _recruit(upline)
    # when: a first order of 30.00
    order = _paid(buyer, price_minor=3000)
    # then
    assert order.total_minor - order.shipping_minor == 3000
    assert _invites(upline) == [(order.pk, 3000, "pending")]


def test_the_daily_cap_counts_the_shops_own_day(
    shop: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: one reward per upline per day, in a Shanghai shop; three recruits
    monkeypatch.setattr(shop, "time_zone", "Asia/Shanghai")
    _on(reward=500, cap=1)
    upline = member_make()
    late, later, next_day = _recruit(upline), _recruit(upline), _recruit(upline)
    day = timezone.localdate(timezone=SHANGHAI) - timedelta(days=1)
    evening = datetime(day.year, day.month, day.day, 23, 30, tzinfo=SHANGHAI)
    # when: first orders paid at 23:30 and 23:50, and at 00:10 the next day in Shanghai (all
    # three on the same day in UTC: 15:30, 15:50, 16:10)
    first = _paid(late, paid_at=evening)
    capped = _paid(later, paid_at=evening + timedelta(minutes=20))
    after_midnight = _paid(next_day, paid_at=evening + timedelta(minutes=40))
    # then: the second of the day gets nothing and says why; the next day's gets one again
    assert _invites(upline) == [(first.pk, 500, "pending"), (after_midnight.pk, 500, "pending")]
    assert [
        (item["member_id"], item["reason"])
        for item in order_commission_explanation(order_id=capped.pk)
        if item["level"] == 0
    ] == [(upline.pk, "invite_cap_reached")]
    assert Commission.objects.get(kind="invite", order=after_midnight).rule["day"] == (
        (day + timedelta(days=1)).isoformat()
    )


def test_a_refund_reverses_the_invite_reward(shop: Tenant) -> None:
    # given: a rewarded first order, received (frozen)
    _on(reward=500)
    upline = member_make()
    expense = _shop_expense()
    order = frozen(_paid(_recruit(upline)))
    assert balance(upline, Kind.COMMISSION_FROZEN) == 500 + 1000
    # when: all of it is refunded
    refund(order, quantity=1)
    # then: the reward is reversed with the level commission; the day still counts it
    assert _invites(upline) == [(order.pk, 500, "reversed")]
    assert Commission.objects.get(kind="invite", beneficiary=upline).reversed_minor == 500
    assert balance(upline, Kind.COMMISSION_FROZEN) == 0
    assert _shop_expense() == expense


def test_booking_the_reward_again_books_nothing(shop: Tenant) -> None:
    # given
    _on(reward=500)
    upline = member_make()
    order = _paid(_recruit(upline))
    # when
    again = invite_reward_book(order_id=order.pk, event_id="replay")
    # then
    assert again == []
    assert len(_invites(upline)) == 1
    assert (
        LedgerTransaction.objects.filter(
            source="order", source_id=str(order.pk), purpose="invite_book"
        ).count()
        == 1
    )
    assert balance(upline, Kind.COMMISSION_PENDING) == 1500


def test_no_reward_without_an_active_upline_or_a_reward(shop: Tenant) -> None:
    # given: an upline the merchant disabled; no reward set at first for another recruit
    _on(reward=500)
    disabled = member_make()
    orphan = _recruit(disabled)
    distributor_disable(member_id=disabled.pk, actor="account:1")
    # when
    order = _paid(orphan)
    _on(reward=0, cap=0)
    upline = member_make()
    unrewarded = _paid(_recruit(upline))
    # then
    assert not Commission.objects.filter(kind="invite", beneficiary__in=[disabled, upline]).exists()
    assert not CommissionDecision.objects.filter(
        order__in=[order, unrewarded], reason__startswith="invite"
    ).exists()


def test_a_risk_rule_holds_the_invite_reward(shop: Tenant) -> None:
    # given: the upline paid an order from the device their recruit pays from
    _on(reward=500)
    upline = member_make()
    buyer = _recruit(upline)
    _paid(upline, device="shared-phone")
    # when
    order = _paid(buyer, device="shared-phone")
    # then: held for review, in commission_held
    assert _invites(upline) == [(order.pk, 500, "held")]
    flag = RiskFlag.objects.get(order=order, kind="invite")
    assert (flag.member_id, flag.held_minor, flag.rules[0]) == (upline.pk, 500, "shared_device")
    assert balance(upline, Kind.COMMISSION_HELD) == 500 + 1000


def test_invite_rewards_need_the_acknowledgement_and_a_daily_cap(shop: Tenant) -> None:
    # given
    distribution_settings_update(changes={"enabled": True}, actor="t")
    # when: a reward without "I understand"
    with pytest.raises(RiskAcknowledgementRequiredError):
        distribution_settings_update(
            changes={"invite_reward_minor": 500, "invite_reward_daily_cap": 3}, actor="t"
        )
    # and: with it, but without a cap
    with pytest.raises(ValidationFailed) as uncapped:
        distribution_settings_update(
            changes={"invite_reward_minor": 500, "invite_reward_daily_cap": 0},
            actor="t",
            acknowledge_risks=True,
        )
    # then: nothing changed
    assert uncapped.value.fields["invite_reward_daily_cap"][0]["code"] == "required"
    settings = DistributionSettings.objects.get()
    assert (settings.invite_reward_minor, settings.risk_acknowledged) == (0, [])
    # when: with both
    saved = distribution_settings_update(
        changes={"invite_reward_minor": 500, "invite_reward_daily_cap": 3},
        actor="account:7",
        acknowledge_risks=True,
    )
    # then
    assert (saved.invite_reward_minor, saved.invite_reward_daily_cap) == (500, 3)
    assert list(saved.risk_acknowledged) == ["invite_reward"]


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_orders_never_exceed_the_daily_cap(shops: dict[str, Tenant]) -> None:
    # given: one reward per upline per day; eight recruits' first orders paid, their
    # order.paid events not yet delivered (committed, in the session shop)
    alpha = shops["alpha"]
    fields = (
        "enabled",
        "depth",
        "level_rates",
        "invite_reward_minor",
        "invite_reward_daily_cap",
        "risk_acknowledged",
        "risk_acknowledged_at",
        "risk_acknowledged_by",
    )

    def given() -> tuple[dict[str, object], int, list[str]]:
        with tenant_schema(alpha):
            settings = DistributionSettings.objects.get()
            before = {name: getattr(settings, name) for name in fields}
            _on(reward=500, cap=1)
            upline = member_make()
            events = []
            for _ in range(THREADS):
                order = order_make(member=_recruit(upline))
                Order.objects.filter(pk=order.pk).update(device_id="")
                started = payment_start(order=order, method="sandbox", notify_url="http://x/")
                payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
                events.append(
                    str(OutboxEvent.objects.get(topic="order.paid", payload__order_id=order.pk).pk)
                )
            return before, upline.pk, events

    before, upline_id, events = committed(given)

    def deliver_one(event_id: str) -> list[str]:
        with tenant_schema(alpha):
            return event_deliver(event_id=event_id)

    try:
        # when: the eight events are delivered at once
        results = run_in_threads([functools.partial(deliver_one, event) for event in events])
        # then: one reward; the other seven say the day's cap was reached
        assert not [result for result in results if isinstance(result, BaseException)]
        with tenant_schema(alpha):
            rewards = Commission.objects.filter(kind="invite", beneficiary_id=upline_id)
            assert rewards.count() == 1
            assert (
                CommissionDecision.objects.filter(
                    member_id=upline_id, reason="invite_cap_reached"
                ).count()
                == THREADS - 1
            )
            assert (
                ledger_balance(
                    account=ledger_account_for(member_id=upline_id, kind=Kind.COMMISSION_PENDING)
                )
                == 500 + THREADS * 100
            )
    finally:

        def restore() -> None:
            with tenant_schema(alpha):
                DistributionSettings.objects.update(**before)

        committed(restore)
