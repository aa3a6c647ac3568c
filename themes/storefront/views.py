"""Storefront pages on the shop host."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shop.core.selectors import shop_profile_get


def storefront_home(request: HttpRequest) -> HttpResponse:
    """The shop's home page: a plain page until themes render it."""
    return render(
        request,
        "storefront/home.html",
        {"shop": request.tenant, "profile": shop_profile_get()},  # type: ignore[attr-defined]
    )
