"""Commissions: what one upline earns on one order line at one level, with the rule behind it.

The money itself lives in the ledger (distribution.models.ledger); a Commission row says what was
earned, why (a snapshot of the settings that produced it) and where it is in its life:
pending (order paid) → frozen (received, inside the after-sale window) → available → withdrawn,
or held (a risk rule fired, see distribution.models.risk) until the merchant releases it (to
pending or frozen, where the order now is) or rejects it (reversed).

Three kinds: "level" (an upline at level 1..3), "region" (a regional agent's share, level 0) and
"invite" (the invite reward of a bound member's first paid order to their upline, level 0, on the
order's first line).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from distribution.models.settings import MAX_DEPTH


class Commission(models.Model):
    class Kind(models.TextChoices):
        LEVEL = "level"
        REGION = "region"
        INVITE = "invite"

    class State(models.TextChoices):
        HELD = "held"
        PENDING = "pending"
        FROZEN = "frozen"
        AVAILABLE = "available"
        WITHDRAWN = "withdrawn"
        REVERSED = "reversed"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LEVEL)
    level = models.PositiveSmallIntegerField()
    beneficiary = models.ForeignKey(
        "customers.Member", on_delete=models.PROTECT, related_name="commissions"
    )
    buyer = models.ForeignKey("customers.Member", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    base_minor = models.BigIntegerField()
    rate_kind = models.CharField(max_length=12)
    rate = models.BigIntegerField()  # basis points, or minor units per unit when fixed
    amount_minor = models.BigIntegerField()
    reversed_minor = models.BigIntegerField(default=0)
    # Of what is left, taken to pay a clawback of another of the beneficiary's commissions
    # (clawback policy reverse_pending): only amount - reversed - clawed moves on with it.
    clawed_minor = models.BigIntegerField(default=0)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    # The settings (and binding) that produced it, as they were: the explanation's source.
    rule = models.JSONField(default=dict)
    event_id = models.CharField(max_length=64)  # the order.paid outbox event
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    # Risk hold: the first rule that fired (distribution.models.risk.RiskRule), its evidence,
    # and the merchant's review (who, when) once released or rejected.
    hold_reason = models.CharField(max_length=32, blank=True, default="")
    hold_detail = models.JSONField(default=dict, blank=True)
    reviewed_by = models.CharField(max_length=64, blank=True, default="")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order_id", "order_line_id", "kind", "level"]
        constraints = [
            # Once per line, kind and level: a level commission per line and level, the
            # regional share per line, the invite reward once per order (its first line).
            models.UniqueConstraint(
                fields=["order_line", "kind", "level"],
                name="distribution_commission_once_per_kind_level",
            ),
            models.CheckConstraint(
                condition=Q(kind="level", level__gte=1, level__lte=MAX_DEPTH)
                | Q(kind__in=["region", "invite"], level=0),
                name="distribution_commission_kind_level",
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0, reversed_minor__gte=0)
                & Q(reversed_minor__lte=F("amount_minor")),
                name="distribution_commission_amounts",
            ),
            models.CheckConstraint(
                condition=Q(clawed_minor__gte=0)
                & Q(clawed_minor__lte=F("amount_minor") - F("reversed_minor")),
                name="distribution_commission_clawed",
            ),
        ]
        indexes = [
            models.Index(fields=["beneficiary", "state"], name="dist_commission_owner_idx"),
            models.Index(
                fields=["order", "beneficiary"],
                condition=Q(state="held"),
                name="dist_commission_held_idx",
            ),
            # Settlement: the frozen commissions whose freeze days passed.
            models.Index(
                fields=["state_changed_at"],
                condition=Q(state="frozen"),
                name="dist_commission_frozen_idx",
            ),
        ]

    def __str__(self) -> str:
        labels = {str(self.Kind.REGION): "R", str(self.Kind.INVITE): "I"}
        label = labels.get(self.kind, f"L{self.level}")
        return f"{label} {self.amount_minor} on line {self.order_line_id}"


class CommissionDecision(models.Model):
    """Who earned on an order, and who did not and why (written once, when it was paid)."""

    class Reason(models.TextChoices):
        EARNS = "earns"
        DISTRIBUTION_OFF = "distribution_off"
        NO_UPLINE = "no_upline"
        BINDING_EXPIRED = "binding_expired"
        NOT_A_DISTRIBUTOR = "not_a_distributor"
        SELF_PURCHASE_OFF = "self_purchase_off"
        DEPTH_LIMIT = "depth_limit"
        # The order came through another distributor's share link, which takes priority
        # over the bound upline (attribution: coupon code > link > bound upline).
        LINK_PRIORITY = "link_priority"
        # The buyer typed another distributor's referral code (推荐码) at checkout, which takes
        # priority over a share link and the bound upline.
        CODE_PRIORITY = "code_priority"
        # The order came through this distributor's share link, but the buyer typed another
        # distributor's referral code.
        CODE_OVER_LINK = "code_over_link"
        # A risk rule fired: the commission was booked but held for the merchant's review.
        HELD = "held"
        # The order's type (group buy, flash sale …) is one the settings exclude: nobody earns.
        EXCLUDED_ORDER_TYPE = "excluded_order_type"
        # The buyer's first paid order: their upline earns the invite reward (level 0).
        INVITE_REWARD = "invite_reward"
        # The buyer's first paid order, but their upline had reached the day's invite rewards.
        INVITE_CAP_REACHED = "invite_cap_reached"
        # The regional agent of the region the order ships to earns their share (level 0).
        REGIONAL_AGENT = "regional_agent"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    # 0: the buyer (self-purchase) or the order as a whole; 1..3 the levels; 4 the first beyond.
    level = models.PositiveSmallIntegerField()
    member = models.ForeignKey(
        "customers.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=24, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "level", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "level", "reason"], name="distribution_decision_once"
            ),
        ]
        indexes = [
            # Risk: how many orders a member earned on lately (distribution.services.risk).
            models.Index(
                fields=["member", "created_at"],
                condition=Q(reason="earns"),
                name="dist_decision_earns_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} level {self.level}: {self.reason}"
