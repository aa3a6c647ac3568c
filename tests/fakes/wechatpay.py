"""A fake WeChat Pay API v3 server (service-provider mode) on loopback.

It speaks the wire protocol the real `wechatpayv3` client speaks: requests carry
`Authorization: WECHATPAY2-SHA256-RSA2048 ...` signed with the merchant key and are verified;
responses and notifications are signed with the platform key (public-key mode,
`Wechatpay-Serial: PUB_KEY_ID_...`); notification resources are AES-256-GCM encrypted with the
APIv3 key. Amounts are in 分 on the API and in 元 in bills, as at WeChat.

    with FakeWeChatPay() as fake:
        client = fake.client()                    # a real WeChatPay pointed at the fake
        client.pay(..., sub_mchid=fake.sub_mchid)
        note = fake.pay_succeed(out_trade_no)     # state change + signed notification
        fake.deliver(url, *note)

Merchant transfers (商家转账): `mch_transfer_bills` creates a bill waiting for the payee
(WAIT_USER_CONFIRM, with package_info); `transfer_confirm` (the payee confirms → TRANSFERING →
SUCCESS), `transfer_fail` and the cancel endpoint (CANCELING → CANCELLED) move it, and
`transfer_notification_for` signs its MCHTRANSFER.BILL.FINISHED notification.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import random
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3 import WeChatPay, WeChatPayType

CHINA = timezone(timedelta(hours=8))
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# WeChat rejects a request whose Authorization timestamp is further than this from its clock.
REQUEST_CLOCK_SKEW_S = 300

TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "REFUND": "转入退款",
    "CLOSED": "订单已关闭",
    "REVOKED": "已撤销",
    "USERPAYING": "用户支付中",
    "PAYERROR": "支付失败",
}
# The bill and the query name H5 payments MWEB.
TRADE_TYPE_BY_PATH = {"jsapi": "JSAPI", "h5": "MWEB", "native": "NATIVE", "app": "APP"}
ERROR_CODE_BY_STATUS = {
    429: ("FREQUENCY_LIMITED", "频率超限"),
    500: ("SYSTEM_ERROR", "系统错误"),
    502: ("SYSTEM_ERROR", "系统错误"),
    503: ("SYSTEM_ERROR", "系统繁忙,请稍后重试"),
}
OUT_NO_PATTERN = re.compile(r"^[0-9A-Za-z_\-|*@]{6,32}$")
AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')

BILL_HEADER_ALL = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,"
    "费率备注"
)
BILL_HEADER_SUCCESS = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,"
    "订单金额,费率备注"
)
BILL_HEADER_REFUND = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,"
    "商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,"
    "订单金额,申请退款金额,费率备注"
)
BILL_SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
FEE_RATE = Decimal("0.006")

_T = TypeVar("_T")


@lru_cache(maxsize=8)
def _rsa_key(label: str) -> rsa.RSAPrivateKey:
    """One 2048-bit key per label per process: generating keys is the slow part of a fake."""
    del label
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _sign(key: rsa.RSAPrivateKey, message: str) -> str:
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def _verify(key: rsa.RSAPublicKey, message: str, signature_b64: str) -> bool:
    try:
        key.verify(
            base64.b64decode(signature_b64, validate=True),
            message.encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


def _yuan(fen: int | Decimal) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def _nonce() -> str:
    return uuid.uuid4().hex.upper()


class WeChatPayError(Exception):
    """An API error answered as WeChat does: an HTTP status and {"code", "message"}."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            payload["detail"] = self.detail
        return payload


def _param_error(field_name: str, issue: str) -> WeChatPayError:
    return WeChatPayError(
        400,
        "PARAM_ERROR",
        f"参数错误: {field_name} {issue}",
        {"field": field_name, "issue": issue, "location": "body"},
    )


@dataclass
class FakeOrder:
    """A transaction as WeChat holds it (amounts in 分)."""

    sub_mchid: str
    out_trade_no: str
    trade_type: str
    description: str
    total: int
    currency: str
    notify_url: str
    sp_appid: str
    sub_appid: str | None
    payer: dict[str, str]
    attach: str | None
    created_at: datetime
    trade_state: str = "NOTPAY"
    prepay_id: str | None = None
    h5_url: str | None = None
    code_url: str | None = None
    transaction_id: str | None = None
    success_time: datetime | None = None
    payer_total: int | None = None


@dataclass
class FakeRefund:
    """A refund as WeChat holds it (amounts in 分)."""

    sub_mchid: str
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    currency: str
    notify_url: str | None
    reason: str | None
    created_at: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None


@dataclass
class FakeTransfer:
    """A merchant transfer bill (商家转账, 2025 version with user confirmation)."""

    out_bill_no: str
    transfer_bill_no: str
    appid: str
    openid: str
    transfer_amount: int
    transfer_remark: str
    user_name: str | None
    notify_url: str | None
    created_at: datetime
    state: str = "WAIT_USER_CONFIRM"
    update_time: datetime | None = None
    fail_reason: str | None = None


@dataclass(frozen=True)
class Notification:
    """A notification as WeChat POSTs it. Unpacks as `headers, body`; `resource` is plaintext."""

    headers: dict[str, str]
    body: str
    resource: dict[str, Any] = field(compare=False)

    def __iter__(self) -> Iterator[Any]:
        yield self.headers
        yield self.body

    @property
    def id(self) -> str:
        event_id: str = json.loads(self.body)["id"]
        return event_id


@dataclass
class _BillRow:
    """One bill line before formatting; amounts in 分."""

    when: datetime
    sub_mchid: str
    transaction_id: str
    out_trade_no: str
    openid: str
    trade_type: str
    trade_state: str
    total: int
    description: str
    attach: str
    refund_id: str = "0"
    out_refund_no: str = "0"
    refund: int = 0
    refund_status: str = ""
    refund_created: datetime | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeWeChatPay


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `fake.calls` instead."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.server.fake if isinstance(self.server, _Server) else None
        assert fake is not None
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, headers, payload = fake._dispatch(method, self.path, dict(self.headers), raw)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a read timeout under `latency_s`): nothing left to answer.
            return


