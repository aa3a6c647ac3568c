"""Accounts: identifiers, creation, verification."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

PHONE_PATTERN = re.compile(r"^\+?[0-9]{6,15}$")


def identifier_normalize(identifier: str) -> tuple[str, str]:
    """("email", lower-cased address) or ("phone", E.164-like digits with a leading +)."""
    value = identifier.strip()
    if "@" in value:
        validate_email(value)
        return "email", value.lower()
    digits = re.sub(r"[\s\-()]", "", value)
    if not PHONE_PATTERN.match(digits):
        raise ValidationError("Enter a valid e-mail address or phone number.", code="invalid")
    if not digits.startswith("+"):
        # Numbers without a country code are mainland China numbers.
        digits = "+86" + digits
    return "phone", digits
