"""Withdrawals to WeChat balance through the fake WeChat Pay (the real wechatpayv3 client): the
payee's confirmation, success and failure notifications, the 24 h expiry, lost answers, and
notifications that are duplicated or forged."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from distribution.errors import WithdrawalPayeeMissingError, WithdrawalWeChatIdentityMissingError
from distribution.models import LedgerTransaction, Withdrawal, WithdrawalNotification
from distribution.services.withdrawals import (
    CONFIRMATION_WINDOW,
    NOTIFY_PATH,
    Payee,
    withdrawal_notification_receive,
    withdrawal_request,
    withdrawal_retry,
    withdrawal_transfer,
    withdrawals_sweep,
)
from infra.db import tenant_schema
from shop.customers.models import Member, MemberIdentity
from tenants.models import Tenant
from tests.distribution.withdrawals_support import (
    Kind,
    balances,
    distributor_with,
    fee_income,
    ledger_balanced,
    withdrawals_on,
)
from tests.fakes.wechatpay import FakeWeChatPay, Notification
from tests.support.commerce import member_token
from tests.support.threads import committed, run_in_threads
from tests.support.wechatpay import (
    OPENID,
    SUB_APPID,
    notification_post,
    wechatpay_account_make,
    wechatpay_platform,
)


def _payee(available_minor: int) -> Member:
    """A distributor signed in with WeChat in the shop's mini-program."""
    member = distributor_with(available_minor)
    MemberIdentity.objects.create(
        member=member,
        provider=MemberIdentity.Provider.WECHAT_MINIPROGRAM,
        appid=SUB_APPID,
        openid=OPENID,
    )
    return member


def _deliver(note: Notification) -> Any:
    """POST a notification to the shop's withdrawal notify endpoint as WeChat Pay does."""
    return notification_post(Client(HTTP_HOST="alpha.localhost"), note, NOTIFY_PATH)


def _sent(member: Member, amount_minor: int = 5000, **payee: str) -> Withdrawal:
    """A WeChat withdrawal, approved and handed to WeChat (waiting for the payee)."""
    withdrawal = withdrawal_request(
        member=member, amount_minor=amount_minor, channel="wechat_balance", payee=Payee(**payee)
    )
    return withdrawal_transfer(withdrawal_id=withdrawal.pk)


def test_the_payee_confirms_and_the_notification_pays_it(
    wechatpay: FakeWeChatPay, shop_client: Client
) -> None:
    # given: a 1 % fee, no review
    withdrawals_on(withdrawal_review=False, withdrawal_fee_bp=100)
    member = _payee(10_000)
    fees_before = fee_income()
    # when: handed to WeChat; the member's app reads what it confirms with
    withdrawal = _sent(member)
    detail = shop_client.get(
        f"/api/v1/distribution/withdrawals/{withdrawal.pk}", **member_token(member)
    )
    bill = wechatpay.transfer(withdrawal.out_bill_no)
    # then: WeChat waits for the payee, for the net amount, to the member's openid
    assert withdrawal.state == "awaiting_confirmation"
    assert (bill.state, bill.transfer_amount, bill.openid, bill.appid) == (
        "WAIT_USER_CONFIRM",
        4950,
        OPENID,
        SUB_APPID,
    )
    assert str(bill.notify_url).endswith(NOTIFY_PATH)
    assert detail.json()["confirmation"] == {
        "mchId": wechatpay.sp_mchid,
        "appId": SUB_APPID,
        "package": withdrawal.package_info,
    }
    # when: the payee confirms; WeChat notifies (twice, from two servers)
    note = wechatpay.transfer_confirm(withdrawal.out_bill_no)
    assert note is not None
    answers = [_deliver(note), _deliver(wechatpay.resign(note))]
    # then
    withdrawal.refresh_from_db()
    assert [answer.status_code for answer in answers] == [204, 204]
    assert (withdrawal.state, withdrawal.provider_state) == ("paid", "SUCCESS")
    assert balances(member) == {
        Kind.COMMISSION_AVAILABLE: 5000,
        Kind.WITHDRAWAL_IN_PROGRESS: 0,
        Kind.WITHDRAWN: 4950,
    }
    assert fee_income() - fees_before == 50
    assert (
        LedgerTransaction.objects.filter(source_id=str(withdrawal.pk), purpose="paid").count() == 1
    )
    assert WithdrawalNotification.objects.filter(out_bill_no=withdrawal.out_bill_no).count() == 1
    after = shop_client.get(
        f"/api/v1/distribution/withdrawals/{withdrawal.pk}", **member_token(member)
    )
    assert (after.json()["state"], after.json()["confirmation"]) == ("paid", None)
    assert ledger_balanced()


