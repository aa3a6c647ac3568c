"""Logging in to the platform, with failed attempts throttled per account and per IP."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from infra.errors import DomainError
from tenants.identifiers import identifier_normalize
from tenants.models import Account
from tenants.services.audit import AuditContext, audit_record, audited, client_ip, orchestrator


class InvalidCredentialsError(DomainError):
    code = "invalid_credentials"
    status_code = 400
    default_message = "The e-mail, phone or password is not right."


class LoginThrottledError(DomainError):
    code = "login_throttled"
    status_code = 429
    default_message = "Too many failed attempts. Try again in a few minutes."


def _failure_keys(request: HttpRequest, identifier: str) -> tuple[str, str]:
    try:
        _kind, normalized = identifier_normalize(identifier)
    except ValidationError:
        normalized = identifier.strip().lower()
    return f"login-failures:account:{normalized}", f"login-failures:ip:{client_ip(request)}"


def _failure_count(key: str) -> int:
    return int(caches["platform"].get(key, 0))


def _failure_add(key: str) -> None:
    cache = caches["platform"]
    if not cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW_S):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW_S)


@audited
def _login_record(*, account: Account, context: AuditContext) -> Account:
    audit_record(context=context.with_actor(account), action="account.logged_in", target=account)
    return account


@orchestrator
def login_attempt(*, request: HttpRequest, identifier: str, password: str) -> Account:
    """The account for these credentials, unless too many attempts failed recently.

    The caller logs the account in (django.contrib.auth.login). Failures are counted per
    account identifier and per client IP for LOGIN_FAILURE_WINDOW_S.
    """
    account_key, ip_key = _failure_keys(request, identifier)
    if (
        _failure_count(account_key) >= settings.LOGIN_MAX_FAILURES_PER_ACCOUNT
        or _failure_count(ip_key) >= settings.LOGIN_MAX_FAILURES_PER_IP
    ):
        raise LoginThrottledError(_("Too many failed attempts. Try again in a few minutes."))
    account = authenticate(request, username=identifier, password=password)
    if not isinstance(account, Account):
        _failure_add(account_key)
        _failure_add(ip_key)
        raise InvalidCredentialsError(_("The e-mail, phone or password is not right."))
    caches["platform"].delete(account_key)
    return _login_record(account=account, context=AuditContext.from_request(request))
