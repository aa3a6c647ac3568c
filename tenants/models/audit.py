"""The audit log: one row per privileged action."""

from __future__ import annotations

from django.db import models


class AuditLog(models.Model):
    """Who did what, in which shop, when and from where. Rows are never changed."""

    actor = models.ForeignKey(
        "tenants.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    impersonator = models.ForeignKey(
        "tenants.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"
