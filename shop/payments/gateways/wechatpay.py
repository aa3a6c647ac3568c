"""WeChat Pay API v3 in service-provider mode, through the `wechatpayv3` SDK.

The platform is the service provider (sp_mchid, sp_appid, its API key pair, the APIv3 key and
WeChat Pay's platform public key, all in settings); each shop is a sub-merchant whose sub_mchid
(and the sub_appid its JSAPI openids belong to) is in the control plane
(billing.MerchantPaymentAccount, provider "wechatpay"). A shop without an active account, or a
platform without the settings, gets GatewayError(code="not_configured").

The SDK's API host is an instance attribute (`_core._gate_way`); it is set from
settings.WECHATPAY_API_BASE_URL in every environment (tests point it at the fake server).
Public-key mode: constructing a client downloads nothing.

Amounts are 分 (the minor unit of CNY, our `*_minor`), on the API as in our rows; bills are in
元 and converted exactly (Decimal, no rounding: a fraction of a 分 is an error).

Merchant transfers (商家转账 with the payee's confirmation, for distributors' withdrawals) are the
module functions `transfer_*` at the end; their notifications are verified as payments' are.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import load_public_key, rsa_verify

from billing.selectors import payment_account_of
from shop.core.selectors import shop_context
from shop.payments.gateways.base import (
    BillRow,
    GatewayError,
    NotificationRejected,
    PaymentRequest,
    PaymentStart,
    PaymentState,
    PaymentStatus,
    RefundRequest,
    RefundState,
    RefundStatus,
    VerifiedNotification,
)
from tenants.selectors.wechat import wechat_payer_appid

logger = logging.getLogger(__name__)

PROVIDER = "wechatpay"
CURRENCY = "CNY"
CHINA = timezone(timedelta(hours=8))
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
DESCRIPTION_MAX_BYTES = 127

# trade_state → our payment status. REFUND: it was paid (refunds are their own records).
TRADE_STATUS: dict[str, PaymentStatus] = {
    "SUCCESS": "succeeded",
    "REFUND": "succeeded",
    "NOTPAY": "pending",
    "USERPAYING": "pending",
    "PAYERROR": "failed",
    "CLOSED": "closed",
    "REVOKED": "closed",
}
# Refund status → ours. ABNORMAL (the payer's account cannot take the money) needs the merchant
# to act at WeChat Pay: the money did not go back, so the refund failed here.
REFUND_STATUS: dict[str, RefundStatus] = {
    "SUCCESS": "succeeded",
    "PROCESSING": "pending",
    "ABNORMAL": "failed",
    "CLOSED": "failed",
}
PAYMENT_EVENTS = frozenset({"TRANSACTION.SUCCESS"})
REFUND_EVENTS = frozenset({"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"})
# WeChat's error codes after which the same request may work later.
RETRYABLE_CODES = frozenset(
    {"SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANK_ERROR", "NOT_ENOUGH", "STATEMENT_CREATING"}
)
PAY_TYPE = {
    "wechat_miniprogram": WeChatPayType.MINIPROG,
    "wechat_jsapi": WeChatPayType.JSAPI,
    "wechat_h5": WeChatPayType.H5,
    "wechat_native": WeChatPayType.NATIVE,
}
# The notification headers, as WeChat names them.
HEADER_NAMES = (
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)


@dataclass(frozen=True)
class _Config:
    base_url: str
    sp_mchid: str
    sp_appid: str
    private_key: str
    cert_serial_no: str
    apiv3_key: str
    public_key: str
    public_key_id: str
    timeout_s: float


@dataclass(frozen=True)
class _Merchant:
    sub_mchid: str
    sub_appid: str


def _config() -> _Config | None:
    """The platform's WeChat Pay settings; None when any is missing."""
    config = _Config(
        base_url=str(settings.WECHATPAY_API_BASE_URL).rstrip("/"),
        sp_mchid=str(settings.WECHATPAY_SP_MCHID),
        sp_appid=str(settings.WECHATPAY_SP_APPID),
        private_key=str(settings.WECHATPAY_PRIVATE_KEY),
        cert_serial_no=str(settings.WECHATPAY_CERT_SERIAL_NO),
        apiv3_key=str(settings.WECHATPAY_APIV3_KEY),
        public_key=str(settings.WECHATPAY_PUBLIC_KEY),
        public_key_id=str(settings.WECHATPAY_PUBLIC_KEY_ID),
        timeout_s=float(settings.WECHATPAY_TIMEOUT_S),
    )
    required = (
        config.base_url,
        config.sp_mchid,
        config.sp_appid,
        config.private_key,
        config.cert_serial_no,
        config.apiv3_key,
        config.public_key,
        config.public_key_id,
    )
    return config if all(required) else None


