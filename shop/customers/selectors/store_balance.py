"""Reads of members' store balances (see shop.customers.services.store_balance)."""

from __future__ import annotations

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from shop.customers.models import StoreBalanceEntry


def store_balance_entry_list(*, member_id: int) -> QuerySet[StoreBalanceEntry]:
    """The member's store balance entries, newest first."""
    return StoreBalanceEntry.objects.filter(member_id=member_id).order_by("-id")


def store_balance_entries_total(*, member_id: int) -> int:
    """The sum of the member's entries in minor units (what the cached balance must equal)."""
    total = StoreBalanceEntry.objects.filter(member_id=member_id).aggregate(
        total=Coalesce(Sum("amount_minor"), 0)
    )["total"]
    return int(total)


def store_balance_entry_get(*, source: str, source_id: str) -> StoreBalanceEntry | None:
    """The entry made under this key, or None."""
    return StoreBalanceEntry.objects.filter(source=source, source_id=source_id).first()
