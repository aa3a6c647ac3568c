"""The fake Tencent Cloud SMS, driven by a minimal TC3-HMAC-SHA256 client written from the spec.

No Tencent SDK is installed: `_sign` and `_send_sms` follow "Signature v3" of Tencent Cloud API
3.0 and are checked against the worked example in that document.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.fakes.sms import FakeSms, SentSms, verify_tc3

SECRET_ID = "AKIDtestsecretid"
SECRET_KEY = "test-secret-key"
CONTENT_TYPE = "application/json; charset=utf-8"

# Tencent's worked example (Signature v3, CVM DescribeInstances), with its published results.
DOC_SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
DOC_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
DOC_TIMESTAMP = 1551113065
DOC_BODY = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)
DOC_PAYLOAD_HASH = "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
DOC_CANONICAL_REQUEST_HASH = "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
DOC_AUTHORIZATION = (
    "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request,"
    " SignedHeaders=content-type;host,"
    " Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
)


@pytest.fixture
def sms() -> Iterator[FakeSms]:
    with FakeSms(SECRET_ID, SECRET_KEY) as fake:
        yield fake


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _canonical_request(host: str, body: bytes) -> str:
    # POST "/" with no query; the two required headers, values lower-cased.
    return "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{CONTENT_TYPE}\nhost:{host.lower()}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )


def _sign(
    secret_id: str, secret_key: str, service: str, host: str, body: bytes, timestamp: int
) -> str:
    """The Authorization header value, step by step as Tencent's document has it."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    hashed_request = hashlib.sha256(_canonical_request(host, body).encode()).hexdigest()
    string_to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashed_request}"
    signing_key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


def _send_sms(
    base_url: str,
    params: dict[str, Any],
    *,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    timestamp: int | None = None,
    action: str = "SendSms",
    version: str = "2021-01-11",
    service: str = "sms",
    body: bytes | None = None,
    timeout: float = 5,
) -> requests.Response:
    """SendSms as the real adapter must send it; `body` replaces the signed one (tampering)."""
    host = urlsplit(base_url).netloc
    signed_body = json.dumps(params).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Authorization": _sign(secret_id, secret_key, service, host, signed_body, timestamp),
        "Content-Type": CONTENT_TYPE,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Version": version,
        "X-TC-Region": "ap-guangzhou",
    }
    return requests.post(
        f"{base_url}/",
        data=signed_body if body is None else body,
        headers=headers,
        timeout=timeout,
    )


def _code_sms(phone: str = "+8613711112222", code: str = "123456") -> dict[str, Any]:
    return {
        "PhoneNumberSet": [phone],
        "SmsSdkAppId": "1400006666",
        "SignName": "Demo Shop",
        "TemplateId": "1001",
        "TemplateParamSet": [code, "5"],
        "SessionContext": "login",
    }


def _error_code(response: requests.Response) -> str:
    assert response.status_code == 200
    return str(response.json()["Response"]["Error"]["Code"])


def test_the_signer_reproduces_tencents_worked_example() -> None:
    # given
    host = "cvm.tencentcloudapi.com"

    # when
    authorization = _sign(DOC_SECRET_ID, DOC_SECRET_KEY, "cvm", host, DOC_BODY, DOC_TIMESTAMP)

    # then
    assert hashlib.sha256(DOC_BODY).hexdigest() == DOC_PAYLOAD_HASH
    canonical_request = _canonical_request(host, DOC_BODY).encode()
    assert hashlib.sha256(canonical_request).hexdigest() == DOC_CANONICAL_REQUEST_HASH
    assert authorization == DOC_AUTHORIZATION


