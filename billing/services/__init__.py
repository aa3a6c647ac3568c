"""Billing write services."""

from billing.services.subscriptions import subscription_start_trial

__all__ = ["subscription_start_trial"]
