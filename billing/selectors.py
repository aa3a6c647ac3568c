"""Reads of the control plane's billing data, for both planes."""

from __future__ import annotations

from billing.models import MerchantPaymentAccount


def payment_providers_of(*, tenant_id: int) -> list[str]:
    """The providers at which the shop has an active account ("wechatpay", "stripe")."""
    return list(
        MerchantPaymentAccount.objects.filter(
            tenant_id=tenant_id, status=MerchantPaymentAccount.Status.ACTIVE
        )
        .order_by("provider")
        .values_list("provider", flat=True)
    )


def payment_account_of(*, tenant_id: int, provider: str) -> MerchantPaymentAccount | None:
    return MerchantPaymentAccount.objects.filter(tenant_id=tenant_id, provider=provider).first()


def payment_account_by_id(*, provider: str, account_id: str) -> MerchantPaymentAccount | None:
    """The shop behind a provider's account id (Stripe acct_…, WeChat sub_mchid)."""
    return (
        MerchantPaymentAccount.objects.select_related("tenant")
        .filter(provider=provider, account_id=account_id)
        .first()
    )
