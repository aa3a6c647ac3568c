"""Who becomes a distributor: members' applications (under "apply + review") and the history of
every distributor's status (appointed, approved, qualified by spend or purchase, disabled …).

The status itself lives on Distributor (distribution.models.network); each change of it is
recorded here once, with who made it and why, so the merchant can see how a member became (or
stopped being) a distributor.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class DistributorApplication(models.Model):
    """A member's request to become a distributor, and the merchant's decision on it."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted"
        APPROVED = "approved"
        REJECTED = "rejected"

    member = models.ForeignKey(
        "customers.Member", on_delete=models.PROTECT, related_name="distributor_applications"
    )
    name = models.CharField(max_length=64)
    # infra.crypto.encrypt_text of the E.164 number (personal data: never stored in clear).
    phone_encrypted = models.TextField()
    # blind_index(E.164 number, purpose="member_phone"): the merchant finds it by exact number.
    phone_index = models.CharField(max_length=64, db_index=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    # The merchant's note with the decision (shown to the member when rejected).
    note = models.CharField(max_length=500, blank=True, default="")
    decided_by = models.CharField(max_length=64, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    # The entry fee (settings.paid_entry_minor) taken from the member's store balance when they
    # applied (store balance source "distributor_entry", id "application:<id>"); given back
    # when the application is rejected.
    entry_fee_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one application waits for review per member.
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status="submitted"),
                name="distribution_one_open_application",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="dist_application_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"Application {self.pk} of member {self.member_id} ({self.status})"


class DistributorStatusChange(models.Model):
    """One change of a distributor's status, with who made it and why (append-only)."""

    class Reason(models.TextChoices):
        EVERYONE = "everyone"  # every member may distribute: became one on demand
        APPLIED = "applied"
        APPROVED = "approved"
        REJECTED = "rejected"
        APPOINTED = "appointed"
        SPEND_THRESHOLD = "spend_threshold"
        BOUGHT_PRODUCT = "bought_product"
        # A refund took the member's spend back under the threshold that qualified them.
        SPEND_REFUNDED = "spend_refunded"
        DISABLED = "disabled"
        ENABLED = "enabled"

    distributor = models.ForeignKey(
        "distribution.Distributor", on_delete=models.CASCADE, related_name="status_changes"
    )
    # Empty: the distributor was created with `to_status`.
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    # "account:<id>" (the merchant's console), "member:<id>" or "system".
    actor = models.CharField(max_length=64)
    # The entry fee the member paid from their store balance for this change (paid entry).
    entry_fee_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["distributor", "-id"], name="dist_status_change_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.distributor_id}: {self.from_status} → {self.to_status} ({self.reason})"
