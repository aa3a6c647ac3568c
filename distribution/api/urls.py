"""The distribution endpoints of the shop API (under /api/v1/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from distribution.api.views import ReferralVisitApi

urlpatterns: list[URLPattern] = [
    path("distribution/visits", ReferralVisitApi.as_view(), name="distribution-visit"),
]