def test_the_verifier_accepts_tencents_worked_example() -> None:
    # given
    headers = {
        "Authorization": DOC_AUTHORIZATION,
        "Content-Type": CONTENT_TYPE,
        "Host": "cvm.tencentcloudapi.com",
        "X-TC-Action": "DescribeInstances",
        "X-TC-Timestamp": str(DOC_TIMESTAMP),
        "X-TC-Version": "2017-03-12",
        "X-TC-Region": "ap-guangzhou",
    }
    request: dict[str, Any] = {
        "method": "POST",
        "path": "/",
        "query": "",
        "headers": headers,
        "credentials": {DOC_SECRET_ID: DOC_SECRET_KEY},
    }

    # when
    accepted = verify_tc3(**request, body=DOC_BODY, now=DOC_TIMESTAMP + 299)
    tampered = verify_tc3(**request, body=DOC_BODY.replace(b"1", b"2"), now=DOC_TIMESTAMP)
    other_key = verify_tc3(
        **{**request, "credentials": {DOC_SECRET_ID: "x"}}, body=DOC_BODY, now=DOC_TIMESTAMP
    )
    stale = verify_tc3(**request, body=DOC_BODY, now=DOC_TIMESTAMP + 301)
    other_host = verify_tc3(
        **{**request, "headers": {**headers, "Host": "127.0.0.1"}},
        body=DOC_BODY,
        now=DOC_TIMESTAMP,
    )

    # then
    assert accepted is None
    assert tampered == other_key == other_host == "AuthFailure.SignatureFailure"
    assert stale == "AuthFailure.SignatureExpire"


def test_send_sms_answers_tencents_json_and_records_the_message(sms: FakeSms) -> None:
    # when
    response = _send_sms(sms.base_url, _code_sms())

    # then
    assert response.status_code == 200
    answer = response.json()["Response"]
    assert set(answer) == {"SendStatusSet", "RequestId"}
    [status] = answer["SendStatusSet"]
    assert {key: status[key] for key in ("Code", "Message", "PhoneNumber", "Fee")} == {
        "Code": "Ok",
        "Message": "send success",
        "PhoneNumber": "+8613711112222",
        "Fee": 1,
    }
    assert (status["SessionContext"], status["IsoCode"]) == ("login", "CN")
    assert status["SerialNo"].startswith("2645:")
    assert sms.sent == [SentSms("+8613711112222", "1001", ("123456", "5"))]


def test_numbers_are_answered_one_by_one(sms: FakeSms) -> None:
    # given
    params = {**_code_sms(), "PhoneNumberSet": ["13711112222", "+86123", "+8613800001111"]}

    # when
    response = _send_sms(sms.base_url, params)

    # then
    statuses = response.json()["Response"]["SendStatusSet"]
    assert [(status["PhoneNumber"], status["Code"]) for status in statuses] == [
        ("+8613711112222", "Ok"),
        ("+86123", "InvalidParameterValue.IncorrectPhoneNumber"),
        ("+8613800001111", "Ok"),
    ]
    assert [sent.phone for sent in sms.sent] == ["+8613711112222", "+8613800001111"]


def test_a_wrong_secret_key_is_a_signature_failure(sms: FakeSms) -> None:
    # when
    response = _send_sms(sms.base_url, _code_sms(), secret_key="wrong")

    # then
    assert _error_code(response) == "AuthFailure.SignatureFailure"
    assert sms.sent == []


def test_an_unknown_secret_id_is_refused(sms: FakeSms) -> None:
    # when
    response = _send_sms(sms.base_url, _code_sms(), secret_id="AKIDunknown")

    # then
    assert _error_code(response) == "AuthFailure.SecretIdNotFound"
    assert sms.sent == []


def test_a_body_changed_after_signing_is_refused(sms: FakeSms) -> None:
    # given
    forged = json.dumps(_code_sms(phone="+8613999999999")).encode()

    # when
    response = _send_sms(sms.base_url, _code_sms(), body=forged)

    # then
    assert _error_code(response) == "AuthFailure.SignatureFailure"
    assert sms.sent == []


def test_a_signature_older_than_five_minutes_is_expired(sms: FakeSms) -> None:
    # when
    response = _send_sms(sms.base_url, _code_sms(), timestamp=int(time.time()) - 400)

    # then
    assert _error_code(response) == "AuthFailure.SignatureExpire"
    assert sms.sent == []


def test_a_signature_for_another_service_is_refused(sms: FakeSms) -> None:
    # when
    response = _send_sms(sms.base_url, _code_sms(), service="cvm")

    # then
    assert _error_code(response) == "AuthFailure.SignatureFailure"
    assert sms.sent == []


def test_only_send_sms_of_version_2021_01_11_is_served(sms: FakeSms) -> None:
    # when
    other_action = _send_sms(sms.base_url, _code_sms(), action="PullSmsSendStatus")
    old_version = _send_sms(sms.base_url, _code_sms(), version="2019-07-11")

    # then
    assert _error_code(other_action) == "InvalidAction"
    assert _error_code(old_version) == "NoSuchVersion"
    assert sms.sent == []


