"""The fake WeChat Pay v3 server, driven by the real `wechatpayv3` client."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from wechatpayv3 import WeChatPayType
from wechatpayv3.utils import load_private_key, rsa_sign

from tests.fakes.wechatpay import CHINA, FakeWeChatPay, Notification, parse_bill

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.fixture
def fake() -> Iterator[FakeWeChatPay]:
    with FakeWeChatPay() as server:
        yield server
    assert server.errors == []


@pytest.fixture
def client(fake: FakeWeChatPay) -> Any:
    return fake.client(WeChatPayType.JSAPI)


def _jsapi_order(client: Any, fake: FakeWeChatPay, out_trade_no: str, total: int = 1999) -> str:
    code, text = client.pay(
        description="Lily 连衣裙",
        out_trade_no=out_trade_no,
        amount={"total": total, "currency": "CNY"},
        payer={"sp_openid": OPENID},
        sub_mchid=fake.sub_mchid,
    )
    assert code == 200, text
    prepay_id: str = json.loads(text)["prepay_id"]
    return prepay_id


def _paid_order(client: Any, fake: FakeWeChatPay, out_trade_no: str, total: int = 1999) -> None:
    _jsapi_order(client, fake, out_trade_no, total)
    fake.pay_succeed(out_trade_no)


class _Inbox(ThreadingHTTPServer):
    """A notify URL that records what it receives and answers as our endpoint would."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _InboxHandler)
        self.received: list[tuple[dict[str, str], str]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}/pay/wechat/notify"


class _InboxHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        assert isinstance(self.server, _Inbox)
        self.server.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def inbox() -> Iterator[_Inbox]:
    server = _Inbox()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# -- placing orders -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [WeChatPayType.JSAPI, WeChatPayType.MINIPROG])
def test_jsapi_pay_returns_prepay_id_the_client_signs_for_the_cashier(
    fake: FakeWeChatPay, kind: WeChatPayType
) -> None:
    # given
    client = fake.client(kind)
    # when
    prepay_id = _jsapi_order(client, fake, "SO20260101000001")
    timestamp, nonce, package = str(int(time.time())), "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", ""
    package = f"prepay_id={prepay_id}"
    pay_sign = client.sign([fake.sp_appid, timestamp, nonce, package])
    # then
    assert prepay_id.startswith("wx")
    assert fake.verify_pay_sign(fake.sp_appid, timestamp, nonce, package, pay_sign)
    assert not fake.verify_pay_sign(fake.sp_appid, timestamp, nonce, "prepay_id=other", pay_sign)
    order = fake.order("SO20260101000001")
    assert (order.trade_state, order.total, order.trade_type) == ("NOTPAY", 1999, "JSAPI")
    assert order.payer == {"sp_openid": OPENID}
    method, path, body = fake.calls[-1]
    assert (method, path) == ("POST", "/v3/pay/partner/transactions/jsapi")
    assert (body["sp_mchid"], body["sub_mchid"]) == (fake.sp_mchid, fake.sub_mchid)


