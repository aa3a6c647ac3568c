"""Personal data at rest (PIPL): authenticated encryption with rotatable keys, and blind indexes.

Values are encrypted with AES-256-GCM under the current key of FIELD_ENCRYPTION_KEYS (the first
one); every stored token names its key, so older keys keep decrypting until `reencrypt` has
moved their values to the current key and the old key is removed from the list. A blind index
(keyed HMAC-SHA256 of a normalised value) finds a row by exact value without storing the value
in clear; its key is separate and never rotates without re-indexing.

Token format: "<key id>$<base64url(nonce | ciphertext | tag)>".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

NONCE_BYTES = 12


class DecryptionError(ValueError):
    """A token that no configured key opens (unknown key id, or tampered)."""


@dataclass(frozen=True)
class _Key:
    key_id: str
    cipher: AESGCM


def _decode_key(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) != 32:
        raise ValueError("field encryption keys are 32 bytes, base64url-encoded")
    return raw


@cache
def _keys() -> tuple[_Key, ...]:
    """The configured keys, current first; each key's id is derived from the key itself."""
    keys = []
    for text in settings.FIELD_ENCRYPTION_KEYS:
        raw = _decode_key(text)
        key_id = hashlib.sha256(b"key-id" + raw).hexdigest()[:8]
        keys.append(_Key(key_id=key_id, cipher=AESGCM(raw)))
    if not keys:
        raise ValueError("FIELD_ENCRYPTION_KEYS is empty")
    return tuple(keys)


def crypto_keys_forget() -> None:
    """Forget the parsed keys (after settings change, e.g. in tests of rotation)."""
    _keys.cache_clear()
    _blind_index_key.cache_clear()


def encrypt_text(plain: str) -> str:
    """Encrypt under the current key."""
    key = _keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.cipher.encrypt(nonce, plain.encode(), key.key_id.encode())
    return f"{key.key_id}${base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt_text(token: str) -> str:
    """Decrypt with whichever configured key the token names."""
    key_id, _, body = token.partition("$")
    key = next((key for key in _keys() if key.key_id == key_id), None)
    if key is None or not body:
        raise DecryptionError("no configured key for this value")
    try:
        raw = base64.urlsafe_b64decode(body)
        return key.cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key_id.encode()).decode()
    except (InvalidTag, ValueError) as error:
        raise DecryptionError("the value was altered or is not ours") from error


def reencrypt(token: str) -> str | None:
    """The token under the current key, or None when it already uses it (rotation jobs)."""
    if token.partition("$")[0] == _keys()[0].key_id:
        return None
    return encrypt_text(decrypt_text(token))


@cache
def _blind_index_key() -> bytes:
    return _decode_key(settings.BLIND_INDEX_KEY)


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed digest of `value` for exact lookups; `purpose` separates uses (e.g. "phone")."""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(_blind_index_key(), message, hashlib.sha256).hexdigest()
