"""Withdrawals: a distributor takes available commission out, through WeChat (merchant transfer
with the payee's confirmation), a bank card the merchant pays offline, or the shop's store
balance.

Money (ledger, positive = credit; source "withdrawal", source id = the withdrawal's id):
- request: commission_available -amount, withdrawal_in_progress +amount ("hold:<attempt>"),
  after reading the balance under ledger_member_lock, so concurrent requests cannot overdraw;
- paid: withdrawal_in_progress -amount, withdrawn +net, shop_withdrawal_fee_income +fee ("paid");
- rejected / failed / cancelled / expired: the hold is reversed ("return:<attempt>").

Fee: amount * withdrawal_fee_bp / 10,000, rounded down to the minor unit (in the distributor's
favour, like commissions); net = amount - fee, and must be at least one minor unit (WeChat: its
minimum of 0.10). The daily limit counts, per distributor and shop-local day of the request,
every withdrawal that did not give its money back (requested, in flight and paid).

Every state change is a conditional UPDATE on the states it may leave, in the same transaction
as its ledger posting (itself idempotent by key): a retried or concurrent call moves and books
nothing twice. WeChat is called outside of any transaction, after the claim committed; a lost
answer is recovered by the sweep (the same out_bill_no is the same bill at WeChat).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from distribution.errors import (
    WithdrawalBelowMinimumError,
    WithdrawalChannelNotAllowedError,
    WithdrawalDailyLimitError,
    WithdrawalInsufficientBalanceError,
    WithdrawalNotADistributorError,
    WithdrawalNotFoundError,
    WithdrawalNothingLeftError,
    WithdrawalPayeeMissingError,
    WithdrawalStateError,
    WithdrawalWeChatIdentityMissingError,
)
from distribution.models import (
    Commission,
    Distributor,
    LedgerAccountKind,
    LedgerTransaction,
    Withdrawal,
    WithdrawalChannel,
    WithdrawalNotification,
)
from distribution.services.ledger import (
    ledger_account_for,
    ledger_balances,
    ledger_member_lock,
    ledger_post,
    ledger_reverse,
)
from distribution.services.settings import distribution_settings_get
from infra.crypto import decrypt_text, encrypt_text
from infra.errors import DomainError, ValidationFailed
from shop.core.idempotency import IdempotencyKeyReusedError
from shop.core.selectors import shop_context
from shop.customers.models import Member, MemberIdentity
from shop.customers.services.store_balance import store_balance_credit
from shop.payments.errors import NotificationInvalidError
from shop.payments.gateways import wechatpay
from shop.payments.gateways.base import GatewayError, NotificationRejected
from tenants.selectors.tenancy import shop_host_for

logger = logging.getLogger(__name__)

State = Withdrawal.State
Kind = LedgerAccountKind
SOURCE = "withdrawal"
# Store-balance credits are keyed by this source and the withdrawal's id (once per withdrawal).
STORE_BALANCE_SOURCE = "distribution_withdrawal"
# A bill WeChat still holds for the payee's confirmation after this long is cancelled there
# and the money goes back to the distributor's balance.
CONFIRMATION_WINDOW = timedelta(hours=24)
# The sweep leaves alone what a request or task may still be working on.
SWEEP_GRACE = timedelta(minutes=2)
RETURNED_STATES = (State.REJECTED, State.FAILED, State.CANCELLED, State.EXPIRED)
WECHAT_IN_FLIGHT = (State.TRANSFERRING, State.AWAITING_CONFIRMATION)
BANK_ACCOUNT_DIGITS = (8, 30)
NOTIFY_PATH = "/api/v1/distribution/withdrawals/notify/wechatpay"


@dataclass(frozen=True)
class Payee:
    """Where the money goes: a bank account (bank_card) or the real name WeChat checks."""

    account_name: str = ""
    bank_name: str = ""
    account_number: str = ""
    branch: str = ""
    real_name: str = ""


# --- Reads (selectors)


def withdrawals_of_member(*, member_id: int) -> QuerySet[Withdrawal]:
    """A distributor's withdrawals, newest first."""
    return Withdrawal.objects.filter(member_id=member_id).order_by("-created_at", "-id")


