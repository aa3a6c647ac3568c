"""The catalog's storefront API (under /api/v1/ on the shop host)."""

from django.urls import URLPattern, path

from shop.catalog.api.views import CategoryListApi, ProductDetailApi, ProductListApi

urlpatterns: list[URLPattern] = [
    path("categories", CategoryListApi.as_view(), name="category-list"),
    path("products", ProductListApi.as_view(), name="product-list"),
    path("products/<int:product_id>", ProductDetailApi.as_view(), name="product-detail"),
]
