"""Throttles whose keys carry the tenant (ARCHITECTURE §1: throttle keys always do)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from infra.db import schema_connection

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


def _scoped(key: str | None) -> str | None:
    return None if key is None else f"{schema_connection().schema_name}:{key}"


class TenantAnonRateThrottle(AnonRateThrottle):
    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return _scoped(super().get_cache_key(request, view))


class TenantUserRateThrottle(UserRateThrottle):
    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return _scoped(super().get_cache_key(request, view))


class SignupRateThrottle(SimpleRateThrottle):
    """Signups per client IP on the platform host."""

    scope = "signup"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return _scoped(self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)})
