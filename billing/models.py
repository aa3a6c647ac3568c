"""Subscriptions of shops to plans."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    CANCELED = "canceled", _("Canceled")


class Subscription(models.Model):
    """A shop's plan; one per tenant (tenant is a plain id, both live in the control plane)."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="subscription"
    )
    plan_code = models.CharField(max_length=32, default="trial")
    status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.TRIALING
    )
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.plan_code} ({self.status})"


class PaymentProvider(models.TextChoices):
    WECHATPAY = "wechatpay", _("WeChat Pay")
    STRIPE = "stripe", _("Stripe")


class MerchantPaymentAccount(models.Model):
    """A shop's account at a payment provider, reached through the platform's own.

    WeChat Pay: the shop is a sub-merchant (sub_mchid) of the platform's service-provider
    account (sp_mchid, in settings). Stripe: the shop's connected account (acct_…) under the
    platform's Connect account. Provider callbacks find their shop through `account_id`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Onboarding")
        ACTIVE = "active", _("Active")
        DISABLED = "disabled", _("Disabled")

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="payment_accounts"
    )
    provider = models.CharField(max_length=16, choices=PaymentProvider.choices)
    account_id = models.CharField(max_length=64)
    # WeChat: the sub-merchant's appids bound for JSAPI (mini-program, official account).
    sub_appid = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    charges_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "provider"], name="billing_payment_account_one_per_provider"
            ),
            models.UniqueConstraint(
                fields=["provider", "account_id"], name="billing_payment_account_unique_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.account_id} of tenant {self.tenant_id}"