@lru_cache(maxsize=4)
def _client_for(config: _Config) -> Any:
    """One SDK client per configuration (it keeps no per-call state; loading keys is the cost)."""
    client = WeChatPay(
        wechatpay_type=WeChatPayType.JSAPI,
        mchid=config.sp_mchid,
        private_key=config.private_key,
        cert_serial_no=config.cert_serial_no,
        appid=config.sp_appid,
        apiv3_key=config.apiv3_key,
        partner_mode=True,
        timeout=(min(config.timeout_s, 5.0), config.timeout_s),
        public_key=config.public_key,
        public_key_id=config.public_key_id,
    )
    # The SDK has no setting for its host (TECH-NOTES): set it in every environment.
    client._core._gate_way = config.base_url
    return client


@lru_cache(maxsize=4)
def _platform_key(public_key_pem: str) -> Any:
    return load_public_key(public_key_pem)


def _platform() -> tuple[_Config, Any]:
    config = _config()
    if config is None:
        raise GatewayError("WeChat Pay is not configured on this platform", code="not_configured")
    try:
        return config, _client_for(config)
    except Exception as error:  # the SDK raises bare Exception for keys it cannot load
        raise GatewayError(f"WeChat Pay settings: {error}", code="not_configured") from error


def _merchant(tenant_id: int, *, new_payment: bool = False) -> _Merchant:
    """The shop's sub-merchant (not_configured without one). New payments need the account
    active; what is already under way (queries, closes, refunds, notifications) does not."""
    account = payment_account_of(tenant_id=tenant_id, provider=PROVIDER)
    if account is None or not account.account_id:
        raise GatewayError("this shop has no WeChat Pay account", code="not_configured")
    if new_payment and account.status != account.Status.ACTIVE:
        raise GatewayError("this shop's WeChat Pay account is not active", code="not_configured")
    return _Merchant(sub_mchid=account.account_id, sub_appid=account.sub_appid)


