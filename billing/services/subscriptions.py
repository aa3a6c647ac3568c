"""Subscriptions: the trial every new shop starts with."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from billing.models import Subscription, SubscriptionStatus
from tenants.models import Tenant
from tenants.services.audit import AuditContext, audit_record, audited

TRIAL_DAYS = 14
TRIAL_PLAN_CODE = "trial"


@audited
def subscription_start_trial(*, tenant: Tenant, context: AuditContext) -> Subscription:
    """Start the free trial of a new shop."""
    subscription = Subscription.objects.create(
        tenant=tenant,
        plan_code=TRIAL_PLAN_CODE,
        status=SubscriptionStatus.TRIALING,
        trial_ends_at=timezone.now() + timedelta(days=TRIAL_DAYS),
    )
    audit_record(
        context=context,
        action="subscription.trial_started",
        tenant=tenant,
        target=subscription,
        data={"plan_code": TRIAL_PLAN_CODE, "trial_days": TRIAL_DAYS},
    )
    return subscription
