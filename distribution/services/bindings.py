"""Binding members to uplines by the shop's rules; the referral graph stays acyclic.

`referral_bind` is called at the moment the settings name (first visit, registration, first
order or first payment) with the code the visit carried. It answers whether the member is now
bound and, when not, why (a stable reason the merchant's explanation view shows). Changes of the
graph take one lock per shop, so two bindings cannot close a cycle together.
"""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from distribution.models import (
    Binding,
    BindingChange,
    BindingScope,
    Distributor,
    Overwrite,
)
from distribution.services.settings import distribution_settings_get
from infra.db import schema_connection
from shop.customers.models import Member
from shop.orders.models import Order

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class BindResult:
    bound: bool
    reason: str  # "bound", "rebound", or why not: "distribution_off", "unknown_code", …
    upline_id: int | None = None


def _graph_lock() -> None:
    key = zlib.crc32(f"distribution.graph:{schema_connection().schema_name}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7601, key - 2**31])


def upline_chain(*, member_id: int, levels: int) -> list[int]:
    """The member's uplines, nearest first, at most `levels` of them, following current
    (unexpired) bindings only: one recursive query, whatever the depth."""
    table = Binding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE up(upline_id, depth) AS (
                SELECT upline_id, 1 FROM "{table}"
                WHERE member_id = %s AND (expires_at IS NULL OR expires_at > now())
                UNION ALL
                SELECT b.upline_id, up.depth + 1 FROM "{table}" b
                JOIN up ON b.member_id = up.upline_id
                WHERE up.depth < %s AND (b.expires_at IS NULL OR b.expires_at > now())
            )
            SELECT upline_id FROM up ORDER BY depth
            """,
            [member_id, levels],
        )
        return [int(row[0]) for row in cursor.fetchall()] if levels > 0 else []


def _reaches(*, start: int, target: int) -> bool:
    """Whether following uplines (expired ones too) from `start` reaches `target`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE up(member_id, depth) AS (
                SELECT upline_id, 1 FROM "{Binding._meta.db_table}" WHERE member_id = %s
                UNION
                SELECT b.upline_id, up.depth + 1
                FROM "{Binding._meta.db_table}" b JOIN up ON b.member_id = up.member_id
                WHERE up.depth < 10000
            )
            SELECT EXISTS (SELECT 1 FROM up WHERE member_id = %s)
            """,
            [start, target],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def distributor_make(*, member: Member, status: str = Distributor.Status.ACTIVE) -> Distributor:
    """Make a member a distributor with a fresh share code (idempotent: an existing one is
    returned as it is). `status` is the new one's (applied, when they only asked to be one);
    distribution.services.qualification changes it later and records why."""
    existing = Distributor.objects.filter(member=member).first()
    if existing is not None:
        return existing
    for _attempt in range(5):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        try:
            with transaction.atomic():
                return Distributor.objects.create(
                    member=member,
                    code=code,
                    status=status,
                    activated_at=timezone.now() if status == Distributor.Status.ACTIVE else None,
                )
        except IntegrityError:
            existing = Distributor.objects.filter(member=member).first()
            if existing is not None:
                return existing
    raise RuntimeError("could not find a free distributor code")


@transaction.atomic
def referral_bind(
    *,
    member: Member,
    code: str,
    trigger: str,
    source: str = Binding.Source.LINK,
    now: datetime | None = None,
) -> BindResult:
    """Bind `member` to the distributor of `code` if the shop's rules allow it now."""
    now = now or timezone.now()
    settings = distribution_settings_get()
    if not settings.enabled:
        return BindResult(False, "distribution_off")
    if trigger != settings.binding_trigger:
        return BindResult(False, "not_the_trigger")
    distributor = (
        Distributor.objects.filter(code=code.strip().upper(), status=Distributor.Status.ACTIVE)
        .select_related("member")
        .first()
    )
    if distributor is None:
        return BindResult(False, "unknown_code")
    upline_id = distributor.member_id
    if upline_id == member.pk:
        return BindResult(False, "self_referral")
    _graph_lock()
    binding = Binding.objects.select_for_update().filter(member=member).first()
    if binding is not None and binding.upline_id == upline_id:
        return BindResult(False, "already_bound_here", upline_id)
    if (
        settings.binding_scope == BindingScope.NEW_USERS
        and Order.objects.filter(member=member).exists()
    ):
        return BindResult(False, "not_a_new_user")
    if binding is not None:
        expired = binding.expires_at is not None and binding.expires_at <= now
        if settings.overwrite == Overwrite.NEVER or (
            settings.overwrite == Overwrite.AFTER_EXPIRY and not expired
        ):
            return BindResult(False, "already_bound", binding.upline_id)
        if binding.protected_until is not None and binding.protected_until > now and not expired:
            return BindResult(False, "snatch_protected", binding.upline_id)
    if _reaches(start=upline_id, target=member.pk):
        return BindResult(False, "cycle")
    expires_at = now + timedelta(days=settings.binding_days) if settings.binding_days else None
    protected_until = (
        now + timedelta(days=settings.snatch_protection_days)
        if settings.snatch_protection_days
        else None
    )
    previous = binding.upline_id if binding is not None else None
    Binding.objects.update_or_create(
        member=member,
        defaults={
            "upline_id": upline_id,
            "source": source,
            "bound_at": now,
            "expires_at": expires_at,
            "protected_until": protected_until,
        },
    )
    reason = "rebound" if previous is not None else "bound"
    BindingChange.objects.create(
        member=member,
        from_upline_id=previous,
        to_upline_id=upline_id,
        source=source,
        reason=f"{reason} by {trigger} with code {distributor.code}",
    )
    # The upline has one more invite (and a bigger team): their grade may go up. Imported
    # here: grades reads the graph through this module.
    from distribution.services.grades import grades_evaluate_after_binding

    grades_evaluate_after_binding(upline_id=upline_id)
    return BindResult(True, reason, upline_id)
