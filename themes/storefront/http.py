"""What every storefront page shares: the member session, previews, CSP, the page cache.

Members on the shop host log in with a session cookie (ARCHITECTURE §3): the session keeps the
key of a member token (shop.customers tokens, the same the API's bearer tokens are), so logging
out, expiry and revocation work the same everywhere. Visitors without a session cost no
session read.

The editor's preview: the console (platform host) links to a storefront page with
`?preview=<token>`, a signature of the shop's id valid PREVIEW_MAX_AGE_S. Such a request renders
the draft, is never cached, and may be framed by the platform's origin only (CSP
frame-ancestors); every other page may not be framed at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.messages import ERROR, get_messages
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import render

from distribution.services.center import distributor_of
from shop.catalog.selectors.skus import catalog_file_url
from shop.customers.models import Member
from shop.customers.phones import phone_decrypt, phone_mask
from shop.customers.selectors.members import member_token_get
from shop.orders.selectors import cart_units
from themes.storefront.cache import (
    Design,
    page_cache_enabled,
    page_cache_lookup,
    page_cache_store,
)
from themes.storefront.rendering import PageMeta, page_render
from themes.storefront.sandbox import ThemeRenderError
from themes.storefront.selectors import storefront_draft_design, storefront_live_design
from themes.storefront.services.install import storefront_theme_seed

SESSION_TOKEN_KEY = "storefront_member_token"  # noqa: S105 (a session key's name)
PREVIEW_SALT = "themes.storefront.preview"
PREVIEW_MAX_AGE_S = 30 * 60


def preview_token_make(*, tenant_id: int) -> str:
    """A signed token that lets the shop's storefront render the draft (the editor's preview)."""
    return signing.dumps({"tenant": tenant_id}, salt=PREVIEW_SALT, compress=True)


def _preview_valid(request: HttpRequest, token: str) -> bool:
    try:
        data = signing.loads(token, salt=PREVIEW_SALT, max_age=PREVIEW_MAX_AGE_S)
    except signing.BadSignature:
        return False
    return bool(data.get("tenant") == request.tenant.pk)  # type: ignore[attr-defined]


def platform_origin() -> str:
    port = f":{settings.PLATFORM_PORT}" if settings.PLATFORM_PORT else ""
    return f"{settings.PLATFORM_SCHEME}://{settings.PLATFORM_DOMAIN}{port}"


@functools.cache
def _media_origin() -> str:
    # Product images and uploaded theme images come from the storage (S3 in production).
    url = catalog_file_url("csp-probe") or ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(*, preview: bool) -> str:
    media = _media_origin()
    images = " ".join(part for part in ("'self'", "data:", media) if part)
    frame_ancestors = platform_origin() if preview else "'none'"
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src {images}",
            "style-src 'self' 'unsafe-inline'",
            "script-src 'self'",
            "font-src 'self' data:",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def storefront_headers(response: HttpResponseBase, *, preview: bool) -> HttpResponseBase:
    """The storefront's security headers: a strict CSP; framing only for the editor's preview."""
    response["Content-Security-Policy"] = content_security_policy(preview=preview)
    if preview:
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
        response["Cache-Control"] = "no-store"
    return response


def session_member(request: HttpRequest) -> Member | None:
    """The member logged in on this shop host, or None (no query for visitors)."""
    if hasattr(request, "_storefront_member"):
        cached: Member | None = request._storefront_member
        return cached
    member = None
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        key = request.session.get(SESSION_TOKEN_KEY)
        if key:
            token = member_token_get(key=str(key))
            member = token.member if token is not None else None
    request._storefront_member = member  # type: ignore[attr-defined]
    return member


@dataclass(frozen=True)
class PageState:
    """What a storefront view is given: the design to render, the member, preview or not."""

    design: Design
    member: Member | None
    preview: bool


PageView = Callable[..., HttpResponseBase]


def _plain(
    request: HttpRequest, template: str, status: int, context: dict[str, Any]
) -> HttpResponse:
    response = render(request, template, context, status=status)
    storefront_headers(response, preview=False)
    return response


def theme_error_response(
    request: HttpRequest, error: ThemeRenderError, *, preview: bool
) -> HttpResponse:
    """The platform's error page for a theme that failed (details in the preview only)."""
    response = render(
        request,
        "storefront/theme_error.html",
        {"error": error, "preview": preview, "shop": request.tenant},  # type: ignore[attr-defined]
        status=500,
    )
    storefront_headers(response, preview=preview)
    return response


