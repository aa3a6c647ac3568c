"""Offline payment (cash on pickup, bank transfer): staff confirm that the money arrived.

There is no provider: starting a payment returns the instructions to show, and refunds are
handed back by the merchant in person or by transfer, so they are recorded as done.
"""

from __future__ import annotations

from datetime import date

from shop.payments.gateways.base import (
    BillRow,
    NotificationRejected,
    PaymentRequest,
    PaymentStart,
    PaymentState,
    RefundRequest,
    RefundState,
    VerifiedNotification,
)


class OfflineGateway:
    name = "offline"

    def payment_start(self, request: PaymentRequest) -> PaymentStart:
        return PaymentStart(
            client_params={
                "offline": True,
                "method": request.method,
                "reference": request.out_trade_no,
                "amount_minor": request.amount_minor,
                "currency": request.currency,
            }
        )

    def payment_query(self, *, tenant_id: int, out_trade_no: str) -> PaymentState:
        raise NotImplementedError("offline payments are confirmed by staff")

    def payment_close(self, *, tenant_id: int, out_trade_no: str) -> None:
        return None

    def refund_start(self, request: RefundRequest) -> RefundState:
        return RefundState(
            out_refund_no=request.out_refund_no,
            status="succeeded",
            amount_minor=request.amount_minor,
        )

    def refund_query(self, *, tenant_id: int, out_refund_no: str) -> RefundState:
        raise NotImplementedError("offline refunds are recorded when made")

    def notification_verify(self, *, headers: dict[str, str], body: bytes) -> VerifiedNotification:
        raise NotificationRejected("offline payments send no notifications", code="not_supported")

    def bill_rows(self, *, tenant_id: int, bill_date: date) -> list[BillRow]:
        return []
