"""A hypothesis state machine over the whole distribution engine, through its real services.

The network is built once per test: a chain of five members, each the upline of the next, all
distributors, depth 3, paid by grade (a default grade and a VIP grade with other rates and only
two levels, so its level 3 falls back to the shop's rate), every ledger account opened. Each
example runs inside a savepoint that is rolled back afterwards, so examples do not see each
other. It starts by configuring the shop (clawback policy, self-purchase, commission base,
withdrawal fee and daily limit, unfreeze job or settlement on day N) and an opening of up to
two orders paid, received and settled (money to withdraw and to claw back whatever steps the
example's swarm of rules leaves out), then runs random steps:

- pay: a paid order of 1-3 lines written directly (status paid, as tests/benchmarks/commission
  does), its commissions booked by `commissions_book` (the order.paid subscriber's booking);
  some orders use the direct upline's device, which holds that upline's commissions for review
  once the upline bought on it (risk rule shared_device);
- receive (the order marked received, then the received subscriber's `commissions_move`);
- refund some or all units left of a line (`order_refund_apply`; its order.refunded event given
  to the subscriber at once or in a later step, in any order); half the time a line whose
  commissions were released, preferably more than the available balance (the clawback cases);
- settle: the fake clock (from January 1st next year, shop time) moves past the freeze days
  and the unfreeze job or the day-N settlement runs;
- the merchant changes a grade by hand or the clawback policy; releases or rejects a risk hold;
- a withdrawal request of a random amount (bank card or store balance; the refusal predicted
  and changing nothing), decided at once or later: approved, paid (bank card marked paid, store
  balance transferred) or rejected;
- replays, each changing nothing: a booking, a receipt, a refund event, a settlement at the
  same moment, a risk review (refused), a withdrawal decision (refused).

Invariants after every step, from one read (a JSON aggregate of the ledger's sums per account,
the unbalanced transactions, the commissions and the withdrawals) and the model kept here:

- the ledger sums to zero and every transaction balances; a step that must change nothing
  changed no entry; `ledger_balances` of a party whose entries changed (one per step, in turn)
  equals the sums read here;
- commissions: exactly the ones the model expects (one per line, kind and level: a replay adds
  none), each at its grade's rate on the line's base (list price, paid, or paid plus its share
  of the shipping), rounded down, never above the base, and the levels of a line together at
  most the base; reversed exactly as the pro-rata rule says (each refund rounded down; once a
  line's units are all refunded and its events delivered, it is reversed exactly: state
  reversed); 0 <= clawed <= amount - reversed;
- money: Σ(amount - reversed) over commissions = -(shop commission expense); the withdrawal fee
  income = the fees of paid withdrawals; per distributor
      Σ balances of their accounts + fees of their paid withdrawals = Σ(amount - reversed)
  of their commissions. (Why: every posting either moves money between one distributor's own
  accounts (receive, settlement and its receivable offset, risk release, withdrawal hold and its
  return), or between the distributor and the shop's expense, which is exactly what their
  commissions' amount - reversed counts (booking +amount; refund reversals, clawbacks and risk
  rejections -reversed, wherever the policy takes the money from: pending, frozen, available or
  the receivable), or pays a withdrawal out, where the fee leaves the distributor's accounts for
  the shop's fee income and the net stays in "withdrawn".)
  The accounts that mirror one state hold exactly that: pending / frozen / held = Σ(amount -
  reversed - clawed) of the commissions in that state; in progress = the amounts of the open
  withdrawals; withdrawn = the nets of the paid ones; the receivable is never a credit, and
  the available balance is negative only for a distributor a refund reached while the policy
  was negative_balance.

The CI profile is 200 examples x 50 steps, derandomized (and picks are drawn by position, not
by id, so every run runs the same examples); the test counts what ran and asserts it: the
examples, the steps (hypothesis's first examples and some of its mutations are shorter), and
every kind of step and outcome in REQUIRED. ENGINE_PROPERTIES=quick runs 20 x 20 for local work.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from distribution.errors import RiskFlagReviewedError, WithdrawalStateError
from distribution.models import (
    MEMBER_ACCOUNT_KINDS,
    SHOP_ACCOUNT_KINDS,
    Commission,
    Grade,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
    RiskFlag,
    SettlementRun,
    Withdrawal,
)
from distribution.services.commissions import (
    commissions_book,
    commissions_move,
    on_order_refunded,
)
from distribution.services.grades import grade_create, grade_set_manual
from distribution.services.ledger import ledger_account_for, ledger_balances
from distribution.services.risk import risk_flag_reject, risk_flag_release
from distribution.services.settings import distribution_settings_update
from distribution.services.settlement import settlement_periodic, settlement_unfreeze
from distribution.services.withdrawals import (
    Payee,
    withdrawal_approve,
    withdrawal_mark_paid,
    withdrawal_reject,
    withdrawal_request,
    withdrawal_transfer,
)
from infra.errors import DomainError
from shop.catalog.models import Sku
from shop.core.selectors import shop_context
from shop.customers.models import Member
from shop.events.models import OutboxEvent
from shop.orders.models import Order, OrderLine, OrderStatus
from shop.orders.services.orders import order_refund_apply
from tenants.models import Tenant
from tests.distribution.settlement_support import chain
from tests.support.commerce import product_make, sku_of

Kind = LedgerAccountKind
State = Commission.State
WState = Withdrawal.State

QUICK = os.environ.get("ENGINE_PROPERTIES", "") == "quick"
EXAMPLES = 20 if QUICK else 200
STEPS = 20 if QUICK else 50

POLICIES = ["reverse_pending", "offset_future", "negative_balance"]
BASES = ["paid_excl_shipping", "paid_incl_shipping", "list_price"]
DECISIONS = ["approve", "pay", "pay", "reject"]
REPLAYS = ["booking", "receipt", "refund_event", "settlement", "risk_review", "withdrawal_decision"]
FREEZE_DAYS = 7
GLOBAL_RATES = [800, 400, 300]
DEFAULT_GRADE_RATES = [1000, 500, 200]
VIP_RATES = [1800, 900]  # level 3 falls back to the shop's rate
MIN_WITHDRAWAL = 100
BANK = Payee(account_name="张三", bank_name="招商银行", account_number="6225880123456789")
OPEN_WITHDRAWAL = (WState.REQUESTED, WState.APPROVED, WState.TRANSFERRING)
_numbers = itertools.count(1)

# Every kind of step the CI profile must have run at least once.
REQUIRED = {
    "paid",
    "paid_held",
    "paid_no_commission",
    "received",
    "refunded_partly",
    "refunded_fully",
    "refund_delivered_late",
    "settled_released",
    "settled_nothing",
    "settle_not_due",
    "grade_changed",
    "policy_changed",
    "risk_released",
    "risk_rejected",
    "withdrawal_requested",
    "withdrawal_refused:withdrawal_insufficient_balance",
    "withdrawal_refused:withdrawal_below_minimum",
    "withdrawal_approved",
    "withdrawal_paid:bank_card",
    "withdrawal_paid:store_balance",
    "withdrawal_rejected",
    # Refunds of released money the available balance did not cover: the clawback policy's
    # cases (counted per policy too; which policies were in force then varies with the
    # examples: test_clawback.py covers each one deterministically).
    "clawback",
    *(f"replayed:{kind}" for kind in REPLAYS),
}


@dataclass(frozen=True)
class Network:
    members: list[Member]  # the chain, top first: members[i - 1] is the upline of members[i]
    default_grade: int
    vip_grade: int
    sku: Sku


@dataclass
class OrderModel:
    lines: list[int]
    received: bool = False
    closed: bool = False
    refund_events: list[Any] = field(default_factory=list)


@dataclass
class LineModel:
    order_id: int
    quantity: int
    paid_minor: int
    base_minor: int  # commissionable amount
    refunded_quantity: int = 0
    refunded_minor: int = 0
    commissions: list[int] = field(default_factory=list)
    undelivered: int = 0  # refund events of this line not delivered yet


@dataclass
class CommissionModel:
    order_id: int
    line_id: int
    level: int
    beneficiary_id: int
    amount_minor: int
    reversed_minor: int = 0


@dataclass
class WithdrawalModel:
    member_id: int
    channel: str
    amount_minor: int
    fee_minor: int
    net_minor: int
    local_day: Any
    state: str


@dataclass
class Snapshot:
    """What the last invariant check read: per party (member id, None for the shop) the sum of
    the entries of each account kind and how many entries; each commission's state."""

    balances: dict[int | None, dict[str, int]] = field(default_factory=dict)
    entries: dict[int | None, int] = field(default_factory=dict)
    states: dict[int, str] = field(default_factory=dict)


