"""Template context shared by the consoles."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def platform(request: HttpRequest) -> dict[str, Any]:
    return {
        "PLATFORM_DOMAIN": settings.PLATFORM_DOMAIN,
        "console_tenant": getattr(request, "console_tenant", None),
        "console_role": getattr(request, "console_role", None),
        # A platform admin acting as this account (tenants.services.tenancy): show a way back.
        "impersonating": bool(
            hasattr(request, "session") and request.session.get("impersonator_id")
        ),
    }
