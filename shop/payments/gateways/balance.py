"""The store balance as a payment gateway: the member pays in full from their store balance.

There is no provider: starting a payment debits the balance at once (source "payment", keyed by
the attempt's out_trade_no) and returns the final state, which the payment service applies in
the same transaction; refunds credit the balance back (source "refund", keyed by the refund's
out_refund_no) and succeed at once. Both are idempotent by those keys
(shop.customers.services.store_balance), so a retried start or refund moves money once.
"""

from __future__ import annotations

from datetime import date

from shop.core.selectors import shop_context
from shop.customers.selectors.store_balance import store_balance_entry_get
from shop.customers.services.store_balance import store_balance_credit, store_balance_debit
from shop.payments.gateways.base import (
    BillRow,
    GatewayError,
    NotificationRejected,
    PaymentRequest,
    PaymentStart,
    PaymentState,
    RefundRequest,
    RefundState,
    VerifiedNotification,
)

PAYMENT_SOURCE = "payment"
REFUND_SOURCE = "refund"


def _entry_ref(entry_id: int) -> str:
    return f"store_balance_entry:{entry_id}"


class BalanceGateway:
    name = "balance"

    def payment_start(self, request: PaymentRequest) -> PaymentStart:
        """Debit the whole amount (minor units) from the payer's balance (payer_ref = member id);
        insufficient_store_balance when it is not enough, and nothing is debited."""
        if request.currency != shop_context().currency:
            raise GatewayError("the store balance is in the shop's currency", code="method_invalid")
        if not request.payer_ref.isdigit():
            raise GatewayError("the store balance needs the paying member", code="method_invalid")
        entry = store_balance_debit(
            member_id=int(request.payer_ref),
            amount_minor=request.amount_minor,
            source=PAYMENT_SOURCE,
            source_id=request.out_trade_no,
            memo=f"Payment {request.out_trade_no}",
        )
        return PaymentStart(
            client_params={
                "store_balance": True,
                "paid": True,
                "balance_after_minor": entry.balance_after_minor,
            },
            provider_ref=_entry_ref(entry.pk),
            state=PaymentState(
                out_trade_no=request.out_trade_no,
                status="succeeded",
                amount_minor=-entry.amount_minor,
                currency=entry.currency,
                provider_ref=_entry_ref(entry.pk),
                payer_ref=request.payer_ref,
                paid_at=entry.created_at,
            ),
        )

    def payment_query(self, *, tenant_id: int, out_trade_no: str) -> PaymentState:
        """Succeeded when the balance was debited for the attempt; otherwise it never will be."""
        entry = store_balance_entry_get(source=PAYMENT_SOURCE, source_id=out_trade_no)
        if entry is None:
            return PaymentState(
                out_trade_no=out_trade_no, status="failed", amount_minor=0, currency=""
            )
        return PaymentState(
            out_trade_no=out_trade_no,
            status="succeeded",
            amount_minor=-entry.amount_minor,
            currency=entry.currency,
            provider_ref=_entry_ref(entry.pk),
            payer_ref=str(entry.member_id),
            paid_at=entry.created_at,
        )

    def payment_close(self, *, tenant_id: int, out_trade_no: str) -> None:
        return None

    def refund_start(self, request: RefundRequest) -> RefundState:
        """Credit the refund (minor units) back to the balance the payment was debited from."""
        debit = store_balance_entry_get(source=PAYMENT_SOURCE, source_id=request.out_trade_no)
        if debit is None or request.amount_minor > -debit.amount_minor:
            raise GatewayError("no such store balance payment to refund", code="refund_invalid")
        entry = store_balance_credit(
            member_id=debit.member_id,
            amount_minor=request.amount_minor,
            source=REFUND_SOURCE,
            source_id=request.out_refund_no,
            memo=f"Refund {request.out_refund_no}",
        )
        return RefundState(
            out_refund_no=request.out_refund_no,
            status="succeeded",
            amount_minor=entry.amount_minor,
            provider_ref=_entry_ref(entry.pk),
        )

    def refund_query(self, *, tenant_id: int, out_refund_no: str) -> RefundState:
        """Succeeded when the balance was credited; pending otherwise (a start sends it)."""
        entry = store_balance_entry_get(source=REFUND_SOURCE, source_id=out_refund_no)
        if entry is None:
            return RefundState(out_refund_no=out_refund_no, status="pending", amount_minor=0)
        return RefundState(
            out_refund_no=out_refund_no,
            status="succeeded",
            amount_minor=entry.amount_minor,
            provider_ref=_entry_ref(entry.pk),
        )

    def notification_verify(self, *, headers: dict[str, str], body: bytes) -> VerifiedNotification:
        raise NotificationRejected("the store balance sends no notifications", code="not_supported")

    def bill_rows(self, *, tenant_id: int, bill_date: date) -> list[BillRow]:
        return []