class FakeWeChatPay:
    """WeChat Pay API v3 for one service provider (sp_mchid) and any sub-merchants."""

    def __init__(
        self,
        *,
        sp_mchid: str = "1900000100",
        sp_appid: str = "wx8888888888888888",
        sub_mchid: str = "1900000109",
        merchant_private_key_pem: str | None = None,
        merchant_public_key_pem: str | None = None,
        merchant_serial_no: str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        apiv3_key: str | None = None,
        public_key_id: str = "PUB_KEY_ID_0119000001002024110100000000000001",
        notify_url: str = "https://shop.example.com/pay/wechat/notify",
    ) -> None:
        self.sp_mchid = sp_mchid
        self.sp_appid = sp_appid
        self.sub_mchid = sub_mchid
        self.merchant_serial_no = merchant_serial_no
        self.apiv3_key = apiv3_key or secrets.token_hex(16)
        if len(self.apiv3_key.encode()) != 32:
            raise ValueError("the APIv3 key is 32 bytes")
        self.public_key_id = public_key_id
        self.notify_url = notify_url
        self._merchant_private: rsa.RSAPrivateKey | None = None
        if merchant_private_key_pem is not None:
            loaded = serialization.load_pem_private_key(merchant_private_key_pem.encode(), None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            self._merchant_private = loaded
            self.merchant_public_key = loaded.public_key()
        elif merchant_public_key_pem is not None:
            public = serialization.load_pem_public_key(merchant_public_key_pem.encode())
            assert isinstance(public, rsa.RSAPublicKey)
            self.merchant_public_key = public
        else:
            self._merchant_private = _rsa_key("merchant")
            self.merchant_public_key = self._merchant_private.public_key()
        self._platform_key = _rsa_key("platform")
        self._impostor_key = _rsa_key("impostor")

        # Misbehaviour knobs, read on every call.
        self.latency_s = 0.0
        self.sign_responses_with_wrong_key = False
        self.refund_not_enough = False
        self.refunds_succeed_immediately = False
        self.statement_creating = False
        self.bill_bom = False
        # Merchant transfers: the state a new bill starts in (WAIT_USER_CONFIRM, or ACCEPTED
        # while WeChat still checks it: `transfer_accept` moves it on), whether a cancel
        # completes at once (CANCELING → CANCELLED) and whether the merchant's balance is short.
        self.transfer_initial_state = "WAIT_USER_CONFIRM"
        self.transfer_cancel_completes = True
        self.transfer_not_enough = False

        # Authenticated calls as (method, path with query, JSON body); the fake's own crashes.
        self.calls: list[tuple[str, str, Any]] = []
        self.errors: list[Exception] = []
        self._lock = threading.RLock()
        self._failures: list[tuple[int, str, str]] = []
        self._orders: dict[tuple[str, str], FakeOrder] = {}
        self._refunds: dict[tuple[str, str], FakeRefund] = {}
        self._transfers: dict[str, FakeTransfer] = {}
        self._bill_tokens: dict[str, bytes] = {}
        self._bill_extra: list[_BillRow] = []
        self._bill_missing: set[tuple[str, str]] = set()
        self._bill_overrides: dict[tuple[str, str], dict[str, Any]] = {}

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval: shutdown() waits for the next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FakeWeChatPay:
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
        self._thread.join(timeout=5)

    # -- what a client needs -----------------------------------------------------------------

    @property
    def merchant_private_key_pem(self) -> str:
        if self._merchant_private is None:
            raise RuntimeError("the fake was given only the merchant public key")
        return _private_pem(self._merchant_private)

    @property
    def platform_public_key_pem(self) -> str:
        return _public_pem(self._platform_key.public_key())

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `wechatpayv3.WeChatPay` (add `wechatpay_type`)."""
        return {
            "mchid": self.sp_mchid,
            "private_key": self.merchant_private_key_pem,
            "cert_serial_no": self.merchant_serial_no,
            "appid": self.sp_appid,
            "apiv3_key": self.apiv3_key,
            "notify_url": self.notify_url,
            "partner_mode": True,
            "public_key": self.platform_public_key_pem,
            "public_key_id": self.public_key_id,
        }

    def client(self, wechatpay_type: Any = WeChatPayType.JSAPI, **overrides: Any) -> Any:
        """A real `WeChatPay` client talking to this fake (the gateway is its only change)."""
        pay = WeChatPay(wechatpay_type=wechatpay_type, **{**self.client_kwargs(), **overrides})
        pay._core._gate_way = self.base_url
        return pay

    def verify_pay_sign(
        self, appid: str, timestamp: str, nonce: str, package: str, sign: str
    ) -> bool:
        """What WeChat's JSAPI/mini-program cashier checks before it shows the payment sheet."""
        message = f"{appid}\n{timestamp}\n{nonce}\n{package}\n"
        return _verify(self.merchant_public_key, message, sign)

    # -- knobs -------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, code: str | None = None) -> None:
        """The next `n` API calls answer `status` with WeChat's error body (signed)."""
        default_code, message = ERROR_CODE_BY_STATUS.get(status, ("SYSTEM_ERROR", "系统错误"))
        with self._lock:
            self._failures.extend([(status, code or default_code, message)] * n)

    # -- state for tests ---------------------------------------------------------------------

    def order(self, out_trade_no: str, sub_mchid: str | None = None) -> FakeOrder:
        with self._lock:
            return self._find(self._orders, out_trade_no, sub_mchid, "order")

    def refund(self, out_refund_no: str, sub_mchid: str | None = None) -> FakeRefund:
        with self._lock:
            return self._find(self._refunds, out_refund_no, sub_mchid, "refund")

    def transfer(self, out_bill_no: str) -> FakeTransfer:
        with self._lock:
            return self._transfers[out_bill_no]

    def set_trade_state(self, out_trade_no: str, state: str, sub_mchid: str | None = None) -> None:
        """Force an order's state (e.g. USERPAYING, PAYERROR, CLOSED by expiry)."""
        if state not in TRADE_STATE_DESC:
            raise ValueError(state)
        with self._lock:
            self._find(self._orders, out_trade_no, sub_mchid, "order").trade_state = state

    @staticmethod
    def _find(table: dict[tuple[str, str], _T], key: str, sub_mchid: str | None, kind: str) -> _T:
        matches = [
            value
            for (sub, number), value in table.items()
            if number == key and (sub_mchid is None or sub == sub_mchid)
        ]
        if len(matches) != 1:
            raise KeyError(f"{kind} {key!r} (sub_mchid={sub_mchid}): {len(matches)} matches")
        return matches[0]

    # -- payments ----------------------------------------------------------------------------

    def pay_succeed(
        self,
        out_trade_no: str,
        sub_mchid: str | None = None,
        *,
        success_time: datetime | None = None,
        force: bool = False,
        **knobs: Any,
    ) -> Notification:
        """Mark an order paid and return its TRANSACTION.SUCCESS notification (not sent).

        `force=True` pays an order WeChat already closed: the race where a close request
        never reached WeChat before the shopper paid. `knobs` go to `notification_for`.
        """
        with self._lock:
            order = self._find(self._orders, out_trade_no, sub_mchid, "order")
            if order.trade_state not in ("NOTPAY", "USERPAYING") and not force:
                raise ValueError(f"order {out_trade_no} is {order.trade_state}")
            order.trade_state = "SUCCESS"
            order.transaction_id = order.transaction_id or "4200" + _digits(24)
            order.success_time = success_time or datetime.now(CHINA)
            order.payer_total = order.total
            # H5 and Native orders learn their payer only when someone pays.
            order.payer = order.payer or {"sp_openid": "o" + secrets.token_urlsafe(21)[:27]}
        return self.notification_for(out_trade_no, order.sub_mchid, **knobs)

    def transaction(self, order: FakeOrder) -> dict[str, Any]:
        """The transaction resource as the query API and the notification carry it."""
        body: dict[str, Any] = {
            "sp_appid": order.sp_appid,
            "sp_mchid": self.sp_mchid,
            "sub_mchid": order.sub_mchid,
            "out_trade_no": order.out_trade_no,
            "trade_type": order.trade_type,
            "trade_state": order.trade_state,
            "trade_state_desc": TRADE_STATE_DESC[order.trade_state],
            "amount": {"total": order.total, "currency": order.currency},
        }
        if order.sub_appid:
            body["sub_appid"] = order.sub_appid
        if order.attach is not None:
            body["attach"] = order.attach
        if order.transaction_id is not None and order.success_time is not None:
            body["transaction_id"] = order.transaction_id
            body["bank_type"] = "OTHERS"
            body["success_time"] = _rfc3339(order.success_time)
            body["payer"] = dict(order.payer)
            body["amount"] = {
                "total": order.total,
                "payer_total": order.payer_total if order.payer_total is not None else order.total,
                "currency": order.currency,
                "payer_currency": order.currency,
            }
        return body

    def notification_for(
        self,
        out_trade_no: str,
        sub_mchid: str | None = None,
        *,
        amount_total: int | None = None,
        currency: str | None = None,
        late_by_seconds: int = 0,
        tamper: bool = False,
        corrupt_ciphertext: bool = False,
        wrong_key: bool = False,
    ) -> Notification:
        """The payment notification for an order's current state, without changing it.

        `amount_total`/`currency` make a genuinely signed notification that disagrees with the
        order; `late_by_seconds` back-dates it; `tamper` edits the body after signing;
        `corrupt_ciphertext` signs a resource that fails AES-GCM; `wrong_key` forges it.
        """
        with self._lock:
            resource = self.transaction(self._find(self._orders, out_trade_no, sub_mchid, "order"))
        if amount_total is not None:
            resource["amount"]["total"] = amount_total
            resource["amount"]["payer_total"] = amount_total
        if currency is not None:
            resource["amount"]["currency"] = currency
        return self._notification(
            "TRANSACTION.SUCCESS",
            "支付成功",
            "transaction",
            resource,
            late_by_seconds=late_by_seconds,
            tamper=tamper,
            corrupt_ciphertext=corrupt_ciphertext,
            wrong_key=wrong_key,
        )

    # -- refunds -----------------------------------------------------------------------------

    def refund_succeed(
        self, out_refund_no: str, sub_mchid: str | None = None, **knobs: Any
    ) -> Notification:
        """Complete a refund and return its REFUND.SUCCESS notification (not sent)."""
        return self.refund_finish(out_refund_no, "SUCCESS", sub_mchid, **knobs)

    def refund_finish(
        self, out_refund_no: str, status: str, sub_mchid: str | None = None, **knobs: Any
    ) -> Notification:
        """Move a refund to SUCCESS, CLOSED or ABNORMAL; return the matching notification."""
        if status not in ("SUCCESS", "CLOSED", "ABNORMAL"):
            raise ValueError(status)
        with self._lock:
            refund = self._find(self._refunds, out_refund_no, sub_mchid, "refund")
            refund.status = status
            if status == "SUCCESS":
                refund.success_time = datetime.now(CHINA)
        return self.refund_notification_for(out_refund_no, refund.sub_mchid, **knobs)

    def refund_resource(self, refund: FakeRefund) -> dict[str, Any]:
        """The refund as the refund API answers it."""
        body: dict[str, Any] = {
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": refund.transaction_id,
            "out_trade_no": refund.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": _rfc3339(refund.created_at),
            "status": refund.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": refund.total,
                "payer_refund": refund.refund,
                "settlement_refund": refund.refund,
                "settlement_total": refund.total,
                "discount_refund": 0,
                "currency": refund.currency,
                "refund_fee": 0,
                "from": [],
            },
            "promotion_detail": [],
        }
        if refund.success_time is not None:
            body["success_time"] = _rfc3339(refund.success_time)
        return body

    def refund_notification_for(
        self,
        out_refund_no: str,
        sub_mchid: str | None = None,
        *,
        late_by_seconds: int = 0,
        tamper: bool = False,
        corrupt_ciphertext: bool = False,
        wrong_key: bool = False,
        refund_amount: int | None = None,
    ) -> Notification:
        """The refund notification for a refund's current status (knobs as for payments)."""
        with self._lock:
            refund = self._find(self._refunds, out_refund_no, sub_mchid, "refund")
            resource: dict[str, Any] = {
                "sp_mchid": self.sp_mchid,
                "sub_mchid": refund.sub_mchid,
                "transaction_id": refund.transaction_id,
                "out_trade_no": refund.out_trade_no,
                "refund_id": refund.refund_id,
                "out_refund_no": refund.out_refund_no,
                "refund_status": refund.status,
                "user_received_account": "支付用户零钱",
                "amount": {
                    "total": refund.total,
                    "refund": refund_amount if refund_amount is not None else refund.refund,
                    "payer_total": refund.total,
                    "payer_refund": refund_amount if refund_amount is not None else refund.refund,
                },
            }
            if refund.success_time is not None:
                resource["success_time"] = _rfc3339(refund.success_time)
        summary = {"SUCCESS": "退款成功", "CLOSED": "退款关闭", "ABNORMAL": "退款异常"}
        return self._notification(
            f"REFUND.{refund.status}",
            summary.get(refund.status, "退款处理中"),
            "refund",
            resource,
            late_by_seconds=late_by_seconds,
            tamper=tamper,
            corrupt_ciphertext=corrupt_ciphertext,
            wrong_key=wrong_key,
        )

    # -- transfers ---------------------------------------------------------------------------

    def transfer_finish(
        self, out_bill_no: str, state: str = "SUCCESS", **knobs: Any
    ) -> Notification:
        """Finish a merchant transfer (SUCCESS, FAIL or CANCELLED) and return its notification."""
        if state not in ("SUCCESS", "FAIL", "CANCELLED"):
            raise ValueError(state)
        with self._lock:
            transfer = self._transfers[out_bill_no]
            transfer.state = state
            transfer.update_time = datetime.now(CHINA)
            if state == "FAIL":
                transfer.fail_reason = transfer.fail_reason or "PAYEE_ACCOUNT_ABNORMAL"
        return self.transfer_notification_for(out_bill_no, **knobs)

    def transfer_accept(self, out_bill_no: str) -> None:
        """WeChat finished checking an ACCEPTED bill: it now waits for the payee."""
        with self._lock:
            transfer = self._transfers[out_bill_no]
            if transfer.state != "ACCEPTED":
                raise ValueError(f"transfer {out_bill_no} is {transfer.state}")
            transfer.state = "WAIT_USER_CONFIRM"
            transfer.update_time = datetime.now(CHINA)

    def transfer_confirm(
        self, out_bill_no: str, *, complete: bool = True, **knobs: Any
    ) -> Notification | None:
        """The payee confirms in the client (wx.requestMerchantTransfer): the bill goes to
        TRANSFERING and, with `complete`, on to SUCCESS; its notification then (else None)."""
        with self._lock:
            transfer = self._transfers[out_bill_no]
            if transfer.state != "WAIT_USER_CONFIRM":
                raise ValueError(f"transfer {out_bill_no} is {transfer.state}")
            transfer.state = "TRANSFERING"
            transfer.update_time = datetime.now(CHINA)
        return self.transfer_finish(out_bill_no, "SUCCESS", **knobs) if complete else None

    def transfer_fail(
        self, out_bill_no: str, reason: str = "PAYEE_ACCOUNT_ABNORMAL", **knobs: Any
    ) -> Notification:
        """The transfer fails at WeChat (e.g. the payee's account is restricted)."""
        with self._lock:
            transfer = self._transfers[out_bill_no]
            if transfer.state in ("SUCCESS", "FAIL", "CANCELLED"):
                raise ValueError(f"transfer {out_bill_no} is {transfer.state}")
            transfer.fail_reason = reason
        return self.transfer_finish(out_bill_no, "FAIL", **knobs)

    def transfer_notification_for(
        self, out_bill_no: str, *, mch_id: str | None = None, **knobs: Any
    ) -> Notification:
        """The MCHTRANSFER.BILL.FINISHED notification for a bill's current state, signed and
        encrypted as WeChat sends it; `mch_id` makes one about another merchant; `knobs` as
        for payments (late_by_seconds, tamper, corrupt_ciphertext, wrong_key)."""
        with self._lock:
            resource = self._transfer_resource(self._transfers[out_bill_no])
        resource["mch_id"] = mch_id or self.sp_mchid
        return self._notification(
            "MCHTRANSFER.BILL.FINISHED", "商家转账单据终态通知", "mch_payment", resource, **knobs
        )

    def _transfer_resource(self, transfer: FakeTransfer) -> dict[str, Any]:
        body: dict[str, Any] = {
            "out_bill_no": transfer.out_bill_no,
            "transfer_bill_no": transfer.transfer_bill_no,
            "appid": transfer.appid,
            "mch_id": self.sp_mchid,
            "state": transfer.state,
            "transfer_amount": transfer.transfer_amount,
            "transfer_remark": transfer.transfer_remark,
            "openid": transfer.openid,
            "create_time": _rfc3339(transfer.created_at),
            "update_time": _rfc3339(transfer.update_time or transfer.created_at),
        }
        if transfer.fail_reason:
            body["fail_reason"] = transfer.fail_reason
        return body

    # -- notifications -----------------------------------------------------------------------

    def _notification(
        self,
        event_type: str,
        summary: str,
        original_type: str,
        resource: dict[str, Any],
        *,
        late_by_seconds: int = 0,
        tamper: bool = False,
        corrupt_ciphertext: bool = False,
        wrong_key: bool = False,
    ) -> Notification:
        created = datetime.now(CHINA) - timedelta(seconds=late_by_seconds)
        nonce = secrets.token_urlsafe(9)[:12]
        plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
        sealed = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), plaintext.encode(), original_type.encode()
        )
        if corrupt_ciphertext:
            sealed = bytes([sealed[0] ^ 0x01]) + sealed[1:]
        envelope = {
            "id": str(uuid.uuid4()),
            "create_time": _rfc3339(created),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(sealed).decode(),
                "associated_data": original_type,
                "nonce": nonce,
            },
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        note = Notification({}, body, resource)
        return self.resign(
            note, late_by_seconds=late_by_seconds, wrong_key=wrong_key, tamper=tamper
        )

    def resign(
        self,
        notification: Notification,
        *,
        late_by_seconds: int = 0,
        wrong_key: bool = False,
        tamper: bool = False,
    ) -> Notification:
        """The same body with fresh signature headers, as a WeChat retry carries."""
        timestamp = str(int(time.time()) - late_by_seconds)
        nonce = _nonce()
        key = self._impostor_key if wrong_key else self._platform_key
        signature = _sign(key, f"{timestamp}\n{nonce}\n{notification.body}\n")
        headers = {
            "Content-Type": "application/json",
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": self.public_key_id,
            "Wechatpay-Signature": signature,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
            "Wechatpay-Timestamp": timestamp,
        }
        body = notification.body
        if tamper:
            # Still well-formed JSON with the same resource: only the signature can tell.
            body = body.replace('"summary":"', '"summary":"!', 1)
        return replace(notification, headers=headers, body=body)

    def replay(
        self,
        notifications: Iterable[Notification],
        *,
        duplicates: int | tuple[int, int] = 1,
        shuffle: bool = False,
        seed: int | None = None,
    ) -> list[Notification]:
        """Each notification `duplicates` times (or a random count in an inclusive range),
        each copy re-signed, optionally shuffled: what WeChat's retries look like."""
        rng = random.Random(seed)
        copies: list[Notification] = []
        for note in notifications:
            count = duplicates if isinstance(duplicates, int) else rng.randint(*duplicates)
            copies.extend(self.resign(note) for _ in range(count))
        if shuffle:
            rng.shuffle(copies)
        return copies

    @staticmethod
    def deliver(
        url: str, headers: Mapping[str, str], body: str, timeout: float = 10.0
    ) -> requests.Response:
        """POST a notification to a notify URL, as WeChat's callback servers do."""
        return requests.post(url, data=body.encode(), headers=dict(headers), timeout=timeout)

    def deliver_all(
        self, url: str, notifications: Iterable[Notification], *, concurrency: int = 1
    ) -> list[requests.Response]:
        """Deliver several notifications, `concurrency` at a time; responses in input order."""
        batch = list(notifications)
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(lambda note: self.deliver(url, *note), batch))

    # -- bills -------------------------------------------------------------------------------

    def inject_bill_extra(
        self,
        out_trade_no: str,
        total: int,
        *,
        bill_date: date | None = None,
        sub_mchid: str | None = None,
        trade_state: str = "SUCCESS",
        trade_type: str = "JSAPI",
    ) -> str:
        """A paid row WeChat has and we do not (missing here); returns its transaction_id."""
        transaction_id = "4200" + _digits(24)
        when = datetime.now(CHINA)
        if bill_date is not None:
            when = datetime.combine(bill_date, datetime.min.time(), CHINA) + timedelta(hours=12)
        with self._lock:
            self._bill_extra.append(
                _BillRow(
                    when=when,
                    sub_mchid=sub_mchid or self.sub_mchid,
                    transaction_id=transaction_id,
                    out_trade_no=out_trade_no,
                    openid="o" + _digits(27),
                    trade_type=trade_type,
                    trade_state=trade_state,
                    total=total,
                    description="extra",
                    attach="",
                )
            )
        return transaction_id

    def inject_bill_missing(self, out_trade_no: str, sub_mchid: str | None = None) -> None:
        """Leave a paid order out of the bill (missing at the provider)."""
        with self._lock:
            self._bill_missing.add((sub_mchid or self.sub_mchid, out_trade_no))

    def inject_bill_amount(
        self, out_trade_no: str, total: int, sub_mchid: str | None = None
    ) -> None:
        """Bill an order at a different amount (分) than it was paid."""
        with self._lock:
            key = (sub_mchid or self.sub_mchid, out_trade_no)
            self._bill_overrides.setdefault(key, {})["total"] = total

    def inject_bill_status(
        self, out_trade_no: str, trade_state: str, sub_mchid: str | None = None
    ) -> None:
        """Bill an order with a different 交易状态 (e.g. REVOKED, REFUND)."""
        with self._lock:
            key = (sub_mchid or self.sub_mchid, out_trade_no)
            self._bill_overrides.setdefault(key, {})["trade_state"] = trade_state

    def bill_csv(
        self, bill_date: date, bill_type: str = "ALL", sub_mchid: str | None = None
    ) -> str:
        """The trade bill for a day (China time) as WeChat formats it."""
        with self._lock:
            rows = self._bill_rows(bill_date, sub_mchid)
        payments = [row for row in rows if row.out_refund_no == "0"]
        refunds = [row for row in rows if row.out_refund_no != "0"]
        chosen = {"ALL": rows, "SUCCESS": payments, "REFUND": refunds}[bill_type]
        header = {"ALL": BILL_HEADER_ALL, "SUCCESS": BILL_HEADER_SUCCESS}.get(
            bill_type, BILL_HEADER_REFUND
        )
        lines = [header]
        settle = refund_total = order_total = 0
        fees = Decimal(0)
        for row in sorted(chosen, key=lambda r: r.when):
            is_refund = row.out_refund_no != "0"
            settled = 0 if is_refund else row.total
            fee = (Decimal(row.refund if is_refund else row.total) * FEE_RATE).quantize(
                Decimal(1), rounding=ROUND_HALF_UP
            )
            fee = -fee if is_refund else fee
            settle += settled
            refund_total += row.refund
            fees += fee
            order_total += 0 if is_refund else row.total
            common = [
                row.when.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                self.sp_appid,
                self.sp_mchid,
                row.sub_mchid,
                "",
                row.transaction_id,
                row.out_trade_no,
                row.openid,
                row.trade_type,
                "REFUND" if is_refund else row.trade_state,
                "OTHERS",
                "CNY",
                _yuan(settled),
                "0.00",
            ]
            tail = [row.description, row.attach, _yuan(fee), "0.60%"]
            refund_cols = [
                row.refund_id,
                row.out_refund_no,
                _yuan(row.refund),
                "0.00",
                "ORIGINAL" if is_refund else "",
                row.refund_status,
            ]
            if bill_type == "ALL":
                fields = [*common, *refund_cols, *tail, _yuan(settled), _yuan(row.refund), ""]
            elif bill_type == "SUCCESS":
                fields = [*common, *tail, _yuan(row.total), ""]
            else:
                created = row.refund_created or row.when
                fields = [
                    *common,
                    created.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                    row.when.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
                    if row.refund_status == "SUCCESS"
                    else "",
                    *refund_cols,
                    *tail,
                    "0.00",
                    _yuan(row.refund),
                    "",
                ]
            lines.append(",".join("`" + value.replace(",", " ") for value in fields))
        lines.append(BILL_SUMMARY_HEADER)
        summary = [
            str(len(chosen)),
            _yuan(settle),
            _yuan(refund_total),
            "0.00",
            _yuan(fees),
            _yuan(order_total),
            _yuan(refund_total),
        ]
        lines.append(",".join("`" + value for value in summary))
        return ("\ufeff" if self.bill_bom else "") + "\r\n".join(lines) + "\r\n"

    def _bill_rows(self, bill_date: date, sub_mchid: str | None) -> list[_BillRow]:
        rows: list[_BillRow] = []
        for key, order in self._orders.items():
            if order.success_time is None or order.transaction_id is None:
                continue
            if key in self._bill_missing:
                continue
            override = self._bill_overrides.get(key, {})
            rows.append(
                _BillRow(
                    when=order.success_time,
                    sub_mchid=order.sub_mchid,
                    transaction_id=order.transaction_id,
                    out_trade_no=order.out_trade_no,
                    openid=next(iter(order.payer.values()), ""),
                    trade_type=order.trade_type,
                    # A refunded order's payment line still reads SUCCESS; refunds are own lines.
                    trade_state=override.get("trade_state", "SUCCESS"),
                    total=override.get("total", order.total),
                    description=order.description,
                    attach=order.attach or "",
                )
            )
        for refund in self._refunds.values():
            order = self._orders[(refund.sub_mchid, refund.out_trade_no)]
            rows.append(
                _BillRow(
                    when=refund.success_time or refund.created_at,
                    sub_mchid=refund.sub_mchid,
                    transaction_id=refund.transaction_id,
                    out_trade_no=refund.out_trade_no,
                    openid=next(iter(order.payer.values()), ""),
                    trade_type=order.trade_type,
                    trade_state="REFUND",
                    total=refund.total,
                    description=order.description,
                    attach=order.attach or "",
                    refund_id=refund.refund_id,
                    out_refund_no=refund.out_refund_no,
                    refund=refund.refund,
                    refund_status=refund.status,
                    refund_created=refund.created_at,
                )
            )
        rows.extend(self._bill_extra)
        return [
            row
            for row in rows
            if row.when.astimezone(CHINA).date() == bill_date
            and (sub_mchid is None or row.sub_mchid == sub_mchid)
        ]

    # -- the HTTP side -----------------------------------------------------------------------

    def _dispatch(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if self.latency_s:
            time.sleep(self.latency_s)
        body_text = raw.decode("utf-8", errors="replace")
        try:
            self._authenticate(method, target, headers, body_text)
            try:
                payload = json.loads(body_text) if body_text else {}
            except json.JSONDecodeError as error:
                raise WeChatPayError(400, "PARAM_ERROR", "请求体不是合法的JSON") from error
            with self._lock:
                self.calls.append((method, target, payload))
                if self._failures:
                    status, code, message = self._failures.pop(0)
                    raise WeChatPayError(status, code, message)
                result = self._route(method, target, payload)
        except WeChatPayError as error:
            return self._json_response(error.status, error.body())
        except Exception as error:  # noqa: BLE001 - a bug in the fake: answer, and keep it for the test
            self.errors.append(error)
            return self._json_response(500, {"code": "SYSTEM_ERROR", "message": repr(error)})
        if isinstance(result, bytes):
            # Bill files are not signed (the client skips verification for downloads).
            return 200, {"Content-Type": "application/octet-stream"}, result
        status, document = result
        return self._json_response(status, document)

    def _json_response(
        self, status: int, document: dict[str, Any] | None
    ) -> tuple[int, dict[str, str], bytes]:
        text = "" if document is None else json.dumps(document, ensure_ascii=False)
        timestamp = str(int(time.time()))
        nonce = _nonce()
        key = self._impostor_key if self.sign_responses_with_wrong_key else self._platform_key
        headers = {
            "Request-ID": uuid.uuid4().hex.upper(),
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": self.public_key_id,
            "Wechatpay-Signature": _sign(key, f"{timestamp}\n{nonce}\n{text}\n"),
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
            "Wechatpay-Timestamp": timestamp,
        }
        if document is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return status, headers, text.encode()

    def _authenticate(self, method: str, target: str, headers: dict[str, str], body: str) -> None:
        lowered = {name.lower(): value for name, value in headers.items()}
        authorization = lowered.get("authorization", "")
        scheme, _, params_text = authorization.partition(" ")
        params = dict(AUTH_PARAM.findall(params_text))
        if (
            scheme != SIGNATURE_TYPE
            or not {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} <= params.keys()
        ):
            raise WeChatPayError(401, "SIGN_ERROR", "Authorization 头格式错误")
        if params["mchid"] != self.sp_mchid:
            raise WeChatPayError(401, "SIGN_ERROR", "商户号与签名不匹配")
        if params["serial_no"].upper() != self.merchant_serial_no.upper():
            raise WeChatPayError(401, "SIGN_ERROR", "商户证书序列号有误")
        try:
            skew = abs(int(params["timestamp"]) - time.time())
        except ValueError:
            skew = float("inf")
        if skew > REQUEST_CLOCK_SKEW_S:
            raise WeChatPayError(401, "SIGN_ERROR", "请求时间戳已过期")
        message = f"{method}\n{target}\n{params['timestamp']}\n{params['nonce_str']}\n{body}\n"
        if not _verify(self.merchant_public_key, message, params["signature"]):
            raise WeChatPayError(401, "SIGN_ERROR", "签名错误")

    def _route(
        self, method: str, target: str, payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None] | bytes:
        split = urlsplit(target)
        path = split.path
        # Blank values count as absent (parse_qs drops them).
        query = {name: values[-1] for name, values in parse_qs(split.query).items()}
        parts = [unquote(part) for part in path.strip("/").split("/")]
        match method, parts:
            case "POST", ["v3", "pay", "partner", "transactions", kind] if (
                kind in TRADE_TYPE_BY_PATH
            ):
                return self._api_prepay(kind, payload)
            case "GET", ["v3", "pay", "partner", "transactions", "out-trade-no", number]:
                return 200, self.transaction(self._api_order(query, out_trade_no=number))
            case "GET", ["v3", "pay", "partner", "transactions", "id", number]:
                return 200, self.transaction(self._api_order(query, transaction_id=number))
            case "POST", ["v3", "pay", "partner", "transactions", "out-trade-no", number, "close"]:
                return self._api_close(number, payload)
            case "POST", ["v3", "refund", "domestic", "refunds"]:
                return self._api_refund(payload)
            case "GET", ["v3", "refund", "domestic", "refunds", number]:
                refund = self._refunds.get((query.get("sub_mchid", ""), number))
                if refund is None:
                    raise WeChatPayError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
                return 200, self.refund_resource(refund)
            case "GET", ["v3", "bill", "tradebill"]:
                return self._api_trade_bill(query)
            case "GET", ["v3", "billdownload", "file"]:
                content = self._bill_tokens.get(query.get("token", ""))
                if content is None:
                    raise WeChatPayError(400, "INVALID_REQUEST", "下载链接已失效")
                return content
            case "POST", ["v3", "fund-app", "mch-transfer", "transfer-bills"]:
                return self._api_transfer(payload)
            case "GET", ["v3", "fund-app", "mch-transfer", "transfer-bills", "out-bill-no", number]:
                transfer = self._transfers.get(number)
                if transfer is None:
                    raise WeChatPayError(404, "NOT_FOUND", "转账单不存在")
                return 200, self._transfer_resource(transfer)
            case "POST", [
                "v3",
                "fund-app",
                "mch-transfer",
                "transfer-bills",
                "out-bill-no",
                number,
                "cancel",
            ]:
                return self._api_transfer_cancel(number)
        raise WeChatPayError(404, "NOT_FOUND", f"{method} {path} 不存在")

    def _api_prepay(self, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        for name in (
            "sp_appid",
            "sp_mchid",
            "sub_mchid",
            "description",
            "out_trade_no",
            "notify_url",
        ):
            if not isinstance(body.get(name), str) or not body[name]:
                raise _param_error(name, "缺少参数或类型错误")
        if body["sp_mchid"] != self.sp_mchid or body["sp_appid"] != self.sp_appid:
            raise WeChatPayError(400, "APPID_MCHID_NOT_MATCH", "sp_appid和sp_mchid不匹配")
        if not OUT_NO_PATTERN.match(body["out_trade_no"]):
            raise _param_error("out_trade_no", "只能是6到32位数字、大小写字母_-|*@")
        if len(body["description"].encode()) > 127:
            raise _param_error("description", "长度超过127字节")
        amount = body.get("amount")
        if (
            not isinstance(amount, dict)
            or not isinstance(amount.get("total"), int)
            or amount["total"] <= 0
        ):
            raise _param_error("amount.total", "应为正整数(分)")
        currency = amount.get("currency", "CNY")
        if currency != "CNY":
            raise _param_error("amount.currency", "境内支付仅支持CNY")
        payer = body.get("payer") or {}
        if kind == "jsapi":
            if not (payer.get("sp_openid") or payer.get("sub_openid")):
                raise _param_error("payer", "sp_openid与sub_openid须填一个")
            if payer.get("sub_openid") and not body.get("sub_appid"):
                raise _param_error("sub_appid", "传sub_openid时必填")
        if kind == "h5":
            scene = body.get("scene_info") or {}
            if not scene.get("payer_client_ip") or not (scene.get("h5_info") or {}).get("type"):
                raise _param_error("scene_info", "H5支付须填payer_client_ip与h5_info.type")
        key = (body["sub_mchid"], body["out_trade_no"])
        trade_type = TRADE_TYPE_BY_PATH[kind]
        existing = self._orders.get(key)
        if existing is not None:
            if existing.trade_state in ("SUCCESS", "REFUND"):
                raise WeChatPayError(400, "ORDERPAID", "该订单已支付")
            if existing.trade_state == "CLOSED":
                raise WeChatPayError(400, "ORDER_CLOSED", "订单已关闭")
            same = (
                existing.total == amount["total"]
                and existing.description == body["description"]
                and existing.trade_type == trade_type
            )
            if not same:
                raise WeChatPayError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            return 200, self._prepay_answer(existing)
        now = datetime.now(CHINA)
        order = FakeOrder(
            sub_mchid=body["sub_mchid"],
            out_trade_no=body["out_trade_no"],
            trade_type=trade_type,
            description=body["description"],
            total=amount["total"],
            currency=currency,
            notify_url=body["notify_url"],
            sp_appid=body["sp_appid"],
            sub_appid=body.get("sub_appid"),
            payer={k: v for k, v in payer.items() if k in ("sp_openid", "sub_openid")},
            attach=body.get("attach"),
            created_at=now,
        )
        prepay_id = "wx" + now.strftime("%d%H%M%S") + secrets.token_hex(13)
        order.prepay_id = prepay_id
        if kind == "h5":
            order.h5_url = (
                "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb"
                f"?prepay_id={prepay_id}&package={_digits(10)}"
            )
        if kind == "native":
            order.code_url = "weixin://wxpay/bizpayurl?pr=" + secrets.token_urlsafe(6)[:7]
        self._orders[key] = order
        return 200, self._prepay_answer(order)

    @staticmethod
    def _prepay_answer(order: FakeOrder) -> dict[str, Any]:
        if order.trade_type == "MWEB":
            return {"h5_url": order.h5_url}
        if order.trade_type == "NATIVE":
            return {"code_url": order.code_url}
        return {"prepay_id": order.prepay_id}

    def _api_order(
        self,
        query: dict[str, str],
        *,
        out_trade_no: str | None = None,
        transaction_id: str | None = None,
    ) -> FakeOrder:
        if query.get("sp_mchid") != self.sp_mchid:
            raise _param_error("sp_mchid", "与请求商户号不一致")
        sub_mchid = query.get("sub_mchid", "")
        if not sub_mchid.isdigit():
            raise _param_error("sub_mchid", "格式错误")
        for (sub, number), order in self._orders.items():
            if sub != sub_mchid:
                continue
            if number == out_trade_no or (
                transaction_id is not None and order.transaction_id == transaction_id
            ):
                return order
        raise WeChatPayError(404, "ORDER_NOT_EXIST", "订单不存在")

    def _api_close(self, number: str, body: dict[str, Any]) -> tuple[int, None]:
        if body.get("sp_mchid") != self.sp_mchid:
            raise _param_error("sp_mchid", "与请求商户号不一致")
        order = self._orders.get((str(body.get("sub_mchid", "")), number))
        if order is None:
            raise WeChatPayError(404, "ORDER_NOT_EXIST", "订单不存在")
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise WeChatPayError(400, "ORDERPAID", "该订单已支付")
        order.trade_state = "CLOSED"
        return 204, None

    def _api_refund(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sub_mchid = body.get("sub_mchid")
        out_refund_no = body.get("out_refund_no")
        if not isinstance(sub_mchid, str) or not sub_mchid:
            raise _param_error("sub_mchid", "缺少参数")
        if not isinstance(out_refund_no, str) or not OUT_NO_PATTERN.match(out_refund_no):
            raise _param_error("out_refund_no", "缺少参数或格式错误")
        amount = body.get("amount")
        if not isinstance(amount, dict):
            raise _param_error("amount", "缺少参数")
        refund_fen, total = amount.get("refund"), amount.get("total")
        if not isinstance(refund_fen, int) or not isinstance(total, int) or refund_fen <= 0:
            raise _param_error("amount", "refund与total应为正整数(分)")
        currency = amount.get("currency")
        if currency != "CNY":
            raise _param_error("amount.currency", "境内退款仅支持CNY")
        order = next(
            (
                candidate
                for (sub, number), candidate in self._orders.items()
                if sub == sub_mchid
                and (
                    number == body.get("out_trade_no")
                    or (
                        body.get("transaction_id") is not None
                        and candidate.transaction_id == body.get("transaction_id")
                    )
                )
            ),
            None,
        )
        if order is None or order.transaction_id is None:
            raise WeChatPayError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        mismatch = WeChatPayError(
            400, "INVALID_REQUEST", "订单金额或退款金额与之前请求不一致,请核实后再试"
        )
        existing = self._refunds.get((sub_mchid, out_refund_no))
        if existing is not None:
            if (existing.out_trade_no, existing.refund, existing.total) != (
                order.out_trade_no,
                refund_fen,
                total,
            ):
                raise mismatch
            return 200, self.refund_resource(existing)
        if total != order.total:
            raise mismatch
        refunded = sum(
            refund.refund
            for refund in self._refunds.values()
            if refund.sub_mchid == sub_mchid
            and refund.out_trade_no == order.out_trade_no
            and refund.status != "CLOSED"
        )
        if refunded + refund_fen > order.total:
            raise WeChatPayError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        if self.refund_not_enough:
            raise WeChatPayError(403, "NOT_ENOUGH", "基本账户余额不足,请充值后重新发起")
        now = datetime.now(CHINA)
        refund = FakeRefund(
            sub_mchid=sub_mchid,
            out_refund_no=out_refund_no,
            refund_id="50" + _digits(27),
            out_trade_no=order.out_trade_no,
            transaction_id=order.transaction_id,
            refund=refund_fen,
            total=total,
            currency=currency,
            notify_url=body.get("notify_url"),
            reason=body.get("reason"),
            created_at=now,
        )
        if self.refunds_succeed_immediately:
            refund.status = "SUCCESS"
            refund.success_time = now
        self._refunds[(sub_mchid, out_refund_no)] = refund
        order.trade_state = "REFUND"
        return 200, self.refund_resource(refund)

    def _api_trade_bill(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            bill_date = date.fromisoformat(query.get("bill_date", ""))
        except ValueError as error:
            raise _param_error("bill_date", "格式应为YYYY-MM-DD") from error
        bill_type = query.get("bill_type", "ALL")
        if bill_type not in ("ALL", "SUCCESS", "REFUND"):
            raise _param_error("bill_type", "应为ALL、SUCCESS或REFUND")
        tar_type = query.get("tar_type")
        if tar_type not in (None, "GZIP"):
            raise _param_error("tar_type", "仅支持GZIP")
        if bill_date > datetime.now(CHINA).date():
            raise _param_error("bill_date", "不能晚于今天")
        if self.statement_creating:
            raise WeChatPayError(400, "STATEMENT_CREATING", "账单生成中,请稍后再试")
        sub_mchid = query.get("sub_mchid")
        with self._lock:
            if not self._bill_rows(bill_date, sub_mchid):
                raise WeChatPayError(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        text = self.bill_csv(bill_date, bill_type, sub_mchid).encode()
        token = secrets.token_urlsafe(24)
        self._bill_tokens[token] = gzip.compress(text) if tar_type == "GZIP" else text
        return 200, {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(text, usedforsecurity=False).hexdigest(),
            "download_url": f"{self.base_url}/v3/billdownload/file?token={token}",
        }

    def _api_transfer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        for name in ("out_bill_no", "transfer_scene_id", "openid", "transfer_remark", "appid"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise _param_error(name, "缺少参数")
        amount = body.get("transfer_amount")
        if not isinstance(amount, int) or amount < 10:
            raise _param_error("transfer_amount", "应为不少于10的整数(分)")
        user_name = body.get("user_name")
        if isinstance(user_name, str):
            # Encrypted by the client with the platform public key (RSA-OAEP, SHA-1).
            user_name = self._platform_key.decrypt(
                base64.b64decode(user_name),
                padding.OAEP(
                    mgf=padding.MGF1(algorithm=hashes.SHA1()),  # noqa: S303 (WeChat's scheme)
                    algorithm=hashes.SHA1(),  # noqa: S303 (WeChat's scheme)
                    label=None,
                ),
            ).decode()
        if not OUT_NO_PATTERN.match(body["out_bill_no"]) or not body["out_bill_no"].isalnum():
            raise _param_error("out_bill_no", "只能由数字、大小写字母组成")
        if len(body["transfer_remark"]) > 32:
            raise _param_error("transfer_remark", "最多32个字符")
        if amount >= 200000 and not user_name:
            raise _param_error("user_name", "转账金额>=2000元时必填")
        if body["transfer_scene_id"] == "1005":
            reported = {
                info.get("info_type")
                for info in body.get("transfer_scene_report_infos") or []
                if isinstance(info, dict) and info.get("info_content")
            }
            if not {"岗位类型", "报酬说明"} <= reported:
                raise _param_error(
                    "transfer_scene_report_infos", "佣金报酬场景须报备岗位类型与报酬说明"
                )
        existing = self._transfers.get(body["out_bill_no"])
        if existing is not None:
            if existing.transfer_amount != amount or existing.openid != body["openid"]:
                raise WeChatPayError(400, "INVALID_REQUEST", "商户单号重复,且请求参数与原单不一致")
            return 200, self._transfer_answer(existing)
        if self.transfer_not_enough:
            raise WeChatPayError(403, "NOT_ENOUGH", "商户运营账户资金不足")
        transfer = FakeTransfer(
            out_bill_no=body["out_bill_no"],
            transfer_bill_no="1330000" + _digits(33),
            appid=body["appid"],
            openid=body["openid"],
            transfer_amount=amount,
            transfer_remark=body["transfer_remark"],
            user_name=user_name,
            notify_url=body.get("notify_url"),
            created_at=datetime.now(CHINA),
            state=self.transfer_initial_state,
        )
        self._transfers[transfer.out_bill_no] = transfer
        return 200, self._transfer_answer(transfer)

    def _transfer_answer(self, transfer: FakeTransfer) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "out_bill_no": transfer.out_bill_no,
            "transfer_bill_no": transfer.transfer_bill_no,
            "create_time": _rfc3339(transfer.created_at),
            "state": transfer.state,
        }
        if transfer.state == "WAIT_USER_CONFIRM":
            answer["package_info"] = base64.b64encode(transfer.transfer_bill_no.encode()).decode()
        return answer

    def _api_transfer_cancel(self, number: str) -> tuple[int, dict[str, Any]]:
        transfer = self._transfers.get(number)
        if transfer is None:
            raise WeChatPayError(404, "NOT_FOUND", "转账单不存在")
        if transfer.state not in ("ACCEPTED", "WAIT_USER_CONFIRM", "CANCELING"):
            raise WeChatPayError(400, "INVALID_REQUEST", f"当前状态{transfer.state}不可撤销")
        transfer.state = "CANCELING"
        transfer.update_time = datetime.now(CHINA)
        answer = {
            "out_bill_no": transfer.out_bill_no,
            "transfer_bill_no": transfer.transfer_bill_no,
            "state": transfer.state,
            "update_time": _rfc3339(transfer.update_time),
        }
        if self.transfer_cancel_completes:
            # WeChat answers CANCELING and closes the bill right after.
            transfer.state = "CANCELLED"
        return 200, answer


def parse_bill(text: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Rows and summary of a WeChat bill, backticks stripped (a reference parser for tests)."""
    lines = [line for line in text.lstrip("\ufeff").splitlines() if line]
    summary_at = lines.index(BILL_SUMMARY_HEADER)
    reader = csv.DictReader(io.StringIO("\n".join(lines[:summary_at])))
    rows = [{k: v.removeprefix("`") for k, v in row.items()} for row in reader]
    summary = dict(
        zip(
            BILL_SUMMARY_HEADER.split(","),
            (value.removeprefix("`") for value in lines[summary_at + 1].split(",")),
            strict=True,
        )
    )
    return rows, summary


__all__ = [
    "CHINA",
    "FakeOrder",
    "FakeRefund",
    "FakeTransfer",
    "FakeWeChatPay",
    "Notification",
    "WeChatPayError",
    "parse_bill",
]
