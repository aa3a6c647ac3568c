"""Settlement runs and monthly statements.

A SettlementRun is the claim of one scheduled job for one period ("unfreeze" per UTC hour,
"periodic" per month of the shop's calendar, "statements" per month): the unique (kind, period)
makes a second run of the same period book nothing. A Statement sums one distributor's ledger
entries over one month of the shop's time zone; it is derived data, regenerated at will.

Amounts are integer minor units of the shop's currency. A distributor's balance here is what the
shop owes them: every account of theirs except `withdrawn` (money already paid out), with a
clawback receivable counting against it. So for each statement
closing = opening + earned - reversed - withdrawn - fees; released and clawback are moves inside
that balance (frozen → available; refunds taken from money already released).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class SettlementRun(models.Model):
    class Kind(models.TextChoices):
        UNFREEZE = "unfreeze"
        PERIODIC = "periodic"
        STATEMENTS = "statements"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    # "2026-11-25T20" (UTC hour) for unfreeze; "2026-11" (shop-local month) for the others.
    period = models.CharField(max_length=16)
    # Frozen commissions whose freeze days had passed at `cutoff` are released (kept for replays).
    cutoff = models.DateTimeField()
    freeze_days = models.PositiveIntegerField(default=0)
    commissions = models.PositiveIntegerField(default=0)
    distributors = models.PositiveIntegerField(default=0)
    released_minor = models.BigIntegerField(default=0)
    # Of what was released, how much paid clawback receivables first.
    offset_minor = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period"], name="distribution_settlement_run_once"
            ),
            models.CheckConstraint(
                condition=Q(released_minor__gte=0, offset_minor__gte=0),
                name="distribution_settlement_run_amounts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.period}"


class Statement(models.Model):
    """One distributor's month (shop time zone), from the ledger."""

    member = models.ForeignKey(
        "customers.Member", on_delete=models.PROTECT, related_name="distribution_statements"
    )
    month = models.DateField()  # the first day of the month
    currency = models.CharField(max_length=3)
    opening_minor = models.BigIntegerField()
    earned_minor = models.BigIntegerField()
    reversed_minor = models.BigIntegerField()
    released_minor = models.BigIntegerField()
    withdrawn_minor = models.BigIntegerField()
    fees_minor = models.BigIntegerField()
    clawback_minor = models.BigIntegerField()
    closing_minor = models.BigIntegerField()
    # Of the closing balance, what was withdrawable (commission_available) at the month's end.
    closing_available_minor = models.BigIntegerField(default=0)
    generated_at = models.DateTimeField()

    class Meta:
        ordering = ["-month", "member_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "month"], name="distribution_statement_once_per_month"
            ),
            models.CheckConstraint(
                condition=Q(month__day=1), name="distribution_statement_month_start"
            ),
        ]
        indexes = [models.Index(fields=["month"], name="dist_statement_month_idx")]

    def __str__(self) -> str:
        return f"statement {self.month:%Y-%m} of member {self.member_id}"
