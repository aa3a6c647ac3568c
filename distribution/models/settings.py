"""A shop's distribution settings (one row): who may distribute, how members bind to an upline,
how deep commissions go and at what rates, when they settle, and how withdrawals work.

Depth is at most 3 by construction (China's anti-pyramid rules): the database refuses more, as do
the service, the API and the console. Rates are basis points (1 % = 100 bp) or fixed amounts in
minor units, never floats.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

MAX_DEPTH = 3


def default_level_rates() -> list[int]:
    """10 % to the direct upline, 5 % to the next (basis points), for the default depth of 2."""
    return [1000, 500]


class Qualification(models.TextChoices):
    EVERYONE = "everyone"
    APPLY_REVIEW = "apply_review"
    APPOINTED = "appointed"
    SPEND_THRESHOLD = "spend_threshold"
    BOUGHT_PRODUCT = "bought_product"


class BindingTrigger(models.TextChoices):
    FIRST_VISIT = "first_visit"
    REGISTER = "register"
    FIRST_ORDER = "first_order"
    FIRST_PAYMENT = "first_payment"


class BindingScope(models.TextChoices):
    NEW_USERS = "new_users"
    WITHOUT_UPLINE = "without_upline"


class Overwrite(models.TextChoices):
    NEVER = "never"
    AFTER_EXPIRY = "after_expiry"
    ALWAYS = "always"


class RateSource(models.TextChoices):
    GLOBAL = "global"
    GRADE = "grade"
    PRODUCT = "product"
    SKU = "sku"


class RateKind(models.TextChoices):
    PERCENTAGE = "percentage"
    FIXED = "fixed"


class CommissionBase(models.TextChoices):
    LIST_PRICE = "list_price"
    PAID_EXCL_SHIPPING = "paid_excl_shipping"
    PAID_INCL_SHIPPING = "paid_incl_shipping"


class Clawback(models.TextChoices):
    REVERSE_PENDING = "reverse_pending"
    OFFSET_FUTURE = "offset_future"
    NEGATIVE_BALANCE = "negative_balance"


class WithdrawalChannel(models.TextChoices):
    WECHAT_BALANCE = "wechat_balance"
    BANK_CARD = "bank_card"
    STORE_BALANCE = "store_balance"


class DistributionSettings(models.Model):
    singleton = models.BooleanField(default=True, unique=True)
    enabled = models.BooleanField(default=False)
    qualification = models.CharField(
        max_length=16, choices=Qualification.choices, default=Qualification.EVERYONE
    )
    qualification_spend_minor = models.BigIntegerField(default=0)
    qualification_product_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    binding_trigger = models.CharField(
        max_length=16, choices=BindingTrigger.choices, default=BindingTrigger.FIRST_VISIT
    )
    binding_scope = models.CharField(
        max_length=16, choices=BindingScope.choices, default=BindingScope.WITHOUT_UPLINE
    )
    # None: permanent.
    binding_days = models.PositiveIntegerField(null=True, blank=True)
    overwrite = models.CharField(max_length=16, choices=Overwrite.choices, default=Overwrite.NEVER)
    snatch_protection_days = models.PositiveIntegerField(default=0)
    depth = models.PositiveSmallIntegerField(default=2)
    rate_source = models.CharField(
        max_length=8, choices=RateSource.choices, default=RateSource.GLOBAL
    )
    rate_kind = models.CharField(
        max_length=12, choices=RateKind.choices, default=RateKind.PERCENTAGE
    )
    # Per level (index 0 = the direct upline): basis points, or minor units when fixed.
    level_rates = ArrayField(models.BigIntegerField(), default=default_level_rates, blank=True)
    commission_base = models.CharField(
        max_length=20, choices=CommissionBase.choices, default=CommissionBase.PAID_EXCL_SHIPPING
    )
    self_purchase = models.BooleanField(default=False)
    excluded_order_types = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    freeze_days = models.PositiveIntegerField(default=7)
    # None: available as soon as unfrozen; else paid out on this day of each month.
    settlement_day = models.PositiveSmallIntegerField(null=True, blank=True)
    clawback = models.CharField(
        max_length=20, choices=Clawback.choices, default=Clawback.REVERSE_PENDING
    )
    withdrawal_min_minor = models.BigIntegerField(default=100)
    withdrawal_fee_bp = models.PositiveIntegerField(default=0)
    withdrawal_channels = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    withdrawal_review = models.BooleanField(default=True)
    withdrawal_auto_transfer = models.BooleanField(default=False)
    withdrawal_daily_limit_minor = models.BigIntegerField(null=True, blank=True)
    # Settings in risky territory (compliance report; each needs an acknowledgement).
    invite_reward_minor = models.BigIntegerField(default=0)  # cash per recruit
    invite_reward_daily_cap = models.PositiveIntegerField(default=0)
    paid_entry_minor = models.BigIntegerField(default=0)  # paid distributor entry
    team_bonus_bp = models.PositiveIntegerField(default=0)  # team performance bonus
    # Risk holds (distribution.services.risk): thresholds of the rules that hold commissions
    # for review; 0 switches a rule off.
    risk_device_accounts_limit = models.PositiveIntegerField(default=3)
    risk_buyer_orders_per_day = models.PositiveIntegerField(default=20)
    risk_earner_orders_per_hour = models.PositiveIntegerField(default=200)
    risk_acknowledged_at = models.DateTimeField(null=True, blank=True)
    risk_acknowledged_by = models.CharField(max_length=64, blank=True, default="")
    # The risky settings the acknowledgement covered ("invite_reward", "paid_entry", …).
    risk_acknowledged = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "distribution settings"
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="distribution_settings_one"),
            models.CheckConstraint(
                condition=Q(depth__gte=1, depth__lte=MAX_DEPTH),
                name="distribution_depth_at_most_3",
            ),
            models.CheckConstraint(
                condition=Q(settlement_day__isnull=True)
                | Q(settlement_day__gte=1, settlement_day__lte=28),
                name="distribution_settlement_day_1_28",
            ),
            models.CheckConstraint(
                condition=Q(withdrawal_fee_bp__lte=10000), name="distribution_fee_at_most_100pc"
            ),
            models.CheckConstraint(
                condition=Q(level_rates__len__lte=MAX_DEPTH),
                name="distribution_rates_at_most_3_levels",
            ),
        ]

    def __str__(self) -> str:
        return "Distribution settings"
