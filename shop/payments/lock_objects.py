"""Row locks of payments (ARCHITECTURE §2: select_for_update lives here)."""

from __future__ import annotations

from shop.payments.models import Payment, PaymentNotification, Refund


def payment_lock(*, out_trade_no: str) -> Payment | None:
    return Payment.objects.select_for_update().filter(out_trade_no=out_trade_no).first()


def refund_lock(*, out_refund_no: str) -> Refund | None:
    return Refund.objects.select_for_update().filter(out_refund_no=out_refund_no).first()


def notification_claim(*, notification_id: int) -> PaymentNotification | None:
    """The notification if nobody processes it now and it is not processed yet."""
    return (
        PaymentNotification.objects.select_for_update(skip_locked=True)
        .filter(pk=notification_id, processed_at__isnull=True)
        .first()
    )
