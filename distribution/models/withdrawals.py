"""Withdrawals: a distributor takes available commission out of the shop.

The money is in the ledger (distribution.models.ledger): a request moves the full amount from
commission_available to withdrawal_in_progress; paid moves it on to withdrawn (net) and the
shop's withdrawal fee income (fee); rejected, failed, cancelled and expired ones put it back to
commission_available. A Withdrawal row says where the request is:

    requested → approved → transferring → awaiting_confirmation (WeChat) → paid
    requested → rejected | cancelled (by the member)
    approved → rejected | paid (bank card, marked by the merchant; store balance, at once)
    transferring | awaiting_confirmation → failed | cancelled | expired (unconfirmed 24 h)
    failed → approved (the merchant retries a WeChat transfer: the money is held again)

Every move is a conditional UPDATE on the state it leaves, so retries and concurrent callers
move (and book) it once. Amounts are integer minor units: amount = fee + net.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from distribution.models.settings import WithdrawalChannel


class Withdrawal(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested"
        APPROVED = "approved"
        TRANSFERRING = "transferring"
        AWAITING_CONFIRMATION = "awaiting_confirmation"
        PAID = "paid"
        REJECTED = "rejected"
        FAILED = "failed"
        CANCELLED = "cancelled"
        EXPIRED = "expired"

    member = models.ForeignKey(
        "customers.Member", on_delete=models.PROTECT, related_name="withdrawals"
    )
    amount_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField()
    net_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    channel = models.CharField(max_length=16, choices=WithdrawalChannel.choices)
    state = models.CharField(max_length=24, choices=State.choices, default=State.REQUESTED)
    # The shop-local day of the request: the daily limit counts per distributor per day.
    local_day = models.DateField()
    # Idempotency-Key of the request (empty without one); one withdrawal per key and member.
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    # Times the money was held for it: a retried WeChat transfer holds it again (attempt 2 …).
    attempt = models.PositiveSmallIntegerField(default=1)
    # WeChat merchant transfer: our bill number (per attempt, unique across the platform),
    # WeChat's, its state there and what the client needs to confirm (package_info).
    out_bill_no = models.CharField(max_length=32, unique=True)
    provider_bill_no = models.CharField(max_length=64, blank=True, default="")
    provider_state = models.CharField(max_length=32, blank=True, default="")
    package_info = models.TextField(blank=True, default="")
    payee_appid = models.CharField(max_length=64, blank=True, default="")
    payee_openid = models.CharField(max_length=128, blank=True, default="")
    # The payee as given with the request (bank card: holder, bank, account number, branch;
    # WeChat: the real name WeChat checks above its threshold), infra.crypto.encrypt_text of
    # JSON; the hint ("招商银行 ****1234") is what lists show.
    payee_encrypted = models.TextField(blank=True, default="")
    payee_hint = models.CharField(max_length=64, blank=True, default="")
    # Bank card: the merchant's reference of the transfer it made offline.
    offline_reference = models.CharField(max_length=128, blank=True, default="")
    # Who decided ("account:3", or "auto" without review) and why it ended as it did.
    reviewer = models.CharField(max_length=64, blank=True, default="")
    reject_reason = models.CharField(max_length=255, blank=True, default="")
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    transfer_started_at = models.DateTimeField(null=True, blank=True)
    # When WeChat started waiting for the member's confirmation (the 24 h run from here).
    awaiting_since = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0, fee_minor__gte=0, net_minor__gt=0)
                & Q(amount_minor=F("fee_minor") + F("net_minor")),
                name="distribution_withdrawal_amounts",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["wechat_balance", "bank_card", "store_balance"]),
                name="distribution_withdrawal_channel",
            ),
            models.UniqueConstraint(
                fields=["member", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="distribution_withdrawal_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "local_day"], name="dist_withdrawal_day_idx"),
            models.Index(fields=["state", "created_at"], name="dist_withdrawal_state_idx"),
        ]

    def __str__(self) -> str:
        return f"Withdrawal {self.pk} {self.amount_minor} {self.currency} ({self.state})"


class WithdrawalNotification(models.Model):
    """A verified transfer notification from WeChat Pay, once per event id (WeChat resends the
    same one for a day, from several servers): duplicates stop at the unique index."""

    event_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=64)
    out_bill_no = models.CharField(max_length=32)
    provider_state = models.CharField(max_length=32)
    # What it did: "paid", "failed", … or "ignored" (no such withdrawal, or already moved).
    outcome = models.CharField(max_length=32, blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.out_bill_no} ({self.provider_state})"
