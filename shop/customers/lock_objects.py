"""Row locks of members (select_for_update querysets)."""

from __future__ import annotations

from django.db.models import QuerySet

from shop.customers.models import Member


def member_lock(*, member_id: int) -> QuerySet[Member]:
    """The member's row, locked: serialises changes to its addresses (default, count)."""
    return Member.objects.select_for_update().filter(pk=member_id)
