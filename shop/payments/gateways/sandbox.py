"""The sandbox gateway: no provider; the member confirms the payment with a click (demos only).

It is never available when ENVIRONMENT=production (settings.SANDBOX_PAYMENTS is then False and
the registry refuses it). Refunds succeed at once.
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


class SandboxGateway:
    name = "sandbox"

    def payment_start(self, request: PaymentRequest) -> PaymentStart:
        return PaymentStart(
            client_params={
                "sandbox": True,
                "confirm_path": f"/api/v1/payments/{request.out_trade_no}/sandbox-confirm",
            },
            provider_ref=f"sandbox_{request.out_trade_no}",
        )

    def payment_query(self, *, tenant_id: int, out_trade_no: str) -> PaymentState:
        # The sandbox has no state of its own: what is not confirmed stays pending.
        raise NotImplementedError("the sandbox has no provider to query")

    def payment_close(self, *, tenant_id: int, out_trade_no: str) -> None:
        return None

    def refund_start(self, request: RefundRequest) -> RefundState:
        return RefundState(
            out_refund_no=request.out_refund_no,
            status="succeeded",
            amount_minor=request.amount_minor,
            provider_ref=f"sandbox_{request.out_refund_no}",
        )

    def refund_query(self, *, tenant_id: int, out_refund_no: str) -> RefundState:
        raise NotImplementedError("the sandbox has no provider to query")

    def notification_verify(self, *, headers: dict[str, str], body: bytes) -> VerifiedNotification:
        raise NotificationRejected("the sandbox sends no notifications", code="not_supported")

    def bill_rows(self, *, tenant_id: int, bill_date: date) -> list[BillRow]:
        return []
