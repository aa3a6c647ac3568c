"""A Stripe API fake on loopback: Connect accounts and links, PaymentIntents, refunds, webhooks.

The real `stripe.StripeClient` talks to it through `base_addresses`; requests are form-encoded
with nested keys, answered with Stripe's JSON objects and error envelopes, and webhooks are
signed exactly as Stripe signs them (`Stripe-Signature: t=…,v1=HMAC-SHA256`).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import http.client
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import stripe

if TYPE_CHECKING:
    # StripeClient's `base_addresses` type; the package exports it under no public name.
    from stripe._base_address import BaseAddresses

JsonObj = dict[str, Any]

API_VERSION = "2026-10-28.endive"
DEFAULT_API_KEY = "sk_test_fake_platform"
DEFAULT_WEBHOOK_SECRET = "whsec_fake_platform"

# Stripe refuses amounts below a per-currency minimum (in minor units); others default to 1.
_MINIMUM_AMOUNT = {
    "usd": 50, "eur": 50, "gbp": 30, "jpy": 50, "hkd": 400, "sgd": 50, "aud": 50, "cad": 50,
    "chf": 50, "nzd": 50, "mxn": 1000, "myr": 200, "thb": 1000, "aed": 200,
}  # fmt: skip
# Stripe has no accounts in mainland China; a merchant there onboards as e.g. HK or SG.
_COUNTRY_CURRENCY = {
    "US": "usd", "CA": "cad", "GB": "gbp", "IE": "eur", "FR": "eur", "DE": "eur", "NL": "eur",
    "ES": "eur", "IT": "eur", "BE": "eur", "AT": "eur", "PT": "eur", "FI": "eur", "CH": "chf",
    "SE": "sek", "NO": "nok", "DK": "dkk", "PL": "pln", "AU": "aud", "NZ": "nzd", "JP": "jpy",
    "SG": "sgd", "HK": "hkd", "MY": "myr", "TH": "thb", "AE": "aed", "MX": "mxn", "BR": "brl",
}  # fmt: skip
_CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
_PI_CREATE_PARAMS = {
    "amount", "currency", "metadata", "automatic_payment_methods", "application_fee_amount",
    "capture_method", "confirm", "customer", "description", "expand", "on_behalf_of",
    "payment_method", "payment_method_types", "receipt_email", "setup_future_usage",
    "shipping", "statement_descriptor", "statement_descriptor_suffix", "transfer_data",
    "transfer_group", "payment_method_options",
}  # fmt: skip
_PI_UPDATE_PARAMS = {
    "amount", "currency", "metadata", "application_fee_amount", "description", "expand",
    "receipt_email", "shipping", "statement_descriptor", "statement_descriptor_suffix",
}  # fmt: skip
_ACCOUNT_PARAMS = {
    "type", "country", "email", "capabilities", "business_type", "business_profile",
    "metadata", "controller", "default_currency", "settings", "tos_acceptance", "company",
    "individual", "external_account", "expand",
}  # fmt: skip
_REFUND_PARAMS = {
    "payment_intent", "charge", "amount", "metadata", "reason", "expand",
    "instructions_email", "origin", "refund_application_fee", "reverse_transfer",
}  # fmt: skip


class StripeApiError(Exception):
    """An error answered as Stripe's `{"error": {...}}` envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: JsonObj = {"error": {"type": kind, "message": message}}
        if code is not None:
            self.body["error"]["code"] = code
            self.body["error"]["doc_url"] = f"https://stripe.com/docs/error-codes/{code}"
        if param is not None:
            self.body["error"]["param"] = param


@dataclass
class ReceivedRequest:
    """One API request as the fake saw it (for assertions on headers and params)."""

    method: str
    path: str
    params: JsonObj
    headers: dict[str, str]
    status: int = 0
    replayed: bool = False

    @property
    def account(self) -> str | None:
        return self.headers.get("stripe-account")

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class Delivery:
    """One webhook POST: what was sent and what the receiver answered (status None: no answer)."""

    event_id: str
    event_type: str
    signature: str
    body: bytes
    status: int | None = None
    response: str = ""
    error: str | None = None


@dataclass
class PendingDeliveries:
    """Deliveries running in a background thread; `wait()` returns them once all are sent."""

    _thread: threading.Thread
    _results: list[Delivery] = field(default_factory=list)

    def wait(self, timeout: float = 30.0) -> list[Delivery]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("webhook deliveries still running")
        return self._results


@dataclass
class _Link:
    account: str
    refresh_url: str
    return_url: str
    expires_at: int
    used: bool = False


@dataclass
class _Idempotent:
    method: str
    path: str
    params: JsonObj
    status: int
    body: JsonObj


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')}"


def decode_params(pairs: Sequence[tuple[str, str]]) -> JsonObj:
    """Stripe's form encoding back to nested dicts: `a[b][c]=v`; `a[0]=v` or `a[]=v` are lists."""
    root: JsonObj = {}
    for key, value in pairs:
        head, bracket, rest = key.partition("[")
        parts = [head, *re.findall(r"\[([^\]]*)\]", bracket + rest)]
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part or str(len(node)), {})
            if not isinstance(child, dict):
                raise StripeApiError(400, f"Invalid hash: {key}", param=head)
            node = child
        node[parts[-1] or str(len(node))] = value
    return _lists(root)  # type: ignore[no-any-return]


