"""Reads of members and their tokens."""

from __future__ import annotations

from django.utils import timezone

from shop.customers.models import Member, MemberTag, MemberToken
from shop.customers.services.tokens import token_hash


def member_token_get(*, key: str) -> MemberToken | None:
    """The live token for this clear key, with its active member (one query), or None."""
    return (
        MemberToken.objects.select_related("member")
        .filter(
            key_hash=token_hash(key),
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
            member__is_active=True,
        )
        .first()
    )


def member_tag_names(*, member: Member) -> list[str]:
    """The names of the member's tags, sorted (one query)."""
    return list(
        MemberTag.objects.filter(members=member).order_by("name").values_list("name", flat=True)
    )


def member_openid(*, member: Member, provider: str) -> str:
    """The member's latest WeChat openid of `provider` (a MemberIdentity.Provider), "" if none."""
    from shop.customers.models import MemberIdentity

    identity = (
        MemberIdentity.objects.filter(member=member, provider=provider).order_by("-id").first()
    )
    return identity.openid if identity else ""
