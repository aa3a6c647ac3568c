"""At most one `SET search_path` per request, whatever the page needs."""

from __future__ import annotations

from django.test import Client

from infra.db import schema_connection
from tenants.models import Account, Membership, Role, Tenant


def _sets_during(client: Client, path: str) -> tuple[int, int]:
    before = schema_connection().search_path_set_count
    response = client.get(path)
    return response.status_code, schema_connection().search_path_set_count - before


def test_storefront_request_sets_the_search_path_at_most_once(
    shop_client: Client, shop: Tenant
) -> None:
    assert _sets_during(shop_client, "/")[0] == 200
    assert _sets_during(shop_client, "/")[1] <= 1
    status, sets = _sets_during(shop_client, "/api/v1/shop")
    assert status == 200
    assert sets <= 1


def test_console_request_sets_the_search_path_at_most_once(
    shops: dict[str, Tenant], public: None
) -> None:
    # given: session, account, membership and the shop's data are all read in this request
    account = Account.objects.create_user(email="o@example.com", password="long-password-1")
    Membership.objects.create(account=account, tenant=shops["alpha"], role=Role.OWNER)
    client = Client()
    client.force_login(account)
    # when
    status, sets = _sets_during(client, "/console/alpha/")
    # then
    assert status == 200
    assert sets <= 1


def test_switching_hosts_sets_the_search_path_once_each(
    shops: dict[str, Tenant], public: None
) -> None:
    alpha = Client(HTTP_HOST="alpha.localhost")
    beta = Client(HTTP_HOST="beta.localhost")
    for client in (alpha, beta, alpha, Client()):
        status, sets = _sets_during(client, "/healthz")
        assert status == 200
        assert sets <= 1
