"""wechatpy's session storage in the control-plane database: durable, encrypted, prefixed.

wechatpy 1.8.18 keeps a component's verify ticket and access token under bare keys
("component_verify_ticket", "component_access_token"), so each component gets its own prefix.
Losing the ticket stops every component login until WeChat pushes the next one (every ten
minutes), which is why the store is the database rather than a cache.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from wechatpy.session import SessionStorage

from infra.crypto import decrypt_text, encrypt_text
from tenants.models import WeChatCredential


def component_storage_prefix(component_appid: str) -> str:
    """The key prefix of one component's values."""
    return f"wechat:component:{component_appid}"


class DatabaseStorage(SessionStorage):  # type: ignore[misc]  # wechatpy is untyped
    """get / set / delete as wechatpy calls them; values are JSON, encrypted at rest."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def key_name(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def get(self, key: str, default: Any = None) -> Any:
        """The value, or `default` when it is missing or expired."""
        stored = (
            WeChatCredential.objects.filter(key=self.key_name(key))
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
            .values_list("value_encrypted", flat=True)
            .first()
        )
        if stored is None:
            return default
        return json.loads(decrypt_text(stored))

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        """Store `value` (None stores nothing, as wechatpy's own storages do) for `ttl` seconds."""
        if value is None:
            return
        now = timezone.now()
        expires_at = now + timedelta(seconds=int(ttl)) if ttl else None
        # One upsert: concurrent writers (two logins renewing the token) cannot collide.
        WeChatCredential.objects.bulk_create(
            [
                WeChatCredential(
                    key=self.key_name(key),
                    value_encrypted=encrypt_text(json.dumps(value)),
                    expires_at=expires_at,
                    updated_at=now,
                )
            ],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["value_encrypted", "expires_at", "updated_at"],
        )

    def delete(self, key: str) -> None:
        WeChatCredential.objects.filter(key=self.key_name(key)).delete()