def _lists(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _lists(item) for key, item in value.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def _int_param(params: JsonObj, name: str, *, required: bool = False) -> int | None:
    raw = params.get(name)
    if raw is None:
        if required:
            raise StripeApiError(
                400, f"Missing required param: {name}.", code="parameter_missing", param=name
            )
        return None
    if not isinstance(raw, str) or not re.fullmatch(r"-?\d+", raw):
        raise StripeApiError(
            400, f"Invalid integer: {raw}", code="parameter_invalid_integer", param=name
        )
    return int(raw)


def _str_param(params: JsonObj, name: str, *, required: bool = False) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise StripeApiError(
                400, f"Missing required param: {name}.", code="parameter_missing", param=name
            )
        return None
    if not isinstance(raw, str):
        raise StripeApiError(400, f"Invalid string: {raw!r}", param=name)
    return raw


def _check_known(params: JsonObj, allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise StripeApiError(
                400,
                f"Received unknown parameter: {name}",
                code="parameter_unknown",
                param=name,
            )


def _metadata(current: JsonObj, raw: Any) -> JsonObj:
    # Stripe: metadata="" clears it all, metadata[key]="" deletes one key.
    if raw is None:
        return current
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise StripeApiError(400, "Invalid metadata: must be a hash", param="metadata")
    merged = dict(current)
    for key, value in raw.items():
        if not isinstance(value, str):
            raise StripeApiError(400, "Invalid metadata value", param=f"metadata[{key}]")
        if len(key) > 40 or len(value) > 500:
            raise StripeApiError(400, "Metadata key or value too long", param=f"metadata[{key}]")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise StripeApiError(400, "Metadata can have at most 50 keys", param="metadata")
    return merged


def _currency(params: JsonObj) -> str:
    raw = _str_param(params, "currency", required=True) or ""
    if not re.fullmatch(r"[A-Za-z]{3}", raw):
        raise StripeApiError(400, f"Invalid currency: {raw}.", param="currency")
    return raw.lower()


class FakeStripe:
    """Stripe on 127.0.0.1 (port 0), started with `with FakeStripe() as fake:` or `start()`.

    Knobs: `latency_s` (every API answer), `fail_next(n, status)`, `refund_initial_status`,
    `webhook_url` (deliver every new event there automatically, in order, once).
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        *,
        api_version: str = API_VERSION,
    ) -> None:
        self.api_keys = {api_key}
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.api_version = api_version
        self.latency_s = 0.0
        self.refund_initial_status = "pending"
        self.webhook_url: str | None = None
        self.webhook_host: str | None = None
        self.accounts: dict[str, JsonObj] = {}
        self.payment_intents: dict[str, JsonObj] = {}
        self.charges: dict[str, JsonObj] = {}
        self.refunds: dict[str, JsonObj] = {}
        self.events: list[JsonObj] = []
        self.received: list[ReceivedRequest] = []
        self.deliveries: list[Delivery] = []
        self._owner: dict[str, str | None] = {}
        self._links: dict[str, _Link] = {}
        self._idempotent: dict[tuple[str | None, str], _Idempotent] = {}
        self._failures: list[tuple[int, str | None]] = []
        self._lock = threading.RLock()
        self._auto_queue: list[JsonObj] = []
        self._auto_cond = threading.Condition()
        self._auto_busy = False
        self._running = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        # A short poll interval keeps `stop()` (and so each test's teardown) quick.
        serve = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        auto = threading.Thread(target=self._auto_deliver_loop, daemon=True)
        self._running = True
        self._threads = [serve, auto]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        with self._auto_cond:
            self._auto_cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_addresses(self) -> BaseAddresses:
        return {"api": self.url, "connect": self.url, "files": self.url}

    def client(self, api_key: str | None = None, **options: Any) -> stripe.StripeClient:
        """A real StripeClient aimed at this fake (no retries unless `max_network_retries`)."""
        options.setdefault("max_network_retries", 0)
        return stripe.StripeClient(
            api_key or self.api_key, base_addresses=self.base_addresses, **options
        )

    # -- misbehaviour knobs ----------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, *, path: str | None = None) -> None:
        """Answer the next `n` API requests (those under `path`, if given) with `status`."""
        with self._lock:
            self._failures.extend([(status, path)] * n)

    # -- Python API: state changes Stripe would make ---------------------------------------

    def create_account(
        self, *, email: str = "merchant@example.com", country: str = "HK", onboarded: bool = True
    ) -> JsonObj:
        """An Express account made directly (no HTTP), onboarded unless told otherwise."""
        with self._lock:
            account = self._account_new(
                {
                    "type": "express",
                    "country": country,
                    "email": email,
                    "capabilities": {
                        "card_payments": {"requested": "true"},
                        "transfers": {"requested": "true"},
                    },
                }
            )
        if onboarded:
            self.complete_onboarding(account["id"])
        return copy.deepcopy(self.accounts[account["id"]])

    def complete_onboarding(self, account_id: str) -> JsonObj:
        """The merchant finished Stripe's onboarding: charges and payouts enabled."""
        with self._lock:
            account = self._get(self.accounts, account_id, "account")
            previous = {
                key: copy.deepcopy(account[key])
                for key in ("charges_enabled", "payouts_enabled", "details_submitted")
            }
            previous["capabilities"] = copy.deepcopy(account["capabilities"])
            account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
            account["capabilities"] = dict.fromkeys(account["capabilities"], "active")
            account["requirements"].update(
                currently_due=[], eventually_due=[], past_due=[], disabled_reason=None
            )
            event = self._emit("account.updated", account, account_id, previous)
        self._wait_auto()
        return event

    def payment_succeed(self, pi_id: str) -> JsonObj:
        """The shopper paid: a charge, status succeeded. Returns payment_intent.succeeded."""
        with self._lock:
            intent = self._get(self.payment_intents, pi_id, "payment_intent")
            if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
                raise ValueError(f"{pi_id} is {intent['status']}; it cannot succeed")
            account = self._owner[pi_id]
            charge = self._charge_new(intent, account)
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                latest_charge=charge["id"],
                payment_method=_new_id("pm"),
                last_payment_error=None,
            )
            self._emit("charge.succeeded", charge, account)
            event = self._emit("payment_intent.succeeded", intent, account)
        self._wait_auto()
        return event

    def payment_fail(self, pi_id: str) -> JsonObj:
        """The card was declined. Returns payment_intent.payment_failed."""
        with self._lock:
            intent = self._get(self.payment_intents, pi_id, "payment_intent")
            if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
                raise ValueError(f"{pi_id} is {intent['status']}; it cannot fail")
            account = self._owner[pi_id]
            charge = self._charge_new(intent, account, failed=True)
            intent.update(
                status="requires_payment_method",
                latest_charge=charge["id"],
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                    "charge": charge["id"],
                },
            )
            self._emit("charge.failed", charge, account)
            event = self._emit("payment_intent.payment_failed", intent, account)
        self._wait_auto()
        return event

    def refund_succeed(self, re_id: str) -> JsonObj:
        """A pending refund went through. Returns refund.updated."""
        return self._refund_settle(re_id, "succeeded")

    def refund_fail(self, re_id: str) -> JsonObj:
        """A pending refund failed; its amount is refundable again. Returns refund.failed."""
        return self._refund_settle(re_id, "failed")

    def make_event(
        self,
        event_type: str,
        data_object: Mapping[str, Any],
        *,
        account: str | None = None,
        previous_attributes: Mapping[str, Any] | None = None,
    ) -> JsonObj:
        """Record an event around any object (for example one with a forged amount)."""
        with self._lock:
            event = self._emit(event_type, data_object, account, previous_attributes)
        self._wait_auto()
        return event

    def events_of(self, event_type: str, *, account: str | None = None) -> list[JsonObj]:
        return [
            event
            for event in self.events
            if event["type"] == event_type and (account is None or event.get("account") == account)
        ]

    # -- webhooks --------------------------------------------------------------------------

    def sign(self, payload: str, *, timestamp: int | None = None, secret: str | None = None) -> str:
        """The Stripe-Signature header for `payload` (what the SDK's helper computes)."""
        stamp = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(
            (secret or self.webhook_secret).encode(),
            f"{stamp}.{payload}".encode(),
            hashlib.sha256,
        )
        return f"t={stamp},v1={mac.hexdigest()}"

    def deliver(
        self,
        url: str,
        events: JsonObj | Sequence[JsonObj],
        *,
        duplicates: int | tuple[int, int] = 1,
        shuffle: bool = False,
        concurrent: bool = False,
        delay_s: float = 0.0,
        tampered: bool = False,
        stale_by_s: int = 0,
        secret: str | None = None,
        host: str | None = None,
        seed: int | None = None,
        timeout_s: float = 10.0,
    ) -> list[Delivery]:
        """POST events to `url` as Stripe does; returns each attempt in the order sent.

        `duplicates`: attempts per event (or a (min, max) range drawn per event); `shuffle`
        mixes all attempts; `concurrent` sends them all at once; `delay_s` waits first;
        `tampered` alters the body after signing; `stale_by_s` back-dates the signature;
        `secret` signs with another secret (a forgery); `host` sets the Host header.
        """
        chooser = random.Random(seed)
        batch = [events] if isinstance(events, Mapping) else list(events)
        attempts: list[JsonObj] = []
        for event in batch:
            count = duplicates if isinstance(duplicates, int) else chooser.randint(*duplicates)
            attempts.extend([event] * count)
        if shuffle:
            chooser.shuffle(attempts)
        if delay_s:
            time.sleep(delay_s)

        def send(event: JsonObj) -> Delivery:
            return self._post_event(
                url,
                event,
                tampered=tampered,
                stale_by_s=stale_by_s,
                secret=secret,
                host=host,
                timeout_s=timeout_s,
            )

        if not concurrent:
            results = [send(event) for event in attempts]
        else:
            slots: list[Delivery | None] = [None] * len(attempts)
            start = threading.Barrier(len(attempts)) if attempts else None

            def run(index: int, event: JsonObj) -> None:
                if start is not None:
                    start.wait(timeout=timeout_s)
                slots[index] = send(event)

            workers = [
                threading.Thread(target=run, args=(index, event), daemon=True)
                for index, event in enumerate(attempts)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout_s * 2)
            results = [slot for slot in slots if slot is not None]
        with self._lock:
            self.deliveries.extend(results)
        return results

    def deliver_in_background(
        self, url: str, events: JsonObj | Sequence[JsonObj], **options: Any
    ) -> PendingDeliveries:
        """`deliver` in a thread (for a late notification racing the test's own actions)."""
        pending: PendingDeliveries

        def run() -> None:
            pending._results.extend(self.deliver(url, events, **options))

        pending = PendingDeliveries(threading.Thread(target=run, daemon=True))
        pending._thread.start()
        return pending

    def _post_event(
        self,
        url: str,
        event: JsonObj,
        *,
        tampered: bool,
        stale_by_s: int,
        secret: str | None,
        host: str | None,
        timeout_s: float,
    ) -> Delivery:
        payload = json.dumps(event, indent=2, ensure_ascii=False)
        # Each attempt is signed afresh, as Stripe's retries are.
        signature = self.sign(payload, timestamp=int(time.time()) - stale_by_s, secret=secret)
        if tampered:
            payload = json.dumps(_tamper(event), indent=2, ensure_ascii=False)
        body = payload.encode()
        delivery = Delivery(event["id"], event["type"], signature, body)
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout_s
        )
        try:
            connection.putrequest(
                "POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                skip_host=True,
            )  # fmt: skip
            connection.putheader("Host", host or parts.netloc)
            connection.putheader("Content-Type", "application/json; charset=utf-8")
            connection.putheader("Content-Length", str(len(body)))
            connection.putheader("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
            connection.putheader("Stripe-Signature", signature)
            connection.endheaders(body)
            response = connection.getresponse()
            delivery.status = response.status
            delivery.response = response.read().decode(errors="replace")
        except OSError as error:
            delivery.error = repr(error)
        finally:
            connection.close()
        return delivery

    def wait_webhooks(self, timeout: float = 10.0) -> None:
        """Block until automatic deliveries (to `webhook_url`) have all been sent."""
        self._wait_auto(timeout)

    def _wait_auto(self, timeout: float = 10.0) -> None:
        if self.webhook_url is None:
            return
        deadline = time.monotonic() + timeout
        with self._auto_cond:
            while self._auto_queue or self._auto_busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("automatic webhook deliveries still pending")
                self._auto_cond.wait(remaining)

    def _auto_deliver_loop(self) -> None:
        while True:
            with self._auto_cond:
                while self._running and not self._auto_queue:
                    self._auto_cond.wait()
                if not self._running:
                    return
                event = self._auto_queue.pop(0)
                self._auto_busy = True
            url = self.webhook_url
            if url is not None:
                self.deliver(url, event, host=self.webhook_host)
            with self._auto_cond:
                self._auto_busy = False
                self._auto_cond.notify_all()

    # -- internals: objects ----------------------------------------------------------------

    def _emit(
        self,
        event_type: str,
        data_object: Mapping[str, Any],
        account: str | None,
        previous_attributes: Mapping[str, Any] | None = None,
        request: JsonObj | None = None,
    ) -> JsonObj:
        data: JsonObj = {"object": copy.deepcopy(dict(data_object))}
        if previous_attributes is not None:
            data["previous_attributes"] = copy.deepcopy(dict(previous_attributes))
        event: JsonObj = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": self.api_version,
            "created": int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": request or {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        if account is not None:
            event["account"] = account
        self.events.append(event)
        self._owner[event["id"]] = account
        if self.webhook_url is not None:
            with self._auto_cond:
                self._auto_queue.append(copy.deepcopy(event))
                self._auto_cond.notify_all()
        return copy.deepcopy(event)

    def _get(self, store: dict[str, JsonObj], object_id: str, kind: str) -> JsonObj:
        found = store.get(object_id)
        if found is None:
            raise StripeApiError(
                404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id"
            )
        return found

    def _owned(
        self, store: dict[str, JsonObj], object_id: str, kind: str, account: str | None
    ) -> JsonObj:
        # An object made on a connected account is invisible without that Stripe-Account.
        if object_id not in store or self._owner.get(object_id) != account:
            raise StripeApiError(
                404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id"
            )
        return store[object_id]

    def _account_new(self, params: JsonObj) -> JsonObj:
        _check_known(params, _ACCOUNT_PARAMS)
        kind = params.get("type") or "express"
        if kind not in ("express", "standard", "custom"):
            raise StripeApiError(400, f"Invalid type: {kind}", param="type")
        country = (params.get("country") or "US").upper()
        if country not in _COUNTRY_CURRENCY:
            raise StripeApiError(
                400,
                f"Connected accounts cannot be created in {country}: Stripe does not support it.",
                param="country",
            )
        requested = params.get("capabilities") or {}
        if not isinstance(requested, dict):
            raise StripeApiError(400, "Invalid capabilities", param="capabilities")
        if kind == "custom" and not requested:
            raise StripeApiError(
                400, "Custom accounts need capabilities requested.", param="capabilities"
            )
        account_id = _new_id("acct")
        account: JsonObj = {
            "id": account_id,
            "object": "account",
            "type": kind,
            "country": country,
            "email": params.get("email"),
            "business_type": params.get("business_type"),
            "business_profile": params.get("business_profile") or {},
            "capabilities": dict.fromkeys(requested, "inactive"),
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "controller": {
                "type": "application",
                "is_controller": True,
                "requirement_collection": "stripe",
                "stripe_dashboard": {"type": kind if kind != "custom" else "none"},
            },
            "created": int(time.time()),
            "default_currency": params.get("default_currency") or _COUNTRY_CURRENCY[country],
            "metadata": _metadata({}, params.get("metadata")),
            "requirements": {
                "currently_due": ["business_type", "external_account", "tos_acceptance.date"],
                "eventually_due": ["business_type", "external_account", "tos_acceptance.date"],
                "past_due": [],
                "disabled_reason": "requirements.past_due",
            },
            "settings": {"payments": {"statement_descriptor": None}},
        }
        self.accounts[account_id] = account
        self._owner[account_id] = None
        return account

    def _charge_new(self, intent: JsonObj, account: str | None, *, failed: bool = False) -> JsonObj:
        charge: JsonObj = {
            "id": _new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": 0 if failed else intent["amount"],
            "amount_refunded": 0,
            "application_fee_amount": intent.get("application_fee_amount"),
            "balance_transaction": None if failed else _new_id("txn"),
            "captured": not failed,
            "created": int(time.time()),
            "currency": intent["currency"],
            "failure_code": "card_declined" if failed else None,
            "failure_message": "Your card was declined." if failed else None,
            "livemode": False,
            "metadata": dict(intent["metadata"]),
            "paid": not failed,
            "payment_intent": intent["id"],
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
            "refunded": False,
            "status": "failed" if failed else "succeeded",
        }
        self.charges[charge["id"]] = charge
        self._owner[charge["id"]] = account
        return charge

    def _refund_settle(self, re_id: str, status: str) -> JsonObj:
        with self._lock:
            refund = self._get(self.refunds, re_id, "refund")
            if refund["status"] != "pending":
                raise ValueError(f"{re_id} is {refund['status']}, not pending")
            account = self._owner[re_id]
            charge = self.charges[refund["charge"]]
            refund["status"] = status
            if status == "failed":
                refund["failure_reason"] = "expired_or_canceled_card"
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
            previous = {"status": "pending"}
            event = self._emit("refund.updated", refund, account, previous)
            if status == "failed":
                event = self._emit("refund.failed", refund, account, previous)
            self._emit("charge.refund.updated", refund, account, previous)
        self._wait_auto()
        return event

    def _expand(self, obj: JsonObj, params: JsonObj) -> JsonObj:
        fields = params.get("expand") or []
        result = copy.deepcopy(obj)
        for name in fields if isinstance(fields, list) else [fields]:
            value = result.get(name)
            for store in (self.charges, self.payment_intents, self.refunds, self.accounts):
                if isinstance(value, str) and value in store:
                    result[name] = copy.deepcopy(store[value])
        return result

    # -- internals: HTTP -------------------------------------------------------------------

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, JsonObj, dict[str, str]]:
        parts = urlsplit(raw_path)
        path = parts.path
        pairs = parse_qsl(
            body.decode() if method == "POST" else parts.query, keep_blank_values=True
        )
        record = ReceivedRequest(method, path, {}, headers)
        reply_headers = {"Request-Id": _new_id("req"), "Stripe-Version": self.api_version}
        if self.latency_s:
            time.sleep(self.latency_s)
        with self._lock:
            self.received.append(record)
            try:
                status, obj = self._dispatch(method, path, pairs, headers, record, reply_headers)
            except StripeApiError as error:
                status, obj = error.status, error.body
            record.status = status
        if record.idempotency_key:
            reply_headers["Idempotency-Key"] = record.idempotency_key
        if record.replayed:
            reply_headers["Idempotent-Replayed"] = "true"
        return status, obj, reply_headers

    def _dispatch(
        self,
        method: str,
        path: str,
        pairs: list[tuple[str, str]],
        headers: dict[str, str],
        record: ReceivedRequest,
        reply_headers: dict[str, str],
    ) -> tuple[int, JsonObj]:
        params = decode_params(pairs)
        record.params = params
        for index, (status, prefix) in enumerate(self._failures):
            if prefix is None or path.startswith(prefix):
                del self._failures[index]
                raise _injected_failure(status)
        self._authenticate(headers.get("authorization", ""))
        account = headers.get("stripe-account") or None
        if account is not None and account not in self.accounts:
            raise StripeApiError(
                403,
                f"The provided key does not have access to account '{account}' (or that "
                "account does not exist). Application access may have been revoked.",
                code="account_invalid",
            )
        route, args = _route(method, path)
        if route is None:
            raise StripeApiError(
                404,
                f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
                "or we can help at https://support.stripe.com/.",
            )
        key = headers.get("idempotency-key")
        if method != "POST" or not key:
            return 200, route(self, params, account, args, reply_headers)
        scope = (account, key)
        previous = self._idempotent.get(scope)
        if previous is not None:
            if (previous.method, previous.path, previous.params) != (method, path, params):
                raise StripeApiError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with. Try using a key other than '{key}' if you "
                    "meant to execute a different request.",
                    kind="idempotency_error",
                )
            record.replayed = True
            return previous.status, copy.deepcopy(previous.body)
        reply_headers["_idempotency_key"] = key
        obj = route(self, params, account, args, reply_headers)
        # Only requests that ran are remembered; one that failed validation may be retried.
        self._idempotent[scope] = _Idempotent(method, path, params, 200, copy.deepcopy(obj))
        return 200, obj

    def _authenticate(self, authorization: str) -> None:
        scheme, _, credential = authorization.partition(" ")
        key = credential.strip()
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(key).decode().partition(":")[0]
            except ValueError:
                key = ""
        if not key:
            raise StripeApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
            )
        if key not in self.api_keys:
            raise StripeApiError(401, f"Invalid API Key provided: {key[:8]}****{key[-4:]}")

    def _request_info(self, reply_headers: dict[str, str]) -> JsonObj:
        return {
            "id": reply_headers["Request-Id"],
            "idempotency_key": reply_headers.get("_idempotency_key"),
        }

    # Route handlers: (params, Stripe-Account, path args, reply headers) -> object.

    def _post_accounts(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        if account is not None:
            raise StripeApiError(400, "Connected accounts cannot create accounts.")
        return copy.deepcopy(self._account_new(params))

    def _get_account(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        target = args[0] if args else account
        if target is None:
            return {"id": "acct_platform", "object": "account", "charges_enabled": True}
        if account is not None and target != account:
            raise StripeApiError(404, f"No such account: '{target}'", code="resource_missing")
        return self._expand(self._get(self.accounts, target, "account"), params)

    def _post_account(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        _check_known(params, {"email", "metadata", "business_profile", "settings", "expand"})
        target = self._get(self.accounts, args[0], "account")
        previous = {name: copy.deepcopy(target.get(name)) for name in params if name != "expand"}
        for name in ("email", "business_profile", "settings"):
            if name in params:
                target[name] = params[name]
        target["metadata"] = _metadata(target["metadata"], params.get("metadata"))
        self._emit("account.updated", target, target["id"], previous, self._request_info(rh))
        return copy.deepcopy(target)

    def _post_account_links(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        _check_known(
            params,
            {"account", "refresh_url", "return_url", "type", "collect", "collection_options"},
        )
        account_id = _str_param(params, "account", required=True) or ""
        link_type = _str_param(params, "type", required=True)
        if link_type not in ("account_onboarding", "account_update"):
            raise StripeApiError(400, f"Invalid type: {link_type}", param="type")
        refresh_url = _str_param(params, "refresh_url", required=True) or ""
        return_url = _str_param(params, "return_url", required=True) or ""
        for name, value in (("refresh_url", refresh_url), ("return_url", return_url)):
            if not value.startswith(("http://", "https://")):
                raise StripeApiError(400, f"Not a valid URL: {value}", param=name)
        target = self._get(self.accounts, account_id, "account")
        if link_type == "account_update" and target["type"] == "express":
            raise StripeApiError(
                400, "You cannot create `account_update` type Account Links for Express accounts."
            )
        token = secrets.token_urlsafe(16)
        created = int(time.time())
        self._links[token] = _Link(account_id, refresh_url, return_url, created + 300)
        return {
            "object": "account_link",
            "created": created,
            "expires_at": created + 300,
            "url": f"{self.url}/setup/e/{account_id}/{token}",
        }

    def _post_payment_intents(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        _check_known(params, _PI_CREATE_PARAMS)
        amount = _int_param(params, "amount", required=True) or 0
        currency = _currency(params)
        minimum = _MINIMUM_AMOUNT.get(currency, 1)
        if amount < minimum:
            raise StripeApiError(
                400,
                f"Amount must be at least {minimum} {currency} (in the smallest currency unit).",
                code="amount_too_small",
                param="amount",
            )
        fee = _int_param(params, "application_fee_amount")
        if fee is not None:
            if account is None and not params.get("transfer_data"):
                raise StripeApiError(
                    400,
                    "Can only apply an application_fee_amount when the PaymentIntent is "
                    "attempting a direct payment (using an OAuth key or Stripe-Account header) "
                    "or destination payment (using `transfer_data[destination]`).",
                    param="application_fee_amount",
                )
            if not 0 <= fee <= amount:
                raise StripeApiError(
                    400,
                    "The application fee amount must not exceed the amount.",
                    param="application_fee_amount",
                )
        if account is not None and not self.accounts[account]["charges_enabled"]:
            raise StripeApiError(
                400,
                "No valid payment method types for this Payment Intent: the account "
                f"{account} cannot accept payments yet (charges_enabled is false).",
            )
        automatic = params.get("automatic_payment_methods") or {}
        methods = params.get("payment_method_types") or ["card"]
        intent_id = _new_id("pi")
        intent: JsonObj = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "application_fee_amount": fee,
            "automatic_payment_methods": (
                {"enabled": True, "allow_redirects": "always"}
                if isinstance(automatic, dict) and automatic.get("enabled") == "true"
                else None
            ),
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": params.get("capture_method") or "automatic_async",
            "client_secret": f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency,
            "customer": params.get("customer"),
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": _metadata({}, params.get("metadata")),
            "next_action": None,
            "on_behalf_of": params.get("on_behalf_of"),
            "payment_method": None,
            "payment_method_types": methods,
            "receipt_email": params.get("receipt_email"),
            "status": "requires_payment_method",
            "transfer_data": params.get("transfer_data"),
        }
        self.payment_intents[intent_id] = intent
        self._owner[intent_id] = account
        self._emit("payment_intent.created", intent, account, None, self._request_info(rh))
        return self._expand(intent, params)

    def _get_payment_intent(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        intent = self._owned(self.payment_intents, args[0], "payment_intent", account)
        return self._expand(intent, params)

    def _post_payment_intent(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        _check_known(params, _PI_UPDATE_PARAMS)
        intent = self._owned(self.payment_intents, args[0], "payment_intent", account)
        if intent["status"] in ("succeeded", "canceled") and set(params) - {"metadata", "expand"}:
            raise StripeApiError(
                400,
                f"This PaymentIntent's amount could not be updated because it has a status of "
                f"{intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        amount = _int_param(params, "amount")
        if amount is not None:
            intent["amount"] = amount
        if "currency" in params:
            intent["currency"] = _currency(params)
        for name in ("description", "receipt_email"):
            if name in params:
                intent[name] = params[name] or None
        fee = _int_param(params, "application_fee_amount")
        if fee is not None:
            intent["application_fee_amount"] = fee
        intent["metadata"] = _metadata(intent["metadata"], params.get("metadata"))
        return self._expand(intent, params)

    def _cancel_payment_intent(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        _check_known(params, {"cancellation_reason", "expand"})
        intent = self._owned(self.payment_intents, args[0], "payment_intent", account)
        if intent["status"] not in _CANCELABLE:
            raise StripeApiError(
                400,
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                f"may be canceled: {', '.join(_CANCELABLE)}.",
                code="payment_intent_unexpected_state",
            )
        reason = params.get("cancellation_reason") or None
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer", "abandoned"):
            raise StripeApiError(400, f"Invalid cancellation_reason: {reason}", param="reason")
        intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason=reason)
        self._emit("payment_intent.canceled", intent, account, None, self._request_info(rh))
        return self._expand(intent, params)

    def _post_refunds(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        _check_known(params, _REFUND_PARAMS)
        intent_id = _str_param(params, "payment_intent")
        charge_id = _str_param(params, "charge")
        if intent_id is None and charge_id is None:
            raise StripeApiError(
                400,
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        if intent_id is not None:
            intent = self._owned(self.payment_intents, intent_id, "payment_intent", account)
            if intent["status"] != "succeeded":
                raise StripeApiError(
                    400,
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to "
                    "refund.",
                    param="payment_intent",
                )
            charge_id = intent["latest_charge"]
        charge = self._owned(self.charges, charge_id or "", "charge", account)
        if charge["status"] != "succeeded":
            raise StripeApiError(400, f"Charge {charge['id']} has not succeeded.", param="charge")
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise StripeApiError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = _int_param(params, "amount")
        if amount is None:
            amount = remaining
        if amount <= 0:
            raise StripeApiError(
                400, "Invalid positive integer", code="parameter_invalid_integer", param="amount"
            )
        if amount > remaining:
            raise StripeApiError(
                400,
                f"Refund amount ({amount} {charge['currency']}) is greater than unrefunded "
                f"amount on charge ({remaining} {charge['currency']})",
                code="amount_too_large",
                param="amount",
            )
        reason = params.get("reason") or None
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise StripeApiError(400, f"Invalid reason: {reason}", param="reason")
        refund: JsonObj = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": _new_id("txn"),
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "failure_reason": None,
            "metadata": _metadata({}, params.get("metadata")),
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "status": self.refund_initial_status,
        }
        self.refunds[refund["id"]] = refund
        self._owner[refund["id"]] = account
        # A pending refund already counts against the charge, as on Stripe.
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        info = self._request_info(rh)
        self._emit("refund.created", refund, account, None, info)
        self._emit("charge.refunded", charge, account, previous, info)
        return self._expand(refund, params)

    def _get_refund(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        return self._expand(self._owned(self.refunds, args[0], "refund", account), params)

    def _list_refunds(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        intent_id = params.get("payment_intent")
        charge_id = params.get("charge")
        created = _created_range(params)
        items = [
            refund
            for refund in self.refunds.values()
            if self._owner[refund["id"]] == account
            and intent_id in (None, refund["payment_intent"])
            and charge_id in (None, refund["charge"])
            and created(refund)
        ]
        return _page(items, params, "/v1/refunds")

    def _list_payment_intents(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        created = _created_range(params)
        items = [
            intent
            for intent in self.payment_intents.values()
            if self._owner[intent["id"]] == account and created(intent)
        ]
        return _page(items, params, "/v1/payment_intents")

    def _list_charges(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        intent_id = params.get("payment_intent")
        created = _created_range(params)
        items = [
            charge
            for charge in self.charges.values()
            if self._owner[charge["id"]] == account
            and intent_id in (None, charge["payment_intent"])
            and created(charge)
        ]
        return _page(items, params, "/v1/charges")

    def _get_charge(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        return self._expand(self._owned(self.charges, args[0], "charge", account), params)

    def _get_event(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        for event in self.events:
            if event["id"] == args[0] and event.get("account") == account:
                return copy.deepcopy(event)
        raise StripeApiError(404, f"No such event: '{args[0]}'", code="resource_missing")

    def _list_events(
        self, params: JsonObj, account: str | None, args: Sequence[str], rh: dict[str, str]
    ) -> JsonObj:
        wanted = params.get("type")
        items = [
            event
            for event in self.events
            if event.get("account") == account and wanted in (None, event["type"])
        ]
        return _page(items, params, "/v1/events")

    # Stripe's hosted onboarding page, so that a browser test can walk the link.
    def onboarding_page(self, method: str, account_id: str, token: str) -> tuple[int, str, str]:
        """(status, location, html) for the account link's page."""
        with self._lock:
            link = self._links.get(token)
            if link is None or link.account != account_id:
                return 404, "", "<h1>Link not found</h1>"
            if link.used or link.expires_at < time.time():
                return 302, link.refresh_url, ""
            if method == "GET":
                page = (
                    f"<html><body><h1>Stripe onboarding for {html.escape(account_id)}</h1>"
                    '<form method="post"><button type="submit">Agree and submit</button></form>'
                    "</body></html>"
                )
                return 200, "", page
            link.used = True
        self.complete_onboarding(account_id)
        return 303, link.return_url, ""


def _tamper(event: JsonObj) -> JsonObj:
    altered = copy.deepcopy(event)
    obj = altered["data"]["object"]
    if isinstance(obj.get("amount"), int):
        obj["amount"] += 100
        if isinstance(obj.get("amount_received"), int):
            obj["amount_received"] += 100
    else:
        obj["metadata"] = {**obj.get("metadata", {}), "tampered": "true"}
    return altered


def _created_range(params: JsonObj) -> Callable[[JsonObj], bool]:
    """Stripe's `created` list filter: an exact time, or a range of gt / gte / lt / lte."""
    raw = params.get("created")
    if raw is None:
        return lambda obj: True
    if not isinstance(raw, dict):
        moment = _int_param(params, "created")
        return lambda obj: obj["created"] == moment
    unknown = set(raw) - {"gt", "gte", "lt", "lte"}
    if unknown:
        raise StripeApiError(
            400, f"Received unknown parameter: created[{sorted(unknown)[0]}]", param="created"
        )
    bounds = {name: _int_param(raw, name, required=True) or 0 for name in raw}
    tests: dict[str, Callable[[int, int], bool]] = {
        "gt": lambda at, bound: at > bound,
        "gte": lambda at, bound: at >= bound,
        "lt": lambda at, bound: at < bound,
        "lte": lambda at, bound: at <= bound,
    }
    return lambda obj: all(tests[name](obj["created"], bound) for name, bound in bounds.items())


def _page(items: list[JsonObj], params: JsonObj, url: str) -> JsonObj:
    newest_first = list(reversed(items))
    after = params.get("starting_after")
    if after is not None:
        ids = [item["id"] for item in newest_first]
        newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
    limit = _int_param(params, "limit") or 10
    if not 1 <= limit <= 100:
        raise StripeApiError(400, "Invalid limit: must be between 1 and 100.", param="limit")
    return {
        "object": "list",
        "data": copy.deepcopy(newest_first[:limit]),
        "has_more": len(newest_first) > limit,
        "url": url,
    }


def _injected_failure(status: int) -> StripeApiError:
    if status == 429:
        return StripeApiError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        )
    if status == 409:
        return StripeApiError(
            409,
            "This object cannot be accessed right now because another API request or Stripe "
            "process is currently accessing it.",
            code="lock_timeout",
        )
    return StripeApiError(
        status,
        "An unknown error occurred while processing your request.",
        kind="api_error",
    )


_Route = Callable[[FakeStripe, JsonObj, str | None, Sequence[str], dict[str, str]], JsonObj]
_ID = r"([A-Za-z0-9_]+)"
_ROUTES: list[tuple[str, re.Pattern[str], _Route]] = [
    ("POST", re.compile(r"/v1/accounts"), FakeStripe._post_accounts),
    ("GET", re.compile(r"/v1/account"), FakeStripe._get_account),
    ("GET", re.compile(rf"/v1/accounts/{_ID}"), FakeStripe._get_account),
    ("POST", re.compile(rf"/v1/accounts/{_ID}"), FakeStripe._post_account),
    ("POST", re.compile(r"/v1/account_links"), FakeStripe._post_account_links),
    ("POST", re.compile(r"/v1/payment_intents"), FakeStripe._post_payment_intents),
    ("GET", re.compile(r"/v1/payment_intents"), FakeStripe._list_payment_intents),
    ("GET", re.compile(rf"/v1/payment_intents/{_ID}"), FakeStripe._get_payment_intent),
    ("POST", re.compile(rf"/v1/payment_intents/{_ID}"), FakeStripe._post_payment_intent),
    ("POST", re.compile(rf"/v1/payment_intents/{_ID}/cancel"), FakeStripe._cancel_payment_intent),
    ("POST", re.compile(r"/v1/refunds"), FakeStripe._post_refunds),
    ("GET", re.compile(r"/v1/refunds"), FakeStripe._list_refunds),
    ("GET", re.compile(rf"/v1/refunds/{_ID}"), FakeStripe._get_refund),
    ("GET", re.compile(r"/v1/charges"), FakeStripe._list_charges),
    ("GET", re.compile(rf"/v1/charges/{_ID}"), FakeStripe._get_charge),
    ("GET", re.compile(r"/v1/events"), FakeStripe._list_events),
    ("GET", re.compile(rf"/v1/events/{_ID}"), FakeStripe._get_event),
]


def _route(method: str, path: str) -> tuple[_Route | None, Sequence[str]]:
    for verb, pattern, handler in _ROUTES:
        match = pattern.fullmatch(path)
        if verb == method and match is not None:
            return handler, match.groups()
    return None, ()


_ONBOARDING = re.compile(rf"/setup/e/{_ID}/([A-Za-z0-9_-]+)")


def _handler_for(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test output is for the tests."""

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            page = _ONBOARDING.fullmatch(urlsplit(self.path).path)
            if page is not None:
                status, location, text = fake.onboarding_page(method, *page.groups())
                self._send(status, text.encode(), "text/html; charset=utf-8", location)
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, obj, extra = fake._handle(method, self.path, headers, body)
            extra.pop("_idempotency_key", None)
            payload = json.dumps(obj, indent=2, ensure_ascii=False).encode()
            self._send(status, payload, "application/json", "", extra)

        def _send(
            self,
            status: int,
            payload: bytes,
            content_type: str,
            location: str,
            extra: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            if location:
                self.send_header("Location", location)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
