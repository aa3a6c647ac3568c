from django.urls import path

from tenants.api import views

urlpatterns = [
    path("signup", views.SignupApi.as_view(), name="api-signup"),
    path("auth/login", views.LoginApi.as_view(), name="api-login"),
    path("auth/logout", views.LogoutApi.as_view(), name="api-logout"),
    path("me", views.MeApi.as_view(), name="api-me"),
    path("shops", views.ShopListApi.as_view(), name="api-shop-list"),
    path("me/verification", views.VerificationSendApi.as_view(), name="api-verification-send"),
    path(
        "me/verification/confirm",
        views.VerificationConfirmApi.as_view(),
        name="api-verification-confirm",
    ),
    path("password-reset", views.PasswordResetRequestApi.as_view(), name="api-password-reset"),
    path(
        "password-reset/confirm",
        views.PasswordResetConfirmApi.as_view(),
        name="api-password-reset-confirm",
    ),
    path(
        "agencies/<int:agency_id>/shops",
        views.AgencyShopCreateApi.as_view(),
        name="api-agency-shop-create",
    ),
]