def _read_sql() -> str:
    """The invariants' one read: entry sums per account, the unbalanced transactions, every
    commission and every withdrawal of this test (ids above the floors), as JSON."""
    q = connection.ops.quote_name
    entry, account = q(LedgerEntry._meta.db_table), q(LedgerAccount._meta.db_table)
    commission, withdrawal = q(Commission._meta.db_table), q(Withdrawal._meta.db_table)
    return f"""
    SELECT
      (SELECT coalesce(json_agg(json_build_array(a.member_id, a.kind, s.total, s.n)), '[]')
       FROM (SELECT account_id, sum(amount_minor) AS total, count(*) AS n FROM {entry}
             WHERE id > %(entry)s GROUP BY account_id) s
       JOIN {account} a ON a.id = s.account_id),
      (SELECT count(*) FROM (SELECT transaction_id FROM {entry} WHERE id > %(entry)s
             GROUP BY transaction_id HAVING sum(amount_minor) <> 0) u),
      (SELECT coalesce(json_agg(json_build_array(id, order_line_id, kind, level,
             beneficiary_id, state, base_minor, amount_minor, reversed_minor, clawed_minor)),
             '[]')
       FROM {commission} WHERE id > %(commission)s),
      (SELECT coalesce(json_agg(json_build_array(id, state)), '[]')
       FROM {withdrawal} WHERE id > %(withdrawal)s)
    """


def _pick(data: Any, items: list[Any]) -> Any:
    """One of `items`, drawn by its position: what hypothesis records does not depend on the
    ids (new in every run), so the same examples run every time."""
    return items[data.draw(st.integers(min_value=0, max_value=len(items) - 1))]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _payee(channel: str) -> Payee | None:
    return BANK if channel == "bank_card" else None


