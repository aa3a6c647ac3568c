"""Payment gateways by name; the sandbox only where settings allow it (never in production)."""

from __future__ import annotations

from django.conf import settings

from shop.payments.errors import GatewayUnavailableError
from shop.payments.gateways.base import PaymentGateway


def gateway_get(name: str) -> PaymentGateway:
    if name == "sandbox":
        if not settings.SANDBOX_PAYMENTS:
            raise GatewayUnavailableError()
        from shop.payments.gateways.sandbox import SandboxGateway

        return SandboxGateway()
    if name == "offline":
        from shop.payments.gateways.offline import OfflineGateway

        return OfflineGateway()
    if name == "wechatpay":
        from shop.payments.gateways.wechatpay import WeChatPayGateway

        return WeChatPayGateway()
    if name == "balance":
        from shop.payments.gateways.balance import BalanceGateway

        return BalanceGateway()
    if name == "stripe":
        from shop.payments.gateways.stripe import StripeGateway

        return StripeGateway()
    raise GatewayUnavailableError()