def test_a_failed_transfer_gives_the_money_back_and_can_be_retried(
    wechatpay: FakeWeChatPay,
) -> None:
    # given
    withdrawals_on(withdrawal_review=False)
    member = _payee(10_000)
    withdrawal = _sent(member)
    first_bill = withdrawal.out_bill_no
    # when: WeChat fails it
    answer = _deliver(wechatpay.transfer_fail(first_bill, reason="PAYEE_ACCOUNT_ABNORMAL"))
    withdrawal.refresh_from_db()
    failed_balances = balances(member)
    # and the merchant retries it
    withdrawal_retry(withdrawal_id=withdrawal.pk, actor="account:1")
    retried = withdrawal_transfer(withdrawal_id=withdrawal.pk)
    # then
    assert answer.status_code == 204
    assert (withdrawal.state, withdrawal.failure_reason) == ("failed", "PAYEE_ACCOUNT_ABNORMAL")
    assert failed_balances[Kind.COMMISSION_AVAILABLE] == 10_000
    assert failed_balances[Kind.WITHDRAWAL_IN_PROGRESS] == 0
    assert (retried.state, retried.attempt) == ("awaiting_confirmation", 2)
    assert retried.out_bill_no != first_bill
    assert wechatpay.transfer(retried.out_bill_no).state == "WAIT_USER_CONFIRM"
    assert balances(member)[Kind.WITHDRAWAL_IN_PROGRESS] == 5000
    # a late notice about the first bill changes nothing now
    _deliver(wechatpay.transfer_notification_for(first_bill))
    retried.refresh_from_db()
    assert retried.state == "awaiting_confirmation"
    assert ledger_balanced()


def test_unconfirmed_for_24_hours_it_is_cancelled_at_wechat_and_the_money_returns(
    wechatpay: FakeWeChatPay,
) -> None:
    # given
    withdrawals_on(withdrawal_review=False)
    member = _payee(10_000)
    withdrawal = _sent(member)
    assert withdrawal.awaiting_since is not None
    # when: the sweep runs just before and just after the 24 hours
    withdrawals_sweep(now=withdrawal.awaiting_since + CONFIRMATION_WINDOW - timedelta(minutes=1))
    withdrawal.refresh_from_db()
    still = (withdrawal.state, wechatpay.transfer(withdrawal.out_bill_no).state)
    withdrawals_sweep(now=withdrawal.awaiting_since + CONFIRMATION_WINDOW + timedelta(minutes=1))
    withdrawal.refresh_from_db()
    # then
    assert still == ("awaiting_confirmation", "WAIT_USER_CONFIRM")
    assert withdrawal.state == "expired"
    assert wechatpay.transfer(withdrawal.out_bill_no).state == "CANCELLED"
    assert balances(member)[Kind.COMMISSION_AVAILABLE] == 10_000
    assert balances(member)[Kind.WITHDRAWAL_IN_PROGRESS] == 0
    # WeChat's own notice of the cancellation then books nothing more
    assert _deliver(wechatpay.transfer_notification_for(withdrawal.out_bill_no)).status_code == 204
    assert (
        LedgerTransaction.objects.filter(
            source_id=str(withdrawal.pk), purpose__startswith="return"
        ).count()
        == 1
    )
    assert ledger_balanced()