def storefront_page(*, cacheable: bool = False) -> Callable[[PageView], PageView]:
    """A storefront view: resolves the design, member and preview; answers theme errors.

    With `cacheable`, a visitor's GET (no member session, no preview) is served from the page
    cache and stored there on a 200.
    """

    def decorate(view: PageView) -> PageView:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            token = request.GET.get("preview")
            preview = False
            if token is not None:
                # Previews only show: nothing is ever written in one.
                if request.method != "GET" or not _preview_valid(request, token):
                    return _plain(request, "storefront/preview_expired.html", 403, {})
                preview = True
            member = None if preview else session_member(request)
            lookup = None
            if (
                cacheable
                and request.method == "GET"
                and not preview
                and member is None
                and page_cache_enabled()
            ):
                lookup = page_cache_lookup(request)
                if lookup.body is not None:
                    return storefront_headers(HttpResponse(lookup.body), preview=False)
            if preview:
                design = storefront_draft_design()
            else:
                design = lookup.design if lookup is not None else None
                design = design or storefront_live_design()
                if design is None:
                    # A shop opened before themes existed gets the default theme now.
                    storefront_theme_seed()
                    design = storefront_live_design()
            if design is None:
                return _plain(
                    request,
                    "storefront/unavailable.html",
                    503,
                    {"shop": request.tenant},  # type: ignore[attr-defined]
                )
            state = PageState(design=design, member=member, preview=preview)
            try:
                response = view(request, state, *args, **kwargs)
            except ThemeRenderError as error:
                return theme_error_response(request, error, preview=preview)
            if (
                lookup is not None
                and response.status_code == 200
                and isinstance(response, HttpResponse)
            ):
                page_cache_store(lookup, design=design, body=response.content)
            return storefront_headers(response, preview=preview)

        return wrapped

    return decorate


def preview_member() -> Member:
    """The member the editor's preview shows pages for: empty, never saved."""
    return Member(pk=0, nickname="", phone_encrypted="")


def customer_object(member: Member | None) -> dict[str, Any] | None:
    """The `customer` object of the theme (None for visitors)."""
    if member is None:
        return None
    phone = phone_mask(phone_decrypt(member.phone_encrypted)) if member.phone_encrypted else ""
    distributor = distributor_of(member_id=member.pk) if member.pk else None
    return {
        "name": member.nickname or phone,
        "phone": phone,
        "avatar_url": member.avatar_url or None,
        "is_distributor": distributor is not None and distributor.status == "active",
        "store_balance": member.store_balance_minor,
        "cart_count": cart_units(member=member) if member.pk else 0,
    }


def page_response(
    request: HttpRequest,
    state: PageState,
    meta: PageMeta,
    objects: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """Render a page of the theme for `state` (personal pages get a CSRF token)."""
    personal = state.member is not None or meta.type == "login"
    csrf_token = get_token(request) if personal else ""
    # What the last action said (a refused cart change …); visitors' pages, cached, have none.
    notices = (
        [
            {"level": "error" if message.level >= ERROR else "info", "text": str(message)}
            for message in get_messages(request)
        ]
        if personal
        else []
    )
    # The editor previews every page as a member would see it (an empty one).
    member = state.member or (preview_member() if state.preview else None)
    html = page_render(
        request,
        design=state.design,
        meta=meta,
        objects=objects,
        customer=customer_object(member),
        csrf_token=csrf_token,
        preview=state.preview,
        notices=notices,
    )
    return HttpResponse(html, status=status)