class EngineMachine(RuleBasedStateMachine):
    # What ran, over all examples: the test asserts that every kind of step was exercised.
    runs: ClassVar[dict[str, int]] = {}
    network: ClassVar[Network]
    # Ids at the start of the test: rows above them are this test's (rolled back per example).
    floors: ClassVar[dict[str, int]] = {}
    read_sql: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._count("examples")
        self.steps_before = self.runs.get("steps", 0)
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        net = self.network
        self.member_ids = [member.pk for member in net.members]
        self.orders: dict[int, OrderModel] = {}
        self.lines: dict[int, LineModel] = {}
        self.commissions: dict[int, CommissionModel] = {}
        self.grade_of: dict[int, int] = dict.fromkeys(self.member_ids, net.default_grade)
        self.grade_rates = {net.default_grade: DEFAULT_GRADE_RATES, net.vip_grade: VIP_RATES}
        self.withdrawals: dict[int, WithdrawalModel] = {}
        self.undelivered: list[OutboxEvent] = []
        self.delivered: list[OutboxEvent] = []
        self.open_flags: dict[int, tuple[int, int]] = {}  # flag -> (order, member)
        self.reviewed_flags: list[int] = []
        self.negative_ok: set[int] = set()
        self.run_ids: set[int] = set()
        # The settlement's clock: from the first of January next year (shop time), so that
        # the days of the month it meets are the same on every run.
        self.clock = datetime(timezone.now().year + 1, 1, 1, tzinfo=shop_context().time_zone)
        self.last_settle: datetime | None = None
        self.snapshot = Snapshot()
        # Set by a step that must change nothing: the next check compares the ledger.
        self.unchanged = False
        self.checks = 0
        self.policy = "reverse_pending"
        self.self_purchase = False
        self.fee_bp = 0
        self.daily_limit: int | None = None
        self.settlement_day: int | None = None
        self.base = "paid_excl_shipping"

    def teardown(self) -> None:
        if self.runs.get("steps", 0) - self.steps_before >= STEPS - 1:  # the opening is one
            self._count("full_examples")
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)

    def _count(self, outcome: str) -> None:
        self.runs[outcome] = self.runs.get(outcome, 0) + 1

    def _step(self, outcome: str, *, unchanged: bool = False) -> None:
        self._count("steps")
        self._count(outcome)
        self.unchanged = unchanged

    # --- The example's settings

    @initialize(
        policy=st.sampled_from(POLICIES),
        self_purchase=st.booleans(),
        fee_bp=st.sampled_from([0, 30, 250]),
        daily_limit=st.sampled_from([None, 5_000, 60_000]),
        settlement_day=st.sampled_from([None, None, None, 1, 8]),
        base=st.sampled_from(BASES),
        opening=st.lists(
            st.tuples(st.integers(min_value=2, max_value=4), st.integers(1_000, 30_000)),
            max_size=2,
        ),
    )
    def configure(
        self,
        policy: str,
        self_purchase: bool,
        fee_bp: int,
        daily_limit: int | None,
        settlement_day: int | None,
        base: str,
        opening: list[tuple[int, int]],
    ) -> None:
        """The example's settings, and an opening: a few orders paid, received and settled,
        so that there is money to withdraw and to claw back from the first step (whichever
        steps the example's swarm of rules leaves out)."""
        distribution_settings_update(
            changes={
                "clawback": policy,
                "self_purchase": self_purchase,
                "withdrawal_fee_bp": fee_bp,
                "withdrawal_daily_limit_minor": daily_limit,
                "settlement_day": settlement_day,
                "commission_base": base,
            },
            actor="test",
        )
        self.policy = policy
        self.self_purchase = self_purchase
        self.fee_bp = fee_bp
        self.daily_limit = daily_limit
        self.settlement_day = settlement_day
        self.base = base
        for buyer_index, price in opening:
            self._pay(buyer_index, [(price, 1, 0)], 0, False)
        for order_id in list(self.orders):
            self._receive(order_id)
        if opening:
            self.clock += timedelta(days=FREEZE_DAYS, hours=1)
            run = self._settle(self.clock)
            assert run is not None
            self.run_ids.add(run.pk)
            self._count("opening")

    # --- Orders and their commissions

    def _rate(self, member_id: int, level: int) -> int:
        rates = self.grade_rates[self.grade_of[member_id]]
        return rates[level - 1] if level <= len(rates) else GLOBAL_RATES[level - 1]

    def _bases(self, items: list[tuple[int, int, int]], shipping: int) -> list[int]:
        """Each line's commissionable amount under the shop's base: its list price, what it
        paid, or that plus its share of the shipping (largest remainder, ties to the first)."""
        if self.base == "list_price":
            return [price * quantity for price, quantity, _ in items]
        paid = [price * quantity - discount for price, quantity, discount in items]
        if self.base == "paid_excl_shipping" or not shipping:
            return paid
        shares = [shipping * amount // sum(paid) for amount in paid]
        remainders = [shipping * amount % sum(paid) for amount in paid]
        by_remainder = sorted(range(len(paid)), key=lambda index: (-remainders[index], index))
        for index in by_remainder[: shipping - sum(shares)]:
            shares[index] += 1
        return [amount + share for amount, share in zip(paid, shares, strict=True)]

    def _pay(
        self, buyer_index: int, items: list[tuple[int, int, int]], shipping: int, shared: bool
    ) -> str:
        """A paid order written directly; its commissions booked as order.paid books them."""
        net = self.network
        buyer = self.member_ids[buyer_index]
        # The direct upline's device: holds the upline's commissions once they used it.
        device = self.member_ids[buyer_index - 1] if shared and buyer_index else buyer
        now = timezone.now()
        order = Order.objects.create(
            number=f"E{next(_numbers):015d}",
            member_id=buyer,
            status=OrderStatus.PAID,
            currency="CNY",
            items_minor=sum(price * quantity for price, quantity, _ in items),
            discount_minor=sum(discount for _, _, discount in items),
            shipping_minor=shipping,
            total_minor=sum(price * quantity - discount for price, quantity, discount in items)
            + shipping,
            recipient_name="x",
            recipient_phone_encrypted="x",
            province="广东省",
            city="深圳市",
            address_detail="x",
            device_id=f"device-{device}",
            pay_deadline=now + timedelta(minutes=30),
            paid_at=now,
        )
        lines = OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    sku=net.sku,
                    product_id=net.sku.product_id,
                    sku_code=net.sku.code,
                    title="Tea",
                    unit_price_minor=price,
                    quantity=quantity,
                    discount_minor=discount,
                    paid_minor=price * quantity - discount,
                )
                for price, quantity, discount in items
            ]
        )
        self.orders[order.pk] = OrderModel([line.pk for line in lines])
        for line, base in zip(lines, self._bases(items, shipping), strict=True):
            self.lines[line.pk] = LineModel(order.pk, line.quantity, line.paid_minor, base)
        booked = commissions_book(order_id=order.pk, event_id=f"paid:{order.pk}")
        # The uplines (and the buyer, with self-purchase) at levels 1..3, each at their
        # grade's rate on the line's base, rounded down; nothing when that rounds to 0.
        candidates = ([buyer] if self.self_purchase else []) + self.member_ids[:buyer_index][::-1]
        expected = {
            (line.pk, level): (
                member_id,
                self.lines[line.pk].base_minor * self._rate(member_id, level) // 10_000,
            )
            for level, member_id in enumerate(candidates[:3], start=1)
            for line in lines
        }
        assert {(c.order_line_id, c.level): (c.beneficiary_id, c.amount_minor) for c in booked} == {
            key: value for key, value in expected.items() if value[1] > 0
        }
        for commission in booked:
            assert commission.kind == Commission.Kind.LEVEL
            assert commission.base_minor == self.lines[commission.order_line_id].base_minor
            self.commissions[commission.pk] = CommissionModel(
                order.pk,
                commission.order_line_id,
                commission.level,
                commission.beneficiary_id,
                commission.amount_minor,
            )
            self.lines[commission.order_line_id].commissions.append(commission.pk)
        held = {c.beneficiary_id for c in booked if c.state == State.HELD}
        if held:
            flags = dict(RiskFlag.objects.filter(order=order).values_list("pk", "member_id"))
            assert set(flags.values()) == held
            self.open_flags.update({pk: (order.pk, member) for pk, member in flags.items()})
        return "paid_held" if held else "paid" if booked else "paid_no_commission"

    @rule(
        buyer_index=st.integers(min_value=0, max_value=4),
        items=st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=30_000),  # unit price
                st.integers(min_value=1, max_value=4),  # quantity
                st.integers(min_value=0, max_value=500),  # discount
            ),
            min_size=1,
            max_size=3,
        ),
        shipping=st.sampled_from([0, 0, 600, 1_001]),
        shared=st.booleans(),
    )
    def pay(
        self, buyer_index: int, items: list[tuple[int, int, int]], shipping: int, shared: bool
    ) -> None:
        self._step(
            self._pay(
                buyer_index,
                [(price, units, min(off, price * units - 1)) for price, units, off in items],
                shipping,
                shared,
            )
        )

    @rule(
        buyer_index=st.integers(min_value=1, max_value=4),
        price=st.integers(min_value=1_000, max_value=50_000),
        quantity=st.integers(min_value=1, max_value=3),
    )
    def pay_one_line(self, buyer_index: int, price: int, quantity: int) -> None:
        self._step(self._pay(buyer_index, [(price, quantity, 0)], 0, False))

    def _receivable(self) -> list[int]:
        return sorted(pk for pk, o in self.orders.items() if not (o.received or o.closed))

    def _receive(self, order_id: int) -> int:
        """The order received (as order_receive marks it), then the received subscriber's move;
        how many commissions moved."""
        Order.objects.filter(pk=order_id, status=OrderStatus.PAID).update(
            status=OrderStatus.RECEIVED, received_at=timezone.now()
        )
        self.orders[order_id].received = True
        return commissions_move(order_id=order_id, step="received")

    @precondition(lambda self: bool(self._receivable()))
    @rule(data=st.data())
    def receive(self, data: Any) -> None:
        order_id = _pick(data, self._receivable())
        pending = [
            pk
            for line in self.orders[order_id].lines
            for pk in self.lines[line].commissions
            if self.snapshot.states[pk] == State.PENDING
        ]
        assert self._receive(order_id) == len(pending)
        self._step("received")

    # --- Refunds

    def _refundable(self, *, released: bool = False) -> list[int]:
        """Lines with units left to refund; if asked, only those with a released commission,
        and then first those where it is more than the distributor's available balance (the
        clawback policy's cases)."""
        lines = sorted(
            pk for pk, line in self.lines.items() if line.refunded_quantity < line.quantity
        )
        if not released:
            return lines
        balances = self.snapshot.balances
        short: list[int] = []
        covered: list[int] = []
        for pk in lines:
            for commission_id in self.lines[pk].commissions:
                if self.snapshot.states[commission_id] in (State.AVAILABLE, State.WITHDRAWN):
                    commission = self.commissions[commission_id]
                    available = balances.get(commission.beneficiary_id, {}).get(
                        Kind.COMMISSION_AVAILABLE, 0
                    )
                    left = commission.amount_minor - commission.reversed_minor
                    (short if available < left else covered).append(pk)
                    break
        return short or covered

    @precondition(lambda self: bool(self._refundable()))
    @rule(data=st.data(), deliver_now=st.booleans(), released=st.booleans())
    def refund(self, data: Any, deliver_now: bool, released: bool) -> None:
        # Half the time a line whose commissions were released (the clawback's cases).
        line_id = _pick(
            data,
            (self._refundable(released=True) or self._refundable())
            if released
            else self._refundable(),
        )
        line = self.lines[line_id]
        left = line.quantity - line.refunded_quantity
        units = data.draw(st.integers(min_value=1, max_value=left))
        # What the units paid; the last units get what is left of the line.
        amount = (
            line.paid_minor - line.refunded_minor
            if units == left
            else line.paid_minor * units // line.quantity
        )
        order_refund_apply(
            order_id=line.order_id,
            amount_minor=amount,
            lines=[(line_id, units, amount)],
            restock=False,
            after_sale_id=None,
            actor="test",
        )
        line.refunded_quantity += units
        line.refunded_minor += amount
        order = self.orders[line.order_id]
        order.closed = all(
            self.lines[pk].refunded_quantity == self.lines[pk].quantity for pk in order.lines
        )
        (event,) = OutboxEvent.objects.filter(
            topic="order.refunded", payload__order_id=line.order_id
        ).exclude(pk__in=order.refund_events)
        order.refund_events.append(event.pk)
        line.undelivered += 1
        if deliver_now:
            self._deliver(event)
        else:
            self.undelivered.append(event)
        self._step("refunded_fully" if units == left else "refunded_partly")

    def _deliver(self, event: OutboxEvent) -> None:
        """Deliver a refund event to the commission subscriber; the model follows the rule:
        each commission of the line reverses amount x refunded / paid, rounded down, or all
        that is left when this refund was the one that refunded the line's last units (as the
        event records it, whenever it is delivered)."""
        (refunded,) = event.payload["refund_lines"]
        line = self.lines[int(refunded["line_id"])]
        (as_refunded,) = (
            item for item in event.payload["lines"] if item["line_id"] == refunded["line_id"]
        )
        whole = int(as_refunded["refunded_quantity"]) >= int(as_refunded["quantity"])
        reached: set[int] = set()
        released = False
        for pk in line.commissions:
            commission = self.commissions[pk]
            left = commission.amount_minor - commission.reversed_minor
            share = commission.amount_minor * int(refunded["amount_minor"]) // line.paid_minor
            taken = left if whole else min(left, share)
            commission.reversed_minor += taken
            if taken:
                reached.add(commission.beneficiary_id)
                released |= self.snapshot.states[pk] in (State.AVAILABLE, State.WITHDRAWN)
        on_order_refunded(event)
        line.undelivered -= 1
        self.delivered.append(event)
        if self.policy == "negative_balance":
            self.negative_ok |= reached
        if released:
            clawed = LedgerTransaction.objects.filter(
                source="order", source_id=str(line.order_id), purpose=f"clawback:{event.pk}"
            ).exists()
            if clawed:
                self._count("clawback")
            self._count(f"clawback:{self.policy}" if clawed else "refund_after_release")

    @precondition(lambda self: bool(self.undelivered))
    @rule(data=st.data())
    def deliver_refund(self, data: Any) -> None:
        index = data.draw(st.integers(min_value=0, max_value=len(self.undelivered) - 1))
        self._deliver(self.undelivered.pop(index))
        self._step("refund_delivered_late")

    # --- Settlement

    def _settle(self, at: datetime) -> SettlementRun | None:
        if self.settlement_day is None:
            return settlement_unfreeze(at=at)
        return settlement_periodic(at=at)

    @rule(hours=st.integers(min_value=1, max_value=24 * 20))
    def settle(self, hours: int) -> None:
        # Past the freeze days of everything frozen so far (and on, for the day-N schedule).
        self.clock += timedelta(days=FREEZE_DAYS, hours=hours)
        self.last_settle = self.clock
        run = self._settle(self.clock)
        if run is None:  # before day N
            self._step("settle_not_due", unchanged=True)
            return
        if run.pk in self.run_ids:  # this month's settlement ran already
            self._step("settled_nothing", unchanged=True)
            return
        self.run_ids.add(run.pk)
        # Nothing is left frozen whose freeze days had passed at the run's cutoff.
        assert not Commission.objects.filter(
            pk__gt=self.floors["commission"],
            state=State.FROZEN,
            state_changed_at__lte=run.cutoff - timedelta(days=run.freeze_days),
        ).exists()
        self._step("settled_released" if run.commissions else "settled_nothing")

    # --- The merchant: grades, the clawback policy, risk holds

    @rule(
        change=st.sampled_from(["grade", "policy"]),
        member_index=st.integers(min_value=0, max_value=4),
        vip=st.booleans(),
        by_id=st.booleans(),
        policy=st.sampled_from(POLICIES),
    )
    def merchant_changes(
        self, change: str, member_index: int, vip: bool, by_id: bool, policy: str
    ) -> None:
        if change == "policy":
            distribution_settings_update(changes={"clawback": policy}, actor="test")
            self.policy = policy
            self._step("policy_changed", unchanged=True)
            return
        member_id = self.member_ids[member_index]
        grade = self.network.vip_grade if vip else self.network.default_grade
        # None gives the default grade too.
        grade_set_manual(
            member_id=member_id, grade_id=grade if vip or by_id else None, actor="test"
        )
        self.grade_of[member_id] = grade
        self._step("grade_changed", unchanged=True)

    @precondition(lambda self: bool(self.open_flags))
    @rule(data=st.data(), release=st.booleans())
    def risk_review(self, data: Any, release: bool) -> None:
        flag_id = _pick(data, sorted(self.open_flags))
        order_id, member_id = self.open_flags.pop(flag_id)
        if release:
            risk_flag_release(flag_id=flag_id, actor="test")
        else:
            risk_flag_reject(flag_id=flag_id, actor="test")
            for pk, commission in self.commissions.items():
                if (commission.order_id, commission.beneficiary_id) == (
                    order_id,
                    member_id,
                ) and self.snapshot.states[pk] == State.HELD:
                    commission.reversed_minor = commission.amount_minor
        self.reviewed_flags.append(flag_id)
        self._step("risk_released" if release else "risk_rejected")

    # --- Withdrawals

    def _refusal(self, member_id: int, amount: int, available: int) -> str | None:
        """Why the service must refuse this request (in the order it checks), or None."""
        fee = amount * self.fee_bp // 10_000
        if amount < MIN_WITHDRAWAL:
            return "withdrawal_below_minimum"
        if amount - fee < 1:
            return "withdrawal_nothing_left_after_fee"
        if self.daily_limit is not None:
            today = timezone.localdate(timezone=shop_context().time_zone)
            taken = sum(
                w.amount_minor
                for w in self.withdrawals.values()
                if w.member_id == member_id and w.local_day == today and w.state != WState.REJECTED
            )
            if taken + amount > self.daily_limit:
                return "withdrawal_daily_limit_exceeded"
        if available < amount:
            return "withdrawal_insufficient_balance"
        return None

    @rule(
        member_index=st.integers(min_value=-3, max_value=4),  # < 0: the one with the most
        share=st.sampled_from(["all", "part", "over", "small"]),
        percent=st.integers(min_value=1, max_value=99),
        small=st.integers(min_value=1, max_value=200),
        channel=st.sampled_from(["bank_card", "store_balance"]),
        then=st.sampled_from([None, *DECISIONS]),
    )
    def withdraw(
        self,
        member_index: int,
        share: str,
        percent: int,
        small: int,
        channel: str,
        then: str | None,
    ) -> None:
        """A request; sometimes decided at once (else later, by decide_withdrawal)."""
        available_of = {
            member.pk: self.snapshot.balances.get(member.pk, {}).get(Kind.COMMISSION_AVAILABLE, 0)
            for member in self.network.members
        }
        member = (
            self.network.members[member_index]
            if member_index >= 0
            else max(self.network.members, key=lambda member: available_of[member.pk])
        )
        available = available_of[member.pk]
        amount = max(
            1,
            {
                "all": available,
                "part": available * percent // 100,
                "over": available + small,
                "small": small,
            }[share],
        )
        refusal = self._refusal(member.pk, amount, available)
        try:
            withdrawal = withdrawal_request(
                member=member, amount_minor=amount, channel=channel, payee=_payee(channel)
            )
        except DomainError as error:
            refused: str | None = error.code
        else:
            refused = None
        assert refused == refusal, (refused, refusal)
        if refused is not None:
            self._step(f"withdrawal_refused:{refused}", unchanged=True)
            return
        fee = amount * self.fee_bp // 10_000
        assert (withdrawal.state, withdrawal.fee_minor, withdrawal.net_minor) == (
            WState.REQUESTED,
            fee,
            amount - fee,
        )
        self.withdrawals[withdrawal.pk] = WithdrawalModel(
            member.pk, channel, amount, fee, amount - fee, withdrawal.local_day, withdrawal.state
        )
        self._step("withdrawal_requested")
        if then is not None:  # part of this step
            self._count(self._decide(withdrawal.pk, then))

    def _closed(self) -> list[int]:
        return sorted(pk for pk, w in self.withdrawals.items() if w.state not in OPEN_WITHDRAWAL)

    def _open(self) -> list[int]:
        return sorted(pk for pk, w in self.withdrawals.items() if w.state in OPEN_WITHDRAWAL)

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data(), action=st.sampled_from(DECISIONS))
    def decide_withdrawal(self, data: Any, action: str) -> None:
        outcome = self._decide(_pick(data, self._open()), action)
        self._step(outcome, unchanged=outcome == "withdrawal_approved")

    def _decide(self, pk: int, action: str) -> str:
        """The merchant approves, pays (bank card: marked paid; store balance: approved and
        transferred) or rejects an open withdrawal; what happened."""
        model = self.withdrawals[pk]
        if action == "approve" and model.state == WState.REQUESTED:
            model.state = withdrawal_approve(withdrawal_id=pk, actor="test").state
            assert model.state == WState.APPROVED
            return "withdrawal_approved"
        if action in ("approve", "reject"):
            model.state = withdrawal_reject(withdrawal_id=pk, actor="test", reason="no").state
            assert model.state == WState.REJECTED
            return "withdrawal_rejected"
        if model.channel == "bank_card":
            paid = withdrawal_mark_paid(withdrawal_id=pk, actor="test", reference="BANK-1")
            model.state = paid.state
            assert model.state == WState.PAID
            return "withdrawal_paid:bank_card"
        if model.state == WState.REQUESTED:
            withdrawal_approve(withdrawal_id=pk, actor="test")
        model.state = withdrawal_transfer(withdrawal_id=pk).state
        assert model.state == WState.PAID
        return "withdrawal_paid:store_balance"

    # --- Replays: each changes nothing

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), kind=st.sampled_from(REPLAYS))
    def replay(self, data: Any, kind: str) -> None:
        """Do again what was done: a booking, a receipt, a refund event, a settlement, a risk
        review, a withdrawal decision (a booking when there is nothing of that kind yet)."""
        targets: dict[str, list[Any]] = {
            "booking": sorted(self.orders),
            "receipt": sorted(pk for pk, order in self.orders.items() if order.received),
            "refund_event": self.delivered,
            "settlement": [self.last_settle] if self.last_settle else [],
            "risk_review": self.reviewed_flags,
            "withdrawal_decision": self._closed(),
        }
        if not targets[kind]:  # one of the kinds there is something of
            kind = _pick(data, [name for name in REPLAYS if targets[name]])
        target = _pick(data, targets[kind])
        if kind == "booking":
            assert commissions_book(order_id=target, event_id=f"replay:{target}") == []
        elif kind == "receipt":
            assert commissions_move(order_id=target, step="received") == 0
        elif kind == "refund_event":
            on_order_refunded(target)
        elif kind == "settlement":
            self._settle(target)
        elif kind == "risk_review":
            with pytest.raises(RiskFlagReviewedError):
                (risk_flag_release if data.draw(st.booleans()) else risk_flag_reject)(
                    flag_id=target, actor="test"
                )
        else:
            decide = (
                partial(withdrawal_mark_paid, reference="again")
                if data.draw(st.booleans())
                else partial(withdrawal_reject, reason="again")
            )
            with pytest.raises(WithdrawalStateError):
                decide(withdrawal_id=target, actor="test")
        self._step(f"replayed:{kind}", unchanged=True)

    # --- Invariants (one read)

    @invariant()
    def the_engine_is_whole(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.read_sql, self.floors)
            row = cursor.fetchone()
        accounts, unbalanced, rows, withdrawal_states = (_json(value) for value in row)
        # The ledger: double entry, and balances that are the sums of their entries.
        balances: dict[int | None, dict[str, int]] = {}
        entries: dict[int | None, int] = {}
        for party, kind, total, count in accounts:
            balances.setdefault(party, {})[kind] = int(total)
            entries[party] = entries.get(party, 0) + int(count)
        assert sum(total for kinds in balances.values() for total in kinds.values()) == 0
        assert unbalanced == 0
        if self.unchanged:
            assert (balances, entries) == (self.snapshot.balances, self.snapshot.entries)
        # The service's balances of one party whose entries changed (in turn; most steps
        # change one or two), against the sums read here.
        changed = [
            party
            for party, kinds in balances.items()
            if (kinds, entries[party])
            != (self.snapshot.balances.get(party), self.snapshot.entries.get(party))
        ]
        if changed:
            party = changed[self.checks % len(changed)]
            assert ledger_balances(member_id=party) == balances[party], party
        self.checks += 1
        # Commissions: the model's, each exact.
        states: dict[int, str] = {}
        earned: dict[int, int] = {}
        in_state: dict[tuple[int, str], int] = {}
        per_line: dict[int, int] = {}
        for pk, line_id, kind, level, member, state, base, amount, reversed_, clawed in rows:
            model = self.commissions.get(pk)
            assert model is not None, ("a commission the model did not expect", pk)
            assert (kind, line_id, level, member, amount) == (
                Commission.Kind.LEVEL,
                model.line_id,
                model.level,
                model.beneficiary_id,
                model.amount_minor,
            )
            line = self.lines[line_id]
            assert 0 < amount <= base == line.base_minor
            assert reversed_ == model.reversed_minor, (pk, reversed_, model.reversed_minor)
            assert 0 <= clawed <= amount - reversed_
            assert (state == State.REVERSED) == (reversed_ == amount), (pk, state)
            if line.refunded_quantity == line.quantity and not line.undelivered:
                assert (state, reversed_) == (State.REVERSED, amount)
            states[pk] = state
            per_line[line_id] = per_line.get(line_id, 0) + amount
            earned[member] = earned.get(member, 0) + amount - reversed_
            in_state[(member, state)] = in_state.get((member, state), 0) + amount - reversed_
            in_state[(member, state)] -= clawed
        assert len(states) == len(self.commissions)
        for line_id, amount in per_line.items():
            assert amount <= self.lines[line_id].base_minor
        # Withdrawals: the model's states.
        assert dict(withdrawal_states) == {pk: w.state for pk, w in self.withdrawals.items()}
        in_progress: dict[int, int] = {}
        withdrawn: dict[int, int] = {}
        fees: dict[int, int] = {}
        for w in self.withdrawals.values():
            if w.state in OPEN_WITHDRAWAL:
                in_progress[w.member_id] = in_progress.get(w.member_id, 0) + w.amount_minor
            elif w.state == WState.PAID:
                withdrawn[w.member_id] = withdrawn.get(w.member_id, 0) + w.net_minor
                fees[w.member_id] = fees.get(w.member_id, 0) + w.fee_minor
        # Money: the shop's books, then each distributor's.
        shop = balances.get(None, {})
        assert sum(earned.values()) == -shop.get(Kind.SHOP_COMMISSION_EXPENSE, 0)
        assert sum(fees.values()) == shop.get(Kind.SHOP_WITHDRAWAL_FEE_INCOME, 0)
        for member in self.member_ids:
            mine = balances.get(member, {})
            assert sum(mine.values()) + fees.get(member, 0) == earned.get(member, 0), member
            for account, state in (
                (Kind.COMMISSION_PENDING, State.PENDING),
                (Kind.COMMISSION_FROZEN, State.FROZEN),
                (Kind.COMMISSION_HELD, State.HELD),
            ):
                assert mine.get(account, 0) == in_state.get((member, state), 0), (member, account)
            assert mine.get(Kind.WITHDRAWAL_IN_PROGRESS, 0) == in_progress.get(member, 0)
            assert mine.get(Kind.WITHDRAWN, 0) == withdrawn.get(member, 0)
            assert mine.get(Kind.CLAWBACK_RECEIVABLE, 0) <= 0
            if mine.get(Kind.COMMISSION_AVAILABLE, 0) < 0:
                assert member in self.negative_ok, (member, mine)
        self.snapshot = Snapshot(balances, entries, states)
        self.unchanged = False


