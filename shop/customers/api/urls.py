"""The members' storefront API (under /api/v1/ on the shop host)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
