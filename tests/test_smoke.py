"""The two hosts answer: a shop's storefront and the platform's probes."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants.models import Tenant


def test_storefront_home_shows_the_shop_name_in_the_title(
    shop_client: Client, shop: Tenant
) -> None:
    # when
    response = shop_client.get("/")
    # then
    assert response.status_code == 200
    assert "<title>Alpha Shop</title>" in response.content.decode()


@pytest.mark.django_db
def test_unknown_host_gets_a_clear_404_page() -> None:
    # when
    response = Client(HTTP_HOST="nope.localhost", HTTP_ACCEPT_LANGUAGE="en").get("/")
    # then
    assert response.status_code == 404
    assert "No shop at this address" in response.content.decode()


@pytest.mark.django_db
def test_healthz_answers_on_the_platform_host() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
