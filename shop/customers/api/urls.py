"""The members' storefront API (under /api/v1/ on the shop host)."""

from django.urls import path

from shop.customers.api.views import (
    AddressDefaultApi,
    AddressDetailApi,
    AddressesApi,
    LoginCodeSendApi,
    LogoutApi,
    MeApi,
    PhoneLoginApi,
    StoreBalanceEntryListApi,
    WeChatLoginApi,
)
from shop.customers.api.wechat_oauth import WeChatOAuthBindApi, WeChatOAuthUrlApi

urlpatterns = [
    path("auth/login-code", LoginCodeSendApi.as_view(), name="member-login-code"),
    path("auth/phone-login", PhoneLoginApi.as_view(), name="member-phone-login"),
    path("auth/wechat-login", WeChatLoginApi.as_view(), name="member-wechat-login"),
    path("auth/wechat-oauth-url", WeChatOAuthUrlApi.as_view(), name="member-wechat-oauth-url"),
    path("auth/wechat-oauth-bind", WeChatOAuthBindApi.as_view(), name="member-wechat-oauth-bind"),
    path("auth/logout", LogoutApi.as_view(), name="member-logout"),
    path("me", MeApi.as_view(), name="member-me"),
    path(
        "store-balance/entries",
        StoreBalanceEntryListApi.as_view(),
        name="member-store-balance-entries",
    ),
    path("addresses", AddressesApi.as_view(), name="member-addresses"),
    path("addresses/<int:address_id>", AddressDetailApi.as_view(), name="member-address"),
    path(
        "addresses/<int:address_id>/default",
        AddressDefaultApi.as_view(),
        name="member-address-default",
    ),
]
