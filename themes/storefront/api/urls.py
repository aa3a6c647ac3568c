from django.urls import path

from themes.storefront.api.views import StorefrontLayoutApi

urlpatterns = [
    path(
        "storefront/pages/<str:page>",
        StorefrontLayoutApi.as_view(),
        name="storefront-layout",
    ),
]
