"""The H5 storefront's URLs on the shop host (included at the root by infra.urls_tenant)."""

from django.urls import path

from themes.storefront.views import assets, member, pages

urlpatterns = [
    path("", pages.storefront_home, name="storefront-home"),
    path("categories/<int:category_id>", pages.storefront_category, name="storefront-category"),
    path("search", pages.storefront_search, name="storefront-search"),
    path("products/<int:product_id>", pages.storefront_product, name="storefront-product"),
    path("login", member.storefront_login, name="storefront-login"),
    path("login/code", member.storefront_login_code, name="storefront-login-code"),
    path("logout", member.storefront_logout, name="storefront-logout"),
    path("cart", member.storefront_cart, name="storefront-cart"),
    path("cart/add", member.storefront_cart_add, name="storefront-cart-add"),
    path("cart/update", member.storefront_cart_update, name="storefront-cart-update"),
    path("checkout", member.storefront_checkout, name="storefront-checkout"),
    path("orders", member.storefront_orders, name="storefront-orders"),
    path("orders/<str:number>", member.storefront_order, name="storefront-order"),
    path("orders/<str:number>/pay", member.storefront_order_pay, name="storefront-order-pay"),
    path(
        "orders/<str:number>/cancel", member.storefront_order_cancel, name="storefront-order-cancel"
    ),
    path(
        "orders/<str:number>/receive",
        member.storefront_order_receive,
        name="storefront-order-receive",
    ),
    path(
        "pay/sandbox/<str:out_trade_no>",
        member.storefront_pay_sandbox,
        name="storefront-pay-sandbox",
    ),
    path("account", member.storefront_account, name="storefront-account"),
    path("distribution", member.storefront_distribution, name="storefront-distribution"),
    path(
        "theme-assets/<int:version_id>/<str:checksum>/<path:path>",
        assets.storefront_theme_asset,
        name="storefront-theme-asset",
    ),
]
