"""The catalog's storefront API (under /api/v1/ on the shop host), its reads cached per shop."""

from django.urls import URLPattern, path

from shop.catalog.api.caching import catalog_cached
from shop.catalog.api.views import (
    PRODUCT_LIST_PARAMS,
    CategoryListApi,
    ProductDetailApi,
    ProductListApi,
)

urlpatterns: list[URLPattern] = [
    path("categories", catalog_cached(CategoryListApi.as_view()), name="category-list"),
    path(
        "products",
        catalog_cached(ProductListApi.as_view(), params=PRODUCT_LIST_PARAMS),
        name="product-list",
    ),
    path(
        "products/<int:product_id>",
        catalog_cached(ProductDetailApi.as_view()),
        name="product-detail",
    ),
]
