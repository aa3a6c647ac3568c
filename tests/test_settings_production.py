"""ENVIRONMENT=production demands its secrets and passes Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "PLATFORM_DOMAIN"}
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
        env={
            "ENVIRONMENT": "production",
            "SECRET_KEY": "p" * 30 + "roduction-secret-key-with-enough-entropy-9f8e7d6c5b4a",
            "PLATFORM_DOMAIN": "shops.example.com",
        },
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
        env={"ENVIRONMENT": "production", "SECRET_KEY": "s" * 60},
    )
    assert result.returncode != 0
    assert "PLATFORM_DOMAIN must be set when ENVIRONMENT=production" in result.stderr