def test_app_sign_and_template_must_match_when_configured(sms: FakeSms) -> None:
    # given
    sms.sdk_app_id, sms.sign_name, sms.templates = "1400006666", "Demo Shop", {"1001": 2}

    # when
    app = _send_sms(sms.base_url, {**_code_sms(), "SmsSdkAppId": "1400000000"})
    sign = _send_sms(sms.base_url, {**_code_sms(), "SignName": "Other"})
    template = _send_sms(sms.base_url, {**_code_sms(), "TemplateId": "9"})
    params = _send_sms(sms.base_url, {**_code_sms(), "TemplateParamSet": ["123456"]})
    good = _send_sms(sms.base_url, _code_sms())

    # then
    assert [_error_code(response) for response in (app, sign, template, params)] == [
        "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
        "FailedOperation.SignatureIncorrectOrUnapproved",
        "FailedOperation.TemplateIncorrectOrUnapproved",
        "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
    ]
    assert good.json()["Response"]["SendStatusSet"][0]["Code"] == "Ok"
    assert len(sms.sent) == 1


def test_the_daily_limit_per_number_is_a_per_number_failure(sms: FakeSms) -> None:
    # given
    sms.phone_daily_limit = 1
    _send_sms(sms.base_url, _code_sms())

    # when
    response = _send_sms(sms.base_url, _code_sms(code="654321"))

    # then
    [status] = response.json()["Response"]["SendStatusSet"]
    assert (status["Code"], status["Fee"]) == ("LimitExceeded.PhoneNumberDailyLimit", 0)
    assert sms.sent == [SentSms("+8613711112222", "1001", ("123456", "5"))]


def test_fail_next_with_a_request_error_then_recovers(sms: FakeSms) -> None:
    # given
    sms.fail_next(1)
    sms.fail_next(1, code="RequestLimitExceeded")

    # when
    first = _send_sms(sms.base_url, _code_sms())
    second = _send_sms(sms.base_url, _code_sms())
    third = _send_sms(sms.base_url, _code_sms())

    # then
    assert [_error_code(first), _error_code(second)] == ["InternalError", "RequestLimitExceeded"]
    assert third.json()["Response"]["SendStatusSet"][0]["Code"] == "Ok"
    assert len(sms.sent) == 1


def test_fail_next_with_a_per_number_code_fails_in_send_status_set(sms: FakeSms) -> None:
    # given
    sms.fail_next(1, code="LimitExceeded.PhoneNumberThirtySecondLimit")

    # when
    response = _send_sms(sms.base_url, _code_sms())

    # then
    [status] = response.json()["Response"]["SendStatusSet"]
    assert status["Code"] == "LimitExceeded.PhoneNumberThirtySecondLimit"
    assert sms.sent == []


def test_fail_next_with_an_http_status_is_a_gateway_error(sms: FakeSms) -> None:
    # given
    sms.fail_next(1, http_status=502)

    # when
    failed = _send_sms(sms.base_url, _code_sms())
    recovered = _send_sms(sms.base_url, _code_sms())

    # then
    assert (failed.status_code, failed.headers["Content-Type"]) == (502, "text/html")
    assert recovered.json()["Response"]["SendStatusSet"][0]["Code"] == "Ok"
    assert len(sms.sent) == 1


def test_latency_beyond_the_client_timeout_is_a_timeout(sms: FakeSms) -> None:
    # given
    sms.latency_s = 1.0

    # when / then
    with pytest.raises(requests.Timeout):
        _send_sms(sms.base_url, _code_sms(), timeout=0.2)


def test_credentials_are_configurable() -> None:
    # given
    with FakeSms("AKIDother", "other-key") as fake:
        # when
        ours = _send_sms(fake.base_url, _code_sms())
        theirs = _send_sms(
            fake.base_url, _code_sms(), secret_id="AKIDother", secret_key="other-key"
        )

    # then
    assert _error_code(ours) == "AuthFailure.SecretIdNotFound"
    assert theirs.json()["Response"]["SendStatusSet"][0]["Code"] == "Ok"