def withdrawal_of_member(*, member_id: int, withdrawal_id: int) -> Withdrawal:
    """One of the distributor's own withdrawals (withdrawal_not_found for anyone else's)."""
    withdrawal = Withdrawal.objects.filter(member_id=member_id, pk=withdrawal_id).first()
    if withdrawal is None:
        raise WithdrawalNotFoundError()
    return withdrawal


def withdrawals_for_console(*, state: str | None = None) -> QuerySet[Withdrawal]:
    """Every withdrawal with its member, oldest open ones first (the review queue's order)."""
    rows = Withdrawal.objects.select_related("member")
    if state:
        rows = rows.filter(state=state)
    return rows.order_by("created_at", "id")


def withdrawal_state_counts() -> dict[str, int]:
    """How many withdrawals are in each state (every state present, 0 when none)."""
    counts = dict.fromkeys(State.values, 0)
    for state, count in (
        Withdrawal.objects.values("state").annotate(count=Count("id")).values_list("state", "count")
    ):
        counts[state] = int(count)
    return counts


def withdrawal_get(*, withdrawal_id: int) -> Withdrawal:
    withdrawal = Withdrawal.objects.select_related("member").filter(pk=withdrawal_id).first()
    if withdrawal is None:
        raise WithdrawalNotFoundError()
    return withdrawal


def withdrawal_payee(withdrawal: Withdrawal) -> dict[str, str]:
    """The payee details as given with the request (decrypted; for the merchant paying them)."""
    if not withdrawal.payee_encrypted:
        return {}
    details: dict[str, str] = json.loads(decrypt_text(withdrawal.payee_encrypted))
    return details


def withdrawal_client_confirmation(withdrawal: Withdrawal) -> dict[str, str] | None:
    """What wx.requestMerchantTransfer needs while WeChat waits for the payee; else None."""
    if withdrawal.state != State.AWAITING_CONFIRMATION or not withdrawal.package_info:
        return None
    try:
        return wechatpay.transfer_client_params(
            appid=withdrawal.payee_appid, package_info=withdrawal.package_info
        )
    except GatewayError:
        return None


def withdrawal_fee(*, amount_minor: int, fee_bp: int) -> int:
    """The fee on `amount_minor` at `fee_bp` basis points, rounded down to the minor unit."""
    return amount_minor * fee_bp // 10_000


# --- Request


def _field_error(name: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        _("Some fields are not valid."), fields={name: [{"code": code, "message": message}]}
    )


def _payee_checked(channel: str, payee: Payee | None, net_minor: int) -> Payee:
    payee = payee or Payee()
    if channel == WithdrawalChannel.BANK_CARD:
        number = "".join(payee.account_number.split())
        fields: dict[str, list[dict[str, str]]] = {}
        for name, value in (
            ("account_name", payee.account_name),
            ("bank_name", payee.bank_name),
        ):
            if not value.strip() or len(value) > 64:
                fields[name] = [{"code": "required", "message": _("Fill this in (64 at most).")}]
        low, high = BANK_ACCOUNT_DIGITS
        if not (number.isdigit() and low <= len(number) <= high):
            fields["account_number"] = [
                {"code": "invalid", "message": _("Give the card number: 8 to 30 digits.")}
            ]
        if len(payee.branch) > 64:
            fields["branch"] = [{"code": "max_length", "message": _("64 characters at most.")}]
        if fields:
            raise WithdrawalPayeeMissingError(fields=fields)
        return Payee(
            account_name=payee.account_name.strip(),
            bank_name=payee.bank_name.strip(),
            account_number=number,
            branch=payee.branch.strip(),
        )
    if channel == WithdrawalChannel.WECHAT_BALANCE:
        real_name = payee.real_name.strip()
        if len(real_name) > 64:
            raise _field_error("real_name", "max_length", _("64 characters at most."))
        if net_minor >= wechatpay.TRANSFER_REAL_NAME_FROM_MINOR and not real_name:
            raise WithdrawalPayeeMissingError(
                _("WeChat needs the payee's real name for this amount."),
                fields={
                    "real_name": [
                        {"code": "required", "message": _("Give your real name for WeChat.")}
                    ]
                },
            )
        return Payee(real_name=real_name)
    return Payee()


