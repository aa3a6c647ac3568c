"""Withdrawals: the rules of a request (minimum, fee, daily limit in the shop's day, channels,
balance), the money they hold and give back, review, bank cards paid offline, store balance,
the member API with Idempotency-Key, and concurrent requests that never overdraw."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from distribution.errors import (
    WithdrawalBelowMinimumError,
    WithdrawalChannelNotAllowedError,
    WithdrawalDailyLimitError,
    WithdrawalInsufficientBalanceError,
    WithdrawalNotADistributorError,
    WithdrawalNothingLeftError,
    WithdrawalPayeeMissingError,
    WithdrawalStateError,
)
from distribution.models import Commission, Distributor, LedgerTransaction, Withdrawal
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.commissions import commissions_book
from distribution.services.ledger import ledger_account_for, ledger_post
from distribution.services.withdrawals import (
    Payee,
    withdrawal_approve,
    withdrawal_mark_paid,
    withdrawal_payee,
    withdrawal_reject,
    withdrawal_request,
    withdrawal_transfer,
)
from distribution.tasks import withdrawal_transfer_task
from infra.db import schema_connection, tenant_schema
from shop.customers.models import Member
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.distribution.withdrawals_support import (
    Kind,
    balances,
    distributor_with,
    fee_income,
    ledger_balanced,
    withdrawals_on,
)
from tests.support.commerce import member_make, member_token, order_make, product_make, sku_of
from tests.support.threads import committed, run_in_threads

URL = "/api/v1/distribution/withdrawals"
# The member's token (with the member), the count, the page: the same for any page size.
LIST_BUDGET = 3
BANK = Payee(account_name="张三", bank_name="招商银行", account_number="6225 8801 2345 6789")


def test_a_request_holds_the_whole_amount_and_the_fee_is_rounded_down(shop: Tenant) -> None:
    # given: a 1.5 % fee
    withdrawals_on(withdrawal_fee_bp=150)
    member = distributor_with(10_000)
    # when: 19.99 → fee 0.29985 → 0.29
    withdrawal = withdrawal_request(member=member, amount_minor=1999, channel="store_balance")
    # then
    assert (withdrawal.amount_minor, withdrawal.fee_minor, withdrawal.net_minor) == (1999, 29, 1970)
    assert withdrawal.state == "requested"
    assert balances(member) == {
        Kind.COMMISSION_AVAILABLE: 10_000 - 1999,
        Kind.WITHDRAWAL_IN_PROGRESS: 1999,
        Kind.WITHDRAWN: 0,
    }
    assert ledger_balanced()


@pytest.mark.parametrize(
    ("settings", "amount", "channel", "error"),
    [
        ({"withdrawal_min_minor": 500}, 499, "store_balance", WithdrawalBelowMinimumError),
        (
            {"withdrawal_channels": ["bank_card"]},
            1000,
            "store_balance",
            WithdrawalChannelNotAllowedError,
        ),
        ({}, 1000, "alipay", WithdrawalChannelNotAllowedError),
        ({"withdrawal_fee_bp": 10_000}, 1000, "store_balance", WithdrawalNothingLeftError),
        ({}, 5001, "store_balance", WithdrawalInsufficientBalanceError),
        ({}, 1000, "bank_card", WithdrawalPayeeMissingError),
    ],
    ids=["below-minimum", "channel-off", "unknown-channel", "fee-takes-all", "balance", "no-bank"],
)
def test_a_refused_request_changes_nothing(
    shop: Tenant,
    settings: dict[str, Any],
    amount: int,
    channel: str,
    error: type[Exception],
) -> None:
    # given
    withdrawals_on(**settings)
    member = distributor_with(5000)
    # when
    with pytest.raises(error):
        withdrawal_request(member=member, amount_minor=amount, channel=channel)
    # then
    assert not Withdrawal.objects.filter(member=member).exists()
    assert balances(member)[Kind.COMMISSION_AVAILABLE] == 5000
    assert balances(member)[Kind.WITHDRAWAL_IN_PROGRESS] == 0


def test_only_an_active_distributor_withdraws(shop: Tenant) -> None:
    # given: a disabled distributor with money, and a member who never was one
    withdrawals_on()
    disabled = distributor_with(5000)
    Distributor.objects.filter(member=disabled).update(status=Distributor.Status.DISABLED)
    stranger = member_make()
    # when / then
    for member in (disabled, stranger):
        with pytest.raises(WithdrawalNotADistributorError):
            withdrawal_request(member=member, amount_minor=1000, channel="store_balance")
    assert not Withdrawal.objects.filter(member__in=[disabled, stranger]).exists()


def test_the_daily_limit_counts_the_shops_local_day(
    shop: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: 50.00 a day; Shanghai is UTC+8
    withdrawals_on(withdrawal_daily_limit_minor=5000)
    member = distributor_with(20_000)

    def at(hour: int, minute: int) -> None:
        moment = datetime(2026, 11, 25, hour, minute, tzinfo=UTC)
        monkeypatch.setattr(timezone, "now", lambda: moment)

    # when: 23:30 in Shanghai on the 25th, then 00:30 and 00:45 on the 26th (all the 25th UTC)
    at(15, 30)
    late = withdrawal_request(member=member, amount_minor=3000, channel="store_balance")
    at(16, 30)
    next_day = withdrawal_request(member=member, amount_minor=3000, channel="store_balance")
    at(16, 45)
    with pytest.raises(WithdrawalDailyLimitError):
        withdrawal_request(member=member, amount_minor=2500, channel="store_balance")
    # a rejected one gives its share of the day back
    withdrawal_reject(withdrawal_id=next_day.pk, actor="account:1", reason="wrong amount")
    again = withdrawal_request(member=member, amount_minor=5000, channel="store_balance")
    # then
    assert (str(late.local_day), str(next_day.local_day)) == ("2026-11-25", "2026-11-26")
    assert again.local_day == next_day.local_day
    assert balances(member)[Kind.WITHDRAWAL_IN_PROGRESS] == 3000 + 5000
    assert Withdrawal.objects.filter(member=member).count() == 3


def test_reject_gives_the_money_back_once(shop: Tenant) -> None:
    # given
    withdrawals_on()
    member = distributor_with(5000)
    withdrawal = withdrawal_request(member=member, amount_minor=2000, channel="store_balance")
    # when
    rejected = withdrawal_reject(withdrawal_id=withdrawal.pk, actor="account:7", reason="Fraud")
    with pytest.raises(WithdrawalStateError):
        withdrawal_reject(withdrawal_id=withdrawal.pk, actor="account:7", reason="Again")
    with pytest.raises(WithdrawalStateError):
        withdrawal_approve(withdrawal_id=withdrawal.pk, actor="account:7")
    # then
    assert (rejected.state, rejected.reviewer, rejected.reject_reason) == (
        "rejected",
        "account:7",
        "Fraud",
    )
    assert balances(member) == {
        Kind.COMMISSION_AVAILABLE: 5000,
        Kind.WITHDRAWAL_IN_PROGRESS: 0,
        Kind.WITHDRAWN: 0,
    }
    assert LedgerTransaction.objects.filter(source="withdrawal", source_id=str(withdrawal.pk))
    assert (
        LedgerTransaction.objects.filter(
            source="withdrawal", source_id=str(withdrawal.pk), purpose__startswith="return"
        ).count()
        == 1
    )
    assert ledger_balanced()


def test_a_bank_card_is_paid_offline_and_marked_with_its_reference(shop: Tenant) -> None:
    # given: a 2 % fee; the card details stored encrypted
    withdrawals_on(withdrawal_fee_bp=200)
    member = distributor_with(10_000)
    fees_before = fee_income()
    withdrawal = withdrawal_request(
        member=member, amount_minor=5000, channel="bank_card", payee=BANK
    )
    stored = Withdrawal.objects.get(pk=withdrawal.pk)
    # when
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor="account:1")
    with pytest.raises(WithdrawalStateError):
        withdrawal_transfer(withdrawal_id=withdrawal.pk)
    paid = withdrawal_mark_paid(
        withdrawal_id=withdrawal.pk, actor="account:1", reference="CMB20261125-0001"
    )
    with pytest.raises(WithdrawalStateError):
        withdrawal_mark_paid(withdrawal_id=withdrawal.pk, actor="account:1", reference="again")
    # then
    assert "6225880123456789" not in stored.payee_encrypted
    assert stored.payee_hint == "招商银行 ****6789"
    assert withdrawal_payee(stored)["account_number"] == "6225880123456789"
    assert (paid.state, paid.offline_reference, paid.net_minor) == (
        "paid",
        "CMB20261125-0001",
        4900,
    )
    assert balances(member) == {
        Kind.COMMISSION_AVAILABLE: 5000,
        Kind.WITHDRAWAL_IN_PROGRESS: 0,
        Kind.WITHDRAWN: 4900,
    }
    assert fee_income() - fees_before == 100
    assert ledger_balanced()


def test_without_review_and_with_auto_transfer_the_store_balance_is_credited(
    shop: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    withdrawals_on(withdrawal_review=False, withdrawal_auto_transfer=True, withdrawal_fee_bp=100)
    member = distributor_with(10_000)
    # when: the request commits (a transfer task is sent), the task runs twice
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        withdrawal = withdrawal_request(member=member, amount_minor=3000, channel="store_balance")
    first = withdrawal_transfer_task(withdrawal.pk)
    second = withdrawal_transfer_task(withdrawal.pk)
    # then
    assert (withdrawal.state, withdrawal.reviewer) == ("approved", "auto")
    assert len(callbacks) == 1
    assert (first, second) == ("paid", "paid")
    member.refresh_from_db()
    assert member.store_balance_minor == 2970
    assert balances(member)[Kind.WITHDRAWN] == 2970
    assert balances(member)[Kind.WITHDRAWAL_IN_PROGRESS] == 0


def test_with_review_nothing_is_transferred_before_approval(
    shop: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    withdrawals_on(withdrawal_auto_transfer=True)
    member = distributor_with(10_000)
    # when
    with django_capture_on_commit_callbacks(execute=False) as requested:
        withdrawal = withdrawal_request(member=member, amount_minor=3000, channel="store_balance")
    early = withdrawal_transfer(withdrawal_id=withdrawal.pk)
    with django_capture_on_commit_callbacks(execute=False) as approved:
        withdrawal_approve(withdrawal_id=withdrawal.pk, actor="account:1")
    # then
    assert (len(requested), len(approved)) == (0, 1)
    assert early.state == "requested"
    member.refresh_from_db()
    assert member.store_balance_minor == 0


def _available_commissions(upline: Member, prices: list[int]) -> list[Commission]:
    """Commissions of `upline` (10 % each) on orders of a bound buyer, made available."""
    buyer = member_make()
    referral_bind(member=buyer, code=distributor_make(member=upline).code, trigger="first_visit")
    commissions = []
    for price in prices:
        order = order_make(member=buyer, items=[(sku_of(product_make(price_minor=price)), 1)])
        started = payment_start(order=order, method="sandbox", notify_url="http://x/")
        payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
        [commission] = commissions_book(order_id=order.pk, event_id=f"paid-{order.pk}")
        ledger_post(
            source="test_settled",
            source_id=str(commission.pk),
            purpose="release",
            lines=[
                (
                    ledger_account_for(member_id=upline.pk, kind=Kind.COMMISSION_PENDING),
                    -price // 10,
                ),
                (
                    ledger_account_for(member_id=upline.pk, kind=Kind.COMMISSION_AVAILABLE),
                    price // 10,
                ),
            ],
        )
        Commission.objects.filter(pk=commission.pk).update(state="available")
        commissions.append(commission)
    return commissions


def test_paid_withdrawals_mark_commissions_withdrawn_oldest_first(shop: Tenant) -> None:
    # given: three available commissions of 10.00, 20.00 and 5.00
    withdrawals_on(depth=1, level_rates=[1000])
    upline = distributor_with(0)
    first, second, third = _available_commissions(upline, [10_000, 20_000, 5_000])
    # when: 25.00 is paid out (covers the first, not the second)
    withdrawal = withdrawal_request(member=upline, amount_minor=2500, channel="store_balance")
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor="account:1")
    withdrawal_transfer(withdrawal_id=withdrawal.pk)
    # then
    states = dict(
        Commission.objects.filter(pk__in=[first.pk, second.pk, third.pk]).values_list("pk", "state")
    )
    assert states == {first.pk: "withdrawn", second.pk: "available", third.pk: "available"}
    assert balances(upline)[Kind.COMMISSION_AVAILABLE] == 3500 - 2500


# --- The member API


def test_the_api_replays_a_repeated_key_and_refuses_it_for_another_body(
    shop: Tenant, shop_client: Client
) -> None:
    # given
    withdrawals_on(withdrawal_fee_bp=100)
    member = distributor_with(10_000)
    headers = {**member_token(member), "HTTP_IDEMPOTENCY_KEY": "withdraw-1"}
    body = {"amount_minor": 3000, "channel": "store_balance"}
    # when
    first = shop_client.post(URL, body, content_type="application/json", **headers)
    again = shop_client.post(URL, body, content_type="application/json", **headers)
    other = shop_client.post(
        URL, {**body, "amount_minor": 4000}, content_type="application/json", **headers
    )
    # then
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert first.json() | {"confirmation": None} == {
        "id": first.json()["id"],
        "state": "requested",
        "channel": "store_balance",
        "currency": "CNY",
        "amount_minor": 3000,
        "fee_minor": 30,
        "net_minor": 2970,
        "payee_hint": "",
        "reject_reason": "",
        "failure_reason": "",
        "created_at": first.json()["created_at"],
        "paid_at": None,
        "closed_at": None,
        "confirmation": None,
    }
    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert Withdrawal.objects.filter(member=member).count() == 1
    assert balances(member)[Kind.WITHDRAWAL_IN_PROGRESS] == 3000


def test_the_api_answers_refusals_in_the_error_envelope(shop: Tenant, shop_client: Client) -> None:
    # given
    withdrawals_on(withdrawal_channels=["bank_card"])
    member = distributor_with(1000)
    headers = member_token(member)
    # when
    too_much = shop_client.post(
        URL,
        {
            "amount_minor": 2000,
            "channel": "bank_card",
            "account_name": "张三",
            "bank_name": "招商银行",
            "account_number": "6225880123456789",
        },
        content_type="application/json",
        **headers,
    )
    no_card = shop_client.post(
        URL,
        {"amount_minor": 500, "channel": "bank_card"},
        content_type="application/json",
        **headers,
    )
    # then
    assert (too_much.status_code, too_much.json()["error"]["code"]) == (
        409,
        "withdrawal_insufficient_balance",
    )
    assert no_card.status_code == 400
    assert no_card.json()["error"]["code"] == "withdrawal_payee_missing"
    assert set(no_card.json()["error"]["fields"]) == {"account_name", "bank_name", "account_number"}
    assert not Withdrawal.objects.filter(member=member).exists()


def test_a_member_cancels_a_request_and_sees_only_their_own(
    shop: Tenant, shop_client: Client
) -> None:
    # given
    withdrawals_on()
    member, other = distributor_with(5000), distributor_with(5000)
    withdrawal = withdrawal_request(member=member, amount_minor=2000, channel="store_balance")
    # when
    peeked = shop_client.get(f"{URL}/{withdrawal.pk}", **member_token(other))
    foreign = shop_client.post(f"{URL}/{withdrawal.pk}/cancel", **member_token(other))
    cancelled = shop_client.post(f"{URL}/{withdrawal.pk}/cancel", **member_token(member))
    twice = shop_client.post(f"{URL}/{withdrawal.pk}/cancel", **member_token(member))
    listed = shop_client.get(URL, **member_token(member))
    # then
    assert (peeked.status_code, foreign.status_code) == (404, 404)
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "withdrawal_state_invalid")
    assert [item["id"] for item in listed.json()["results"]] == [withdrawal.pk]
    assert balances(member)[Kind.COMMISSION_AVAILABLE] == 5000
    assert balances(other)[Kind.COMMISSION_AVAILABLE] == 5000


# --- Concurrency (committed data, other connections)

THREADS = 8


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_overdraw(shops: dict[str, Tenant]) -> None:
    # given: 100.00 available; eight requests of 30.00 at once
    alpha = shops["alpha"]

    def given() -> int:
        with tenant_schema(alpha):
            withdrawals_on()
            return distributor_with(10_000).pk

    member_id = committed(given)

    def request() -> Any:
        with tenant_schema(alpha):
            member = Member.objects.get(pk=member_id)
            return withdrawal_request(member=member, amount_minor=3000, channel="store_balance")

    try:
        # when
        results = run_in_threads([request] * THREADS)
        # then
        with tenant_schema(alpha):
            made = [result for result in results if isinstance(result, Withdrawal)]
            refused = [
                result
                for result in results
                if isinstance(result, WithdrawalInsufficientBalanceError)
            ]
            assert (len(made), len(refused)) == (3, THREADS - 3)
            member = Member.objects.get(pk=member_id)
            assert balances(member) == {
                Kind.COMMISSION_AVAILABLE: 1000,
                Kind.WITHDRAWAL_IN_PROGRESS: 9000,
                Kind.WITHDRAWN: 0,
            }
            assert ledger_balanced()
    finally:
        # Ledger rows are immutable (and balanced); the withdrawals and settings go.
        with tenant_schema(alpha):
            Withdrawal.objects.filter(member_id=member_id).delete()
            withdrawals_on(withdrawal_channels=[], enabled=False)


@pytest.mark.parametrize("count", [2, 6])
def test_the_list_stays_within_its_query_budget(
    shop: Tenant, shop_client: Client, count: int
) -> None:
    # given
    withdrawals_on()
    member = distributor_with(100_000)
    for _ in range(count):
        withdrawal_request(member=member, amount_minor=1000, channel="store_balance")
    headers = member_token(member)
    shop_client.get(URL, **headers)
    # when
    with CaptureQueriesContext(schema_connection()) as captured:
        answer = shop_client.get(URL, **headers)
    # then
    assert answer.status_code == 200
    assert len(answer.json()["results"]) == count
    assert len(captured.captured_queries) == LIST_BUDGET
