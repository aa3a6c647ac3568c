"""Messages to people by e-mail or SMS, for both planes (account codes, shopper login codes).

SMS messages are templates with parameters (what SMS providers in China accept): `template` is
our name for one ("verification_code"), SMS_TEMPLATES maps it to the provider's template id.
SMS_BACKEND chooses the transport: `tencent` (Tencent Cloud SMS, infra.sms), `console` prints
(development), `locmem` keeps messages in `sms_outbox` (tests).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext_lazy as _

from infra.errors import DomainError
from infra.sms import SmsProviderError, tencent_sms_send

logger = logging.getLogger(__name__)

# What each template says, for the console and for tests; the provider holds the real wording.
SMS_TEXTS = {
    "verification_code": _("Your code is {0}. It expires in {1} minutes."),
    "member_login_code": _("Your login code is {0}. It expires in {1} minutes."),
}


class SmsNotSentError(DomainError):
    code = "sms_not_sent"
    status_code = 503
    default_message = "The text message could not be sent. Try again in a minute."


@dataclass(frozen=True)
class OutgoingSms:
    phone: str
    template: str
    params: tuple[str, ...]
    text: str


sms_outbox: list[OutgoingSms] = []


def sms_send(*, phone: str, template: str, params: list[str]) -> None:
    """Send a templated text message through the configured backend."""
    text = str(SMS_TEXTS[template]).format(*params)
    if settings.SMS_BACKEND == "locmem":
        sms_outbox.append(OutgoingSms(phone, template, tuple(params), text))
    elif settings.SMS_BACKEND == "console":
        # Development only: the code is shown to the developer on the console.
        print(f"[sms to {phone}] {text}", flush=True)  # noqa: T201
    elif settings.SMS_BACKEND == "tencent":
        _tencent_send(phone=phone, template=template, params=params)
    else:
        raise RuntimeError(f"unknown SMS_BACKEND {settings.SMS_BACKEND!r}")


def _tencent_send(*, phone: str, template: str, params: list[str]) -> None:
    try:
        results = tencent_sms_send(
            phones=[phone], template_id=settings.SMS_TEMPLATES[template], params=params
        )
    except SmsProviderError as error:
        # The code is the provider's error name, never the phone number (no personal data).
        logger.warning("SMS provider refused a %s message: %s", template, error.code)
        raise SmsNotSentError() from error
    if not results or not results[0].accepted:
        code = results[0].code if results else "no_result"
        logger.warning("SMS provider refused a %s message: %s", template, code)
        raise SmsNotSentError()


def email_send(*, address: str, subject: str, text: str) -> None:
    """Send a plain e-mail through Django's configured backend."""
    send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [address])
