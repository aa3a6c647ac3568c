"""Two people race for the same shop address: exactly one wins, nothing is left half-made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from infra.errors import ValidationFailed
from tenants.models import Account, SpareSchema, Tenant
from tenants.services.audit import AuditContext
from tenants.services.provisioning import schema_drop, spare_pool_refill
from tenants.services.signup import SignupResult, tenant_signup
from tests.support.threads import committed, run_in_threads

SLUG = "race-shop"


def _signup(email: str) -> SignupResult:
    return tenant_signup(
        shop_name="Race",
        slug=SLUG,
        email=email,
        phone=None,
        password="a-long-enough-passphrase",
        currency="CNY",
        language="zh-hans",
        time_zone="Asia/Shanghai",
        context=AuditContext.system(),
    )


def _cleanup() -> None:
    for tenant in Tenant.objects.filter(slug=SLUG):
        schema_drop(tenant.schema_name)
        Tenant.objects.filter(pk=tenant.pk).delete()
    Account.objects.filter(email__in=["first@example.com", "second@example.com"]).delete()


@pytest.fixture
def clean(db: None) -> Iterator[None]:
    committed(lambda: spare_pool_refill(size=2))
    yield
    committed(_cleanup)


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.serial
def test_concurrent_signups_for_one_slug_one_wins_the_other_gets_slug_taken(
    clean: None,
) -> None:
    # given
    schemas_before = _schemas()
    # when
    results = run_in_threads(
        [lambda: _signup("first@example.com"), lambda: _signup("second@example.com")]
    )
    # then
    winners = [result for result in results if isinstance(result, SignupResult)]
    losers = [result for result in results if isinstance(result, ValidationFailed)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert [item["code"] for item in losers[0].fields["slug"]] == ["slug_taken"]
    assert committed(lambda: Tenant.objects.filter(slug=SLUG).count()) == 1
    loser_email = (
        "second@example.com"
        if winners[0].account.email == "first@example.com"
        else "first@example.com"
    )
    assert not committed(lambda: Account.objects.filter(email=loser_email).exists())
    # no orphan: the only new schema is the winner's; every pooled spare still exists
    spare_names = set(
        committed(lambda: list(SpareSchema.objects.values_list("schema_name", flat=True)))
    )
    new_schemas = _schemas() - schemas_before
    assert new_schemas - spare_names == {"shop_race_shop"}
    assert spare_names <= _schemas()
