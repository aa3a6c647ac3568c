"""Payments of orders, the providers' notifications, refunds and reconciliation of one shop.

Amounts are integer minor units (WeChat Pay's 分 for CNY; its bills, in 元, are converted when
read). Provider credentials live in the control plane; these rows hold only references.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Gateway(models.TextChoices):
    WECHATPAY = "wechatpay"
    STRIPE = "stripe"
    OFFLINE = "offline"
    SANDBOX = "sandbox"
    # The member's store balance (shop.customers): settled at once, no provider.
    BALANCE = "balance"


class Payment(models.Model):
    """One attempt to pay an order through one gateway."""

    class Method(models.TextChoices):
        WECHAT_MINIPROGRAM = "wechat_miniprogram"  # JSAPI inside the mini-program
        WECHAT_JSAPI = "wechat_jsapi"  # JSAPI in H5 inside WeChat
        WECHAT_H5 = "wechat_h5"  # other mobile browsers (h5_url)
        WECHAT_NATIVE = "wechat_native"  # desktop: a QR code
        STRIPE_CARD = "stripe_card"
        CASH_ON_PICKUP = "cash_on_pickup"
        BANK_TRANSFER = "bank_transfer"
        SANDBOX = "sandbox"
        STORE_BALANCE = "store_balance"  # the member's store balance, in full

    class Status(models.TextChoices):
        PENDING = "pending"  # created at the provider, waiting for the payer
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CLOSED = "closed"  # abandoned: the order was cancelled or another attempt succeeded

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    gateway = models.CharField(max_length=16, choices=Gateway.choices)
    method = models.CharField(max_length=24, choices=Method.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Our reference at the provider (WeChat out_trade_no; Stripe metadata): unique per attempt.
    out_trade_no = models.CharField(max_length=32, unique=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # The provider's reference (WeChat transaction_id, Stripe PaymentIntent id).
    provider_ref = models.CharField(max_length=128, blank=True, default="")
    payer_ref = models.CharField(max_length=128, blank=True, default="")  # openid, …
    refunded_minor = models.BigIntegerField(default=0)
    # The attempt that paid the order (others that succeed too are refunded as duplicates).
    paid_order = models.BooleanField(default=False)
    # Staff who confirmed an offline payment ("account:3").
    confirmed_by = models.CharField(max_length=64, blank=True, default="")
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0, refunded_minor__gte=0)
                & Q(refunded_minor__lte=models.F("amount_minor")),
                name="payments_payment_amounts",
            ),
        ]
        indexes = [
            models.Index(fields=["order", "status"], name="payments_payment_order_idx"),
            models.Index(fields=["gateway", "succeeded_at"], name="payments_payment_day_idx"),
            models.Index(fields=["provider_ref"], name="payments_payment_ref_idx"),
        ]

    def __str__(self) -> str:
        return self.out_trade_no


class PaymentNotification(models.Model):
    """A provider's notification as received (raw body kept), then processed once.

    Stored and acknowledged first, processed by a Celery task: the provider gets its answer
    fast, and a notification that arrives twice (or concurrently) is one row.
    """

    class Outcome(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        IGNORED = "ignored"  # nothing to change (already applied, an older state)
        REJECTED = "rejected"  # amount/currency mismatch, unknown payment

    gateway = models.CharField(max_length=16, choices=Gateway.choices)
    # The provider's id of the notification (WeChat `id`, Stripe event id).
    event_id = models.CharField(max_length=128)
    event_type = models.CharField(max_length=64)
    body = models.TextField()
    # The decrypted resource (WeChat) or the event object (Stripe) as verified.
    resource = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    detail = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "event_id"], name="payments_notification_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="payments_notification_todo_idx",
                condition=Q(processed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_type} {self.event_id}"


class Refund(models.Model):
    """Money given back on a payment, in full or in part."""

    class Reason(models.TextChoices):
        AFTER_SALE = "after_sale"
        LATE_PAYMENT = "late_payment"  # paid after the order was cancelled
        DUPLICATE_PAYMENT = "duplicate_payment"  # a second attempt succeeded too
        MERCHANT = "merchant"  # the merchant refunded from the console

    class Status(models.TextChoices):
        PENDING = "pending"  # asked; the provider has not confirmed yet
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    after_sale = models.ForeignKey(
        "orders.AfterSale", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    # Our reference at the provider (WeChat out_refund_no): deterministic per purpose, so a
    # retried request is the same refund there too.
    out_refund_no = models.CharField(max_length=64, unique=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=24, choices=Reason.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    provider_ref = models.CharField(max_length=128, blank=True, default="")
    failure = models.CharField(max_length=500, blank=True, default="")
    requested_by = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payments_refund_gt_0"),
        ]

    def __str__(self) -> str:
        return self.out_refund_no


class ReconciliationRun(models.Model):
    """The match of one provider's bill for one day (the shop's time zone) to our payments."""

    gateway = models.CharField(max_length=16, choices=Gateway.choices)
    bill_date = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    provider_rows = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    mismatches = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-bill_date", "gateway"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "bill_date"], name="payments_reconciliation_run_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.bill_date}"


class ReconciliationMismatch(models.Model):
    class Kind(models.TextChoices):
        MISSING_HERE = "missing_here"  # the provider has it, we do not
        MISSING_AT_PROVIDER = "missing_at_provider"  # we have it, the provider's bill does not
        AMOUNT = "amount"
        STATUS = "status"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # "payment" or "refund", and our / the provider's references.
    record_type = models.CharField(max_length=16, default="payment")
    out_trade_no = models.CharField(max_length=64, blank=True, default="")
    provider_ref = models.CharField(max_length=128, blank=True, default="")
    our_amount_minor = models.BigIntegerField(null=True, blank=True)
    provider_amount_minor = models.BigIntegerField(null=True, blank=True)
    our_status = models.CharField(max_length=32, blank=True, default="")
    provider_status = models.CharField(max_length=32, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=64, blank=True, default="")
    resolution_note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "record_type", "out_trade_no", "provider_ref", "kind"],
                name="payments_mismatch_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.out_trade_no or self.provider_ref}"