def _network() -> Network:
    """The chain, the grades and a SKU; the shop's settings every example starts from."""
    distribution_settings_update(
        changes={
            "enabled": True,
            "depth": 3,
            "rate_source": "grade",
            "rate_kind": "percentage",
            "level_rates": GLOBAL_RATES,
            "commission_base": "paid_excl_shipping",
            "freeze_days": FREEZE_DAYS,
            "withdrawal_channels": ["bank_card", "store_balance"],
            "withdrawal_min_minor": MIN_WITHDRAWAL,
            "withdrawal_review": True,
            "withdrawal_auto_transfer": False,
        },
        actor="test",
    )
    default = grade_create(
        values={"name": "普通", "rank": 0, "is_default": True, "level_rates": DEFAULT_GRADE_RATES}
    )
    vip = grade_create(values={"name": "VIP", "rank": 10, "level_rates": VIP_RATES})
    members = chain(5)
    # Every account exists before the examples (rolled back each time, they would be made in
    # every example again).
    for kind in SHOP_ACCOUNT_KINDS:
        ledger_account_for(member_id=None, kind=kind)
    for member in members:
        for kind in MEMBER_ACCOUNT_KINDS:
            ledger_account_for(member_id=member.pk, kind=kind)
    sku = sku_of(product_make(price_minor=1000, stock=0))
    return Network(members=members, default_grade=default.pk, vip_grade=vip.pk, sku=sku)


