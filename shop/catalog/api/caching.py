"""Cached storefront reads: the JSON bytes of a catalog response, served before DRF runs.

Keyed by the shop (the default cache's keys carry its schema), the catalog version
(shop.catalog.cache: every catalog write bumps it when it commits), the shop's currency and
language (prices are formatted in them), the absolute URL of the path (pagination links carry
the scheme and host) and the query parameters the endpoint reads, sorted; others are ignored,
and the list's pagination links are built from the same normalised parameters, so that every
request with the same key gets the same bytes.

Only GET requests that negotiate JSON use the cache (no `format` parameter, no text/html in
Accept: the browsable API is never cached), and only 200 responses are stored.

Throttling: a hit is answered before DRF, so the throttles do not see it. A hit costs two cache
reads, about what the throttle itself costs, and no database work, so throttling it would
protect nothing. The product list's misses are not throttled either (ProductListApi has no
throttle): a miss is one prepared statement, about half a millisecond of database time, while
the anonymous and user throttles (both key anonymous clients) cost four cache round trips and
pickle the client's history of the last period (+0.45 ms per request in-process at the
benchmark's rate): they would cost about what they guard. Limits on public reads belong at
the edge (the ingress, per client address). The other reads' misses go through DRF and stay
throttled, as do all writes.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from shop.catalog.cache import catalog_version

# Unreachable entries (older versions) expire on their own.
ENTRY_TIMEOUT_S = 3600
JSON = "application/json"

View = Callable[..., HttpResponseBase]


def catalog_query(request: HttpRequest, names: Sequence[str]) -> list[tuple[str, str]]:
    """The parameters among `names` that the request carries (the last value of each), sorted."""
    return sorted((name, request.GET[name]) for name in names if name in request.GET)


def catalog_url(request: HttpRequest, names: Sequence[str]) -> str:
    """The request's absolute URL with only the parameters among `names`, sorted."""
    query = urlencode(catalog_query(request, names))
    return request.build_absolute_uri(request.path) + (f"?{query}" if query else "")


def _cacheable(request: HttpRequest) -> bool:
    if not settings.CATALOG_READ_CACHE:
        return False
    accept = request.headers.get("Accept", "")
    return request.method == "GET" and "format" not in request.GET and "text/html" not in accept


def _key(request: HttpRequest, names: Sequence[str]) -> str:
    tenant = request.tenant  # type: ignore[attr-defined]
    identity = "\n".join([str(tenant.currency), str(tenant.language), catalog_url(request, names)])
    digest = hashlib.sha256(identity.encode()).hexdigest()
    return f"catalog:read:{catalog_version()}:{digest}"


def catalog_cached(view: View, *, params: Sequence[str] = ()) -> View:
    """`view` (an APIView's as_view()) with its JSON responses cached; `params`: what it reads.

    functools.wraps keeps the view's attributes (cls, initkwargs, csrf_exempt), so URL
    resolution and the OpenAPI schema see the same view.
    """

    @functools.wraps(view)
    def cached(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        # Read before the view: a write committing meanwhile bumps the version, so what the
        # view read is stored under the old one, which no later request asks for.
        key = _key(request, params)
        body = cache.get(key)
        if body is not None:
            hit = HttpResponse(body, content_type=JSON)
            hit["Vary"] = "Accept, Cookie"
            hit["Allow"] = "GET, HEAD, OPTIONS"
            return hit
        response = view(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        render = getattr(response, "render", None)
        if render is not None:
            render()  # DRF sets the negotiated Content-Type while rendering
        if response.get("Content-Type", "") == JSON:
            cache.set(key, response.content, ENTRY_TIMEOUT_S)  # type: ignore[attr-defined]
        return response

    return cached
