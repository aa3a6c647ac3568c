"""Bearer tokens of the member API: random keys, stored as SHA-256 in the shop's schema."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from shop.customers.models import Member, MemberToken

TOKEN_TTL = timedelta(days=30)
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def member_token_issue(*, member: Member, device_id: str) -> str:
    """A new token for the member, valid 30 days in this shop only; returns the clear key."""
    key = secrets.token_urlsafe(32)
    MemberToken.objects.create(
        key_hash=token_hash(key),
        member=member,
        device_id=device_id[:128],
        expires_at=timezone.now() + TOKEN_TTL,
    )
    return key


def member_token_touch(*, token: MemberToken) -> None:
    """Record use of the token, at most once a minute (one conditional UPDATE)."""
    now = timezone.now()
    if token.last_used_at is not None and token.last_used_at > now - LAST_USED_RESOLUTION:
        return
    MemberToken.objects.filter(pk=token.pk).exclude(
        last_used_at__gt=now - LAST_USED_RESOLUTION
    ).update(last_used_at=now)
    token.last_used_at = now


def member_token_revoke(*, token: MemberToken) -> None:
    """Log out: the token stops working at once."""
    now = timezone.now()
    MemberToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.revoked_at = now
