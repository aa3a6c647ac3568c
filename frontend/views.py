"""Console pages (placeholder until the console shell lands)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render


def platform_home(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/platform_home.html")


@login_required
def console_home(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/console_home.html")


def console_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    if getattr(request, "console_tenant", None) is None:
        raise Http404
    return render(request, "frontend/console_dashboard.html")
