"""Sending one-time codes by e-mail or SMS.

SMS_BACKEND chooses the SMS transport: `console` prints (development), `locmem` keeps messages
in `sms_outbox` (tests). Real providers (Tencent Cloud / Aliyun) arrive with the members issue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingSms:
    phone: str
    text: str


sms_outbox: list[OutgoingSms] = []


def sms_send(*, phone: str, text: str) -> None:
    """Send a text message through the configured backend."""
    message = OutgoingSms(phone=phone, text=text)
    if settings.SMS_BACKEND == "locmem":
        sms_outbox.append(message)
    elif settings.SMS_BACKEND == "console":
        # Development only: the code is shown to the developer on the console.
        print(f"[sms to {phone}] {text}", flush=True)  # noqa: T201
    else:
        raise RuntimeError(f"unknown SMS_BACKEND {settings.SMS_BACKEND!r}")


def email_send(*, address: str, subject: str, text: str) -> None:
    """Send a plain e-mail through Django's configured backend."""
    send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [address])
