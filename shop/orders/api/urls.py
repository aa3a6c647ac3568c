"""The orders' storefront API (under /api/v1/ on the shop host): cart, checkout, orders."""

from __future__ import annotations

from django.urls import URLPattern, path

from shop.orders.api.views import (
    AfterSaleCreateApi,
    AfterSaleReturnApi,
    AfterSaleWithdrawApi,
    CartApi,
    CartItemApi,
    CartItemsApi,
    CheckoutApi,
    CheckoutQuoteApi,
    OrderCancelApi,
    OrderDetailApi,
    OrderListApi,
    OrderReceiveApi,
)

urlpatterns: list[URLPattern] = [
    path("cart", CartApi.as_view(), name="cart"),
    path("cart/items", CartItemsApi.as_view(), name="cart-items"),
    path("cart/items/<int:sku_id>", CartItemApi.as_view(), name="cart-item"),
    path("checkout/quote", CheckoutQuoteApi.as_view(), name="checkout-quote"),
    path("checkout", CheckoutApi.as_view(), name="checkout"),
    path("orders", OrderListApi.as_view(), name="order-list"),
    path("orders/<str:number>", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel", OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<str:number>/receive", OrderReceiveApi.as_view(), name="order-receive"),
    path("orders/<str:number>/after-sales", AfterSaleCreateApi.as_view(), name="after-sale-create"),
    path(
        "after-sales/<int:after_sale_id>/withdraw",
        AfterSaleWithdrawApi.as_view(),
        name="after-sale-withdraw",
    ),
    path(
        "after-sales/<int:after_sale_id>/return",
        AfterSaleReturnApi.as_view(),
        name="after-sale-return",
    ),
]
