"""The console's withdrawals page: the review queue by state, approve and reject with a reason,
bank cards marked paid with a reference, a failed WeChat transfer retried; owner and admins act,
everyone else looks."""

from __future__ import annotations

import pytest
from django.test import Client

from distribution.models import Withdrawal
from distribution.services.withdrawals import (
    Payee,
    withdrawal_request,
    withdrawal_transfer,
)
from shop.customers.models import MemberIdentity
from tenants.models import Role, Tenant
from tests.distribution.withdrawals_support import Kind, balances, distributor_with, withdrawals_on
from tests.fakes.wechatpay import FakeWeChatPay
from tests.frontend.test_console_orders import _queries
from tests.support.console import console_client
from tests.support.wechatpay import OPENID, SUB_APPID

URL = "/console/alpha/distribution/withdrawals/"
BANK = Payee(account_name="李四", bank_name="工商银行", account_number="6222020200112233445")
# Session, account, membership, the account's shops, state counts, page count, page rows
# (with their members): the same for 2 rows as for 6.
LIST_BUDGET = 7


@pytest.fixture
def owner_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.OWNER, "withdrawals-owner@example.com")


@pytest.fixture
def staff_in_shop(shop: Tenant) -> Client:
    return console_client(shop, Role.STAFF, "withdrawals-staff@example.com")


def _requested(amount_minor: int = 3000, channel: str = "bank_card") -> Withdrawal:
    member = distributor_with(10_000)
    return withdrawal_request(
        member=member,
        amount_minor=amount_minor,
        channel=channel,
        payee=BANK if channel == "bank_card" else None,
    )


def test_the_queue_shows_requested_withdrawals_with_the_card_to_pay(
    owner_in_shop: Client,
) -> None:
    # given
    withdrawals_on()
    waiting = _requested()
    # when
    page = owner_in_shop.get(URL)
    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-withdrawal="{waiting.pk}"' in html
    assert "6222020200112233445" in html
    assert 'aria-current="page">Withdrawals' in html
    assert f"/withdrawals/{waiting.pk}/approve/" in html


def test_the_queue_filters_by_state(owner_in_shop: Client) -> None:
    # given: one requested, one rejected
    withdrawals_on()
    waiting, refused = _requested(), _requested()
    owner_in_shop.post(f"{URL}{refused.pk}/reject/", {f"w{refused.pk}-reason": "No"})
    # when
    requested = owner_in_shop.get(URL, {"state": "requested"}).content.decode()
    rejected = owner_in_shop.get(URL, {"state": "rejected"}).content.decode()
    everything = owner_in_shop.get(URL, {"state": "all"}).content.decode()
    # then
    assert f'data-withdrawal="{waiting.pk}"' in requested
    assert f'data-withdrawal="{refused.pk}"' not in requested
    assert f'data-withdrawal="{refused.pk}"' in rejected
    assert f'data-withdrawal="{waiting.pk}"' not in rejected
    assert f'data-withdrawal="{waiting.pk}"' in everything
    assert f'data-withdrawal="{refused.pk}"' in everything


def test_the_owner_approves_then_marks_a_bank_card_paid_with_its_reference(
    owner_in_shop: Client,
) -> None:
    # given
    withdrawals_on()
    withdrawal = _requested(3000)
    # when
    approved = owner_in_shop.post(f"{URL}{withdrawal.pk}/approve/", {"state": "requested"})
    empty = owner_in_shop.post(f"{URL}{withdrawal.pk}/paid/", {f"w{withdrawal.pk}-reference": ""})
    state_after_empty = Withdrawal.objects.get(pk=withdrawal.pk).state
    paid = owner_in_shop.post(
        f"{URL}{withdrawal.pk}/paid/",
        {f"w{withdrawal.pk}-reference": "ICBC-778899", "state": "approved"},
    )
    # then
    withdrawal.refresh_from_db()
    assert approved.status_code == 302
    assert approved["Location"].endswith("?state=requested")
    assert empty.status_code == 400
    assert state_after_empty == "approved"
    assert paid.status_code == 302
    assert (withdrawal.state, withdrawal.offline_reference) == ("paid", "ICBC-778899")
    assert withdrawal.reviewer.startswith("account:")
    assert balances(withdrawal.member)[Kind.WITHDRAWN] == 3000


