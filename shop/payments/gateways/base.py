"""The one interface every payment provider is reached through (dataclass in, dataclass out).

A gateway knows the provider's protocol and nothing of orders: services hand it what to ask
for and apply what it answers. Provider credentials come from settings (the platform's own
accounts) and from the control plane (each shop's sub-merchant / connected account).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

PaymentStatus = Literal["pending", "succeeded", "failed", "closed"]
RefundStatus = Literal["pending", "succeeded", "failed"]


class GatewayError(Exception):
    """The provider refused or could not be reached; `retryable` when trying again may work."""

    def __init__(self, message: str, *, code: str = "gateway_error", retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class NotificationRejected(Exception):
    """A notification that is not genuine or not acceptable (bad signature, stale, malformed)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PaymentRequest:
    tenant_id: int
    out_trade_no: str
    amount_minor: int
    currency: str
    description: str
    method: str  # a Payment.Method value
    expires_at: datetime
    notify_url: str  # where the provider posts notifications (the shop host)
    client_ip: str = ""
    payer_ref: str = ""  # WeChat openid for JSAPI
    return_url: str = ""


@dataclass(frozen=True)
class PaymentStart:
    """What the client needs to pay (JSAPI parameters, an h5_url, a QR code URL, a secret…)."""

    client_params: dict[str, Any]
    provider_ref: str = ""
    # Set by a gateway that moves the money as it starts (the store balance): the final state,
    # applied at once by the payment service in the same transaction.
    state: PaymentState | None = None


@dataclass(frozen=True)
class PaymentState:
    """The provider's view of one payment."""

    out_trade_no: str
    status: PaymentStatus
    amount_minor: int
    currency: str
    provider_ref: str = ""
    payer_ref: str = ""
    paid_at: datetime | None = None


@dataclass(frozen=True)
class RefundRequest:
    tenant_id: int
    out_refund_no: str
    out_trade_no: str
    payment_provider_ref: str
    amount_minor: int
    payment_amount_minor: int
    currency: str
    reason: str
    notify_url: str


@dataclass(frozen=True)
class RefundState:
    out_refund_no: str
    status: RefundStatus
    amount_minor: int
    provider_ref: str = ""
    failure: str = ""


@dataclass(frozen=True)
class VerifiedNotification:
    """A notification whose signature, age and form were checked; one of the states is set."""

    event_id: str
    event_type: str
    resource: dict[str, Any]
    payment: PaymentState | None = None
    refund: RefundState | None = None


@dataclass(frozen=True)
class BillRow:
    """One line of a provider's daily bill, amounts already in minor units."""

    record_type: Literal["payment", "refund"]
    out_trade_no: str  # our payment reference (refunds: of the payment refunded)
    provider_ref: str
    amount_minor: int
    status: str  # "succeeded", "refunded", "pending"…, normalised by the gateway
    out_refund_no: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class PaymentGateway(Protocol):
    name: str

    def payment_start(self, request: PaymentRequest) -> PaymentStart: ...

    def payment_query(self, *, tenant_id: int, out_trade_no: str) -> PaymentState: ...

    def payment_close(self, *, tenant_id: int, out_trade_no: str) -> None: ...

    def refund_start(self, request: RefundRequest) -> RefundState: ...

    def refund_query(self, *, tenant_id: int, out_refund_no: str) -> RefundState: ...

    def notification_verify(
        self, *, headers: dict[str, str], body: bytes
    ) -> VerifiedNotification: ...

    def bill_rows(self, *, tenant_id: int, bill_date: date) -> list[BillRow]: ...
