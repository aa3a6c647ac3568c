"""Helpers of the withdrawal tests: distributors with an available balance, balances, settings."""

from __future__ import annotations

import uuid
from typing import Any

from distribution.models import LedgerAccountKind, LedgerEntry
from distribution.services.bindings import distributor_make
from distribution.services.ledger import ledger_account_for, ledger_balances, ledger_post
from distribution.services.settings import distribution_settings_update
from shop.customers.models import Member
from tests.support.commerce import member_make

Kind = LedgerAccountKind


def earned(member: Member, amount_minor: int) -> None:
    """Credit a distributor's available balance, as a settled commission does."""
    ledger_post(
        source="test_settled",
        source_id=uuid.uuid4().hex,
        purpose="settled",
        lines=[
            (ledger_account_for(member_id=None, kind=Kind.SHOP_COMMISSION_EXPENSE), -amount_minor),
            (ledger_account_for(member_id=member.pk, kind=Kind.COMMISSION_AVAILABLE), amount_minor),
        ],
    )


def distributor_with(available_minor: int) -> Member:
    """A new active distributor with `available_minor` to withdraw."""
    member = member_make()
    distributor_make(member=member)
    if available_minor:
        earned(member, available_minor)
    return member


def balances(member: Member) -> dict[str, int]:
    """The distributor's balances that withdrawals move (0 when never touched)."""
    found = ledger_balances(member_id=member.pk)
    return {
        kind: found.get(kind, 0)
        for kind in (Kind.COMMISSION_AVAILABLE, Kind.WITHDRAWAL_IN_PROGRESS, Kind.WITHDRAWN)
    }


def fee_income() -> int:
    return ledger_balances(member_id=None).get(Kind.SHOP_WITHDRAWAL_FEE_INCOME, 0)


def ledger_balanced() -> bool:
    """The shop's ledger sums to zero (every posting balanced)."""
    return sum(LedgerEntry.objects.values_list("amount_minor", flat=True)) == 0


def withdrawals_on(**changes: Any) -> None:
    """Distribution on, with the withdrawal settings given (review on, all channels, no fee,
    minimum 1.00 unless changed)."""
    distribution_settings_update(
        changes={
            "enabled": True,
            "withdrawal_channels": ["wechat_balance", "bank_card", "store_balance"],
            "withdrawal_min_minor": 100,
            "withdrawal_fee_bp": 0,
            "withdrawal_review": True,
            "withdrawal_auto_transfer": False,
            "withdrawal_daily_limit_minor": None,
            **changes,
        },
        actor="test",
    )
