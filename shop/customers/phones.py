"""Phone numbers of members: normalised to E.164, encrypted at rest, found by a blind index."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from infra.crypto import blind_index, decrypt_text, encrypt_text
from infra.errors import ValidationFailed
from tenants.identifiers import identifier_normalize

PHONE_INDEX_PURPOSE = "member_phone"


def phone_normalize(phone: str, *, field: str = "phone") -> str:
    """The number in E.164 ("+8613800138000"); bare numbers are mainland China numbers."""
    try:
        kind, normalized = identifier_normalize(phone)
    except ValidationError:
        kind, normalized = "email", ""
    if kind != "phone":
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={field: [{"code": "invalid", "message": _("Enter a valid phone number.")}]},
        )
    return normalized


def phone_index(phone: str) -> str:
    """The blind index of a normalised (E.164) member phone number."""
    return blind_index(phone, purpose=PHONE_INDEX_PURPOSE)


def phone_encrypt(phone: str) -> str:
    return encrypt_text(phone)


def phone_decrypt(token: str) -> str:
    return decrypt_text(token) if token else ""


def phone_mask(phone: str) -> str:
    """For display: "+8613800138000" -> "138****8000"; other countries keep their code."""
    if not phone:
        return ""
    national = phone.removeprefix("+86") if phone.startswith("+86") else phone
    if len(national) <= 7:
        return national[:2] + "*" * max(len(national) - 2, 0)
    return f"{national[:3]}****{national[-4:]}"
