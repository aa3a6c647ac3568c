"""A theme version's assets (CSS, JS, images, fonts), served on the shop host.

The URL names the version and the first characters of its checksum, so a new version is a new
URL and the files can be cached for a year by browsers and proxies.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from themes.packages.selectors import theme_asset_get
from themes.storefront.views.pages import not_found

ASSET_MAX_AGE_S = 365 * 24 * 3600


def storefront_theme_asset(
    request: HttpRequest, version_id: int, checksum: str, path: str
) -> HttpResponseBase:
    """One file of the theme's assets/ folder (404 for anything else)."""
    found = theme_asset_get(version_id=version_id, path=path)
    if found is None:
        return not_found(request, "")
    content, content_type = found
    response = HttpResponse(content, content_type=content_type)
    response["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE_S}, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    # An asset opened on its own (an SVG) runs nothing: scripts only run as the pages load them.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response