def _payee_hint(channel: str, payee: Payee) -> str:
    if channel == WithdrawalChannel.BANK_CARD:
        return f"{payee.bank_name[:40]} ****{payee.account_number[-4:]}"
    if channel == WithdrawalChannel.WECHAT_BALANCE and payee.real_name:
        return "*" * (len(payee.real_name) - 1) + payee.real_name[-1:]
    return ""


def _payee_encrypted(payee: Payee) -> str:
    details = {name: value for name, value in asdict(payee).items() if value}
    return encrypt_text(json.dumps(details, ensure_ascii=False)) if details else ""


def _wechat_payee(member_id: int) -> tuple[str, str]:
    """(appid, openid) the shop's transfers pay this member at."""
    try:
        appid = wechatpay.transfer_appid(tenant_id=shop_context().tenant_id)
    except GatewayError as error:
        raise WithdrawalChannelNotAllowedError(
            _("WeChat Pay is not set up for this shop.")
        ) from error
    openid = (
        MemberIdentity.objects.filter(member_id=member_id, appid=appid)
        .order_by("-created_at")
        .values_list("openid", flat=True)
        .first()
    )
    if not openid:
        raise WithdrawalWeChatIdentityMissingError()
    return appid, str(openid)


def _out_bill_no() -> str:
    """Unique across the platform (every shop's transfers go through one merchant account);
    letters and digits only, 32 at most (WeChat's rule)."""
    return "WD" + uuid.uuid4().hex[:30].upper()


def _hold(withdrawal: Withdrawal) -> None:
    ledger_post(
        source=SOURCE,
        source_id=withdrawal.pk,
        purpose=f"hold:{withdrawal.attempt}",
        memo=f"Withdrawal {withdrawal.pk} requested",
        lines=[
            (
                ledger_account_for(member_id=withdrawal.member_id, kind=Kind.COMMISSION_AVAILABLE),
                -withdrawal.amount_minor,
            ),
            (
                ledger_account_for(
                    member_id=withdrawal.member_id, kind=Kind.WITHDRAWAL_IN_PROGRESS
                ),
                withdrawal.amount_minor,
            ),
        ],
    )


def _available(member_id: int) -> int:
    return ledger_balances(member_id=member_id).get(Kind.COMMISSION_AVAILABLE, 0)


def _local_today() -> Any:
    return timezone.localdate(timezone=shop_context().time_zone)


def withdrawal_request(
    *,
    member: Member,
    amount_minor: int,
    channel: str,
    payee: Payee | None = None,
    idempotency_key: str = "",
) -> Withdrawal:
    """Ask to withdraw `amount_minor` (minor units, fee included) of the available balance.

    The money is held at once (available → in progress). Without review the withdrawal is
    approved at once, and with auto-transfer a task transfers it after the commit. Refusals
    change nothing: withdrawal_channel_not_allowed, withdrawal_not_a_distributor,
    withdrawal_below_minimum, withdrawal_nothing_left_after_fee, withdrawal_payee_missing,
    withdrawal_wechat_identity_missing, withdrawal_daily_limit_exceeded,
    withdrawal_insufficient_balance. The same idempotency key returns the first withdrawal.
    """
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor < 1:
        raise _field_error("amount_minor", "min_value", _("Give a positive whole amount."))
    settings_row = distribution_settings_get()
    if channel not in WithdrawalChannel.values or channel not in settings_row.withdrawal_channels:
        raise WithdrawalChannelNotAllowedError()
    if not Distributor.objects.filter(
        member_id=member.pk, status=Distributor.Status.ACTIVE
    ).exists():
        raise WithdrawalNotADistributorError()
    if amount_minor < settings_row.withdrawal_min_minor:
        raise WithdrawalBelowMinimumError()
    fee_minor = withdrawal_fee(amount_minor=amount_minor, fee_bp=settings_row.withdrawal_fee_bp)
    net_minor = amount_minor - fee_minor
    least = wechatpay.TRANSFER_MIN_MINOR if channel == WithdrawalChannel.WECHAT_BALANCE else 1
    if net_minor < least:
        raise WithdrawalNothingLeftError()
    checked = _payee_checked(channel, payee, net_minor)
    appid = openid = ""
    if channel == WithdrawalChannel.WECHAT_BALANCE:
        appid, openid = _wechat_payee(member.pk)
    review = settings_row.withdrawal_review
    auto_transfer = settings_row.withdrawal_auto_transfer
    with transaction.atomic():
        ledger_member_lock(member_id=member.pk)
        if idempotency_key:
            first = Withdrawal.objects.filter(
                member_id=member.pk, idempotency_key=idempotency_key
            ).first()
            if first is not None:
                if (first.amount_minor, first.channel) != (amount_minor, channel):
                    raise IdempotencyKeyReusedError()
                return first
        today = _local_today()
        limit = settings_row.withdrawal_daily_limit_minor
        if limit is not None:
            taken = (
                Withdrawal.objects.filter(member_id=member.pk, local_day=today)
                .exclude(state__in=RETURNED_STATES)
                .aggregate(total=Coalesce(Sum("amount_minor"), 0))["total"]
            )
            if int(taken) + amount_minor > limit:
                raise WithdrawalDailyLimitError()
        if _available(member.pk) < amount_minor:
            raise WithdrawalInsufficientBalanceError()
        now = timezone.now()
        withdrawal = Withdrawal.objects.create(
            member_id=member.pk,
            amount_minor=amount_minor,
            fee_minor=fee_minor,
            net_minor=net_minor,
            currency=shop_context().currency,
            channel=channel,
            state=State.REQUESTED if review else State.APPROVED,
            local_day=today,
            idempotency_key=idempotency_key,
            out_bill_no=_out_bill_no(),
            payee_appid=appid,
            payee_openid=openid,
            payee_encrypted=_payee_encrypted(checked),
            payee_hint=_payee_hint(channel, checked),
            reviewer="" if review else "auto",
            reviewed_at=None if review else now,
        )
        _hold(withdrawal)
        if not review and auto_transfer:
            _transfer_after_commit(withdrawal)
    return withdrawal


