"""Members log in with a code sent by SMS; an unknown phone registers with consent."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.errors import ValidationFailed
from infra.messaging import sms_send
from shop.customers.errors import (
    CodeInvalidError,
    CodeTooManyAttemptsError,
    CodeTooSoonError,
    ConsentRequiredError,
    LoginCodeLimitedError,
    MemberInactiveError,
)
from shop.customers.models import Channel, Member, MemberConsent, MemberLogin, PhoneCode
from shop.customers.phones import phone_encrypt, phone_index, phone_normalize
from shop.customers.services.tokens import member_token_issue
from shop.events.services import event_record

CODE_TTL_S = 5 * 60
CODE_MAX_ATTEMPTS = 5
RESEND_AFTER_S = 60
PHONE_CODES_PER_HOUR = 10
IP_CODES_PER_HOUR = 30
HOUR_S = 3600
POLICY_VERSION_MAX_LENGTH = 32


def ip_clean(ip: str | None) -> str | None:
    """The address if it is a valid IP (forwarded headers can carry anything), else None."""
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


def login_code_resend_key(*, phone_index: str) -> str:
    """Cache key of the one-code-a-minute rule (the default cache adds the tenant to keys)."""
    return f"member-login-code:recent:{phone_index}"


def _code_hash(*, phone_index: str, code: str) -> str:
    message = f"{phone_index}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _hourly_count(key: str) -> int:
    """Count one more event in a fixed one-hour window starting at the first."""
    if cache.add(key, 1, HOUR_S):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, HOUR_S)
        return 1


def member_login_code_send(*, phone: str, ip: str | None) -> None:
    """Send a login code by SMS: one a minute and 10 an hour per phone, 30 an hour per IP.

    Refused requests count against the hourly limits, so probing does not get more codes.
    """
    normalized = phone_normalize(phone)
    index = phone_index(normalized)
    ip = ip_clean(ip)
    if ip is not None and _hourly_count(f"member-login-code:ip:{ip}") > IP_CODES_PER_HOUR:
        raise LoginCodeLimitedError(_("Too many codes were asked for. Try again later."))
    resend_key = login_code_resend_key(phone_index=index)
    if not cache.add(resend_key, 1, RESEND_AFTER_S):
        raise CodeTooSoonError(_("A code was sent a moment ago. Please wait a minute."))
    if _hourly_count(f"member-login-code:phone:{index}") > PHONE_CODES_PER_HOUR:
        raise LoginCodeLimitedError(_("Too many codes were asked for. Try again later."))
    code = f"{secrets.randbelow(1_000_000):06d}"
    try:
        with transaction.atomic():
            PhoneCode.objects.create(
                phone_index=index,
                code_hash=_code_hash(phone_index=index, code=code),
                expires_at=timezone.now() + timedelta(seconds=CODE_TTL_S),
                ip=ip,
            )
            # Inside the transaction: a code the provider did not send is not stored.
            sms_send(
                phone=normalized,
                template="member_login_code",
                params=[code, str(CODE_TTL_S // 60)],
            )
    except Exception:
        # The shopper may ask again at once when the provider failed.
        cache.delete(resend_key)
        raise


def _code_check(*, phone_index: str, code: str) -> int:
    """The id of the newest unused code for the phone if `code` matches; misses are committed."""
    with transaction.atomic():
        issued = (
            PhoneCode.objects.select_for_update()
            .filter(phone_index=phone_index, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if issued is None or issued.expires_at <= timezone.now():
            raise CodeInvalidError(_("The code is wrong or has expired."))
        if issued.attempts >= CODE_MAX_ATTEMPTS:
            raise CodeTooManyAttemptsError(_("Too many wrong codes. Ask for a new one."))
        expected = _code_hash(phone_index=phone_index, code=code.strip())
        matches = hmac.compare_digest(issued.code_hash, expected)
        if not matches:
            PhoneCode.objects.filter(pk=issued.pk).update(attempts=F("attempts") + 1)
    if not matches:
        raise CodeInvalidError(_("The code is wrong or has expired."))
    return issued.pk


def login_fields_check(*, policy_version: str | None, channel: str) -> None:
    """The channel and policy version of a login (every login method takes them)."""
    fields: dict[str, list[dict[str, str]]] = {}
    if channel not in Channel.values:
        fields["channel"] = [{"code": "invalid_choice", "message": _("Choose h5 or miniprogram.")}]
    if policy_version is not None and not 0 < len(policy_version) <= POLICY_VERSION_MAX_LENGTH:
        fields["policy_version"] = [
            {"code": "invalid", "message": _("Give the version of the policy, 32 characters.")}
        ]
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)


def member_phone_login(
    *,
    phone: str,
    code: str,
    policy_version: str | None,
    channel: str,
    device_id: str,
    ip: str | None,
    user_agent: str,
) -> tuple[Member, str]:
    """The member of this phone (registered now if new, with consent) and a new bearer token.

    The code is checked before anything is revealed about the phone; an unknown phone needs
    `policy_version` (the privacy policy the shopper accepted), else `consent_required` and the
    code stays usable for the retry.
    """
    login_fields_check(policy_version=policy_version, channel=channel)
    normalized = phone_normalize(phone)
    index = phone_index(normalized)
    ip = ip_clean(ip)
    code_id = _code_check(phone_index=index, code=code)
    if policy_version is None and not Member.objects.filter(phone_index=index).exists():
        raise ConsentRequiredError(_("Accept the shop's privacy policy to register."))
    now = timezone.now()
    with transaction.atomic():
        used = PhoneCode.objects.filter(pk=code_id, used_at__isnull=True).update(used_at=now)
        if used != 1:  # a concurrent login took the code
            raise CodeInvalidError(_("The code is wrong or has expired."))
        member, created = Member.objects.get_or_create(
            phone_index=index, defaults={"phone_encrypted": phone_encrypt(normalized)}
        )
        if not member.is_active:
            raise MemberInactiveError(_("This member account is disabled."))
        if created:
            if policy_version is None:  # the member vanished since the check: roll back
                raise ConsentRequiredError(_("Accept the shop's privacy policy to register."))
            member_registration_record(
                member=member, policy_version=policy_version, channel=channel, ip=ip
            )
        token = member_login_record(
            member=member,
            method=MemberLogin.Method.PHONE_CODE,
            device_id=device_id,
            ip=ip,
            user_agent=user_agent,
        )
    return member, token


def member_registration_record(
    *, member: Member, policy_version: str, channel: str, ip: str | None
) -> None:
    """A new member's consent to the privacy policy, and its `member.registered` event.

    Runs in the transaction that created the member (the event is recorded in it).
    """
    MemberConsent.objects.create(
        member=member, policy_version=policy_version, channel=channel, ip=ip
    )
    event_record(topic="member.registered", payload={"member_id": member.pk, "channel": channel})


def member_login_record(
    *, member: Member, method: str, device_id: str, ip: str | None, user_agent: str
) -> str:
    """Record a login (device, address, client), stamp the member, and issue a bearer token.

    Runs in the login's transaction; returns the token's clear key.
    """
    now = timezone.now()
    MemberLogin.objects.create(
        member=member,
        method=method,
        device_id=device_id[:128],
        ip=ip,
        user_agent=user_agent[:512],
    )
    Member.objects.filter(pk=member.pk).update(last_login_at=now)
    member.last_login_at = now
    return member_token_issue(member=member, device_id=device_id)
