"""DNS lookups for custom-domain verification (dnspython; the name servers come from settings)."""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.resolver
from django.conf import settings


@dataclass(frozen=True)
class TxtLookup:
    name: str
    values: tuple[str, ...]
    failed: bool = False


def dns_txt_lookup(*, name: str) -> TxtLookup:
    """The TXT strings published at `name`; `failed` when the lookup itself failed."""
    resolver = dns.resolver.Resolver(configure=not settings.DNS_NAMESERVERS)
    if settings.DNS_NAMESERVERS:
        host, _, port = settings.DNS_NAMESERVERS[0].partition(":")
        resolver.nameservers = [host]
        resolver.port = int(port or 53)
    resolver.lifetime = settings.DNS_TIMEOUT_S
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return TxtLookup(name=name, values=())
    except dns.exception.DNSException:
        return TxtLookup(name=name, values=(), failed=True)
    values = tuple(b"".join(record.strings).decode("utf-8", "replace") for record in answer)
    return TxtLookup(name=name, values=values)