def _transfer_after_commit(withdrawal: Withdrawal) -> None:
    if withdrawal.channel == WithdrawalChannel.BANK_CARD:
        return  # the merchant pays it offline
    withdrawal_id = withdrawal.pk

    def send() -> None:
        from distribution.tasks import withdrawal_transfer_task

        try:
            withdrawal_transfer_task.apply_async(args=[withdrawal_id], retry=False)
        except Exception:  # the sweep transfers it
            logger.warning("could not enqueue the transfer of %s", withdrawal_id, exc_info=True)

    transaction.on_commit(send)


# --- State moves


def _move(
    withdrawal_id: int, *, leaving: Iterable[str], to: str, **fields: Any
) -> Withdrawal | None:
    """Move the withdrawal to `to` if it is in one of the `leaving` states; None otherwise."""
    now = timezone.now()
    moved = Withdrawal.objects.filter(pk=withdrawal_id, state__in=list(leaving)).update(
        state=to, state_changed_at=now, **fields
    )
    if not moved:
        return None
    return Withdrawal.objects.get(pk=withdrawal_id)


def _refused(withdrawal_id: int) -> DomainError:
    """Why a move found nothing to move: no such withdrawal, or not in a state that allows it."""
    if not Withdrawal.objects.filter(pk=withdrawal_id).exists():
        return WithdrawalNotFoundError()
    return WithdrawalStateError()


def _return_money(withdrawal: Withdrawal) -> None:
    """Reverse the hold of the current attempt (in progress → available), once."""
    hold = LedgerTransaction.objects.get(
        source=SOURCE, source_id=str(withdrawal.pk), purpose=f"hold:{withdrawal.attempt}"
    )
    ledger_reverse(
        transaction=hold,
        source=SOURCE,
        source_id=withdrawal.pk,
        purpose=f"return:{withdrawal.attempt}",
    )


def _close_returning(
    withdrawal_id: int, *, leaving: Iterable[str], to: str, **fields: Any
) -> Withdrawal | None:
    """Move to a state that gives the money back, and give it back (same transaction)."""
    withdrawal = _move(withdrawal_id, leaving=leaving, to=to, closed_at=timezone.now(), **fields)
    if withdrawal is not None:
        _return_money(withdrawal)
    return withdrawal


