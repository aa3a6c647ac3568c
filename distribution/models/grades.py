"""Distributor grades (等级: 普通 / VIP / 区域经理 …) and per-product commission rates.

A grade has its own per-level rates (used when the shop's rate source is "grade"), the
conditions that upgrade a distributor into it automatically (any or all of: invites, own spend,
own orders, team spend, team orders, bought a product) and a retention rule (keep the grade only
while, over the last N days, its conditions or its retention thresholds hold; else one step
down). A distributor without a grade has the shop's default grade. Every change of a
distributor's grade leaves a GradeChange row, which the database keeps append-only.

Rates are basis points (1 % = 100 bp) or, for fixed rates, minor units per unit sold; at most
3 levels, like the settings.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from distribution.models.settings import MAX_DEPTH, RateKind


class Grade(models.Model):
    class Mode(models.TextChoices):
        ANY = "any"
        ALL = "all"

    name = models.CharField(max_length=50, unique=True)
    # Higher is better; upgrades go up the ranks, retention downgrades one rank down.
    rank = models.PositiveSmallIntegerField(unique=True)
    # The grade of distributors who have none (at most one grade is the default).
    is_default = models.BooleanField(default=False)
    rate_kind = models.CharField(
        max_length=12, choices=RateKind.choices, default=RateKind.PERCENTAGE
    )
    # Per level (index 0 = the direct upline); a level without a rate uses the shop's rate.
    level_rates = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # Upgrade conditions; None (or no products) means "not a condition". A grade without any
    # condition is only ever given by hand.
    condition_mode = models.CharField(max_length=3, choices=Mode.choices, default=Mode.ANY)
    invites_min = models.PositiveIntegerField(null=True, blank=True)  # direct downlines
    own_spend_min_minor = models.BigIntegerField(null=True, blank=True)  # paid minus refunded
    own_orders_min = models.PositiveIntegerField(null=True, blank=True)
    team_spend_min_minor = models.BigIntegerField(null=True, blank=True)  # downlines to depth
    team_orders_min = models.PositiveIntegerField(null=True, blank=True)
    product_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)  # bought any
    # Retention: None keeps the grade for good. Else, once held this many days, the grade is
    # kept only while over the last this-many days the retention thresholds hold (when set) or
    # else the upgrade conditions do; otherwise the distributor goes one grade down.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    retention_own_spend_min_minor = models.BigIntegerField(null=True, blank=True)
    retention_team_spend_min_minor = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level_rates__len__lte=MAX_DEPTH),
                name="distribution_grade_rates_at_most_3_levels",
            ),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="distribution_grade_one_default",
            ),
            models.CheckConstraint(
                condition=Q(retention_days__isnull=True) | Q(retention_days__gte=1),
                name="distribution_grade_retention_days_gte_1",
            ),
            models.CheckConstraint(
                condition=(
                    (Q(own_spend_min_minor__isnull=True) | Q(own_spend_min_minor__gte=0))
                    & (Q(team_spend_min_minor__isnull=True) | Q(team_spend_min_minor__gte=0))
                    & (
                        Q(retention_own_spend_min_minor__isnull=True)
                        | Q(retention_own_spend_min_minor__gte=0)
                    )
                    & (
                        Q(retention_team_spend_min_minor__isnull=True)
                        | Q(retention_team_spend_min_minor__gte=0)
                    )
                ),
                name="distribution_grade_thresholds_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GradeChange(models.Model):
    """One change of a distributor's grade, with why and by whom (append-only: the database
    refuses updates and deletes). Grades are named as they were: a grade may be deleted later."""

    class Reason(models.TextChoices):
        AUTO_UPGRADE = "auto_upgrade"
        RETENTION_DOWNGRADE = "retention_downgrade"
        MANUAL = "manual"

    member = models.ForeignKey("customers.Member", on_delete=models.PROTECT, related_name="+")
    # None: no grade (the shop had no default grade).
    from_grade_id = models.BigIntegerField(null=True, blank=True)
    from_grade_name = models.CharField(max_length=50, blank=True, default="")
    to_grade_id = models.BigIntegerField(null=True, blank=True)
    to_grade_name = models.CharField(max_length=50, blank=True, default="")
    reason = models.CharField(max_length=24, choices=Reason.choices)
    # "system" for automatic changes, else the console account ("account:12 a@b.c").
    actor = models.CharField(max_length=254)
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "-created_at"], name="dist_grade_change_idx")]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_grade_name} → {self.to_grade_name} ({self.reason})"


class ProductCommissionRate(models.Model):
    """Per-level rates of a product (sku empty) or of one of its SKUs, used when the shop's
    rate source is "product" or "sku" (an SKU without rates uses its product's, a product
    without rates the shop's)."""

    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="commission_rates"
    )
    sku = models.ForeignKey(
        "catalog.Sku",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="commission_rates",
    )
    rate_kind = models.CharField(
        max_length=12, choices=RateKind.choices, default=RateKind.PERCENTAGE
    )
    level_rates = ArrayField(models.BigIntegerField(), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(sku__isnull=True),
                name="distribution_product_rate_once",
            ),
            models.UniqueConstraint(
                fields=["sku"],
                condition=Q(sku__isnull=False),
                name="distribution_sku_rate_once",
            ),
            models.CheckConstraint(
                condition=Q(level_rates__len__lte=MAX_DEPTH),
                name="distribution_product_rates_at_most_3_levels",
            ),
        ]

    def __str__(self) -> str:
        target = f"sku {self.sku_id}" if self.sku_id else f"product {self.product_id}"
        return f"{target}: {list(self.level_rates)}"