def test_h5_pay_returns_h5_url(fake: FakeWeChatPay) -> None:
    # given
    client = fake.client(WeChatPayType.H5)
    # when
    code, text = client.pay(
        description="Lily 连衣裙",
        out_trade_no="SO20260101000002",
        amount={"total": 500, "currency": "CNY"},
        scene_info={"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}},
        sub_mchid=fake.sub_mchid,
    )
    # then
    assert code == 200
    assert json.loads(text)["h5_url"].startswith(
        "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx"
    )
    assert fake.order("SO20260101000002").trade_type == "MWEB"


def test_h5_pay_without_h5_info_is_a_param_error_and_creates_nothing(fake: FakeWeChatPay) -> None:
    # given
    client = fake.client(WeChatPayType.H5)
    # when
    code, text = client.pay(
        description="Lily",
        out_trade_no="SO20260101000003",
        amount={"total": 500},
        scene_info={"payer_client_ip": "203.0.113.7"},
        sub_mchid=fake.sub_mchid,
    )
    # then
    assert code == 400
    assert json.loads(text)["code"] == "PARAM_ERROR"
    with pytest.raises(KeyError):
        fake.order("SO20260101000003")


def test_native_pay_returns_code_url(fake: FakeWeChatPay) -> None:
    # given
    client = fake.client(WeChatPayType.NATIVE)
    # when
    code, text = client.pay(
        description="Lily",
        out_trade_no="SO20260101000004",
        amount={"total": 500, "currency": "CNY"},
        sub_mchid=fake.sub_mchid,
    )
    # then
    assert code == 200
    assert json.loads(text)["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    assert fake.order("SO20260101000004").trade_type == "NATIVE"


def test_same_out_trade_no_same_order_gets_the_same_prepay_id_another_amount_is_refused(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    first = _jsapi_order(client, fake, "SO20260101000005", total=1999)
    # when
    again = _jsapi_order(client, fake, "SO20260101000005", total=1999)
    code, text = client.pay(
        description="Lily 连衣裙",
        out_trade_no="SO20260101000005",
        amount={"total": 2999, "currency": "CNY"},
        payer={"sp_openid": OPENID},
        sub_mchid=fake.sub_mchid,
    )
    # then
    assert again == first
    assert (code, json.loads(text)["code"]) == (403, "OUT_TRADE_NO_USED")
    assert fake.order("SO20260101000005").total == 1999


# -- query and close -------------------------------------------------------------------------


def test_query_follows_the_order_by_out_trade_no_and_transaction_id(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    _jsapi_order(client, fake, "SO20260101000006", total=1999)
    code, text = client.query(out_trade_no="SO20260101000006", sub_mchid=fake.sub_mchid)
    assert (code, json.loads(text)["trade_state"]) == (200, "NOTPAY")
    assert "transaction_id" not in json.loads(text)
    # when
    fake.pay_succeed("SO20260101000006")
    code, text = client.query(out_trade_no="SO20260101000006", sub_mchid=fake.sub_mchid)
    paid = json.loads(text)
    by_id = client.query(transaction_id=paid["transaction_id"], sub_mchid=fake.sub_mchid)
    # then
    assert code == 200
    assert paid["trade_state"] == "SUCCESS"
    assert paid["amount"] == {
        "total": 1999,
        "payer_total": 1999,
        "currency": "CNY",
        "payer_currency": "CNY",
    }
    assert paid["transaction_id"] == fake.order("SO20260101000006").transaction_id
    assert json.loads(by_id[1]) == paid


def test_query_unknown_or_other_sub_merchant_is_order_not_exist(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    _jsapi_order(client, fake, "SO20260101000007")
    # when
    unknown = client.query(out_trade_no="SO20269999999999", sub_mchid=fake.sub_mchid)
    other_shop = client.query(out_trade_no="SO20260101000007", sub_mchid="1900000999")
    # then
    assert (unknown[0], json.loads(unknown[1])["code"]) == (404, "ORDER_NOT_EXIST")
    assert (other_shop[0], json.loads(other_shop[1])["code"]) == (404, "ORDER_NOT_EXIST")


def test_close_closes_an_unpaid_order_and_refuses_a_paid_one(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    _jsapi_order(client, fake, "SO20260101000008")
    _paid_order(client, fake, "SO20260101000009")
    # when
    closed = client.close(out_trade_no="SO20260101000008", sub_mchid=fake.sub_mchid)
    reopen = client.pay(
        description="Lily 连衣裙",
        out_trade_no="SO20260101000008",
        amount={"total": 1999, "currency": "CNY"},
        payer={"sp_openid": OPENID},
        sub_mchid=fake.sub_mchid,
    )
    paid = client.close(out_trade_no="SO20260101000009", sub_mchid=fake.sub_mchid)
    # then
    assert closed == (204, b"")
    assert fake.order("SO20260101000008").trade_state == "CLOSED"
    assert (reopen[0], json.loads(reopen[1])["code"]) == (400, "ORDER_CLOSED")
    assert (paid[0], json.loads(paid[1])["code"]) == (400, "ORDERPAID")
    assert fake.order("SO20260101000009").trade_state == "SUCCESS"


def test_pay_succeed_refuses_a_closed_order_unless_forced(fake: FakeWeChatPay, client: Any) -> None:
    # given
    _jsapi_order(client, fake, "SO20260101000010")
    client.close(out_trade_no="SO20260101000010", sub_mchid=fake.sub_mchid)
    # when
    with pytest.raises(ValueError, match="CLOSED"):
        fake.pay_succeed("SO20260101000010")
    fake.pay_succeed("SO20260101000010", force=True)
    # then
    assert fake.order("SO20260101000010").trade_state == "SUCCESS"


# -- refunds ---------------------------------------------------------------------------------


def test_refund_is_processing_until_the_fake_completes_it(fake: FakeWeChatPay, client: Any) -> None:
    # given
    _paid_order(client, fake, "SO20260101000011", total=1999)
    # when
    code, text = client.refund(
        out_refund_no="RF20260101000011",
        amount={"refund": 500, "total": 1999, "currency": "CNY"},
        out_trade_no="SO20260101000011",
        sub_mchid=fake.sub_mchid,
    )
    processing = json.loads(client.query_refund("RF20260101000011", sub_mchid=fake.sub_mchid)[1])
    fake.refund_succeed("RF20260101000011")
    done = json.loads(client.query_refund("RF20260101000011", sub_mchid=fake.sub_mchid)[1])
    order = json.loads(client.query(out_trade_no="SO20260101000011", sub_mchid=fake.sub_mchid)[1])
    # then
    assert code == 200
    assert json.loads(text)["status"] == "PROCESSING"
    assert processing["status"] == "PROCESSING"
    assert done["status"] == "SUCCESS"
    assert done["amount"]["refund"] == 500
    assert "success_time" in done
    assert order["trade_state"] == "REFUND"


def test_refund_errors_are_wechats(fake: FakeWeChatPay, client: Any) -> None:
    # given
    _paid_order(client, fake, "SO20260101000012", total=1000)
    _jsapi_order(client, fake, "SO20260101000013", total=1000)

    def refund(number: str, out_trade_no: str, amount: int, total: int = 1000) -> tuple[int, str]:
        code, text = client.refund(
            out_refund_no=number,
            amount={"refund": amount, "total": total, "currency": "CNY"},
            out_trade_no=out_trade_no,
            sub_mchid=fake.sub_mchid,
        )
        return code, json.loads(text).get("code", json.loads(text).get("refund_id"))

    # when
    first = refund("RF20260101000012", "SO20260101000012", 600)
    repeated = refund("RF20260101000012", "SO20260101000012", 600)
    changed = refund("RF20260101000012", "SO20260101000012", 700)
    too_much = refund("RF20260101000099", "SO20260101000012", 500)
    wrong_total = refund("RF20260101000098", "SO20260101000012", 100, total=999)
    unpaid = refund("RF20260101000013", "SO20260101000013", 100)
    fake.refund_not_enough = True
    broke = refund("RF20260101000097", "SO20260101000012", 100)
    # then
    assert first[0] == 200
    assert repeated == first
    assert changed == (400, "INVALID_REQUEST")
    assert too_much == (400, "INVALID_REQUEST")
    assert wrong_total == (400, "INVALID_REQUEST")
    assert unpaid == (404, "RESOURCE_NOT_EXISTS")
    assert broke == (403, "NOT_ENOUGH")
    missing = client.query_refund("RF20260101000099", sub_mchid=fake.sub_mchid)
    assert (missing[0], json.loads(missing[1])["code"]) == (404, "RESOURCE_NOT_EXISTS")


def test_refund_notification_passes_callback(fake: FakeWeChatPay, client: Any) -> None:
    # given
    _paid_order(client, fake, "SO20260101000014", total=1000)
    client.refund(
        out_refund_no="RF20260101000014",
        amount={"refund": 1000, "total": 1000, "currency": "CNY"},
        out_trade_no="SO20260101000014",
        sub_mchid=fake.sub_mchid,
    )
    # when
    headers, body = fake.refund_succeed("RF20260101000014")
    result = client.callback(headers, body)
    # then
    assert result["event_type"] == "REFUND.SUCCESS"
    assert result["resource"]["refund_status"] == "SUCCESS"
    assert result["resource"]["out_refund_no"] == "RF20260101000014"
    assert result["resource"]["amount"]["refund"] == 1000
    assert result["resource"]["sub_mchid"] == fake.sub_mchid


# -- signatures both ways --------------------------------------------------------------------


def test_a_request_signed_with_another_key_gets_401_sign_error(fake: FakeWeChatPay) -> None:
    # given
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = stranger.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    client = fake.client(WeChatPayType.JSAPI, private_key=pem)
    # when
    code, text = client.pay(
        description="Lily",
        out_trade_no="SO20260101000015",
        amount={"total": 100},
        payer={"sp_openid": OPENID},
        sub_mchid=fake.sub_mchid,
    )
    # then
    assert code == 401
    assert json.loads(text)["code"] == "SIGN_ERROR"
    assert fake.calls == []


def _signed_get(
    fake: FakeWeChatPay, path: str, timestamp: int, signed_path: str | None = None
) -> requests.Response:
    key = load_private_key(fake.merchant_private_key_pem)
    nonce = "NONCE1234567890"
    message = f"GET\n{signed_path or path}\n{timestamp}\n{nonce}\n\n"
    authorization = (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{fake.sp_mchid}",nonce_str="{nonce}",'
        f'signature="{rsa_sign(key, message)}",timestamp="{timestamp}",'
        f'serial_no="{fake.merchant_serial_no}"'
    )
    return requests.get(fake.base_url + path, headers={"Authorization": authorization}, timeout=5)


def test_requests_signed_for_another_path_or_too_old_get_401(fake: FakeWeChatPay) -> None:
    # given
    path = f"/v3/refund/domestic/refunds/RF1234567?sub_mchid={fake.sub_mchid}"
    # when
    fresh = _signed_get(fake, path, int(time.time()))
    other_path = _signed_get(fake, path, int(time.time()), signed_path=path + "0")
    stale = _signed_get(fake, path, int(time.time()) - 600)
    unsigned = requests.get(fake.base_url + path, timeout=5)
    # then
    assert fresh.status_code == 404
    assert fresh.json()["code"] == "RESOURCE_NOT_EXISTS"
    for response in (other_path, stale, unsigned):
        assert response.status_code == 401
        assert response.json()["code"] == "SIGN_ERROR"


def test_a_response_signed_with_the_wrong_platform_key_is_rejected_by_the_client(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    _jsapi_order(client, fake, "SO20260101000016")
    fake.sign_responses_with_wrong_key = True
    # when
    with pytest.raises(Exception, match="failed to verify the signature"):
        client.query(out_trade_no="SO20260101000016", sub_mchid=fake.sub_mchid)
    fake.sign_responses_with_wrong_key = False
    code, _ = client.query(out_trade_no="SO20260101000016", sub_mchid=fake.sub_mchid)
    # then
    assert code == 200


# -- notifications ---------------------------------------------------------------------------


def test_payment_notification_passes_callback_and_decrypts_to_the_transaction(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    _jsapi_order(client, fake, "SO20260101000017", total=1999)
    # when
    headers, body = fake.pay_succeed("SO20260101000017")
    result = client.callback(headers, body)
    django_meta = {
        "HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()
    }
    # then
    order = fake.order("SO20260101000017")
    assert result["event_type"] == "TRANSACTION.SUCCESS"
    assert result["resource_type"] == "encrypt-resource"
    resource = result["resource"]
    assert resource["out_trade_no"] == "SO20260101000017"
    assert resource["transaction_id"] == order.transaction_id
    assert resource["trade_state"] == "SUCCESS"
    assert resource["amount"]["total"] == 1999
    assert (resource["sp_mchid"], resource["sub_mchid"]) == (fake.sp_mchid, fake.sub_mchid)
    assert resource["payer"] == {"sp_openid": OPENID}
    assert client.callback(django_meta, body)["resource"] == resource


@pytest.mark.parametrize("knob", ["tamper", "wrong_key", "corrupt_ciphertext"])
def test_tampered_forged_or_undecryptable_notifications_fail_callback(
    fake: FakeWeChatPay, client: Any, knob: str
) -> None:
    # given
    _jsapi_order(client, fake, "SO20260101000018")
    # when
    headers, body = fake.pay_succeed(
        "SO20260101000018",
        tamper=knob == "tamper",
        wrong_key=knob == "wrong_key",
        corrupt_ciphertext=knob == "corrupt_ciphertext",
    )
    # then
    assert client.callback(headers, body) is None


def test_late_notification_is_back_dated_and_still_verifies(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    _jsapi_order(client, fake, "SO20260101000019")
    # when
    note = fake.pay_succeed("SO20260101000019", late_by_seconds=600)
    # then
    assert int(note.headers["Wechatpay-Timestamp"]) <= time.time() - 600
    created = datetime.fromisoformat(json.loads(note.body)["create_time"])
    assert created <= datetime.now(CHINA) - timedelta(seconds=599)
    # wechatpayv3 does not look at the timestamp: rejecting stale ones is our endpoint's job.
    assert client.callback(note.headers, note.body) is not None


def test_amount_override_is_genuinely_signed_but_disagrees_with_the_order(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    _paid_order(client, fake, "SO20260101000020", total=1999)
    # when
    note = fake.notification_for("SO20260101000020", amount_total=1, currency="USD")
    result = client.callback(*note)
    # then
    assert result["resource"]["amount"]["total"] == 1
    assert result["resource"]["amount"]["currency"] == "USD"
    assert fake.order("SO20260101000020").total == 1999


def test_replay_duplicates_and_shuffles_resigned_copies(fake: FakeWeChatPay, client: Any) -> None:
    # given
    notes: list[Notification] = []
    for number in ("SO20260101000021", "SO20260101000022"):
        _jsapi_order(client, fake, number)
        notes.append(fake.pay_succeed(number))
    # when
    copies = fake.replay(notes, duplicates=3, shuffle=True, seed=7)
    ranged = fake.replay(notes, duplicates=(1, 5), seed=3)
    # then
    ids = [note.id for note in copies]
    assert Counter(ids) == {notes[0].id: 3, notes[1].id: 3}
    assert ids != sorted(ids, key=[notes[0].id, notes[1].id].index)
    assert len({note.headers["Wechatpay-Nonce"] for note in copies}) == 6
    assert {note.body for note in copies} == {note.body for note in notes}
    assert all(client.callback(*note) is not None for note in copies)
    assert all(1 <= count <= 5 for count in Counter(note.id for note in ranged).values())


def test_deliver_posts_notifications_concurrently_to_the_notify_url(
    fake: FakeWeChatPay, client: Any, inbox: _Inbox
) -> None:
    # given
    _jsapi_order(client, fake, "SO20260101000023")
    note = fake.pay_succeed("SO20260101000023")
    # when
    single = fake.deliver(inbox.url, *note)
    many = fake.deliver_all(inbox.url, fake.replay([note], duplicates=4), concurrency=4)
    # then
    assert single.status_code == 204
    assert [response.status_code for response in many] == [204] * 4
    assert len(inbox.received) == 5
    headers, body = inbox.received[0]
    assert body == note.body
    assert client.callback(headers, body)["resource"]["out_trade_no"] == "SO20260101000023"


# -- errors and latency ----------------------------------------------------------------------


def test_fail_next_answers_5xx_then_recovers_without_side_effects(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    fake.fail_next(2, status=500)
    fake.fail_next(1, status=429)

    def attempt() -> Any:
        return client.pay(
            description="Lily",
            out_trade_no="SO20260101000024",
            amount={"total": 100},
            payer={"sp_openid": OPENID},
            sub_mchid=fake.sub_mchid,
        )

    # when
    results = [attempt() for _ in range(4)]
    # then
    codes = [(code, json.loads(text).get("code")) for code, text in results]
    assert codes == [
        (500, "SYSTEM_ERROR"),
        (500, "SYSTEM_ERROR"),
        (429, "FREQUENCY_LIMITED"),
        (200, None),
    ]
    assert fake.order("SO20260101000024").trade_state == "NOTPAY"


def test_latency_delays_answers_and_trips_the_client_timeout(fake: FakeWeChatPay) -> None:
    # given
    fake.latency_s = 0.4
    patient = fake.client(WeChatPayType.JSAPI)
    hasty = fake.client(WeChatPayType.JSAPI, timeout=(2, 0.1))
    # when
    started = time.monotonic()
    code, _ = patient.query(out_trade_no="SO20260101000025", sub_mchid=fake.sub_mchid)
    elapsed = time.monotonic() - started
    # then
    assert code == 404
    assert elapsed >= 0.4
    with pytest.raises(requests.exceptions.ReadTimeout):
        hasty.query(out_trade_no="SO20260101000025", sub_mchid=fake.sub_mchid)


# -- bills -----------------------------------------------------------------------------------


def test_trade_bill_downloads_wechats_csv_with_the_injected_mismatches(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given: four paid orders yesterday (China time), one refunded, and one mismatch of each kind
    yesterday = datetime.now(CHINA).date() - timedelta(days=1)
    noon = datetime.combine(yesterday, datetime.min.time(), CHINA) + timedelta(hours=12)
    for index, number in enumerate(["SO1000001", "SO1000002", "SO1000003", "SO1000004"]):
        _jsapi_order(client, fake, number, total=1000 + index)
        fake.pay_succeed(number, success_time=noon + timedelta(minutes=index))
    fake.refunds_succeed_immediately = True
    client.refund(
        out_refund_no="RF1000001",
        amount={"refund": 300, "total": 1000, "currency": "CNY"},
        out_trade_no="SO1000001",
        sub_mchid=fake.sub_mchid,
    )
    refund = fake.refund("RF1000001")
    refund.created_at = refund.success_time = noon + timedelta(hours=1)
    fake.inject_bill_extra("SO9999999", 4200, bill_date=yesterday)
    fake.inject_bill_missing("SO1000002")
    fake.inject_bill_amount("SO1000003", 1)
    fake.inject_bill_status("SO1000004", "REVOKED")
    # when
    code, text = client.trade_bill(bill_date=yesterday.isoformat(), sub_mchid=fake.sub_mchid)
    meta = json.loads(text)
    download_code, content = client.download_bill(meta["download_url"])
    csv_text = gzip.decompress(content).decode()
    rows, summary = parse_bill(csv_text)
    # then
    assert code == 200
    assert download_code == 200
    assert meta["hash_type"] == "SHA1"
    assert meta["hash_value"] == hashlib.sha1(csv_text.encode(), usedforsecurity=False).hexdigest()
    assert csv_text.splitlines()[0].startswith("交易时间,公众账号ID,商户号,特约商户号")
    assert all(field.startswith("`") for field in csv_text.splitlines()[1].split(","))
    by_key = {(row["商户订单号"], row["交易状态"]): row for row in rows}
    assert set(by_key) == {
        ("SO1000001", "SUCCESS"),
        ("SO1000001", "REFUND"),
        ("SO1000003", "SUCCESS"),
        ("SO1000004", "REVOKED"),
        ("SO9999999", "SUCCESS"),
    }
    assert by_key["SO1000001", "SUCCESS"]["应结订单金额"] == "10.00"
    assert by_key["SO1000001", "REFUND"]["退款金额"] == "3.00"
    assert by_key["SO1000001", "REFUND"]["商户退款单号"] == "RF1000001"
    assert by_key["SO1000001", "REFUND"]["退款状态"] == "SUCCESS"
    assert by_key["SO1000003", "SUCCESS"]["应结订单金额"] == "0.01"
    assert by_key["SO9999999", "SUCCESS"]["应结订单金额"] == "42.00"
    assert by_key["SO1000001", "SUCCESS"]["特约商户号"] == fake.sub_mchid
    assert summary["总交易单数"] == "5"
    assert summary["应结订单总金额"] == "62.04"  # 10.00 + 0.01 + 10.03 + 42.00
    assert summary["退款总金额"] == "3.00"


def test_trade_bill_plain_text_and_wechats_refusals(fake: FakeWeChatPay, client: Any) -> None:
    # given
    yesterday = datetime.now(CHINA).date() - timedelta(days=1)
    _jsapi_order(client, fake, "SO2000001", total=1234)
    fake.pay_succeed(
        "SO2000001", success_time=datetime.combine(yesterday, datetime.min.time(), CHINA)
    )
    # when
    empty = client.trade_bill(bill_date=(yesterday - timedelta(days=1)).isoformat())
    # wechatpayv3 writes tar_type=None literally (refused, as WeChat would); an empty value
    # asks for the uncompressed file.
    literal_none = client.trade_bill(bill_date=yesterday.isoformat(), tar_type=None)
    plain = json.loads(client.trade_bill(bill_date=yesterday.isoformat(), tar_type="")[1])
    fake.statement_creating = True
    creating = client.trade_bill(bill_date=yesterday.isoformat())
    # then
    assert (empty[0], json.loads(empty[1])["code"]) == (400, "NO_STATEMENT_EXIST")
    assert (creating[0], json.loads(creating[1])["code"]) == (400, "STATEMENT_CREATING")
    assert (literal_none[0], json.loads(literal_none[1])["code"]) == (400, "PARAM_ERROR")
    rows, summary = parse_bill(client.download_bill(plain["download_url"])[1].decode())
    assert [row["应结订单金额"] for row in rows] == ["12.34"]
    assert summary["订单总金额"] == "12.34"


# -- merchant transfers ----------------------------------------------------------------------


def test_mch_transfer_waits_for_the_user_and_notifies_when_finished(
    fake: FakeWeChatPay, client: Any
) -> None:
    # when
    code, text = client.mch_transfer_bills(
        out_bill_no="TB20260101000001",
        transfer_scene_id="1000",
        openid=OPENID,
        transfer_amount=3000,
        transfer_remark="佣金",
        user_name="张三",
    )
    note = fake.transfer_finish("TB20260101000001")
    queried = json.loads(client.mch_transfer_bills_query(out_bill_no="TB20260101000001")[1])
    # then
    assert code == 200
    assert json.loads(text)["state"] == "WAIT_USER_CONFIRM"
    assert json.loads(text)["package_info"]
    assert fake.transfer("TB20260101000001").user_name == "张三"
    assert queried["state"] == "SUCCESS"
    result = client.callback(*note)
    assert result["event_type"] == "MCHTRANSFER.BILL.FINISHED"
    assert result["resource"]["transfer_amount"] == 3000


def _transfer(client: Any, out_bill_no: str, amount: int = 3000, **extra: Any) -> Any:
    arguments: dict[str, Any] = {
        "out_bill_no": out_bill_no,
        "transfer_scene_id": "1005",
        "openid": OPENID,
        "transfer_amount": amount,
        "transfer_remark": "佣金提现",
        "transfer_scene_report_infos": [
            {"info_type": "岗位类型", "info_content": "分销员"},
            {"info_type": "报酬说明", "info_content": "分销佣金提现"},
        ],
        "notify_url": "https://alpha.example.com/notify",
        **extra,
    }
    return client.mch_transfer_bills(**arguments)


def test_mch_transfer_the_payee_confirms_then_it_succeeds(fake: FakeWeChatPay, client: Any) -> None:
    # given
    _transfer(client, "TB20260101000002")
    # when: confirmed, still being paid; then paid
    pending = fake.transfer_confirm("TB20260101000002", complete=False)
    transferring = json.loads(client.mch_transfer_bills_query(out_bill_no="TB20260101000002")[1])
    note = fake.transfer_finish("TB20260101000002", "SUCCESS")
    # then
    assert pending is None
    assert transferring["state"] == "TRANSFERING"
    result = client.callback(*note)
    assert result["resource"]["state"] == "SUCCESS"
    assert result["resource"]["mch_id"] == fake.sp_mchid
    assert result["resource"]["out_bill_no"] == "TB20260101000002"


def test_mch_transfer_fails_and_notifies_the_reason(fake: FakeWeChatPay, client: Any) -> None:
    # given
    _transfer(client, "TB20260101000003")
    # when
    note = fake.transfer_fail("TB20260101000003", reason="BLOCK_B2C_USERLIMITAMOUNT_MONTH")
    # then
    resource = client.callback(*note)["resource"]
    assert (resource["state"], resource["fail_reason"]) == (
        "FAIL",
        "BLOCK_B2C_USERLIMITAMOUNT_MONTH",
    )
    with pytest.raises(ValueError, match="FAIL"):
        fake.transfer_fail("TB20260101000003")


def test_mch_transfer_cancel_goes_through_canceling_to_cancelled(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given: one cancel completes at once, one stays CANCELING
    _transfer(client, "TB20260101000004")
    _transfer(client, "TB20260101000005")
    # when
    first = client.mch_transfer_bills_cancel(out_bill_no="TB20260101000004")
    fake.transfer_cancel_completes = False
    client.mch_transfer_bills_cancel(out_bill_no="TB20260101000005")
    again = client.mch_transfer_bills_cancel(out_bill_no="TB20260101000004")
    # then
    assert (first[0], json.loads(first[1])["state"]) == (200, "CANCELING")
    assert fake.transfer("TB20260101000004").state == "CANCELLED"
    assert fake.transfer("TB20260101000005").state == "CANCELING"
    assert (again[0], json.loads(again[1])["code"]) == (400, "INVALID_REQUEST")
    note = fake.transfer_notification_for("TB20260101000004")
    assert client.callback(*note)["resource"]["state"] == "CANCELLED"


def test_mch_transfer_starts_accepted_when_asked_and_refuses_what_wechat_refuses(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    fake.transfer_initial_state = "ACCEPTED"
    # when
    accepted = _transfer(client, "TB20260101000006")
    fake.transfer_accept("TB20260101000006")
    no_report = _transfer(client, "TB20260101000007", transfer_scene_report_infos=[])
    bad_number = _transfer(client, "TB-2026-0101-0009")
    fake.transfer_not_enough = True
    short = _transfer(client, "TB20260101000010")
    missing = client.mch_transfer_bills_query(out_bill_no="TB20260101999999")
    # then
    assert json.loads(accepted[1])["state"] == "ACCEPTED"
    assert "package_info" not in json.loads(accepted[1])
    assert fake.transfer("TB20260101000006").state == "WAIT_USER_CONFIRM"
    assert (no_report[0], json.loads(no_report[1])["code"]) == (400, "PARAM_ERROR")
    assert (bad_number[0], json.loads(bad_number[1])["code"]) == (400, "PARAM_ERROR")
    assert (short[0], json.loads(short[1])["code"]) == (403, "NOT_ENOUGH")
    assert (missing[0], json.loads(missing[1])["code"]) == (404, "NOT_FOUND")


def test_mch_transfer_notifications_can_be_forged_or_about_another_merchant(
    fake: FakeWeChatPay, client: Any
) -> None:
    # given
    _transfer(client, "TB20260101000011")
    fake.transfer_confirm("TB20260101000011")
    # when
    forged = fake.transfer_notification_for("TB20260101000011", wrong_key=True)
    other = fake.transfer_notification_for("TB20260101000011", mch_id="1900000999")
    # then
    assert client.callback(*forged) is None
    assert client.callback(*other)["resource"]["mch_id"] == "1900000999"
