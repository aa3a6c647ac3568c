from django.urls import path

from frontend import views
from frontend.navigation import CONSOLE_SECTIONS

urlpatterns = [
    path("", views.platform_home, name="platform-home"),
    path("signup/", views.signup, name="signup"),
    path("signup/slug-preview/", views.signup_slug_preview, name="signup-slug-preview"),
    path("shops/new/", views.shop_create, name="shop-create"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path(
        "password-reset/confirm/",
        views.password_reset_confirm_page,
        name="password-reset-confirm",
    ),
    path("account/verify/", views.account_verify, name="account-verify"),
    path(
        "account/verify/<str:channel>/send/",
        views.account_verify_send,
        name="account-verify-send",
    ),
    path(
        "account/verify/<str:channel>/confirm/",
        views.account_verify_confirm,
        name="account-verify-confirm",
    ),
    path("console/", views.console_home, name="console-home"),
    path("console/<slug:slug>/", views.console_dashboard, name="console-dashboard"),
    path("console/<slug:slug>/settings/", views.console_settings, name="console-settings"),
    path(
        "console/<slug:slug>/settings/profile/",
        views.console_settings_profile,
        name="console-settings-profile",
    ),
    path("console/<slug:slug>/settings/staff/", views.console_staff_add, name="console-staff-add"),
    path(
        "console/<slug:slug>/settings/staff/<int:membership_id>/role/",
        views.console_staff_role,
        name="console-staff-role",
    ),
    path(
        "console/<slug:slug>/settings/staff/<int:membership_id>/remove/",
        views.console_staff_remove,
        name="console-staff-remove",
    ),
    path(
        "console/<slug:slug>/settings/domains/",
        views.console_domain_add,
        name="console-domain-add",
    ),
    path(
        "console/<slug:slug>/settings/domains/<int:domain_id>/verify/",
        views.console_domain_verify,
        name="console-domain-verify",
    ),
    path(
        "console/<slug:slug>/settings/domains/<int:domain_id>/remove/",
        views.console_domain_remove,
        name="console-domain-remove",
    ),
    # Sections that later issues fill in; each keeps its URL name when its real view lands.
    *(
        path(
            f"console/<slug:slug>/{section.key}/",
            views.console_section,
            {"section": section.key},
            name=section.url_name,
        )
        for section in CONSOLE_SECTIONS
        if section.coming is not None
    ),
]
