from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.platform_home, name="platform-home"),
    path("console/", views.console_home, name="console-home"),
    path("console/<slug:slug>/", views.console_dashboard, name="console-dashboard"),
]