def _floor(model: Any) -> int:
    return int(model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)


def test_the_engine_keeps_its_books_whole_under_random_steps(shop: Tenant) -> None:
    # given: the network, and where this test's rows start
    EngineMachine.network = _network()
    EngineMachine.floors = {
        "entry": _floor(LedgerEntry),
        "commission": _floor(Commission),
        "withdrawal": _floor(Withdrawal),
    }
    EngineMachine.read_sql = _read_sql()
    assert Grade.objects.count() == 2
    EngineMachine.runs.clear()
    # when
    run_state_machine_as_test(
        EngineMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            # The same examples on every run (no seed, no saved examples): the check below of
            # which kinds of step ran is then stable.
            derandomize=True,
            database=None,
            suppress_health_check=[
                HealthCheck.function_scoped_fixture,
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
            ],
        ),
    )
    # then: the invariants held after every step of every example, and the profile ran in full
    runs = EngineMachine.runs
    print(dict(sorted(runs.items())))  # with -s: what ran
    assert runs["examples"] >= EXAMPLES
    # (the first examples hypothesis generates, and some of its mutations, are shorter)
    assert runs["steps"] >= EXAMPLES * STEPS // 2
    assert runs["full_examples"] >= EXAMPLES // 2
    assert QUICK or set(runs) >= REQUIRED, sorted(REQUIRED - set(runs))
