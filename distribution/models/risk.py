"""Risk holds: why a beneficiary's commissions on an order were held, and the merchant's review.

One RiskFlag per (order, beneficiary, kind of commission) whose commissions a rule held: the
rules that fired and their evidence (the shared device or address, the binding ring, the
counts of the velocity window), then the merchant's decision: released (the commissions go where
the order now is: pending, or frozen once received) or rejected (reversed to the shop).
"""

from __future__ import annotations

from django.db import models


class RiskRule(models.TextChoices):
    # A cycle in the referral graph: the beneficiary is (or was, by the binding history, expired
    # bindings included) below the buyer, so the money goes round.
    RING = "ring"
    # The buyer's order came from a device that the beneficiary uses too (orders, logins, tokens).
    SHARED_DEVICE = "shared_device"
    # The buyer's order came from an IP address that the beneficiary used too.
    SHARED_IP = "shared_ip"
    # The order's device is used by several accounts.
    DEVICE_MANY_ACCOUNTS = "device_many_accounts"
    # The buyer paid more orders than usual in the window.
    BUYER_VELOCITY = "buyer_velocity"
    # The beneficiary earned on more orders than usual in the window.
    EARNER_VELOCITY = "earner_velocity"


class RiskFlag(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        RELEASED = "released"
        REJECTED = "rejected"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey("customers.Member", on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey("customers.Member", on_delete=models.PROTECT, related_name="+")
    # The kind of commission held ("level" or "region"): each booking path flags its own.
    kind = models.CharField(max_length=8, default="level")
    rules = models.JSONField(default=list)  # the RiskRule values that fired, in order
    evidence = models.JSONField(default=dict)  # {rule: {what was found}}
    held_minor = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reviewed_by = models.CharField(max_length=64, blank=True, default="")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "member", "kind"], name="distribution_risk_flag_once"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="dist_risk_flag_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Risk flag on order {self.order_id} for member {self.member_id}"