def _pay(withdrawal_id: int, *, leaving: Iterable[str], **fields: Any) -> Withdrawal | None:
    """Move to paid and book it: in progress → withdrawn (net) + the shop's fee income (fee);
    then mark the distributor's oldest available commissions withdrawn (informational)."""
    now = timezone.now()
    withdrawal = _move(
        withdrawal_id, leaving=leaving, to=State.PAID, paid_at=now, closed_at=now, **fields
    )
    if withdrawal is None:
        return None
    lines = [
        (
            ledger_account_for(member_id=withdrawal.member_id, kind=Kind.WITHDRAWAL_IN_PROGRESS),
            -withdrawal.amount_minor,
        ),
        (
            ledger_account_for(member_id=withdrawal.member_id, kind=Kind.WITHDRAWN),
            withdrawal.net_minor,
        ),
    ]
    if withdrawal.fee_minor:
        lines.append(
            (
                ledger_account_for(member_id=None, kind=Kind.SHOP_WITHDRAWAL_FEE_INCOME),
                withdrawal.fee_minor,
            )
        )
    ledger_post(
        source=SOURCE,
        source_id=withdrawal.pk,
        purpose="paid",
        memo=f"Withdrawal {withdrawal.pk} paid ({withdrawal.channel})",
        lines=lines,
    )
    _commissions_mark_withdrawn(member_id=withdrawal.member_id)
    return withdrawal


def _commissions_mark_withdrawn(*, member_id: int) -> int:
    """Mark available commissions withdrawn, oldest first, as far as paid withdrawals cover
    them (whole commissions only); how many were marked."""
    ledger_member_lock(member_id=member_id)
    paid = Withdrawal.objects.filter(member_id=member_id, state=State.PAID).aggregate(
        total=Coalesce(Sum("amount_minor"), 0)
    )["total"]
    marked = Commission.objects.filter(
        beneficiary_id=member_id, state=Commission.State.WITHDRAWN
    ).aggregate(
        total=Coalesce(Sum(F("amount_minor") - F("reversed_minor") - F("clawed_minor")), 0)
    )["total"]
    room = int(paid) - int(marked)
    chosen: list[int] = []
    for commission_id, amount, reversed_amount, clawed in (
        Commission.objects.filter(beneficiary_id=member_id, state=Commission.State.AVAILABLE)
        .order_by("state_changed_at", "id")
        .values_list("id", "amount_minor", "reversed_minor", "clawed_minor")
    ):
        # What the commission put into the available balance (a part taken for a clawback
        # while it was pending or frozen never got there).
        left = amount - reversed_amount - clawed
        if left > room:
            break
        room -= left
        chosen.append(commission_id)
    if not chosen:
        return 0
    return Commission.objects.filter(pk__in=chosen, state=Commission.State.AVAILABLE).update(
        state=Commission.State.WITHDRAWN, state_changed_at=timezone.now()
    )


@transaction.atomic
def withdrawal_approve(*, withdrawal_id: int, actor: str) -> Withdrawal:
    """Approve a requested withdrawal (owner/admin); with auto-transfer it goes out after the
    commit. withdrawal_state_invalid when it is no longer requested."""
    withdrawal = _move(
        withdrawal_id,
        leaving=[State.REQUESTED],
        to=State.APPROVED,
        reviewer=actor[:64],
        reviewed_at=timezone.now(),
    )
    if withdrawal is None:
        raise _refused(withdrawal_id)
    if distribution_settings_get().withdrawal_auto_transfer:
        _transfer_after_commit(withdrawal)
    return withdrawal


@transaction.atomic
def withdrawal_reject(*, withdrawal_id: int, actor: str, reason: str) -> Withdrawal:
    """Refuse a requested (or approved, not yet transferred) withdrawal, saying why; the money
    goes back to the available balance."""
    reason = reason.strip()
    if not reason:
        raise _field_error("reason", "required", _("Say why, for the distributor."))
    withdrawal = _close_returning(
        withdrawal_id,
        leaving=[State.REQUESTED, State.APPROVED],
        to=State.REJECTED,
        reviewer=actor[:64],
        reviewed_at=timezone.now(),
        reject_reason=reason[:255],
    )
    if withdrawal is None:
        raise _refused(withdrawal_id)
    return withdrawal


@transaction.atomic
def withdrawal_cancel(*, member_id: int, withdrawal_id: int) -> Withdrawal:
    """The distributor takes back a request not yet reviewed; the money goes back."""
    withdrawal_of_member(member_id=member_id, withdrawal_id=withdrawal_id)
    withdrawal = _close_returning(withdrawal_id, leaving=[State.REQUESTED], to=State.CANCELLED)
    if withdrawal is None:
        raise WithdrawalStateError()
    return withdrawal