def test_a_cancel_still_in_progress_keeps_the_money_until_wechat_closes_the_bill(
    wechatpay: FakeWeChatPay,
) -> None:
    # given: WeChat answers CANCELING and takes its time
    withdrawals_on(withdrawal_review=False)
    member = _payee(10_000)
    withdrawal = _sent(member)
    assert withdrawal.awaiting_since is not None
    wechatpay.transfer_cancel_completes = False
    later = withdrawal.awaiting_since + CONFIRMATION_WINDOW + timedelta(minutes=1)
    # when
    withdrawals_sweep(now=later)
    withdrawal.refresh_from_db()
    canceling = (withdrawal.state, withdrawal.provider_state)
    answer = _deliver(wechatpay.transfer_finish(withdrawal.out_bill_no, "CANCELLED"))
    withdrawal.refresh_from_db()
    # then
    assert canceling == ("awaiting_confirmation", "CANCELING")
    assert answer.status_code == 204
    assert withdrawal.state == "expired"
    assert balances(member)[Kind.COMMISSION_AVAILABLE] == 10_000


def test_a_lost_answer_is_recovered_by_the_sweep_with_the_same_bill(
    wechatpay: FakeWeChatPay,
) -> None:
    # given: WeChat is down when the transfer is sent
    withdrawals_on(withdrawal_review=False)
    member = _payee(10_000)
    wechatpay.fail_next(1, status=503)
    withdrawal = _sent(member)
    # when: the sweep comes by later; then the payee confirms but the notice is lost
    assert withdrawal.transfer_started_at is not None
    withdrawals_sweep(now=withdrawal.transfer_started_at + timedelta(minutes=5))
    withdrawal.refresh_from_db()
    waiting = withdrawal.state
    wechatpay.transfer_confirm(withdrawal.out_bill_no)
    withdrawals_sweep(now=withdrawal.transfer_started_at + timedelta(minutes=15))
    withdrawal.refresh_from_db()
    # then
    assert waiting == "awaiting_confirmation"
    assert withdrawal.state == "paid"
    creates = [
        call for call in wechatpay.calls if call[1] == "/v3/fund-app/mch-transfer/transfer-bills"
    ]
    assert {call[2]["out_bill_no"] for call in creates} == {withdrawal.out_bill_no}
    assert balances(member)[Kind.WITHDRAWN] == 5000


def test_a_refused_transfer_fails_and_gives_the_money_back(wechatpay: FakeWeChatPay) -> None:
    # given: WeChat refuses the request for good
    withdrawals_on(withdrawal_review=False)
    member = _payee(10_000)
    wechatpay.fail_next(1, status=400, code="NO_AUTH")
    # when
    withdrawal = _sent(member)
    # then
    assert withdrawal.state == "failed"
    assert withdrawal.failure_reason.startswith("no_auth")
    assert balances(member)[Kind.COMMISSION_AVAILABLE] == 10_000


def test_a_large_amount_needs_the_real_name_which_goes_to_wechat_encrypted(
    wechatpay: FakeWeChatPay,
) -> None:
    # given: 2,000.00 and more needs the payee's real name
    withdrawals_on(withdrawal_review=False)
    member = _payee(300_000)
    # when
    with pytest.raises(WithdrawalPayeeMissingError) as refused:
        withdrawal_request(member=member, amount_minor=200_000, channel="wechat_balance")
    assert "real_name" in (refused.value.fields or {})
    withdrawal = _sent(member, 200_000, real_name="张三")
    # then
    assert withdrawal.state == "awaiting_confirmation"
    assert withdrawal.payee_hint == "*三"
    assert wechatpay.transfer(withdrawal.out_bill_no).user_name == "张三"
    assert "张三" not in str(wechatpay.calls[-1][2])


def test_without_a_wechat_identity_the_request_is_refused(wechatpay: FakeWeChatPay) -> None:
    # given: a distributor who never signed in with WeChat
    withdrawals_on()
    member = distributor_with(10_000)
    # when / then
    with pytest.raises(WithdrawalWeChatIdentityMissingError):
        withdrawal_request(member=member, amount_minor=5000, channel="wechat_balance")
    assert not Withdrawal.objects.filter(member=member).exists()


