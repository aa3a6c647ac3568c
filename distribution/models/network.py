"""Distributors and the referral graph: who is whose upline, since when, and why.

Each member has at most one upline (Binding); the graph is kept acyclic by the services, which
change it under one lock per shop. BindingChange keeps the history the merchant sees ("why is A
B's upline").
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class Distributor(models.Model):
    """A member who may earn commissions, with the code their share links carry."""

    class Status(models.TextChoices):
        APPLIED = "applied"
        ACTIVE = "active"
        REJECTED = "rejected"
        DISABLED = "disabled"

    member = models.OneToOneField(
        "customers.Member", on_delete=models.PROTECT, related_name="distributor"
    )
    code = models.CharField(max_length=16, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Grades (distribution.models.grades). None: the shop's default grade.
    grade = models.ForeignKey(
        "distribution.Grade",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="distributors",
    )
    # Since when the distributor holds the grade (retention counts from here).
    grade_since = models.DateTimeField(null=True, blank=True)
    # Set by the merchant's override: automatic upgrades and downgrades leave the grade alone.
    grade_locked = models.BooleanField(default=False)
    # After a retention downgrade, upgrades count only what happened since then (else the
    # lifetime totals would lift the distributor straight back up).
    grade_counts_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Distributor {self.code}"


class Binding(models.Model):
    """A member's upline (the distributor whose link or code brought them)."""

    class Source(models.TextChoices):
        LINK = "link"
        CODE = "code"
        COUPON = "coupon"
        MANUAL = "manual"

    member = models.OneToOneField(
        "customers.Member", on_delete=models.CASCADE, related_name="binding"
    )
    upline = models.ForeignKey(
        "customers.Member", on_delete=models.PROTECT, related_name="downlines"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    bound_at = models.DateTimeField()
    # None: permanent.
    expires_at = models.DateTimeField(null=True, blank=True)
    # No other upline may take the member before this (snatch protection).
    protected_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(member=F("upline")), name="distribution_binding_not_self"
            ),
        ]
        indexes = [models.Index(fields=["upline"], name="dist_binding_upline_idx")]

    def __str__(self) -> str:
        return f"{self.member_id} ← {self.upline_id}"


class BindingChange(models.Model):
    """One change of a member's upline, with its reason (append-only)."""

    member = models.ForeignKey(
        "customers.Member", on_delete=models.CASCADE, related_name="binding_changes"
    )
    from_upline = models.ForeignKey(
        "customers.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_upline = models.ForeignKey(
        "customers.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=8)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_upline_id} → {self.to_upline_id}"
