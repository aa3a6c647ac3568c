"""Query-count budgets of the endpoints (ARCHITECTURE §6): a change that adds queries shows here.

Each budget is measured on a warm process (routing cached, as in production) and holds with a
little headroom; lists are checked separately for not growing with the page size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext

from infra.db import schema_connection
from tenants.models import Account, Membership, Role, Tenant

PASSWORD = "long-password-1"


@pytest.fixture
def owner_client(shops: dict[str, Tenant], public: None) -> Client:
    account = Account.objects.create_user(email="budget@example.com", password=PASSWORD)
    Membership.objects.create(account=account, tenant=shops["alpha"], role=Role.OWNER)
    client = Client()
    client.force_login(account)
    return client


def _queries(request: Callable[[], Any]) -> tuple[int, int]:
    request()  # warm: routing and sessions as a running process has them
    with CaptureQueriesContext(schema_connection()) as captured:
        response = request()
    return response.status_code, len(captured.captured_queries)


SHOP = Client(HTTP_HOST="alpha.localhost")

BUDGETS: list[tuple[str, int, Callable[[Client], Any]]] = [
    ("storefront home", 1, lambda _client: SHOP.get("/")),
    ("shop api: shop", 1, lambda _client: SHOP.get("/api/v1/shop")),
    ("healthz", 0, lambda _client: SHOP.get("/healthz")),
    ("platform home", 0, lambda _client: Client().get("/")),
    ("signup page", 0, lambda _client: Client().get("/signup/")),
    ("platform api: me", 3, lambda client: client.get("/api/platform/v1/me")),
    ("platform api: shops", 4, lambda client: client.get("/api/platform/v1/shops")),
    # The shops, and the agencies the account works for (their theme packages are linked).
    ("console: shops", 4, lambda client: client.get("/console/")),
    ("console: dashboard", 4, lambda client: client.get("/console/alpha/")),
    # The settings page reads the WeChat mini-program and Official Account rows, one query each.
    ("console: settings", 9, lambda client: client.get("/console/alpha/settings/")),
    (
        "platform api: login",
        12,
        lambda _client: Client().post(
            "/api/platform/v1/auth/login",
            {"identifier": "budget@example.com", "password": PASSWORD},
            content_type="application/json",
        ),
    ),
]


@pytest.mark.parametrize(("name", "budget", "request_"), BUDGETS, ids=[b[0] for b in BUDGETS])
def test_endpoint_stays_within_its_query_budget(
    owner_client: Client, name: str, budget: int, request_: Callable[[Client], Any]
) -> None:
    status, queries = _queries(lambda: request_(owner_client))
    assert status == 200, name
    assert queries <= budget, f"{name}: {queries} queries, budget {budget}"


def test_signup_stays_within_its_query_budget(shops: dict[str, Tenant], public: None) -> None:
    # given
    body = {
        "shop_name": "Budget",
        "slug": "budget-shop",
        "email": "new-owner@example.com",
        "password": "a-long-enough-passphrase",
    }
    # when: the whole signup (validation, account, provisioning, trial, audit, login)
    with CaptureQueriesContext(schema_connection()) as captured:
        response = Client().post("/api/platform/v1/signup", body, content_type="application/json")
    # then
    assert response.status_code == 201
    assert len(captured.captured_queries) <= 40, len(captured.captured_queries)
