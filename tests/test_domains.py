"""Custom domains: added unverified, verified by a TXT record, then they serve the shop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from infra.errors import ValidationFailed
from tenants.models import AuditLog, Domain, Tenant
from tenants.services.audit import AuditContext
from tenants.services.domains import (
    DomainVerificationFailedError,
    domain_add,
    domain_remove,
    domain_verify,
    verification_record,
)
from tests.fakes.dns_server import FakeDnsServer


@pytest.fixture
def dns_server() -> Iterator[FakeDnsServer]:
    with FakeDnsServer() as server, override_settings(DNS_NAMESERVERS=[server.address]):
        yield server


def test_a_custom_domain_serves_the_shop_only_once_verified(
    shops: dict[str, Tenant],
    public: None,
    dns_server: FakeDnsServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    domain = domain_add(
        tenant=shops["alpha"], domain="Shop.Example.COM", context=AuditContext.system()
    )
    client = Client(HTTP_HOST="shop.example.com")
    before = client.get("/")
    name, value = verification_record(domain)
    dns_server.records[name] = ["unrelated", value]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        domain_verify(domain=domain, context=AuditContext.system())
    after = client.get("/")
    # then
    assert before.status_code == 404
    assert after.status_code == 200
    assert "<title>Alpha Shop</title>" in after.content.decode()
    assert AuditLog.objects.filter(action="domain.verified", tenant=shops["alpha"]).exists()


def test_verification_without_the_record_fails_and_the_domain_stays_unverified(
    shops: dict[str, Tenant], public: None, dns_server: FakeDnsServer
) -> None:
    # given
    domain = domain_add(
        tenant=shops["alpha"], domain="a.example.org", context=AuditContext.system()
    )
    name, _value = verification_record(domain)
    dns_server.records[name] = ["shop-verification=someone-else"]
    # when
    with pytest.raises(DomainVerificationFailedError):
        domain_verify(domain=domain, context=AuditContext.system())
    # then
    assert Domain.objects.get(pk=domain.pk).is_verified is False
    assert not AuditLog.objects.filter(action="domain.verified").exists()


@pytest.mark.parametrize(
    ("host", "code"),
    [
        ("not a host", "invalid"),
        ("beta.localhost", "platform_domain"),
        ("alpha.localhost", "platform_domain"),
    ],
)
def test_bad_domains_are_refused(
    shops: dict[str, Tenant], public: None, host: str, code: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        domain_add(tenant=shops["alpha"], domain=host, context=AuditContext.system())
    assert raised.value.fields["domain"][0]["code"] == code


def test_a_domain_of_another_shop_is_refused(shops: dict[str, Tenant], public: None) -> None:
    domain_add(tenant=shops["beta"], domain="taken.example.com", context=AuditContext.system())
    with pytest.raises(ValidationFailed) as raised:
        domain_add(tenant=shops["alpha"], domain="taken.example.com", context=AuditContext.system())
    assert raised.value.fields["domain"][0]["code"] == "domain_taken"
    assert Domain.objects.get(domain="taken.example.com").tenant == shops["beta"]


def test_removing_a_verified_domain_stops_serving_it(
    shops: dict[str, Tenant],
    public: None,
    dns_server: FakeDnsServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    domain = domain_add(
        tenant=shops["alpha"], domain="gone.example.com", context=AuditContext.system()
    )
    name, value = verification_record(domain)
    dns_server.records[name] = [value]
    with django_capture_on_commit_callbacks(execute=True):
        domain_verify(domain=domain, context=AuditContext.system())
    client = Client(HTTP_HOST="gone.example.com")
    assert client.get("/").status_code == 200
    # when
    with django_capture_on_commit_callbacks(execute=True):
        domain_remove(domain=domain, context=AuditContext.system())
    # then
    assert client.get("/").status_code == 404
