"""URLs of a shop host: storefront, the shop API under /api/v1/, provider callbacks."""

from django.conf import settings
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from infra.health import healthz, readyz
from infra.media import media_serve

api_v1 = [
    path("", include("shop.core.api.urls")),
    path("", include("shop.catalog.api.urls")),
    path("", include("shop.customers.api.urls")),
    path("", include("shop.orders.api.urls")),
    path("", include("shop.payments.api.urls")),
    path("", include("distribution.api.urls")),
    path("", include("themes.storefront.api.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="infra.urls_tenant"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("", include("themes.storefront.urls")),
]

if settings.DEBUG:
    # Development serves uploaded files itself (production: S3), each shop only its own.
    urlpatterns.append(re_path(r"^media/(?P<path>.+)$", media_serve, name="media"))
