"""Who is in the merchant console, and what they may do: the shop of the request, the role."""

from __future__ import annotations

from collections.abc import Collection

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from frontend.views import _console_tenant_required
from tenants.models import Tenant


def console_tenant(request: HttpRequest) -> Tenant:
    """The shop of a console request (404 without one)."""
    _console_tenant_required(request)
    tenant: Tenant = request.console_tenant  # type: ignore[attr-defined]
    return tenant


def console_role_in(request: HttpRequest, roles: Collection[str]) -> bool:
    """Whether the account's role in the shop is one of `roles`."""
    return getattr(request, "console_role", None) in roles


def console_editor_required(request: HttpRequest, roles: Collection[str]) -> Tenant:
    """The shop, when the account's role is one of `roles`; PermissionDenied (403) otherwise."""
    tenant = console_tenant(request)
    if not console_role_in(request, roles):
        raise PermissionDenied
    return tenant


def console_actor(request: HttpRequest) -> str:
    """Who acts, as services record it."""
    return f"account:{request.user.pk}"
