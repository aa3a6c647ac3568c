"""Audit trail: every control-plane write service records who did what, where and from where.

`@audited` wraps a write service in a transaction and fails it (rolling everything back) when it
finished without calling `audit_record`, so a privileged action can never go unrecorded.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from django.db import models, transaction
from django.http import HttpRequest

from tenants.models import Account, AuditLog, Tenant

P = ParamSpec("P")
R = TypeVar("R")
# Marker decorators return the very function, so generic signatures survive them.
F = TypeVar("F", bound=Callable[..., Any])

_recorded: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "audit_recorded", default=None
)


class AuditMissingError(RuntimeError):
    """A write service finished without writing its audit row."""


@dataclass(frozen=True)
class AuditContext:
    """Who acts, and from where. `system` actions (tasks, commands) have no account."""

    actor_id: int | None = None
    impersonator_id: int | None = None
    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def system(cls) -> AuditContext:
        return cls()

    @classmethod
    def from_request(cls, request: HttpRequest) -> AuditContext:
        user = getattr(request, "user", None)
        actor_id = user.pk if user is not None and user.is_authenticated else None
        impersonator_id = (
            request.session.get("impersonator_id") if hasattr(request, "session") else None
        )
        return cls(
            actor_id=actor_id,
            impersonator_id=impersonator_id,
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )

    def with_actor(self, account: Account) -> AuditContext:
        return AuditContext(
            actor_id=account.pk,
            impersonator_id=self.impersonator_id,
            ip_address=self.ip_address,
            user_agent=self.user_agent,
        )


def client_ip(request: HttpRequest) -> str | None:
    """The client address; behind a proxy, the address the proxy saw first."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None


def audit_record(
    *,
    context: AuditContext,
    action: str,
    tenant: Tenant | None = None,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Write one audit row in the current transaction."""
    entry = AuditLog.objects.create(
        actor_id=context.actor_id,
        impersonator_id=context.impersonator_id,
        tenant=tenant,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
        ip_address=context.ip_address,
        user_agent=context.user_agent,
    )
    recorded = _recorded.get()
    if recorded is not None:
        recorded.append(entry.pk)
    return entry


def audited(service: Callable[P, R]) -> Callable[P, R]:
    """Run a control-plane write service atomically and demand its audit row."""

    @functools.wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _recorded.set([])
        try:
            with transaction.atomic():
                result = service(*args, **kwargs)
                if not _recorded.get():
                    raise AuditMissingError(f"{service.__qualname__} wrote no audit row")
            return result
        finally:
            _recorded.reset(token)

    wrapper.__audited__ = True  # type: ignore[attr-defined]
    return wrapper


def orchestrator(service: F) -> F:
    """Mark a service that writes only through @audited services (and so audits through them).

    Used where the work must span several transactions, such as signup building a spare schema
    when the pool is empty and trying again.
    """
    service.__orchestrator__ = True  # type: ignore[attr-defined]
    return service


def unaudited(reason: str) -> Callable[[F], F]:
    """Mark a public function of a services module that is no privileged action, and why.

    For example upkeep of the spare-schema pool, which no person triggers, or a pure helper.
    """

    def mark(function: F) -> F:
        function.__unaudited__ = reason  # type: ignore[attr-defined]
        return function

    return mark
