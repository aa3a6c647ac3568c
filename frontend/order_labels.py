"""What the console calls the states and kinds of orders, after-sales, payments and
reconciliation (the tenant plane stores stable codes; the console translates them)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Order statuses in the order of the list's tabs (the life of an order).
ORDER_STATUSES: dict[str, Promise] = {
    "pending_payment": _("Awaiting payment"),
    "paid": _("To ship"),
    "shipped": _("Shipped"),
    "received": _("Received"),
    "completed": _("Completed"),
    "cancelled": _("Cancelled"),
    "closed": _("Closed (refunded)"),
}

# An order's history: what each change of status did.
TRANSITIONS: dict[str, Promise] = {
    "pending_payment": _("Placed"),
    "paid": _("Paid"),
    "shipped": _("Shipped"),
    "received": _("Received"),
    "completed": _("Completed"),
    "cancelled": _("Cancelled"),
    "closed": _("Closed: everything refunded"),
}

AFTER_SALE_STATUSES: dict[str, Promise] = {
    "requested": _("To review"),
    "awaiting_return": _("Awaiting the return"),
    "return_shipped": _("Return on its way"),
    "refunding": _("Refunding"),
    "refunded": _("Refunded"),
    "rejected": _("Rejected"),
    "withdrawn": _("Withdrawn"),
}

AFTER_SALE_KINDS: dict[str, Promise] = {
    "refund_only": _("Refund only"),
    "return_refund": _("Return and refund"),
}

PAYMENT_STATUSES: dict[str, Promise] = {
    "pending": _("Pending"),
    "succeeded": _("Succeeded"),
    "failed": _("Failed"),
    "closed": _("Closed"),
}

PAYMENT_METHODS: dict[str, Promise] = {
    "wechat_miniprogram": _("WeChat Pay (mini-program)"),
    "wechat_jsapi": _("WeChat Pay (in WeChat)"),
    "wechat_h5": _("WeChat Pay (mobile browser)"),
    "wechat_native": _("WeChat Pay (QR code)"),
    "stripe_card": _("Card (Stripe)"),
    "cash_on_pickup": _("Cash on pickup"),
    "bank_transfer": _("Bank transfer"),
    "sandbox": _("Sandbox (test)"),
    "store_balance": _("Store balance"),
}

GATEWAYS: dict[str, Promise] = {
    "wechatpay": _("WeChat Pay"),
    "stripe": _("Stripe"),
    "offline": _("Offline"),
    "sandbox": _("Sandbox"),
    "balance": _("Store balance"),
}

REFUND_STATUSES: dict[str, Promise] = {
    "pending": _("Pending"),
    "succeeded": _("Refunded"),
    "failed": _("Failed"),
}

REFUND_REASONS: dict[str, Promise] = {
    "after_sale": _("After-sale"),
    "late_payment": _("Paid after cancellation"),
    "duplicate_payment": _("Paid twice"),
    "merchant": _("By the merchant"),
}

MISMATCH_KINDS: dict[str, Promise] = {
    "missing_here": _("Missing here"),
    "missing_at_provider": _("Missing at the provider"),
    "amount": _("Amounts differ"),
    "status": _("Statuses differ"),
}

MISMATCH_KIND_HELP: dict[str, Promise] = {
    "missing_here": _("The provider's bill has it; we have no such successful record."),
    "missing_at_provider": _("We recorded it as successful; the provider's bill does not have it."),
    "amount": _("Both have it, with different amounts."),
    "status": _("Both have it; we do not record it as successful."),
}

RECORD_TYPES: dict[str, Promise] = {
    "payment": _("Payment"),
    "refund": _("Refund"),
}

BASES: dict[str, Promise] = {
    "count": _("By item count"),
    "weight": _("By weight"),
}

LABELS: dict[str, dict[str, Promise]] = {
    "order_status": ORDER_STATUSES,
    "transition": TRANSITIONS,
    "after_sale_status": AFTER_SALE_STATUSES,
    "after_sale_kind": AFTER_SALE_KINDS,
    "payment_status": PAYMENT_STATUSES,
    "payment_method": PAYMENT_METHODS,
    "gateway": GATEWAYS,
    "refund_status": REFUND_STATUSES,
    "refund_reason": REFUND_REASONS,
    "mismatch_kind": MISMATCH_KINDS,
    "record_type": RECORD_TYPES,
    "basis": BASES,
}
