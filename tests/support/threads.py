"""Run code on other database connections, committed, while the test's own transaction is open."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connections

from infra.db import schema_connection

T = TypeVar("T")


def run_in_threads(functions: list[Callable[[], Any]]) -> list[Any]:
    """Start each function on its own thread (own connection), together; results or exceptions."""
    barrier = threading.Barrier(len(functions))
    results: list[Any] = [None] * len(functions)

    def run(index: int, function: Callable[[], Any]) -> None:
        try:
            schema_connection().set_schema_to_public()
            barrier.wait()
            results[index] = function()
        except BaseException as error:  # noqa: BLE001 - the test inspects it
            results[index] = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(index, function))
        for index, function in enumerate(functions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def committed(function: Callable[[], T]) -> T:
    """Run one function on another connection, in autocommit, and return its result."""
    result = run_in_threads([function])[0]
    if isinstance(result, BaseException):
        raise result
    return result  # type: ignore[no-any-return]