@transaction.atomic
def withdrawal_mark_paid(*, withdrawal_id: int, actor: str, reference: str) -> Withdrawal:
    """The merchant paid a bank-card withdrawal offline: record its reference, book it paid."""
    reference = reference.strip()
    if not reference:
        raise _field_error("reference", "required", _("Give the bank transfer's reference."))
    current = withdrawal_get(withdrawal_id=withdrawal_id)
    if current.channel != WithdrawalChannel.BANK_CARD:
        raise WithdrawalStateError(_("Only bank card withdrawals are paid by hand."))
    withdrawal = _pay(
        withdrawal_id,
        leaving=[State.REQUESTED, State.APPROVED],
        offline_reference=reference[:128],
        reviewer=current.reviewer or actor[:64],
        reviewed_at=current.reviewed_at or timezone.now(),
    )
    if withdrawal is None:
        raise _refused(withdrawal_id)
    return withdrawal


@transaction.atomic
def withdrawal_retry(*, withdrawal_id: int, actor: str) -> Withdrawal:
    """Try a failed WeChat transfer again: the money is held again (if it is still available)
    under a new bill number, and the withdrawal is approved for the transfer."""
    current = withdrawal_get(withdrawal_id=withdrawal_id)
    if current.channel != WithdrawalChannel.WECHAT_BALANCE or current.state != State.FAILED:
        raise WithdrawalStateError()
    ledger_member_lock(member_id=current.member_id)
    if _available(current.member_id) < current.amount_minor:
        raise WithdrawalInsufficientBalanceError()
    withdrawal = _move(
        withdrawal_id,
        leaving=[State.FAILED],
        to=State.APPROVED,
        attempt=F("attempt") + 1,
        out_bill_no=_out_bill_no(),
        provider_bill_no="",
        provider_state="",
        package_info="",
        failure_reason="",
        transfer_started_at=None,
        awaiting_since=None,
        cancel_requested_at=None,
        closed_at=None,
        reviewer=actor[:64],
        reviewed_at=timezone.now(),
    )
    if withdrawal is None:
        raise WithdrawalStateError()
    _hold(withdrawal)
    return withdrawal


# --- Transfers


def withdrawal_transfer(*, withdrawal_id: int) -> Withdrawal:
    """Pay an approved withdrawal out through its channel: store balance at once; WeChat up to
    the payee's confirmation (awaiting_confirmation). Does nothing for one already on its way;
    withdrawal_state_invalid for a bank card (the merchant pays those)."""
    current = withdrawal_get(withdrawal_id=withdrawal_id)
    if current.channel == WithdrawalChannel.BANK_CARD:
        raise WithdrawalStateError(_("Bank card withdrawals are paid by the merchant."))
    if current.channel == WithdrawalChannel.STORE_BALANCE:
        with transaction.atomic():
            claimed = _move(
                withdrawal_id,
                leaving=[State.APPROVED],
                to=State.TRANSFERRING,
                transfer_started_at=timezone.now(),
            )
            if claimed is None:
                return withdrawal_get(withdrawal_id=withdrawal_id)
            store_balance_credit(
                member_id=claimed.member_id,
                amount_minor=claimed.net_minor,
                source=STORE_BALANCE_SOURCE,
                source_id=str(claimed.pk),
                memo=f"Distribution withdrawal {claimed.pk}",
            )
            paid = _pay(withdrawal_id, leaving=[State.TRANSFERRING])
            assert paid is not None
            return paid
    with transaction.atomic():
        claimed = _move(
            withdrawal_id,
            leaving=[State.APPROVED],
            to=State.TRANSFERRING,
            transfer_started_at=timezone.now(),
        )
    if claimed is None:
        return withdrawal_get(withdrawal_id=withdrawal_id)
    return _wechat_submit(claimed)


def _notify_url() -> str:
    port = f":{settings.PLATFORM_PORT}" if settings.PLATFORM_PORT else ""
    host = shop_host_for(shop_context().slug)
    return f"{settings.PLATFORM_SCHEME}://{host}{port}{NOTIFY_PATH}"


