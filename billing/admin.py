"""Subscriptions in the platform admin: read only until the billing issue adds its services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from billing.models import Subscription
from tenants.admin import PlatformStaffAccess

if TYPE_CHECKING:
    SubscriptionAdminBase = admin.ModelAdmin[Subscription]
else:
    SubscriptionAdminBase = admin.ModelAdmin


@admin.register(Subscription)
class SubscriptionAdmin(PlatformStaffAccess, SubscriptionAdminBase):
    """Plans change through billing services (with their audit rows), never by hand here."""

    can_add = can_change = can_delete = False
    list_display = ("tenant", "plan_code", "status", "trial_ends_at", "updated_at")
    list_filter = ("plan_code", "status")
    search_fields = ("tenant__slug", "tenant__name", "plan_code")
    list_select_related = ("tenant",)
    ordering = ("tenant__slug",)
    fields = ("tenant", "plan_code", "status", "trial_ends_at", "created_at", "updated_at")
    readonly_fields = fields
