from django.urls import path

from shop.core.api.views import ShopDetailApi

urlpatterns = [
    path("shop", ShopDetailApi.as_view(), name="shop-detail"),
]
