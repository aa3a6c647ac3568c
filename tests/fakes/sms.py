"""Tencent Cloud SMS (API 3.0, SendSms 2021-01-11, sms.tencentcloudapi.com) on loopback.

``POST /`` with ``X-TC-Action: SendSms``, ``X-TC-Version: 2021-01-11``, ``X-TC-Region``,
``X-TC-Timestamp`` and a TC3-HMAC-SHA256 ``Authorization`` header, verified as Tencent does
(canonical headers from the headers received, so sign the ``Host`` you send; the credential's
service must be ``sms``; timestamps more than 5 minutes off are refused). The JSON body is
``{"PhoneNumberSet", "SmsSdkAppId", "SignName", "TemplateId", "TemplateParamSet"?,
"SessionContext"?}``. Answers are HTTP 200 with ``{"Response": {"SendStatusSet": [...],
"RequestId"}}``, or ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`` for request
errors; per-number failures (frequency limits, bad numbers) come in ``SendStatusSet`` with their
own ``Code``, as Tencent sends them.

Python API: ``sent`` (``SentSms(phone, template_id, params)`` for each number accepted),
``fail_next(n, code=..., http_status=...)``, ``latency_s``, ``phone_daily_limit``, the
credentials (``secret_id``, ``secret_key``) and optional ``sdk_app_id`` / ``sign_name`` /
``templates`` (template id -> number of parameters) that requests must match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

ALGORITHM = "TC3-HMAC-SHA256"
ACTION = "SendSms"
VERSION = "2021-01-11"
REGIONS = frozenset({"ap-guangzhou", "ap-beijing", "ap-nanjing"})

MESSAGES = {
    "AuthFailure.InvalidAuthorization": "The Authorization header is not in TC3-HMAC-SHA256 form.",
    "AuthFailure.SecretIdNotFound": "The SecretId is not found, please ensure that your "
    "SecretId is correct.",
    "AuthFailure.SignatureExpire": "Signature expired. Timestamp and server time cannot differ "
    "by more than 5 minutes.",
    "AuthFailure.SignatureFailure": "The provided credentials could not be validated. Please "
    "check your signature is correct.",
    "InvalidAction": "The requested action is not supported.",
    "NoSuchVersion": "The requested version does not exist.",
    "MissingParameter": "The request is missing a required parameter.",
    "UnsupportedRegion": "The action does not support this region.",
    "InternalError": "An internal error has occurred. Retry your request, but if the problem "
    "persists, contact us.",
    "RequestLimitExceeded": "Your request frequency exceeds the limit.",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": "SmsSdkAppId verification failed.",
    "FailedOperation.SignatureIncorrectOrUnapproved": "The signature is incorrect or unapproved.",
    "FailedOperation.TemplateIncorrectOrUnapproved": "The template is incorrect or unapproved.",
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": "The template parameters do not "
    "match the approved template.",
    "InvalidParameterValue.IncorrectPhoneNumber": "invalid mobile number",
    "LimitExceeded.PhoneNumberDailyLimit": "the number of sms messages sent from a single mobile "
    "number every day exceeds the upper limit",
    "LimitExceeded.PhoneNumberOneHourLimit": "the number of sms messages sent from a single "
    "mobile number within 1 hour exceeds the upper limit",
    "LimitExceeded.PhoneNumberThirtySecondLimit": "the number of sms messages sent from a single "
    "mobile number within 30 seconds exceeds the upper limit",
    "FailedOperation.PhoneNumberInBlacklist": "the mobile number is in the blacklist",
}

# Codes Tencent reports per number in SendStatusSet rather than as a request error.
PER_NUMBER_CODES = frozenset(
    {
        "InvalidParameterValue.IncorrectPhoneNumber",
        "LimitExceeded.PhoneNumberDailyLimit",
        "LimitExceeded.PhoneNumberOneHourLimit",
        "LimitExceeded.PhoneNumberThirtySecondLimit",
        "FailedOperation.PhoneNumberInBlacklist",
    }
)

_AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class SentSms(NamedTuple):
    phone: str
    template_id: str
    params: tuple[str, ...]


@dataclass(frozen=True)
class RecordedRequest:
    headers: dict[str, str]
    body: bytes
    error: str | None


@dataclass
class _Failure:
    code: str
    http_status: int | None


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def verify_tc3(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, str],
    now: float,
    max_skew_s: float = 300,
) -> str | None:
    """Checks a TC3-HMAC-SHA256 request as Tencent's gateway does: the error code, or None.

    `headers` as received (any case); `credentials` maps SecretId to SecretKey.
    """
    received = {name.lower(): value for name, value in headers.items()}
    match = _AUTHORIZATION.match(received.get("authorization", ""))
    if match is None:
        return "AuthFailure.InvalidAuthorization"
    credential = match["credential"].split("/")
    if len(credential) != 4 or credential[3] != "tc3_request":
        return "AuthFailure.InvalidAuthorization"
    secret_id, date, service, _terminator = credential
    secret_key = credentials.get(secret_id)
    if secret_key is None:
        return "AuthFailure.SecretIdNotFound"
    try:
        timestamp = int(received.get("x-tc-timestamp", ""))
    except ValueError:
        return "MissingParameter"
    if abs(now - timestamp) > max_skew_s:
        return "AuthFailure.SignatureExpire"
    signed = match["signed"].split(";")
    if (
        date != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        or not {"content-type", "host"} <= set(signed)
        or signed != sorted(signed)
        or any(name not in received for name in signed)
    ):
        return "AuthFailure.SignatureFailure"
    canonical_headers = "".join(f"{name}:{received[name].strip().lower()}\n" for name in signed)
    canonical_request = "\n".join(
        [
            method,
            path,
            query,
            canonical_headers,
            match["signed"],
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            str(timestamp),
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["signature"]):
        return "AuthFailure.SignatureFailure"
    return None


def _normalize_phone(number: str) -> str | None:
    """E.164 as Tencent echoes it; bare mainland numbers get +86."""
    if re.fullmatch(r"1[3-9]\d{9}", number):
        return f"+86{number}"
    if number.startswith("00"):
        number = f"+{number[2:]}"
    if number.startswith("+86"):
        return number if re.fullmatch(r"\+861[3-9]\d{9}", number) else None
    return number if re.fullmatch(r"\+[1-9]\d{6,14}", number) else None


class FakeSms:
    """Tencent Cloud SMS on 127.0.0.1 with an ephemeral port; use as a context manager."""

    def __init__(
        self,
        secret_id: str = "AKIDfakesmssecretid0000000000000000",  # noqa: S107 (a test value)
        secret_key: str = "fakesmssecretkey0000000000000000",  # noqa: S107 (a test value)
        *,
        sdk_app_id: str | None = None,
        sign_name: str | None = None,
        templates: Mapping[str, int] | None = None,
    ) -> None:
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.templates = dict(templates) if templates is not None else None
        self.latency_s = 0.0
        self.phone_daily_limit: int | None = None
        self.sent: list[SentSms] = []
        self.requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self.base_url = f"http://{self.host}"
        # A short poll keeps shutdown (each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeSms:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def fail_next(
        self, n: int = 1, *, code: str = "InternalError", http_status: int | None = None
    ) -> None:
        """The next `n` requests fail: HTTP `http_status` if given, else Tencent's `code`.

        An HTTP failure is the gateway's, taken by any request; a `code` is taken by the next
        authenticated, well-formed request. A per-number code (`PER_NUMBER_CODES`) fails every
        number of the request in SendStatusSet; any other code is the request's `Error`.
        """
        with self._lock:
            self._failures.extend(_Failure(code, http_status) for _ in range(n))

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def send(self, headers: Mapping[str, str], body: bytes, path: str) -> dict[str, Any]:
        """One request's `Response` object."""
        url = urlsplit(path)
        error = verify_tc3(
            method="POST",
            path=url.path,
            query=url.query,
            headers=headers,
            body=body,
            credentials={self.secret_id: self.secret_key},
            now=time.time(),
        )
        received = {name.lower(): value for name, value in headers.items()}
        if error is None:
            error = self._check_request(received, body)
        failure = None if error else self._take_failure()
        if failure is not None and failure.code not in PER_NUMBER_CODES:
            error = failure.code
        with self._lock:
            self.requests.append(RecordedRequest(received, body, error))
        if error is not None:
            return _error(error)
        payload = json.loads(body)
        forced = failure.code if failure is not None else None
        return {
            "SendStatusSet": [
                self._send_one(payload, number, forced) for number in payload["PhoneNumberSet"]
            ],
            "RequestId": str(uuid.uuid4()),
        }

    def _check_request(self, received: Mapping[str, str], body: bytes) -> str | None:
        if received.get("x-tc-action") != ACTION:
            return "InvalidAction"
        if received.get("x-tc-version") != VERSION:
            return "NoSuchVersion"
        credential = _AUTHORIZATION.match(received["authorization"])
        if credential is None or credential["credential"].split("/")[2] != "sms":
            return "AuthFailure.SignatureFailure"
        if not received.get("x-tc-region"):
            return "MissingParameter"
        if received["x-tc-region"] not in REGIONS:
            return "UnsupportedRegion"
        try:
            payload = json.loads(body)
        except ValueError:
            return "MissingParameter"
        numbers = payload.get("PhoneNumberSet") if isinstance(payload, dict) else None
        if (
            not isinstance(numbers, list)
            or not numbers
            or not all(isinstance(number, str) for number in numbers)
        ):
            return "MissingParameter"
        if not all(isinstance(payload.get(key), str) for key in ("SmsSdkAppId", "TemplateId")):
            return "MissingParameter"
        params = payload.get("TemplateParamSet", [])
        if not isinstance(params, list) or not all(isinstance(value, str) for value in params):
            return "MissingParameter"
        if self.sdk_app_id is not None and payload["SmsSdkAppId"] != self.sdk_app_id:
            return "UnauthorizedOperation.SmsSdkAppIdVerifyFail"
        if self.sign_name is not None and payload.get("SignName") != self.sign_name:
            return "FailedOperation.SignatureIncorrectOrUnapproved"
        if self.templates is not None:
            if payload["TemplateId"] not in self.templates:
                return "FailedOperation.TemplateIncorrectOrUnapproved"
            if len(params) != self.templates[payload["TemplateId"]]:
                return "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"
        return None

    def _send_one(self, payload: dict[str, Any], number: str, forced: str | None) -> dict[str, Any]:
        phone = _normalize_phone(number)
        code = forced
        with self._lock:
            if code is None and phone is None:
                code = "InvalidParameterValue.IncorrectPhoneNumber"
            limit = self.phone_daily_limit
            if code is None and limit is not None and self._sent_to(phone) >= limit:
                code = "LimitExceeded.PhoneNumberDailyLimit"
            if code is None and phone is not None:
                params = tuple(payload.get("TemplateParamSet", []))
                self.sent.append(SentSms(phone, payload["TemplateId"], params))
        return {
            "SerialNo": "" if code else f"2645:{uuid.uuid4().int % 10**28}",
            "PhoneNumber": phone or number,
            "Fee": 0 if code else 1,
            "SessionContext": payload.get("SessionContext", ""),
            "Code": code or "Ok",
            "Message": MESSAGES.get(code, code) if code else "send success",
            "IsoCode": "CN" if phone is not None and phone.startswith("+86") else "",
        }

    def _sent_to(self, phone: str | None) -> int:
        return sum(1 for sms in self.sent if sms.phone == phone)


def _error(code: str) -> dict[str, Any]:
    return {
        "Error": {"Code": code, "Message": MESSAGES.get(code, code)},
        "RequestId": str(uuid.uuid4()),
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSms

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout under `latency_s`) is expected, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        # The test output stays quiet; `requests` on the fake records what came in.
        return

    def do_POST(self) -> None:
        fake = cast(_Server, self.server).fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if fake.latency_s:
            time.sleep(fake.latency_s)
        with fake._lock:
            failure = fake._failures[0] if fake._failures else None
            if failure is not None and failure.http_status is not None:
                fake._failures.pop(0)
        if failure is not None and failure.http_status is not None:
            data = f"<html><body>{failure.http_status}</body></html>".encode()
            self.send_response(failure.http_status)
            self.send_header("Content-Type", "text/html")
        else:
            headers = dict(self.headers.items())
            data = json.dumps({"Response": fake.send(headers, body, self.path)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
