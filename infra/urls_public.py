"""URLs of the platform host: signup, consoles, platform admin, platform API, webhooks."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from infra.health import healthz, readyz

platform_api_v1 = [
    path("", include("tenants.api.urls")),
]

urlpatterns = [
    path("", include("frontend.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/platform/v1/", include(platform_api_v1)),
    path("webhooks/", include("billing.api.urls")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(
            urlconf="infra.urls_public",
            custom_settings={"TITLE": "Platform API", "DESCRIPTION": "Signup and accounts."},
        ),
        name="schema",
    ),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]
