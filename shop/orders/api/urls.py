"""The orders' storefront API (under /api/v1/ on the shop host): cart, checkout, orders."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
