"""The payments' endpoints on the shop host (under /api/v1/): pay, sandbox, notifications."""

from __future__ import annotations

from django.urls import URLPattern, path

from shop.payments.api.notify import WeChatPayNotifyApi
from shop.payments.api.views import OrderPayApi, PaymentDetailApi, SandboxConfirmApi

urlpatterns: list[URLPattern] = [
    path(
        "payments/notify/wechatpay", WeChatPayNotifyApi.as_view(), name="payment-notify-wechatpay"
    ),
    path("orders/<str:number>/pay", OrderPayApi.as_view(), name="order-pay"),
    path("payments/<str:out_trade_no>", PaymentDetailApi.as_view(), name="payment-detail"),
    path(
        "payments/<str:out_trade_no>/sandbox-confirm",
        SandboxConfirmApi.as_view(),
        name="payment-sandbox-confirm",
    ),
]