def _wechat_submit(withdrawal: Withdrawal) -> Withdrawal:
    """Create (or find again: same out_bill_no) the WeChat bill of a transferring withdrawal."""
    real_name = withdrawal_payee(withdrawal).get("real_name", "")
    try:
        state = wechatpay.transfer_create(
            wechatpay.TransferRequest(
                out_bill_no=withdrawal.out_bill_no,
                appid=withdrawal.payee_appid,
                openid=withdrawal.payee_openid,
                amount_minor=withdrawal.net_minor,
                remark=_("Commission withdrawal"),
                notify_url=_notify_url(),
                real_name=real_name,
            )
        )
    except GatewayError as error:
        logger.warning("transfer of withdrawal %s: %s", withdrawal.pk, error)
        if error.retryable:
            # The bill may exist: the sweep asks again with the same out_bill_no.
            Withdrawal.objects.filter(pk=withdrawal.pk, state=State.TRANSFERRING).update(
                failure_reason=str(error)[:255]
            )
        else:
            with transaction.atomic():
                _close_returning(
                    withdrawal.pk,
                    leaving=[State.TRANSFERRING],
                    to=State.FAILED,
                    failure_reason=f"{error.code}: {error}"[:255],
                )
        return withdrawal_get(withdrawal_id=withdrawal.pk)
    return withdrawal_apply_transfer_state(withdrawal_id=withdrawal.pk, state=state)


@transaction.atomic
def withdrawal_apply_transfer_state(
    *, withdrawal_id: int, state: wechatpay.TransferState
) -> Withdrawal:
    """Apply WeChat's view of the bill (from an answer, a query or a notification), once."""
    withdrawal = Withdrawal.objects.get(pk=withdrawal_id)
    if state.out_bill_no != withdrawal.out_bill_no:
        return withdrawal  # an earlier attempt's bill
    known: dict[str, Any] = {"provider_state": state.state}
    if state.provider_bill_no:
        known["provider_bill_no"] = state.provider_bill_no
    if state.state == "SUCCESS":
        _pay(withdrawal_id, leaving=WECHAT_IN_FLIGHT, **known)
    elif state.state == "FAIL":
        _close_returning(
            withdrawal_id,
            leaving=WECHAT_IN_FLIGHT,
            to=State.FAILED,
            failure_reason=(state.fail_reason or "FAIL")[:255],
            **known,
        )
    elif state.state == "CANCELLED":
        expired = withdrawal.cancel_requested_at is not None
        _close_returning(
            withdrawal_id,
            leaving=WECHAT_IN_FLIGHT,
            to=State.EXPIRED if expired else State.CANCELLED,
            **known,
        )
    elif state.state == "WAIT_USER_CONFIRM":
        fields: dict[str, Any] = dict(known)
        if state.package_info:
            fields["package_info"] = state.package_info
        moved = _move(
            withdrawal_id,
            leaving=[State.TRANSFERRING],
            to=State.AWAITING_CONFIRMATION,
            awaiting_since=withdrawal.awaiting_since or timezone.now(),
            **fields,
        )
        if moved is None:
            Withdrawal.objects.filter(pk=withdrawal_id, state__in=WECHAT_IN_FLIGHT).update(**fields)
    elif state.state == "TRANSFERING":
        # The payee confirmed: WeChat is paying; nothing is left to confirm.
        moved = _move(
            withdrawal_id, leaving=[State.AWAITING_CONFIRMATION], to=State.TRANSFERRING, **known
        )
        if moved is None:
            Withdrawal.objects.filter(pk=withdrawal_id, state__in=WECHAT_IN_FLIGHT).update(**known)
    else:  # ACCEPTED, PROCESSING, CANCELING: still on its way
        Withdrawal.objects.filter(pk=withdrawal_id, state__in=WECHAT_IN_FLIGHT).update(**known)
    return Withdrawal.objects.get(pk=withdrawal_id)


