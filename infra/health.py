"""Liveness and readiness probes."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache = caches["platform"]
    cache.set("readyz", "1", 10)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not return what was stored")


def _check_broker() -> None:
    from infra.celery import app

    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=2)


def readyz(request: HttpRequest) -> JsonResponse:
    """The configured database, cache and broker are reachable."""
    results: dict[str, dict[str, object]] = {}
    for name, check in (
        ("database", _check_database),
        ("cache", _check_cache),
        ("broker", _check_broker),
    ):
        started = time.perf_counter()
        try:
            check()
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            results[name] = {"ok": False, "error": type(error).__name__}
        else:
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    ready = all(result["ok"] for result in results.values())
    body = {"status": "ready" if ready else "unavailable", "checks": results}
    if settings.DEBUG is False and not ready:
        body["checks"] = {name: {"ok": r["ok"]} for name, r in results.items()}
    return JsonResponse(body, status=200 if ready else 503)
