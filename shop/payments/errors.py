"""Payment errors with stable codes."""

from __future__ import annotations

from infra.errors import Conflict, DomainError, NotFound


class GatewayUnavailableError(DomainError):
    code = "payment_method_unavailable"
    status_code = 400
    default_message = "This payment method is not available in this shop."


class PaymentProviderError(DomainError):
    code = "payment_provider_error"
    status_code = 502
    default_message = "The payment provider did not accept the request; try again."


class OrderNotPayableError(Conflict):
    code = "order_not_payable"
    default_message = "This order cannot be paid (it is already paid, cancelled or closed)."


class PaymentNotFoundError(NotFound):
    code = "payment_not_found"
    default_message = "This payment does not exist."


class RefundNotAllowedError(Conflict):
    code = "refund_not_allowed"
    default_message = "This refund is not possible (more than was paid, or nothing was paid)."


class NotificationInvalidError(DomainError):
    code = "notification_invalid"
    status_code = 400
    default_message = "The notification could not be verified."


class MismatchNotFoundError(NotFound):
    code = "reconciliation_mismatch_not_found"
    default_message = "This reconciliation mismatch does not exist."


class WeChatIdentityMissingError(DomainError):
    code = "wechat_identity_missing"
    status_code = 400
    default_message = "Log in with WeChat first: this payment needs your WeChat account."
