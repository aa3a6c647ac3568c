"""URLs of a shop host: storefront, the shop API under /api/v1/, provider callbacks."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from infra.health import healthz, readyz
from themes.storefront.views import storefront_home

api_v1 = [
    path("", include("shop.core.api.urls")),
    path("", include("shop.catalog.api.urls")),
    path("", include("shop.customers.api.urls")),
]

urlpatterns = [
    path("", storefront_home, name="storefront-home"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="infra.urls_tenant"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]
