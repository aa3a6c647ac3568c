"""`Idempotency-Key` for requests that move money (checkout, pay, refund): ARCHITECTURE §3.

    response = idempotent(scope="checkout", owner=f"member:{id}", key=key, request=data,
                          run=lambda: (201, body))

The key is taken in the transaction of the change: the record is inserted first (a concurrent
request with the same key waits on the unique index), the change runs, the response is stored,
and all of it commits together. A repeat gets the stored response; a repeat with a different
request gets `idempotency_key_reused`. A request that fails takes nothing: its key stays free.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from infra.errors import DomainError
from shop.core.models import IdempotencyRecord

KEY_MAX_LENGTH = 255
# Records older than this are deleted (a client retries within minutes, not weeks).
RETENTION = timedelta(days=7)


class IdempotencyKeyReusedError(DomainError):
    code = "idempotency_key_reused"
    status_code = 422
    default_message = "This Idempotency-Key was already used for a different request."


class IdempotencyKeyInvalidError(DomainError):
    code = "idempotency_key_invalid"
    status_code = 400
    default_message = "Send an Idempotency-Key of 1 to 255 printable characters."


def _fingerprint(request: Any) -> str:
    return hashlib.sha256(
        json.dumps(request, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


def idempotent(
    *,
    scope: str,
    owner: str,
    key: str | None,
    request: Any,
    run: Callable[[], tuple[int, Any]],
) -> tuple[int, Any]:
    """(status, body) of `run()`, or of its first run under the same key."""
    if key is None:
        with transaction.atomic():
            return run()
    if not 0 < len(key) <= KEY_MAX_LENGTH or not key.isprintable():
        raise IdempotencyKeyInvalidError()
    fingerprint = _fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope, owner=owner, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            record = None
        if record is not None:
            status, body = run()
            IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=status, response=body)
            return status, body
    # Taken: the first request committed (we waited for it on the unique index).
    first = IdempotencyRecord.objects.get(scope=scope, owner=owner, key=key)
    if first.fingerprint != fingerprint:
        raise IdempotencyKeyReusedError()
    return first.status_code, first.response


def idempotency_records_prune() -> int:
    """Delete records past the retention period; the number deleted."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - RETENTION
    ).delete()
    return deleted
