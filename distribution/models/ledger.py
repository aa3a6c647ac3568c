"""The commission ledger: append-only, double-entry, in the shop's one currency.

Sign convention: `amount_minor` is signed, in integer minor units, and **positive is a credit**
in the shop's books. So the accounts that hold what the shop owes a distributor (pending,
frozen, available, held, in withdrawal) and the record of what was paid out to them (withdrawn)
grow with positive entries; the shop's commission expense and what a distributor owes back
(clawback receivable) carry negative balances. Every transaction's entries sum to zero, so the
sum of every entry in the shop is always zero. Entries and transactions are never updated or
deleted (database triggers refuse it, migration 0002); a correction is a reversing transaction.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class LedgerAccountKind(models.TextChoices):
    # A distributor's accounts (member set).
    COMMISSION_PENDING = "commission_pending", "Commission pending (order paid, not received)"
    COMMISSION_FROZEN = "commission_frozen", "Commission frozen (inside the after-sale window)"
    COMMISSION_AVAILABLE = "commission_available", "Commission available (withdrawable)"
    COMMISSION_HELD = "commission_held", "Commission held for review (risk)"
    WITHDRAWAL_IN_PROGRESS = "withdrawal_in_progress", "Withdrawal requested, not yet paid"
    WITHDRAWN = "withdrawn", "Withdrawn (paid out)"
    CLAWBACK_RECEIVABLE = "clawback_receivable", "Clawback owed by the distributor"
    # The shop's accounts (no member).
    SHOP_COMMISSION_EXPENSE = "shop_commission_expense", "Shop: commission expense"
    SHOP_WITHDRAWAL_FEE_INCOME = "shop_withdrawal_fee_income", "Shop: withdrawal fee income"


# Plain strings (not enum members), so that migrations hold the values themselves.
SHOP_ACCOUNT_KINDS: frozenset[str] = frozenset(
    {
        LedgerAccountKind.SHOP_COMMISSION_EXPENSE.value,
        LedgerAccountKind.SHOP_WITHDRAWAL_FEE_INCOME.value,
    }
)
MEMBER_ACCOUNT_KINDS: frozenset[str] = (
    frozenset(kind.value for kind in LedgerAccountKind) - SHOP_ACCOUNT_KINDS
)


class LedgerAccount(models.Model):
    """One account of the chart: a distributor's (member set) or the shop's (member empty)."""

    member = models.ForeignKey(
        "customers.Member",
        null=True,
        blank=True,
        # Money history outlives nothing: a member with ledger accounts is never hard-deleted.
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    kind = models.CharField(max_length=32, choices=LedgerAccountKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "kind"],
                condition=Q(member__isnull=False),
                name="distribution_ledger_account_member_kind_unique",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(member__isnull=True),
                name="distribution_ledger_account_shop_kind_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=sorted(SHOP_ACCOUNT_KINDS), member__isnull=True)
                | Q(kind__in=sorted(MEMBER_ACCOUNT_KINDS), member__isnull=False),
                name="distribution_ledger_account_owner_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        owner = f"member {self.member_id}" if self.member_id else "shop"
        return f"{self.kind} ({owner})"


class LedgerTransaction(models.Model):
    """One posting. (source, source_id, purpose) is its idempotency key: a replay books nothing."""

    # What caused it ("order_event", "settlement", "withdrawal", …) and that thing's id.
    source = models.CharField(max_length=32)
    source_id = models.CharField(max_length=64)
    # Which of the source's postings this is ("commission:line:12:level:1", "unfreeze", …).
    purpose = models.CharField(max_length=128)
    memo = models.CharField(max_length=255, blank=True, default="")
    # Set on a reversing transaction; a transaction is reversed in full at most once.
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id", "purpose"],
                name="distribution_ledger_transaction_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_id}:{self.purpose}"


class LedgerEntry(models.Model):
    """One line of a transaction: a signed amount (positive = credit) on one account."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [
            # With the transaction's key this is ARCHITECTURE §4's (source, source id, account).
            models.UniqueConstraint(
                fields=["transaction", "account"], name="distribution_ledger_entry_account_unique"
            ),
            models.CheckConstraint(
                condition=~Q(amount_minor=0), name="distribution_ledger_entry_amount_not_zero"
            ),
        ]
        indexes = [
            # Balances are sums per account: answered from the index alone.
            models.Index(
                fields=["account"],
                include=["amount_minor"],
                name="ledger_entry_balance_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount_minor:+d} {self.currency}"
