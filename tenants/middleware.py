"""Tenant routing: which schema a request runs in, decided once, before anything reads data.

- A shop host (its subdomain or a verified custom domain) gets the shop's schema and the shop's
  URLs (storefront, /api/v1/, provider callbacks).
- The platform host gets the public schema and the platform URLs; under /console/<slug>/ it gets
  the shop's schema, and ConsoleAccessMiddleware then demands a membership before any view runs.
The search path "<shop>, public" still sees the control-plane tables (sessions, accounts), so one
`SET search_path` serves the whole request.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from infra.db import schema_connection
from tenants.models import Tenant
from tenants.selectors.accounts import membership_role_get
from tenants.selectors.tenancy import (
    host_is_platform,
    normalize_host,
    tenant_get_by_host,
    tenant_get_by_slug,
)

CONSOLE_PATH = re.compile(r"^/console/(?P<slug>[a-z0-9][a-z0-9-]*)/")
ALWAYS_OPEN_PATHS = ("/healthz", "/readyz")
SUSPENDED_RETRY_AFTER_S = 3600


def _visitor_language(request: HttpRequest, fallback: str) -> str:
    """The language of a page answered before LocaleMiddleware runs: the browser's, if it says."""
    if request.META.get("HTTP_ACCEPT_LANGUAGE"):
        return translation.get_language_from_request(request)
    supported = {code for code, _name in settings.LANGUAGES}
    return fallback if fallback in supported else settings.LANGUAGE_CODE


def _not_found_page(request: HttpRequest, host: str) -> HttpResponse:
    with translation.override(_visitor_language(request, settings.LANGUAGE_CODE)):
        body = render_to_string("errors/unknown_host.html", {"host": host}, request=None)
    return HttpResponse(body, status=404)


class TenantRoutingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        host = normalize_host(request.get_host())
        request.tenant = None  # type: ignore[attr-defined]
        request.console_tenant = None  # type: ignore[attr-defined]
        if host_is_platform(host):
            return self._platform(request)
        tenant = tenant_get_by_host(host=host)
        if tenant is None:
            schema_connection().set_schema_to_public()
            return _not_found_page(request, host)
        schema_connection().set_tenant(tenant)
        request.tenant = tenant  # type: ignore[attr-defined]
        request.urlconf = settings.ROOT_URLCONF  # type: ignore[attr-defined]
        if tenant.is_suspended and not request.path.startswith(ALWAYS_OPEN_PATHS):
            return self._closed(request, tenant)
        return self.get_response(request)

    def _platform(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = settings.PUBLIC_SCHEMA_URLCONF  # type: ignore[attr-defined]
        match = CONSOLE_PATH.match(request.path_info)
        if match is None:
            schema_connection().set_schema_to_public()
            return self.get_response(request)
        tenant = tenant_get_by_slug(slug=match["slug"])
        if tenant is None:
            schema_connection().set_schema_to_public()
            return self.get_response(request)  # the console view answers 404
        schema_connection().set_tenant(tenant)
        request.console_tenant = tenant  # type: ignore[attr-defined]
        return self.get_response(request)

    def _closed(self, request: HttpRequest, tenant: Tenant) -> HttpResponse:
        retry_after = str(SUSPENDED_RETRY_AFTER_S)
        with translation.override(_visitor_language(request, tenant.language)):
            response = self._closed_response(request, tenant)
        response["Retry-After"] = retry_after
        return response

    def _closed_response(self, request: HttpRequest, tenant: Tenant) -> HttpResponse:
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {
                    "error": {
                        "code": "shop_closed",
                        "message": _("This shop is closed for now."),
                        "fields": {},
                    }
                },
                status=503,
            )
        else:
            body = render_to_string("storefront/closed.html", {"shop": tenant}, request=request)
            response = HttpResponse(body, status=503)
        return response


class ConsoleAccessMiddleware:
    """Under /console/<slug>/, only members of the shop (or platform staff) get through."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant: Tenant | None = getattr(request, "console_tenant", None)
        if tenant is None:
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated:
            # The platform's URLs are not active yet (the handler sets request.urlconf later).
            login_url = reverse(settings.LOGIN_URL, urlconf=settings.PUBLIC_SCHEMA_URLCONF)
            return redirect_to_login(request.get_full_path(), login_url=login_url)
        role = membership_role_get(account=user, tenant=tenant)
        if role is None and user.is_platform_staff:
            role = "platform_staff"
        if role is None:
            # Same answer as for a shop that does not exist: membership is not disclosed.
            schema_connection().set_schema_to_public()
            request.console_tenant = None  # type: ignore[attr-defined]
            body = render_to_string("errors/404.html", {}, request=request)
            return HttpResponse(body, status=404)
        request.console_role = role  # type: ignore[attr-defined]
        return self.get_response(request)
