"""API foundation: OpenAPI schemas per host, docs, the error format, probes."""

from __future__ import annotations

import subprocess
import sys

import yaml
from django.conf import settings
from django.test import Client

from tenants.models import Tenant


def test_shop_host_schema_documents_the_shop_api_only(shop_client: Client, shop: Tenant) -> None:
    # when
    response = shop_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    # then
    assert response.status_code == 200
    paths = set(yaml.safe_load(response.content)["paths"])
    assert "/api/v1/shop" in paths
    assert not any(path.startswith("/api/platform/") for path in paths)


def test_platform_host_schema_documents_the_platform_api_only(public: None) -> None:
    # when
    response = Client().get("/api/schema/")
    # then
    assert response.status_code == 200
    paths = set(yaml.safe_load(response.content)["paths"])
    assert "/api/platform/v1/signup" in paths
    assert "/api/platform/v1/me" in paths
    assert not any(path.startswith("/api/v1/") for path in paths)


def test_browsable_docs_on_both_hosts(shop_client: Client, shop: Tenant) -> None:
    assert shop_client.get("/api/docs/").status_code == 200
    assert Client().get("/api/docs/").status_code == 200


def test_manage_spectacular_outputs_the_shop_api() -> None:
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn"],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=120,
        check=False,
    )
    # then
    assert result.returncode == 0, result.stderr[-2000:]
    assert "/api/v1/shop:" in result.stdout


def test_api_errors_use_the_envelope(public: None) -> None:
    # when
    response = Client().get("/api/platform/v1/me")
    # then
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": response.json()["error"]["message"],
            "fields": {},
        }
    }
    assert response.json()["error"]["message"]


def test_validation_errors_name_fields_with_codes(public: None) -> None:
    response = Client().post(
        "/api/platform/v1/auth/login", {"identifier": ""}, content_type="application/json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["identifier"][0]["code"] == "blank"
    assert fields["password"][0]["code"] == "required"


def test_readyz_reports_database_cache_and_broker(public: None) -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert {name: check["ok"] for name, check in checks.items()} == {
        "database": True,
        "cache": True,
        "broker": True,
    }


def test_healthz_on_a_shop_host(shop_client: Client, shop: Tenant) -> None:
    assert shop_client.get("/healthz").json() == {"status": "ok"}
