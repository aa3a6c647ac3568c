"""Regional agents and the team performance bonus.

A RegionalAgent earns a share (basis points) of the real sales shipped to their region: a
province, or a city in it, or a district in that city; the most specific active agent of an
order's shipping address earns (distribution.services.regions). TeamBonus is the monthly result
of the team performance bonus of one distributor (distribution.services.team), TeamBonusRun the
marker that a month was computed.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class RegionalAgent(models.Model):
    member = models.ForeignKey(
        "customers.Member", on_delete=models.PROTECT, related_name="regional_agencies"
    )
    province = models.CharField(max_length=64)
    city = models.CharField(max_length=64, blank=True, default="")  # "": the whole province
    district = models.CharField(max_length=64, blank=True, default="")  # "": the whole city
    rate_bp = models.PositiveIntegerField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["province", "city", "district", "id"]
        constraints = [
            # One active agent per region.
            models.UniqueConstraint(
                fields=["province", "city", "district"],
                condition=Q(active=True),
                name="distribution_region_one_active_agent",
            ),
            models.CheckConstraint(
                condition=Q(rate_bp__gte=1, rate_bp__lte=10000),
                name="distribution_region_rate_1_10000",
            ),
            models.CheckConstraint(
                condition=~Q(province="") & (~Q(district="") & ~Q(city="") | Q(district="")),
                name="distribution_region_shape",
            ),
        ]

    def __str__(self) -> str:
        return "/".join(part for part in (self.province, self.city, self.district) if part)


class TeamBonusRun(models.Model):
    """A month whose team bonuses were computed (the monthly job's idempotency marker)."""

    month = models.DateField(unique=True)  # the first day of the month, in the shop's time zone
    rate_bp = models.PositiveIntegerField()
    depth = models.PositiveSmallIntegerField()
    paid_count = models.PositiveIntegerField(default=0)
    paid_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"Team bonus run {self.month:%Y-%m}"


class TeamBonus(models.Model):
    """One distributor's team performance bonus for one month, with how it was computed."""

    member = models.ForeignKey("customers.Member", on_delete=models.PROTECT, related_name="+")
    month = models.DateField()
    # Real sales of the team: completed orders of downlines within the depth, net of refunds.
    team_sales_minor = models.BigIntegerField()
    rate_bp = models.PositiveIntegerField()
    amount_minor = models.BigIntegerField()  # team sales x rate, rounded down
    currency = models.CharField(max_length=3)
    # {"orders": n, "members": n, "by_level": {"1": minor, …}, "refunded_minor": n, …}
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "-amount_minor", "member_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "month"], name="distribution_team_bonus_once"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0, team_sales_minor__gte=0),
                name="distribution_team_bonus_amounts",
            ),
        ]

    def __str__(self) -> str:
        return f"Team bonus of member {self.member_id} for {self.month:%Y-%m}"
