"""The payments' endpoints on the shop host (under /api/v1/): pay, sandbox, notifications."""

from __future__ import annotations

from django.urls import URLPattern, path

urlpatterns: list[URLPattern] = []
