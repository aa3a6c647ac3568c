"""Reads of members' addresses: a member only ever sees their own."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from infra.errors import NotFound
from shop.customers.models import Address, Member


def address_list(*, member: Member) -> QuerySet[Address]:
    """The member's addresses, the default first, then the newest."""
    return Address.objects.filter(member=member).order_by("-is_default", "-created_at", "-pk")


def address_get(*, member: Member, address_id: int) -> Address:
    """One of the member's addresses; another member's is not found."""
    address = Address.objects.filter(member=member, pk=address_id).first()
    if address is None:
        raise NotFound(_("Not found."))
    return address