def test_a_rejection_needs_a_reason_and_gives_the_money_back(owner_in_shop: Client) -> None:
    # given
    withdrawals_on()
    withdrawal = _requested(3000)
    # when
    no_reason = owner_in_shop.post(
        f"{URL}{withdrawal.pk}/reject/", {f"w{withdrawal.pk}-reason": ""}
    )
    rejected = owner_in_shop.post(
        f"{URL}{withdrawal.pk}/reject/", {f"w{withdrawal.pk}-reason": "Card name mismatch"}
    )
    # then
    withdrawal.refresh_from_db()
    assert no_reason.status_code == 400
    assert rejected.status_code == 302
    assert (withdrawal.state, withdrawal.reject_reason) == ("rejected", "Card name mismatch")
    assert balances(withdrawal.member)[Kind.COMMISSION_AVAILABLE] == 10_000


def test_staff_look_but_cannot_act(staff_in_shop: Client) -> None:
    # given
    withdrawals_on()
    withdrawal = _requested()
    # when
    page = staff_in_shop.get(URL)
    answers = [
        staff_in_shop.post(f"{URL}{withdrawal.pk}/approve/"),
        staff_in_shop.post(f"{URL}{withdrawal.pk}/reject/", {f"w{withdrawal.pk}-reason": "x"}),
        staff_in_shop.post(f"{URL}{withdrawal.pk}/paid/", {f"w{withdrawal.pk}-reference": "x"}),
        staff_in_shop.post(f"{URL}{withdrawal.pk}/transfer/"),
        staff_in_shop.post(f"{URL}{withdrawal.pk}/retry/"),
    ]
    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-withdrawal="{withdrawal.pk}"' in html
    assert "6222020200112233445" not in html
    assert "/approve/" not in html
    assert 'id="read-only-note"' in html
    assert [answer.status_code for answer in answers] == [403] * 5
    withdrawal.refresh_from_db()
    assert withdrawal.state == "requested"


def test_an_approved_store_balance_withdrawal_is_transferred_from_the_page(
    owner_in_shop: Client,
) -> None:
    # given
    withdrawals_on(withdrawal_review=False)
    withdrawal = _requested(2000, channel="store_balance")
    # when
    answer = owner_in_shop.post(f"{URL}{withdrawal.pk}/transfer/", {"state": "approved"})
    # then
    withdrawal.refresh_from_db()
    assert answer.status_code == 302
    assert withdrawal.state == "paid"
    withdrawal.member.refresh_from_db()
    assert withdrawal.member.store_balance_minor == 2000


def test_a_failed_wechat_transfer_is_retried_from_the_page(
    owner_in_shop: Client, wechatpay: FakeWeChatPay
) -> None:
    # given: a WeChat withdrawal that failed at WeChat (the money went back)
    withdrawals_on(withdrawal_review=False)
    member = distributor_with(10_000)
    MemberIdentity.objects.create(
        member=member, provider="wechat_miniprogram", appid=SUB_APPID, openid=OPENID
    )
    withdrawal = withdrawal_request(member=member, amount_minor=4000, channel="wechat_balance")
    wechatpay.fail_next(1, status=400, code="PARAM_ERROR")
    withdrawal = withdrawal_transfer(withdrawal_id=withdrawal.pk)
    failed_page = owner_in_shop.get(URL, {"state": "failed"}).content.decode()
    # when
    answer = owner_in_shop.post(f"{URL}{withdrawal.pk}/retry/", {"state": "failed"})
    # then
    withdrawal.refresh_from_db()
    assert f"/withdrawals/{withdrawal.pk}/retry/" in failed_page
    assert answer.status_code == 302
    assert (withdrawal.state, withdrawal.attempt) == ("awaiting_confirmation", 2)
    assert wechatpay.transfer(withdrawal.out_bill_no).transfer_amount == 4000
    assert balances(member)[Kind.WITHDRAWAL_IN_PROGRESS] == 4000


@pytest.mark.parametrize("count", [2, 6])
def test_the_queue_stays_within_its_query_budget(owner_in_shop: Client, count: int) -> None:
    # given
    withdrawals_on()
    for _ in range(count):
        _requested(1000, channel="store_balance")
    # when
    status, queries = _queries(lambda: owner_in_shop.get(URL))
    # then
    assert status == 200
    assert queries == LIST_BUDGET
