"""Custom domains: a merchant adds a host name, publishes a TXT record, and we verify it."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from infra.errors import DomainError, ValidationFailed
from tenants.gateways.dns import dns_txt_lookup
from tenants.models import Domain, Tenant
from tenants.selectors.tenancy import tenant_routing_forget
from tenants.services.audit import AuditContext, audit_record, audited, unaudited

HOSTNAME_PATTERN = re.compile(
    r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
VERIFICATION_LABEL = "_shop-verification"


class DomainVerificationFailedError(DomainError):
    code = "domain_verification_failed"
    default_message = "The TXT record was not found."


@unaudited("computes a value; writes nothing")
def verification_record(domain: Domain) -> tuple[str, str]:
    """The TXT record (name, value) the merchant publishes to prove the domain is theirs."""
    return f"{VERIFICATION_LABEL}.{domain.domain}", f"shop-verification={domain.verification_token}"


def _invalid(code: str, message: str) -> ValidationFailed:
    return ValidationFailed(fields={"domain": [{"code": code, "message": message}]})


@audited
def domain_add(*, tenant: Tenant, domain: str, context: AuditContext) -> Domain:
    """Attach an unverified custom domain to a shop; it serves nothing until verified."""
    host = domain.strip().lower().rstrip(".")
    if not HOSTNAME_PATTERN.match(host):
        raise _invalid("invalid", _("Enter a host name such as shop.example.com."))
    platform = settings.PLATFORM_DOMAIN
    if host == platform or host.endswith("." + platform):
        raise _invalid("platform_domain", _("Addresses under the platform's domain are ours."))
    try:
        with transaction.atomic():
            added = Domain.objects.create(
                domain=host,
                tenant=tenant,
                is_primary=False,
                is_verified=False,
                verification_token=secrets.token_urlsafe(24),
            )
    except IntegrityError as error:
        raise _invalid("domain_taken", _("This domain is already in use.")) from error
    audit_record(
        context=context, action="domain.added", tenant=tenant, target=added, data={"domain": host}
    )
    return added


@audited
def domain_verify(*, domain: Domain, context: AuditContext) -> Domain:
    """Check the domain's TXT record; once found, the shop is served on the domain."""
    name, expected = verification_record(domain)
    lookup = dns_txt_lookup(name=name)
    if expected not in lookup.values:
        raise DomainVerificationFailedError(
            _("No TXT record %(value)s found at %(name)s yet.") % {"value": expected, "name": name}
        )
    Domain.objects.filter(pk=domain.pk).update(is_verified=True)
    domain.is_verified = True
    audit_record(
        context=context,
        action="domain.verified",
        tenant=domain.tenant,
        target=domain,
        data={"domain": domain.domain},
    )
    host = str(domain.domain)
    transaction.on_commit(lambda: tenant_routing_forget(hosts=[host]))
    return domain


@audited
def domain_remove(*, domain: Domain, context: AuditContext) -> None:
    """Detach a custom domain (a shop's platform subdomain cannot be removed)."""
    if domain.is_primary:
        raise ValidationFailed(
            fields={
                "domain": [
                    {"code": "primary_domain", "message": _("This is the shop's own address.")}
                ]
            }
        )
    host = str(domain.domain)
    audit_record(
        context=context,
        action="domain.removed",
        tenant=domain.tenant,
        target=domain,
        data={"domain": host},
    )
    domain.delete()
    transaction.on_commit(lambda: tenant_routing_forget(hosts=[host]))