@pytest.mark.parametrize(
    "knobs",
    [
        {"wrong_key": True},
        {"tamper": True},
        {"late_by_seconds": 600},
        {"corrupt_ciphertext": True},
        {"mch_id": "1900000999"},
    ],
    ids=["forged", "tampered", "stale", "undecryptable", "another-merchant"],
)
def test_forged_or_stale_notifications_are_refused_and_change_nothing(
    wechatpay: FakeWeChatPay, knobs: dict[str, Any]
) -> None:
    # given: a withdrawal waiting for the payee, who then confirms
    withdrawals_on(withdrawal_review=False)
    member = _payee(10_000)
    withdrawal = _sent(member)
    wechatpay.transfer_confirm(withdrawal.out_bill_no, complete=False)
    wechatpay.transfer_finish(withdrawal.out_bill_no, "SUCCESS")
    # when
    answer = _deliver(wechatpay.transfer_notification_for(withdrawal.out_bill_no, **knobs))
    # then
    withdrawal.refresh_from_db()
    assert answer.status_code == 400
    assert answer.json()["code"] == "FAIL"
    assert withdrawal.state == "awaiting_confirmation"
    assert not WithdrawalNotification.objects.exists()
    assert balances(member)[Kind.WITHDRAWAL_IN_PROGRESS] == 5000


# --- Concurrency (committed data, other connections)


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_concurrent_notifications_and_sweeps_pay_once(shops: dict[str, Tenant]) -> None:
    # given: a committed WeChat withdrawal the payee confirmed; WeChat's notice arrives six
    # times at once (several servers, retries) while two sweeps ask WeChat about it
    alpha = shops["alpha"]
    with wechatpay_platform() as fake:
        committed(lambda: wechatpay_account_make(alpha, fake))

        def given() -> tuple[int, int]:
            with tenant_schema(alpha):
                withdrawals_on(withdrawal_review=False, withdrawal_fee_bp=100)
                member = _payee(10_000)
                return member.pk, _sent(member).pk

        member_id, withdrawal_id = committed(given)
        with tenant_schema(alpha):
            out_bill_no = Withdrawal.objects.get(pk=withdrawal_id).out_bill_no
        note = fake.transfer_confirm(out_bill_no)
        assert note is not None
        copies = [fake.resign(note) for _ in range(6)]

        def receive(copy: Notification) -> str:
            with tenant_schema(alpha):
                return withdrawal_notification_receive(
                    headers=copy.headers, body=copy.body.encode()
                )

        def sweep() -> int:
            with tenant_schema(alpha):
                return withdrawals_sweep(now=timezone.now() + timedelta(minutes=5))

        try:
            # when
            results = run_in_threads(
                [functools.partial(receive, copy) for copy in copies] + [sweep, sweep]
            )
            # then
            assert not [result for result in results if isinstance(result, BaseException)]
            outcomes = sorted(str(result) for result in results[:6])
            assert outcomes.count("duplicate") == 5
            with tenant_schema(alpha):
                withdrawal = Withdrawal.objects.get(pk=withdrawal_id)
                assert withdrawal.state == "paid"
                assert (
                    LedgerTransaction.objects.filter(
                        source="withdrawal", source_id=str(withdrawal_id)
                    ).count()
                    == 2  # the hold and the payment
                )
                member = Member.objects.get(pk=member_id)
                assert balances(member) == {
                    Kind.COMMISSION_AVAILABLE: 5000,
                    Kind.WITHDRAWAL_IN_PROGRESS: 0,
                    Kind.WITHDRAWN: 4950,
                }
                assert ledger_balanced()
        finally:
            with tenant_schema(alpha):
                WithdrawalNotification.objects.filter(out_bill_no=out_bill_no).delete()
                Withdrawal.objects.filter(pk=withdrawal_id).delete()
                MemberIdentity.objects.filter(member_id=member_id).delete()
                withdrawals_on(withdrawal_channels=[], enabled=False)
