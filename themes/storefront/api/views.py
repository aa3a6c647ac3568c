"""The storefront API's page layouts: what the mini-program draws, from the H5 pages' design."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.catalog.cache import catalog_version
from themes.manifest import PAGE_TYPES
from themes.storefront.cache import PAGE_TIMEOUT_S, page_cache_enabled
from themes.storefront.errors import PageTypeUnknownError, StorefrontNotInstalledError
from themes.storefront.rendering import layout_data
from themes.storefront.selectors import storefront_live_design


class StorefrontLayoutApi(APIView):
    """A page's live layout: the theme settings and the page's sections in order, each with its
    settings resolved (images with URLs, categories with their first products, product cards).
    Page types: home, category, search, product, cart, checkout, orders, order, account,
    distribution, login. Errors: storefront_page_unknown, storefront_theme_missing."""

    authentication_classes = ()
    permission_classes = ()

    @extend_schema(
        operation_id="storefront_layout",
        responses={200: OpenApiResponse(description="The page layout (see THEME-FORMAT.md).")},
    )
    def get(self, request: Request, page: str) -> Response:
        if page not in PAGE_TYPES:
            raise PageTypeUnknownError()
        design = storefront_live_design()
        if design is None:
            raise StorefrontNotInstalledError()
        tenant: Any = request.tenant  # type: ignore[attr-defined]
        identity = f"{tenant.currency}\n{tenant.language}\n{request.build_absolute_uri('/')}"
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        key = f"storefront:layout:{design.number}:{catalog_version()}:{page}:{digest}"
        data = cache.get(key) if page_cache_enabled() else None
        if data is None:
            data = layout_data(request, design=design, page_type=page)
            if page_cache_enabled():
                cache.set(key, data, timeout=PAGE_TIMEOUT_S)
        return Response(data)
