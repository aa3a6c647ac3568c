"""Accounts: identifiers, verification of e-mail and phone, password reset by code."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.errors import DomainError, ValidationFailed, validation_error_items
from infra.messaging import email_send, sms_send
from tenants.identifiers import Channel, identifier_normalize
from tenants.models import Account, VerificationCode
from tenants.services.audit import AuditContext, audit_record, audited, orchestrator

CODE_RESEND_AFTER_S = 60
CODE_MAX_ATTEMPTS = 5

Purpose = VerificationCode.Purpose


class CodeInvalidError(DomainError):
    code = "code_invalid"
    default_message = "The code is wrong or has expired."


class CodeTooManyAttemptsError(DomainError):
    code = "code_too_many_attempts"
    status_code = 429
    default_message = "Too many wrong codes. Ask for a new one."


class CodeTooSoonError(DomainError):
    code = "code_too_soon"
    status_code = 429
    default_message = "A code was sent a moment ago. Please wait a minute."


class ChannelMissingError(DomainError):
    code = "channel_missing"
    default_message = "This account has no such contact to verify."


def _code_hash(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def _code_issue(*, account: Account, purpose: str, destination: str, channel: Channel) -> str:
    recent = VerificationCode.objects.filter(
        account=account,
        purpose=purpose,
        created_at__gt=timezone.now() - timedelta(seconds=CODE_RESEND_AFTER_S),
    )
    if recent.exists():
        raise CodeTooSoonError(_("A code was sent a moment ago. Please wait a minute."))
    code = f"{secrets.randbelow(1_000_000):06d}"
    VerificationCode.objects.create(
        account=account,
        purpose=purpose,
        code_hash=_code_hash(code),
        destination=destination,
        expires_at=timezone.now() + timedelta(seconds=settings.VERIFICATION_CODE_TTL_S),
    )
    minutes = str(settings.VERIFICATION_CODE_TTL_S // 60)
    if channel == "email":
        text = _("Your code is %(code)s. It expires in %(minutes)s minutes.") % {
            "code": code,
            "minutes": minutes,
        }
        email_send(address=destination, subject=_("Your verification code"), text=text)
    else:
        sms_send(phone=destination, template="verification_code", params=[code, minutes])
    return code


def _code_check(*, account: Account, purpose: str, destination: str, code: str) -> int:
    """The id of the newest unused code if `code` matches it; a wrong code is counted (committed).

    Runs in its own transaction, before the audited write that consumes the code, so that wrong
    attempts are remembered even though the caller's request fails.
    """
    with transaction.atomic():
        issued = (
            VerificationCode.objects.select_for_update()
            .filter(account=account, purpose=purpose, destination=destination, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if issued is None or issued.expires_at <= timezone.now():
            raise CodeInvalidError(_("The code is wrong or has expired."))
        if issued.attempts >= CODE_MAX_ATTEMPTS:
            raise CodeTooManyAttemptsError(_("Too many wrong codes. Ask for a new one."))
        matches = hmac.compare_digest(issued.code_hash, _code_hash(code.strip()))
        if not matches:
            VerificationCode.objects.filter(pk=issued.pk).update(attempts=F("attempts") + 1)
    if not matches:
        raise CodeInvalidError(_("The code is wrong or has expired."))
    return issued.pk


def _code_use(code_id: int) -> None:
    """Mark a checked code used; a concurrent use of the same code loses."""
    used = VerificationCode.objects.filter(pk=code_id, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if used != 1:
        raise CodeInvalidError(_("The code is wrong or has expired."))


def _destination(account: Account, channel: Channel) -> str:
    destination = account.email if channel == "email" else account.phone
    if not destination:
        raise ChannelMissingError(_("This account has no such contact to verify."))
    return destination


@audited
def account_verification_send(*, account: Account, channel: Channel, context: AuditContext) -> None:
    """Send a code that proves the account's e-mail address or phone number."""
    destination = _destination(account, channel)
    purpose = Purpose.VERIFY_EMAIL if channel == "email" else Purpose.VERIFY_PHONE
    _code_issue(account=account, purpose=purpose, destination=destination, channel=channel)
    audit_record(
        context=context,
        action=f"account.{channel}_verification_sent",
        target=account,
    )


@orchestrator
def account_verification_confirm(
    *, account: Account, channel: Channel, code: str, context: AuditContext
) -> Account:
    """Mark the e-mail address or phone number verified when the code matches."""
    destination = _destination(account, channel)
    purpose = Purpose.VERIFY_EMAIL if channel == "email" else Purpose.VERIFY_PHONE
    code_id = _code_check(account=account, purpose=purpose, destination=destination, code=code)
    return _verification_mark(account=account, channel=channel, code_id=code_id, context=context)


@audited
def _verification_mark(
    *, account: Account, channel: Channel, code_id: int, context: AuditContext
) -> Account:
    _code_use(code_id)
    field = "email_verified_at" if channel == "email" else "phone_verified_at"
    setattr(account, field, timezone.now())
    account.save(update_fields=[field])
    audit_record(context=context, action=f"account.{channel}_verified", target=account)
    return account


@audited
def password_reset_request(*, identifier: str, context: AuditContext) -> None:
    """Send a reset code to the account's e-mail or phone; silent when there is no account."""
    from tenants.selectors.accounts import account_find_by_identifier

    try:
        channel, destination = identifier_normalize(identifier)
    except ValidationError as error:
        raise ValidationFailed(
            fields={"identifier": [{"code": "invalid", "message": str(error.message)}]}
        ) from error
    account = account_find_by_identifier(identifier=destination)
    if account is not None and account.is_active:
        _code_issue(
            account=account,
            purpose=Purpose.RESET_PASSWORD,
            destination=destination,
            channel=channel,
        )
    # The answer does not reveal whether the account exists; the audit row does, to staff.
    audit_record(
        context=context,
        action="account.password_reset_requested",
        target=account,
        data={"channel": channel, "account_found": account is not None},
    )


@orchestrator
def password_reset_confirm(
    *, identifier: str, code: str, new_password: str, context: AuditContext
) -> Account:
    """Set a new password when the reset code matches."""
    from tenants.selectors.accounts import account_find_by_identifier

    try:
        _channel, destination = identifier_normalize(identifier)
    except ValidationError as error:
        raise CodeInvalidError(_("The code is wrong or has expired.")) from error
    account = account_find_by_identifier(identifier=destination)
    if account is None:
        raise CodeInvalidError(_("The code is wrong or has expired."))
    try:
        validate_password(new_password, account)
    except ValidationError as error:
        raise ValidationFailed(fields={"new_password": validation_error_items(error)}) from error
    code_id = _code_check(
        account=account, purpose=Purpose.RESET_PASSWORD, destination=destination, code=code
    )
    return _password_set(
        account=account, code_id=code_id, new_password=new_password, context=context
    )


@audited
def _password_set(
    *, account: Account, code_id: int, new_password: str, context: AuditContext
) -> Account:
    _code_use(code_id)
    account.set_password(new_password)
    account.save(update_fields=["password"])
    audit_record(context=context, action="account.password_reset", target=account)
    return account