def _wechat_check(withdrawal: Withdrawal, *, now: datetime) -> None:
    """Ask WeChat about one in-flight withdrawal; cancel it there after the window."""
    if withdrawal.state == State.TRANSFERRING and not withdrawal.provider_bill_no:
        _wechat_submit(withdrawal)  # the answer was lost, or the call failed: ask again
        return
    state = wechatpay.transfer_query(out_bill_no=withdrawal.out_bill_no)
    if state is None:
        _wechat_submit(withdrawal)
        return
    waited_since = withdrawal.awaiting_since
    if (
        state.state == "WAIT_USER_CONFIRM"
        and waited_since is not None
        and now - waited_since >= CONFIRMATION_WINDOW
    ):
        Withdrawal.objects.filter(pk=withdrawal.pk, cancel_requested_at__isnull=True).update(
            cancel_requested_at=now
        )
        try:
            state = wechatpay.transfer_cancel(out_bill_no=withdrawal.out_bill_no)
        except GatewayError as error:
            logger.warning("cancel of withdrawal %s: %s", withdrawal.pk, error)
        # CANCELING is not final: the bill is only closed when WeChat says CANCELLED.
        state = wechatpay.transfer_query(out_bill_no=withdrawal.out_bill_no) or state
    withdrawal_apply_transfer_state(withdrawal_id=withdrawal.pk, state=state)


def withdrawals_sweep(*, now: datetime | None = None) -> int:
    """The beat's pass: WeChat withdrawals in flight are asked about (and cancelled after 24 h
    unconfirmed, the money back), approved ones a lost task left are transferred. How many
    withdrawals it looked at."""
    now = now or timezone.now()
    seen = 0
    in_flight = Withdrawal.objects.filter(
        channel=WithdrawalChannel.WECHAT_BALANCE,
        state__in=WECHAT_IN_FLIGHT,
        transfer_started_at__lte=now - SWEEP_GRACE,
    ).order_by("transfer_started_at", "id")
    for withdrawal in in_flight[:500]:
        seen += 1
        try:
            _wechat_check(withdrawal, now=now)
        except GatewayError as error:
            logger.warning("sweep of withdrawal %s: %s", withdrawal.pk, error)
    if distribution_settings_get().withdrawal_auto_transfer:
        left = Withdrawal.objects.filter(
            state=State.APPROVED,
            channel__in=[WithdrawalChannel.WECHAT_BALANCE, WithdrawalChannel.STORE_BALANCE],
            reviewed_at__lte=now - SWEEP_GRACE,
        ).order_by("reviewed_at", "id")
        for withdrawal in left[:500]:
            seen += 1
            try:
                withdrawal_transfer(withdrawal_id=withdrawal.pk)
            except GatewayError as error:
                logger.warning("sweep transfer of withdrawal %s: %s", withdrawal.pk, error)
    return seen


# --- WeChat's notifications


def withdrawal_notification_receive(*, headers: dict[str, str], body: bytes) -> str:
    """Verify a transfer notification (as payment notifications are), record it once by its id
    and apply the bill state it carries; the outcome ("paid", "failed", "duplicate", …).

    NotificationInvalidError (nothing recorded) when it is not genuine, stale or malformed.
    """
    try:
        verified = wechatpay.transfer_notification_verify(headers=headers, body=body)
    except NotificationRejected as error:
        logger.warning("transfer notification rejected: %s (%s)", error.code, error)
        raise NotificationInvalidError(code=error.code) from error
    transfer = verified.transfer
    try:
        with transaction.atomic():
            record = WithdrawalNotification.objects.create(
                event_id=verified.event_id[:64],
                event_type=verified.event_type[:64],
                out_bill_no=(transfer.out_bill_no if transfer else "")[:32],
                provider_state=(transfer.state if transfer else "")[:32],
            )
            outcome = _notification_apply(transfer)
            WithdrawalNotification.objects.filter(pk=record.pk).update(outcome=outcome)
    except IntegrityError:
        return "duplicate"
    return outcome


def _notification_apply(transfer: wechatpay.TransferState | None) -> str:
    if transfer is None:
        return "ignored"
    withdrawal = Withdrawal.objects.filter(out_bill_no=transfer.out_bill_no).first()
    if withdrawal is None:
        return "unknown_bill"
    if transfer.amount_minor is not None and transfer.amount_minor != withdrawal.net_minor:
        logger.error(
            "transfer notification for withdrawal %s: amount %s, expected %s",
            withdrawal.pk,
            transfer.amount_minor,
            withdrawal.net_minor,
        )
        return "amount_mismatch"
    before = withdrawal.state
    after = withdrawal_apply_transfer_state(withdrawal_id=withdrawal.pk, state=transfer).state
    return str(after) if after != before else "ignored"
