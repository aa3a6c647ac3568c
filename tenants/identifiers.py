"""Account identifiers: an e-mail address or a phone number, normalised."""

from __future__ import annotations

import re
from typing import Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

PHONE_PATTERN = re.compile(r"^\+?[0-9]{6,15}$")

Channel = Literal["email", "phone"]


def identifier_normalize(identifier: str) -> tuple[Channel, str]:
    """("email", lower-cased address) or ("phone", digits with a leading + and country code)."""
    value = identifier.strip()
    if "@" in value:
        validate_email(value)
        return "email", value.lower()
    digits = re.sub(r"[\s\-()]", "", value)
    if not PHONE_PATTERN.match(digits):
        raise ValidationError(_("Enter a valid e-mail address or phone number."), code="invalid")
    if not digits.startswith("+"):
        # Numbers without a country code are mainland China numbers.
        digits = "+86" + digits
    return "phone", digits