def _call(operation: str, request: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
    """Run one SDK request; transport and SDK failures as GatewayError."""
    try:
        return request()
    except requests.RequestException as error:
        raise GatewayError(
            f"WeChat Pay {operation}: {error}", code="unreachable", retryable=True
        ) from error
    except Exception as error:  # the SDK raises bare Exception
        if "verify the signature" in str(error):
            # A 2xx answer not signed by WeChat Pay's key: not trusted, asked again later.
            raise GatewayError(
                f"WeChat Pay {operation}: answer not signed by WeChat Pay",
                code="response_signature_invalid",
                retryable=True,
            ) from error
        raise GatewayError(f"WeChat Pay {operation}: {error}", code="client_error") from error


def _document(text: Any) -> dict[str, Any]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        document = json.loads(text) if text else {}
    except (TypeError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _error_code(text: Any) -> str:
    return str(_document(text).get("code", ""))


def _failure(operation: str, status: int, text: Any) -> GatewayError:
    """WeChat's error answer ({"code", "message"}) as a GatewayError (code: WeChat's, lower)."""
    document = _document(text)
    wechat_code = str(document.get("code") or f"HTTP_{status}")
    retryable = status >= 500 or status == 429 or wechat_code in RETRYABLE_CODES
    return GatewayError(
        f"WeChat Pay {operation}: {status} {wechat_code} {document.get('message', '')}".strip(),
        code=wechat_code.lower(),
        retryable=retryable,
    )


def _ok(operation: str, answer: tuple[int, Any]) -> dict[str, Any]:
    status, text = answer
    if status != 200:
        raise _failure(operation, status, text)
    return _document(text)


def _description(text: str) -> str:
    """At most 127 bytes of UTF-8, cut at a character boundary (WeChat's limit)."""
    cut = text.encode("utf-8")[:DESCRIPTION_MAX_BYTES].decode("utf-8", errors="ignore").strip()
    return cut or "order"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _payment_state(resource: Mapping[str, Any]) -> PaymentState:
    """A transaction resource (query answer or notification) as our payment state."""
    trade_state = str(resource["trade_state"])
    amount = resource["amount"]
    payer = resource.get("payer") or {}
    return PaymentState(
        out_trade_no=str(resource["out_trade_no"]),
        status=TRADE_STATUS.get(trade_state, "pending"),
        amount_minor=int(amount["total"]),
        currency=str(amount.get("currency", CURRENCY)),
        provider_ref=str(resource.get("transaction_id", "")),
        payer_ref=str(payer.get("sub_openid") or payer.get("sp_openid") or ""),
        paid_at=_moment(resource.get("success_time"))
        if trade_state in ("SUCCESS", "REFUND")
        else None,
    )


def _refund_state(resource: Mapping[str, Any], status_field: str) -> RefundState:
    """A refund resource (answer: `status`; notification: `refund_status`) as our state."""
    wechat_status = str(resource[status_field])
    status = REFUND_STATUS.get(wechat_status, "pending")
    return RefundState(
        out_refund_no=str(resource["out_refund_no"]),
        status=status,
        amount_minor=int(resource["amount"]["refund"]),
        provider_ref=str(resource.get("refund_id", "")),
        failure=f"WeChat Pay refund {wechat_status}" if status == "failed" else "",
    )


def _fen(text: str) -> int:
    """An amount in 元 as written in a bill ("12.34") in 分, exactly."""
    try:
        value = Decimal(text.strip() or "0") * 100
    except InvalidOperation as error:
        raise GatewayError(f"bill amount {text!r} is not a number", code="bill_invalid") from error
    if value != value.to_integral_value():
        raise GatewayError(f"bill amount {text!r} has a fraction of a fen", code="bill_invalid")
    return int(value)


def _bill_rows(text: str, *, sub_mchid: str) -> list[BillRow]:
    """The rows of a trade bill (ALL) of one sub-merchant; the summary lines are left out."""
    lines = [line for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    summary_at = next(
        (index for index, line in enumerate(lines) if line.startswith("总交易单数")), len(lines)
    )
    rows: list[BillRow] = []
    for raw in csv.DictReader(io.StringIO("\n".join(lines[:summary_at]))):
        row = {name.strip(): (value or "").strip().removeprefix("`") for name, value in raw.items()}
        if row.get("特约商户号", sub_mchid) != sub_mchid:
            continue
        out_refund_no = row.get("商户退款单号", "")
        if out_refund_no and out_refund_no != "0":
            refund_status = row.get("退款状态", "")
            rows.append(
                BillRow(
                    record_type="refund",
                    out_trade_no=row["商户订单号"],
                    provider_ref=row.get("微信退款单号", ""),
                    amount_minor=_fen(row.get("申请退款金额") or row.get("退款金额", "0")),
                    status=REFUND_STATUS.get(refund_status, refund_status.lower()),
                    out_refund_no=out_refund_no,
                    extra={"refund_status": refund_status, "time": row.get("交易时间", "")},
                )
            )
            continue
        trade_state = row.get("交易状态", "")
        rows.append(
            BillRow(
                record_type="payment",
                out_trade_no=row["商户订单号"],
                provider_ref=row.get("微信订单号", ""),
                amount_minor=_fen(row.get("订单金额") or row.get("应结订单金额", "0")),
                status="succeeded" if trade_state == "SUCCESS" else trade_state.lower(),
                extra={
                    "trade_state": trade_state,
                    "trade_type": row.get("交易类型", ""),
                    "time": row.get("交易时间", ""),
                },
            )
        )
    return rows


def _notification_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The signature headers by WeChat's names, whatever the server's spelling (also Django's
    META: HTTP_WECHATPAY_SIGNATURE)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    found: dict[str, str] = {}
    for name in HEADER_NAMES:
        meta = "http_" + name.lower().replace("-", "_")
        found[name] = str(lowered.get(name.lower()) or lowered.get(meta) or "")
    return found


def _notification_open(
    *, config: _Config, client: Any, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """A notification's envelope with its resource decrypted, after checking the signature on
    the raw body (WeChat Pay's public key only) and its age; NotificationRejected otherwise."""
    signed = _notification_headers(headers)
    # Only WeChat Pay's public key is trusted: another serial would make the SDK download
    # certificates on a stranger's request.
    if (
        signed["Wechatpay-Serial"] != config.public_key_id
        or signed["Wechatpay-Signature-Type"] != SIGNATURE_TYPE
    ):
        raise NotificationRejected(
            "not signed with WeChat Pay's key", code="notification_signature_invalid"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotificationRejected("body is not UTF-8", code="notification_invalid") from error
    if not rsa_verify(
        signed["Wechatpay-Timestamp"],
        signed["Wechatpay-Nonce"],
        text,
        signed["Wechatpay-Signature"],
        _platform_key(config.public_key),
    ):
        raise NotificationRejected("bad signature", code="notification_signature_invalid")
    # wechatpayv3 does not look at the timestamp (TECH-NOTES): replays are refused here.
    try:
        sent = int(signed["Wechatpay-Timestamp"])
    except ValueError as error:
        raise NotificationRejected("bad timestamp", code="notification_invalid") from error
    max_age = float(settings.PAYMENT_NOTIFICATION_MAX_AGE_S)
    if abs(time.time() - sent) > max_age:
        raise NotificationRejected(
            f"timestamp {sent} is more than {max_age:.0f} s away", code="notification_stale"
        )
    try:
        result = client.callback(signed, text)
    except Exception as error:  # the SDK raises bare Exception
        raise NotificationRejected(
            f"undecryptable: {error}", code="notification_invalid"
        ) from error
    if not isinstance(result, dict) or not isinstance(result.get("resource"), dict):
        raise NotificationRejected("undecryptable resource", code="notification_invalid")
    return result


class WeChatPayGateway:
    name = PROVIDER

    def payment_start(self, request: PaymentRequest) -> PaymentStart:
        """Place the order at WeChat Pay; JSAPI parameters (signed), an h5_url or a code_url.

        `request.amount_minor` is in 分; only CNY is accepted.
        """
        pay_type = PAY_TYPE.get(request.method)
        if pay_type is None:
            raise GatewayError(f"WeChat Pay has no method {request.method}", code="method_invalid")
        if request.currency != CURRENCY:
            raise GatewayError(
                f"WeChat Pay takes CNY only, not {request.currency}", code="currency_unsupported"
            )
        config, client = _platform()
        merchant = _merchant(request.tenant_id, new_payment=True)
        arguments: dict[str, Any] = {
            "description": _description(request.description),
            "out_trade_no": request.out_trade_no,
            "amount": {"total": request.amount_minor, "currency": CURRENCY},
            "time_expire": _rfc3339(request.expires_at),
            "notify_url": request.notify_url,
            "sub_mchid": merchant.sub_mchid,
            "pay_type": pay_type,
        }
        jsapi = pay_type in (WeChatPayType.JSAPI, WeChatPayType.MINIPROG)
        # The openid belongs to the app the payer is in: the shop's mini-program or its Official
        # Account (control-plane registry), else the account's bound sub_appid, else ours.
        sub_appid = (
            wechat_payer_appid(
                tenant_id=request.tenant_id,
                kind="miniprogram" if pay_type == WeChatPayType.MINIPROG else "official_account",
            )
            if jsapi
            else ""
        ) or merchant.sub_appid
        app_id = sub_appid or config.sp_appid
        if jsapi:
            if not request.payer_ref:
                raise GatewayError("JSAPI payments need the payer's openid", code="payer_missing")
            if sub_appid:
                arguments["sub_appid"] = sub_appid
                arguments["payer"] = {"sub_openid": request.payer_ref}
            else:
                arguments["payer"] = {"sp_openid": request.payer_ref}
        if pay_type == WeChatPayType.H5:
            if not request.client_ip:
                raise GatewayError("H5 payments need the payer's IP", code="client_ip_missing")
            arguments["scene_info"] = {
                "payer_client_ip": request.client_ip,
                "h5_info": {"type": "Wap"},
            }
        answer = _ok("pay", _call("pay", lambda: client.pay(**arguments)))
        if jsapi:
            prepay_id = str(answer.get("prepay_id", ""))
            if not prepay_id:
                raise GatewayError("WeChat Pay answered no prepay_id", code="answer_invalid")
            return PaymentStart(client_params=self._jsapi_params(client, app_id, prepay_id))
        if pay_type == WeChatPayType.H5:
            h5_url = str(answer.get("h5_url", ""))
            if not h5_url:
                raise GatewayError("WeChat Pay answered no h5_url", code="answer_invalid")
            if request.return_url:
                h5_url += "&redirect_url=" + quote(request.return_url, safe="")
            return PaymentStart(client_params={"h5_url": h5_url})
        code_url = str(answer.get("code_url", ""))
        if not code_url:
            raise GatewayError("WeChat Pay answered no code_url", code="answer_invalid")
        return PaymentStart(client_params={"code_url": code_url})

    @staticmethod
    def _jsapi_params(client: Any, app_id: str, prepay_id: str) -> dict[str, Any]:
        """What wx.requestPayment (mini-program) / WeixinJSBridge (JSAPI) takes, signed with
        the merchant key over appId, timeStamp, nonceStr and package."""
        timestamp = str(int(time.time()))
        nonce = uuid.uuid4().hex.upper()
        package = f"prepay_id={prepay_id}"
        return {
            "appId": app_id,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": client.sign([app_id, timestamp, nonce, package]),
        }

    def payment_query(self, *, tenant_id: int, out_trade_no: str) -> PaymentState:
        """WeChat Pay's view of an attempt (by our out_trade_no); amounts in 分."""
        _config, client = _platform()
        merchant = _merchant(tenant_id)
        answer = _ok(
            "query",
            _call(
                "query",
                lambda: client.query(out_trade_no=out_trade_no, sub_mchid=merchant.sub_mchid),
            ),
        )
        try:
            return _payment_state(answer)
        except (KeyError, TypeError, ValueError) as error:
            raise GatewayError(
                f"WeChat Pay query answer malformed: {error!r}", code="answer_invalid"
            ) from error

    def payment_close(self, *, tenant_id: int, out_trade_no: str) -> None:
        """Close an unpaid attempt; one WeChat Pay never saw is closed already.

        GatewayError(code="already_paid") when it was paid meanwhile (its success is applied
        by the caller: a late payment is refunded, never kept).
        """
        _config, client = _platform()
        merchant = _merchant(tenant_id)
        status, text = _call(
            "close", lambda: client.close(out_trade_no=out_trade_no, sub_mchid=merchant.sub_mchid)
        )
        if status in (200, 204):
            return
        wechat_code = _error_code(text)
        if status == 404 and wechat_code == "ORDER_NOT_EXIST":
            return
        if wechat_code == "ORDERPAID":
            raise GatewayError(f"WeChat Pay: {out_trade_no} is paid", code="already_paid")
        raise _failure("close", status, text)

    def refund_start(self, request: RefundRequest) -> RefundState:
        """Ask for a refund of `amount_minor` 分 of a payment (`payment_amount_minor` 分);
        the same out_refund_no is the same refund at WeChat Pay."""
        if request.currency != CURRENCY:
            raise GatewayError(
                f"WeChat Pay takes CNY only, not {request.currency}", code="currency_unsupported"
            )
        _config, client = _platform()
        merchant = _merchant(request.tenant_id)
        reference: dict[str, str] = (
            {"transaction_id": request.payment_provider_ref}
            if request.payment_provider_ref
            else {"out_trade_no": request.out_trade_no}
        )
        answer = _ok(
            "refund",
            _call(
                "refund",
                lambda: client.refund(
                    out_refund_no=request.out_refund_no,
                    amount={
                        "refund": request.amount_minor,
                        "total": request.payment_amount_minor,
                        "currency": CURRENCY,
                    },
                    reason=request.reason[:80] or None,
                    notify_url=request.notify_url or None,
                    sub_mchid=merchant.sub_mchid,
                    **reference,
                ),
            ),
        )
        try:
            return _refund_state(answer, "status")
        except (KeyError, TypeError, ValueError) as error:
            raise GatewayError(
                f"WeChat Pay refund answer malformed: {error!r}", code="answer_invalid"
            ) from error

    def refund_query(self, *, tenant_id: int, out_refund_no: str) -> RefundState:
        """WeChat Pay's view of a refund (by our out_refund_no)."""
        _config, client = _platform()
        merchant = _merchant(tenant_id)
        answer = _ok(
            "refund query",
            _call(
                "refund query",
                lambda: client.query_refund(out_refund_no, sub_mchid=merchant.sub_mchid),
            ),
        )
        try:
            return _refund_state(answer, "status")
        except (KeyError, TypeError, ValueError) as error:
            raise GatewayError(
                f"WeChat Pay refund answer malformed: {error!r}", code="answer_invalid"
            ) from error

    def notification_verify(self, *, headers: dict[str, str], body: bytes) -> VerifiedNotification:
        """Check a notification's signature on the raw body, its age and its merchant, decrypt
        it (AES-256-GCM with the APIv3 key) and read the payment or refund state it carries.

        Codes: notification_signature_invalid (not signed by WeChat Pay's key, or the body
        changed since), notification_stale (timestamp further than
        PAYMENT_NOTIFICATION_MAX_AGE_S from our clock), notification_invalid (undecryptable or
        malformed), notification_wrong_merchant (another merchant's), not_configured.
        """
        try:
            config, client = _platform()
            merchant = _merchant(shop_context().tenant_id)
        except GatewayError as error:
            raise NotificationRejected(str(error), code="not_configured") from error
        result = _notification_open(config=config, client=client, headers=headers, body=body)
        return self._verified(result, config=config, merchant=merchant)

    @staticmethod
    def _verified(
        result: dict[str, Any], *, config: _Config, merchant: _Merchant
    ) -> VerifiedNotification:
        event_id = str(result.get("id") or "")
        event_type = str(result.get("event_type") or "")
        resource: dict[str, Any] = result["resource"]
        if not event_id or not event_type:
            raise NotificationRejected("no id or event type", code="notification_invalid")
        if event_type not in PAYMENT_EVENTS | REFUND_EVENTS:
            # Genuine but not ours to act on: stored (WeChat stops retrying), then ignored.
            return VerifiedNotification(event_id=event_id, event_type=event_type, resource={})
        if (
            resource.get("sp_mchid") != config.sp_mchid
            or resource.get("sub_mchid") != merchant.sub_mchid
        ):
            raise NotificationRejected(
                "the notification is another merchant's", code="notification_wrong_merchant"
            )
        try:
            if event_type in PAYMENT_EVENTS:
                return VerifiedNotification(
                    event_id=event_id,
                    event_type=event_type,
                    resource=resource,
                    payment=_payment_state(resource),
                )
            return VerifiedNotification(
                event_id=event_id,
                event_type=event_type,
                resource=resource,
                refund=_refund_state(resource, "refund_status"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise NotificationRejected(
                f"malformed resource: {error!r}", code="notification_invalid"
            ) from error

    def bill_rows(self, *, tenant_id: int, bill_date: date) -> list[BillRow]:
        """The shop's trade bill of `bill_date` (China time): payments and refunds, in 分.

        No bill (no trade that day) is no rows; a bill still being made is retryable.
        """
        config, client = _platform()
        merchant = _merchant(tenant_id)
        # tar_type is given: the SDK writes tar_type=None literally when it is None.
        status, text = _call(
            "trade bill",
            lambda: client.trade_bill(
                bill_date=bill_date.isoformat(),
                bill_type="ALL",
                tar_type="GZIP",
                sub_mchid=merchant.sub_mchid,
            ),
        )
        if status != 200:
            if _error_code(text) == "NO_STATEMENT_EXIST":
                return []
            raise _failure("trade bill", status, text)
        meta = _document(text)
        url = str(meta.get("download_url", ""))
        # Our Authorization header goes only to WeChat Pay's own host.
        if not url.startswith(config.base_url + "/"):
            raise GatewayError(f"bill download URL not at WeChat Pay: {url}", code="bill_invalid")
        status, content = _call("bill download", lambda: client.download_bill(url))
        if status != 200:
            raise _failure("bill download", status, content)
        raw = content if isinstance(content, bytes) else str(content).encode("utf-8")
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise GatewayError("bill is not gzip", code="bill_invalid", retryable=True) from error
        if str(meta.get("hash_type", "SHA1")).upper() == "SHA1":
            digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()
            if digest.lower() != str(meta.get("hash_value", "")).lower():
                raise GatewayError("bill digest mismatch", code="bill_invalid", retryable=True)
        return _bill_rows(data.decode("utf-8"), sub_mchid=merchant.sub_mchid)


# -- Merchant transfers (商家转账, the 2025 version with the payee's confirmation) -------------
#
# wechatpayv3's mch_transfer_bills has no sub-merchant parameter: a transfer is made by the
# platform's merchant account (sp_mchid) to an openid of an appid bound to it (the shop's
# mini-program or the account's sub_appid, as for payments). The payee confirms in the client
# with wx.requestMerchantTransfer({mchId, appId, package: package_info}); WeChat then pays and
# sends MCHTRANSFER.BILL.FINISHED (SUCCESS, FAIL or CANCELLED) to the notify URL.

# "佣金报酬" (commission): the scene distributors' withdrawals are reported under, with the two
# report lines WeChat asks of it.
TRANSFER_SCENE_ID = "1005"
TRANSFER_SCENE_REPORT = (
    {"info_type": "岗位类型", "info_content": "分销员"},
    {"info_type": "报酬说明", "info_content": "分销佣金提现"},
)
TRANSFER_REMARK_MAX_CHARS = 32
# At and above 2,000 元 WeChat needs the payee's real name (it checks it against the account).
TRANSFER_REAL_NAME_FROM_MINOR = 200_000
TRANSFER_MIN_MINOR = 10
TRANSFER_EVENTS = frozenset({"MCHTRANSFER.BILL.FINISHED"})
# WeChat's bill states: ACCEPTED, PROCESSING, WAIT_USER_CONFIRM, TRANSFERING (sic), SUCCESS,
# FAIL, CANCELING, CANCELLED. The last three are final except CANCELING.
TRANSFER_FINAL_STATES = frozenset({"SUCCESS", "FAIL", "CANCELLED"})


@dataclass(frozen=True)
class TransferRequest:
    """One transfer of `amount_minor` 分 to `openid` (of `appid`); `out_bill_no` is ours and
    the same number is the same transfer at WeChat."""

    out_bill_no: str
    appid: str
    openid: str
    amount_minor: int
    remark: str
    notify_url: str
    real_name: str = ""


@dataclass(frozen=True)
class TransferState:
    """A transfer bill as WeChat holds it (`state` is WeChat's word)."""

    out_bill_no: str
    state: str
    provider_bill_no: str = ""
    package_info: str = ""
    fail_reason: str = ""
    amount_minor: int | None = None


@dataclass(frozen=True)
class VerifiedTransferNotification:
    event_id: str
    event_type: str
    transfer: TransferState | None = None


def _transfer_state(answer: Mapping[str, Any]) -> TransferState:
    try:
        amount = answer.get("transfer_amount")
        return TransferState(
            out_bill_no=str(answer["out_bill_no"]),
            state=str(answer["state"]),
            provider_bill_no=str(answer.get("transfer_bill_no") or ""),
            package_info=str(answer.get("package_info") or ""),
            fail_reason=str(answer.get("fail_reason") or ""),
            amount_minor=int(amount) if amount is not None else None,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise GatewayError(
            f"WeChat Pay transfer answer malformed: {error!r}", code="answer_invalid"
        ) from error


def transfer_appid(*, tenant_id: int) -> str:
    """The appid whose openids a shop's transfers pay: its mini-program, else the sub-merchant
    account's sub_appid, else the platform's appid (not_configured without WeChat Pay)."""
    config, _client = _platform()
    account = payment_account_of(tenant_id=tenant_id, provider=PROVIDER)
    sub_appid = account.sub_appid if account is not None else ""
    return (
        wechat_payer_appid(tenant_id=tenant_id, kind="miniprogram") or sub_appid or config.sp_appid
    )


def transfer_client_params(*, appid: str, package_info: str) -> dict[str, str]:
    """What wx.requestMerchantTransfer takes to let the payee confirm a transfer."""
    config, _client = _platform()
    return {"mchId": config.sp_mchid, "appId": appid, "package": package_info}


def transfer_create(request: TransferRequest) -> TransferState:
    """Start a transfer (or get the one already started under the same out_bill_no).

    The state is usually WAIT_USER_CONFIRM with `package_info` for the client. GatewayError
    with retryable=True when it may work later (the bill may then exist: ask again with the
    same out_bill_no).
    """
    if request.amount_minor < TRANSFER_MIN_MINOR:
        raise GatewayError("WeChat transfers start at 0.10 CNY", code="amount_too_small")
    if request.amount_minor >= TRANSFER_REAL_NAME_FROM_MINOR and not request.real_name:
        raise GatewayError("this amount needs the payee's real name", code="real_name_required")
    _config, client = _platform()
    remark = request.remark[:TRANSFER_REMARK_MAX_CHARS] or "佣金提现"
    answer = _ok(
        "transfer",
        _call(
            "transfer",
            lambda: client.mch_transfer_bills(
                out_bill_no=request.out_bill_no,
                transfer_scene_id=TRANSFER_SCENE_ID,
                openid=request.openid,
                transfer_amount=request.amount_minor,
                transfer_remark=remark,
                user_name=request.real_name or None,
                transfer_scene_report_infos=[dict(info) for info in TRANSFER_SCENE_REPORT],
                appid=request.appid,
                notify_url=request.notify_url,
            ),
        ),
    )
    return _transfer_state(answer)


def transfer_query(*, out_bill_no: str) -> TransferState | None:
    """WeChat's view of a transfer by our out_bill_no; None when WeChat has no such bill."""
    _config, client = _platform()
    status, text = _call(
        "transfer query", lambda: client.mch_transfer_bills_query(out_bill_no=out_bill_no)
    )
    if status == 404 and _error_code(text) == "NOT_FOUND":
        return None
    return _transfer_state(_ok("transfer query", (status, text)))


def transfer_cancel(*, out_bill_no: str) -> TransferState:
    """Ask WeChat to cancel a transfer still waiting for the payee (it answers CANCELING, then
    CANCELLED); GatewayError when the bill can no longer be cancelled."""
    _config, client = _platform()
    answer = _ok(
        "transfer cancel",
        _call("transfer cancel", lambda: client.mch_transfer_bills_cancel(out_bill_no=out_bill_no)),
    )
    return _transfer_state(answer)


def transfer_notification_verify(
    *, headers: Mapping[str, str], body: bytes
) -> VerifiedTransferNotification:
    """Verify a transfer notification exactly as payment notifications are (signature on the
    raw body with WeChat Pay's key, age, AES-256-GCM) and read the bill it carries.

    NotificationRejected codes as for payments; notification_wrong_merchant when the bill is
    another merchant's. Other genuine event types come back with `transfer` None.
    """
    try:
        config, client = _platform()
    except GatewayError as error:
        raise NotificationRejected(str(error), code="not_configured") from error
    result = _notification_open(config=config, client=client, headers=headers, body=body)
    event_id = str(result.get("id") or "")
    event_type = str(result.get("event_type") or "")
    if not event_id or not event_type:
        raise NotificationRejected("no id or event type", code="notification_invalid")
    if event_type not in TRANSFER_EVENTS:
        return VerifiedTransferNotification(event_id=event_id, event_type=event_type)
    resource: dict[str, Any] = result["resource"]
    if str(resource.get("mch_id") or "") != config.sp_mchid:
        raise NotificationRejected(
            "the notification is another merchant's", code="notification_wrong_merchant"
        )
    try:
        transfer = _transfer_state(resource)
    except GatewayError as error:
        raise NotificationRejected(str(error), code="notification_invalid") from error
    return VerifiedTransferNotification(event_id=event_id, event_type=event_type, transfer=transfer)
