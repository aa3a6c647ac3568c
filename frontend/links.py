"""Addresses of a shop as the merchant sees them in the console."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from tenants.selectors.tenancy import shop_host_for


def _port_of(request: HttpRequest | None) -> str:
    """The port the platform was reached on; shops answer on the same one."""
    if request is None:
        return str(settings.PLATFORM_PORT)
    host = request.get_host()
    if host.startswith("["):
        _address, _bracket, rest = host.partition("]")
        return rest.removeprefix(":")
    _name, _colon, port = host.partition(":")
    return port


def shop_host_display(slug: str, request: HttpRequest | None = None) -> str:
    """`<slug>.<PLATFORM_DOMAIN>`, with the port when the platform runs on one."""
    port = _port_of(request)
    host = shop_host_for(slug)
    return f"{host}:{port}" if port else host


def storefront_url(slug: str, request: HttpRequest | None = None) -> str:
    """The shop's storefront on its platform subdomain."""
    return f"{settings.PLATFORM_SCHEME}://{shop_host_display(slug, request)}/"
