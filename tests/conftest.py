"""Shared fixtures: one test shop per session (plus a second for isolation tests).

Tests run in transactions rolled back at the end; the shops themselves are created once per
test database, committed, by the real provisioning path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from infra.db import schema_connection
from tenants.models import Domain, Tenant
from tenants.services.provisioning import spare_pool_refill
from tests.support.shops import shop_provision
from themes.packages.models import ThemeAsset, ThemePackage, ThemeVersion

# Fixture modules every test folder may use: the fake WeChat Pay (`fake_wechatpay`, `wechatpay`).
pytest_plugins = ["tests.support.wechatpay"]


def _shop(slug: str, name: str) -> Tenant:
    existing = Tenant.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    return shop_provision(slug, name)


# The session shops' control-plane rows, to put back after a transactional test: pytest-django
# empties every public table after such a test, while the shops' schemas stay.
_session_rows: dict[str, list[Any]] = {"tenants": [], "domains": [], "themes": []}


@pytest.fixture(scope="session")
def shops(django_db_setup: Any, django_db_blocker: Any) -> dict[str, Tenant]:
    """The session's two shops, `alpha` and `beta`, committed."""
    with django_db_blocker.unblock():
        schema_connection().set_schema_to_public()
        created = {"alpha": _shop("alpha", "Alpha Shop"), "beta": _shop("beta", "Beta Shop")}
        _session_rows["tenants"] = list(created.values())
        _session_rows["domains"] = list(Domain.objects.filter(tenant__in=created.values()))
        # The shops' installed themes name these control-plane rows by id.
        _session_rows["themes"] = [
            *ThemePackage.objects.all(),
            *ThemeVersion.objects.all(),
            *ThemeAsset.objects.all(),
        ]
        # Tests that provision shops claim these inside their rolled-back transactions, so the
        # same spares serve every test.
        spare_pool_refill(size=2)
        return created


@pytest.fixture(autouse=True)
def _session_shops_survive_flush(
    request: pytest.FixtureRequest, django_db_blocker: Any
) -> Iterator[None]:
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and bool(marker.kwargs.get("transaction"))

    def restore() -> None:
        if not transactional or not _session_rows["tenants"]:
            return
        with django_db_blocker.unblock():
            schema_connection().set_schema_to_public()
            present = set(Tenant.objects.values_list("pk", flat=True))
            Tenant.objects.bulk_create(
                [tenant for tenant in _session_rows["tenants"] if tenant.pk not in present]
            )
            present = set(Domain.objects.values_list("pk", flat=True))
            Domain.objects.bulk_create(
                [domain for domain in _session_rows["domains"] if domain.pk not in present]
            )
            if not ThemePackage.objects.exists():
                for model in (ThemePackage, ThemeVersion, ThemeAsset):
                    model.objects.bulk_create(
                        [row for row in _session_rows["themes"] if isinstance(row, model)]
                    )

    # Also before: pytest-django's flush runs after this fixture's teardown, so a transactional
    # test that follows another one finds the rows gone.
    restore()
    yield
    restore()


@pytest.fixture
def shop(shops: dict[str, Tenant], db: None) -> Iterator[Tenant]:
    """The test shop, with its schema active for the test."""
    schema_connection().set_tenant(shops["alpha"])
    yield shops["alpha"]
    schema_connection().set_schema_to_public()


@pytest.fixture
def other_shop(shops: dict[str, Tenant], db: None) -> Tenant:
    """A second shop, for isolation tests (its schema is not activated)."""
    return shops["beta"]


@pytest.fixture
def public(db: None) -> Iterator[None]:
    """Run the test in the public schema."""
    schema_connection().set_schema_to_public()
    yield
    schema_connection().set_schema_to_public()


@pytest.fixture
def shop_client(shops: dict[str, Tenant], db: None) -> Client:
    """A client on the test shop's host."""
    return Client(HTTP_HOST="alpha.localhost")


@pytest.fixture(autouse=True)
def _clear_caches(request: pytest.FixtureRequest) -> None:
    """Every test starts with empty caches (when it may use them: the database cache needs the
    database, which tests without the `db` fixtures or marker cannot reach)."""
    from django.core.cache import caches

    uses_database = request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in ("db", "transactional_db")
    )
    if settings.REDIS_URL or uses_database:
        caches["platform"].clear()
        caches["default"].clear()
