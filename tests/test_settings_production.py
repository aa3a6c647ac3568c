"""ENVIRONMENT=production demands its secrets and passes Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_VARIABLES = {"SECRET_KEY", "PLATFORM_DOMAIN", "FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"}
SECRETS = {
    "SECRET_KEY": "p" * 30 + "roduction-secret-key-with-enough-entropy-9f8e7d6c5b4a",
    "FIELD_ENCRYPTION_KEYS": "q2Pp3Ctb8p9KmhXkC2r0bDd6c3pD3g1H8t2bTq4N0xw",
    "BLIND_INDEX_KEY": "Zm9yLXRoZS1ibGluZC1pbmRleC1vbmx5LTMyLWJ5dGU",
}


def _manage(
    *args: str, env: dict[str, str], drop: frozenset[str] = frozenset()
) -> subprocess.CompletedProcess[str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in PRODUCTION_VARIABLES and key not in drop
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={**base, **env},
        timeout=120,
        check=False,
    )


def test_production_passes_check_deploy_at_warning_level() -> None:
    # when
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={"ENVIRONMENT": "production", "PLATFORM_DOMAIN": "shops.example.com", **SECRETS},
    )
    # then
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _manage(
        "check",
        env={"ENVIRONMENT": "production", "PLATFORM_DOMAIN": "shops.example.com"},
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when ENVIRONMENT=production" in result.stderr


def test_production_refuses_to_start_without_a_platform_domain() -> None:
    result = _manage(
        "check",
        env={"ENVIRONMENT": "production", **SECRETS},
    )
    assert result.returncode != 0
    assert "PLATFORM_DOMAIN must be set when ENVIRONMENT=production" in result.stderr


def test_production_refuses_to_start_without_encryption_keys_for_personal_data() -> None:
    result = _manage(
        "check",
        env={
            "ENVIRONMENT": "production",
            "PLATFORM_DOMAIN": "shops.example.com",
            "SECRET_KEY": SECRETS["SECRET_KEY"],
        },
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_a_database_url() -> None:
    result = _manage(
        "check",
        env={"ENVIRONMENT": "production", "PLATFORM_DOMAIN": "shops.example.com", **SECRETS},
        drop=frozenset({"DATABASE_URL"}),
    )
    assert result.returncode != 0
    assert "DATABASE_URL must be set when ENVIRONMENT=production" in result.stderr


def test_production_never_offers_the_sandbox_gateway_even_when_asked() -> None:
    # when: production settings, with SANDBOX_PAYMENTS set on
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SANDBOX_PAYMENTS)",
        env={
            "ENVIRONMENT": "production",
            "PLATFORM_DOMAIN": "shops.example.com",
            "SANDBOX_PAYMENTS": "true",
            **SECRETS,
        },
    )
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
