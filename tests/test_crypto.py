"""Personal data at rest: encryption with rotatable keys, tamper detection, blind indexes."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from django.test import override_settings

from infra.crypto import (
    DecryptionError,
    blind_index,
    crypto_keys_forget,
    decrypt_text,
    encrypt_text,
    reencrypt,
)

OLD_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()


@pytest.fixture(autouse=True)
def _fresh_keys() -> Iterator[None]:
    crypto_keys_forget()
    yield
    crypto_keys_forget()


def test_a_phone_number_round_trips_and_is_not_in_the_token() -> None:
    token = encrypt_text("+8613800138000")
    assert decrypt_text(token) == "+8613800138000"
    assert "13800138000" not in token
    assert encrypt_text("+8613800138000") != token  # a fresh nonce every time


def test_a_tampered_token_is_refused() -> None:
    token = encrypt_text("+8613800138000")
    key_id, _, body = token.partition("$")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        decrypt_text(f"{key_id}${base64.urlsafe_b64encode(bytes(raw)).decode()}")


def test_keys_rotate_without_losing_data() -> None:
    # given: a value written under the old key
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        crypto_keys_forget()
        old_token = encrypt_text("secret")
    # when: a new key becomes current, the old one still listed
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        crypto_keys_forget()
        readable = decrypt_text(old_token)
        moved = reencrypt(old_token)
        assert moved is not None
        assert reencrypt(moved) is None
    # then: once the old key is dropped, only the moved value opens
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        crypto_keys_forget()
        assert readable == "secret"
        assert decrypt_text(moved) == "secret"
        with pytest.raises(DecryptionError):
            decrypt_text(old_token)


def test_blind_index_is_stable_keyed_and_separated_by_purpose() -> None:
    digest = blind_index("+8613800138000", purpose="phone")
    assert digest == blind_index("+8613800138000", purpose="phone")
    assert digest != blind_index("+8613800138000", purpose="id_number")
    assert "13800138000" not in digest
    with override_settings(BLIND_INDEX_KEY=NEW_KEY):
        crypto_keys_forget()
        assert blind_index("+8613800138000", purpose="phone") != digest
