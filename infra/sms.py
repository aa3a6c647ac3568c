"""Tencent Cloud SMS (API 3.0, SendSms 2021-01-11), signed with TC3-HMAC-SHA256.

Messages are templates approved at Tencent: a template id and its parameters, never free text.
The endpoint comes from settings (TENCENT_SMS_ENDPOINT), so tests point the real adapter at the
fake in tests/fakes/sms.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from django.conf import settings

ACTION = "SendSms"
VERSION = "2021-01-11"
SERVICE = "sms"
TIMEOUT_S = 5.0


class SmsProviderError(RuntimeError):
    """The provider refused the whole request (credentials, template, limits) or failed."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class SmsSendResult:
    """The provider's answer for one number."""

    phone: str
    accepted: bool
    code: str
    message: str


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_authorization(
    *, secret_id: str, secret_key: str, host: str, body: bytes, timestamp: int
) -> str:
    """The Authorization header for a JSON POST to `host` (Tencent's TC3-HMAC-SHA256)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{SERVICE}/tc3_request"
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:application/json; charset=utf-8\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    signing_key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    signature = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


def tencent_sms_send(
    *, phones: list[str], template_id: str, params: list[str]
) -> list[SmsSendResult]:
    """Send one template to each number (E.164, e.g. +8613800138000); one result per number."""
    body = json.dumps(
        {
            "PhoneNumberSet": phones,
            "SmsSdkAppId": settings.TENCENT_SMS_SDK_APP_ID,
            "SignName": settings.TENCENT_SMS_SIGN_NAME,
            "TemplateId": template_id,
            "TemplateParamSet": params,
        },
        ensure_ascii=False,
    ).encode()
    endpoint = settings.TENCENT_SMS_ENDPOINT
    host = urlsplit(endpoint).netloc
    timestamp = int(time.time())
    headers = {
        "Authorization": tc3_authorization(
            secret_id=settings.TENCENT_SMS_SECRET_ID,
            secret_key=settings.TENCENT_SMS_SECRET_KEY,
            host=host,
            body=body,
            timestamp=timestamp,
        ),
        "Content-Type": "application/json; charset=utf-8",
        "Host": host,
        "X-TC-Action": ACTION,
        "X-TC-Version": VERSION,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Region": settings.TENCENT_SMS_REGION,
    }
    try:
        response = requests.post(endpoint, data=body, headers=headers, timeout=TIMEOUT_S)
    except requests.RequestException as error:
        raise SmsProviderError("network_error", str(error)) from error
    if response.status_code >= 500:
        raise SmsProviderError("provider_unavailable", f"HTTP {response.status_code}")
    answer = response.json().get("Response", {})
    if "Error" in answer:
        raise SmsProviderError(answer["Error"].get("Code", ""), answer["Error"].get("Message", ""))
    return [
        SmsSendResult(
            phone=item.get("PhoneNumber", ""),
            accepted=item.get("Code") == "Ok",
            code=item.get("Code", ""),
            message=item.get("Message", ""),
        )
        for item in answer.get("SendStatusSet", [])
    ]
