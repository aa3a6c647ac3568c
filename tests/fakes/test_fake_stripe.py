"""The Stripe fake against the real stripe SDK: Connect, PaymentIntents, refunds, webhooks."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
import requests
import stripe

from tests.fakes.stripe_server import API_VERSION, FakeStripe

SECRET = "whsec_test_secret"


@dataclass
class Receiver:
    """A webhook endpoint on loopback that verifies each POST with the SDK, as the platform will."""

    url: str
    got: list[tuple[bytes, str, str]] = field(default_factory=list)  # body, signature, host
    verified: list[stripe.Event] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe(webhook_secret=SECRET) as server:
        yield server


@pytest.fixture
def client(fake: FakeStripe) -> stripe.StripeClient:
    return fake.client()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signature = self.headers.get("Stripe-Signature", "")
            sink = state[0]
            with sink.lock:
                sink.got.append((body, signature, self.headers.get("Host", "")))
            try:
                event = stripe.Webhook.construct_event(body, signature, SECRET)
            except stripe.SignatureVerificationError as error:
                with sink.lock:
                    sink.rejected.append(str(error))
                self.send_response(400)
            else:
                with sink.lock:
                    sink.verified.append(event)
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state[0]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _intent(
    client: stripe.StripeClient, account: str, key: str, amount: int = 1000
) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "hkd",
            "metadata": {"order": "SO-1", "shop": "红色 T 恤店"},
            "automatic_payment_methods": {"enabled": True},
            "application_fee_amount": 30,
        },
        options={"stripe_account": account, "idempotency_key": key},
    )


def test_account_onboarding_link_and_hosted_page(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    account = client.v1.accounts.create(
        params={
            "type": "express",
            "country": "HK",
            "email": "shop@example.com",
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
            "metadata": {"tenant": "alpha"},
        }
    )
    assert account.id.startswith("acct_")
    assert (account.charges_enabled, account.details_submitted) == (False, False)
    assert account.default_currency == "hkd"
    assert account.metadata is not None
    assert account.metadata.to_dict() == {"tenant": "alpha"}

    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": "http://shop.test/stripe/refresh",
            "return_url": "http://shop.test/stripe/return",
            "type": "account_onboarding",
        }
    )
    assert link.object == "account_link"
    assert link.expires_at > time.time()
    page = requests.get(link.url, timeout=5)
    assert page.status_code == 200
    assert "Agree and submit" in page.text
    done = requests.post(link.url, timeout=5, allow_redirects=False)
    assert (done.status_code, done.headers["Location"]) == (303, "http://shop.test/stripe/return")
    # Account links are single use: a second visit goes to refresh_url.
    again = requests.get(link.url, timeout=5, allow_redirects=False)
    assert (again.status_code, again.headers["Location"]) == (
        302,
        "http://shop.test/stripe/refresh",
    )

    onboarded = client.v1.accounts.retrieve(account.id)
    assert (onboarded.charges_enabled, onboarded.details_submitted) == (True, True)
    (updated,) = fake.events_of("account.updated", account=account.id)
    assert updated["data"]["previous_attributes"]["charges_enabled"] is False


def test_country_that_stripe_lacks_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.create(params={"type": "express", "country": "CN"})
    assert caught.value.param == "country"


def test_payment_intent_on_connected_account(fake: FakeStripe, client: stripe.StripeClient) -> None:
    account = fake.create_account()["id"]
    intent = _intent(client, account, "order-SO-1")
    assert intent.id.startswith("pi_")
    assert intent.client_secret is not None
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert (intent.status, intent.amount, intent.currency) == (
        "requires_payment_method",
        1000,
        "hkd",
    )
    assert intent.metadata.to_dict() == {"order": "SO-1", "shop": "红色 T 恤店"}
    assert intent.application_fee_amount == 30

    sent = fake.received[-1]
    assert sent.account == account
    assert sent.idempotency_key == "order-SO-1"
    assert sent.headers["stripe-version"] == API_VERSION
    assert sent.params["metadata"] == {"order": "SO-1", "shop": "红色 T 恤店"}

    again = client.v1.payment_intents.retrieve(intent.id, options={"stripe_account": account})
    assert again.id == intent.id
    # Without the Stripe-Account header the platform does not see the connected account's PI.
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.retrieve(intent.id)
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")

    canceled = client.v1.payment_intents.cancel(intent.id, options={"stripe_account": account})
    assert canceled.status == "canceled"


def test_payment_intent_refused_before_onboarding_and_for_unknown_params(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    account = fake.create_account(onboarded=False)["id"]
    with pytest.raises(stripe.InvalidRequestError):
        _intent(client, account, "k1")
    ready = fake.create_account()["id"]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(
            params={"amount": 1000, "currency": "hkd", "colour": "red"},  # type: ignore[typeddict-unknown-key]
            options={"stripe_account": ready},
        )
    assert caught.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as small:
        _intent(client, ready, "k2", amount=100)  # HK$1 is below Stripe's HK$4 minimum
    assert small.value.code == "amount_too_small"


def test_idempotent_replay_and_conflict(fake: FakeStripe, client: stripe.StripeClient) -> None:
    account = fake.create_account()["id"]
    first = _intent(client, account, "checkout-42")
    replay = _intent(client, account, "checkout-42")
    assert replay.id == first.id
    assert replay.client_secret == first.client_secret
    assert len(fake.payment_intents) == 1
    assert fake.received[-1].replayed

    with pytest.raises(stripe.IdempotencyError) as caught:
        _intent(client, account, "checkout-42", amount=2000)
    assert caught.value.http_status == 400
    assert len(fake.payment_intents) == 1


def test_payment_succeeds_then_cannot_be_canceled(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    account = fake.create_account()["id"]
    intent = _intent(client, account, "k")
    event = fake.payment_succeed(intent.id)
    assert (event["type"], event["account"]) == ("payment_intent.succeeded", account)

    paid = client.v1.payment_intents.retrieve(
        intent.id, params={"expand": ["latest_charge"]}, options={"stripe_account": account}
    )
    assert (paid.status, paid.amount_received) == ("succeeded", 1000)
    charge = paid.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert (charge.amount, charge.payment_intent) == (1000, intent.id)

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.cancel(intent.id, options={"stripe_account": account})
    assert caught.value.code == "payment_intent_unexpected_state"


def test_payment_failure_leaves_it_payable(fake: FakeStripe, client: stripe.StripeClient) -> None:
    account = fake.create_account()["id"]
    intent = _intent(client, account, "k")
    assert fake.payment_fail(intent.id)["type"] == "payment_intent.payment_failed"
    after = client.v1.payment_intents.retrieve(intent.id, options={"stripe_account": account})
    assert after.status == "requires_payment_method"
    assert after.last_payment_error is not None
    assert after.last_payment_error.code == "card_declined"


def test_partial_refund_then_over_refund(fake: FakeStripe, client: stripe.StripeClient) -> None:
    account = fake.create_account()["id"]
    intent = _intent(client, account, "k")
    fake.payment_succeed(intent.id)
    on_account: stripe.RequestOptions = {"stripe_account": account}

    refund = client.v1.refunds.create(
        params={"payment_intent": intent.id, "amount": 300, "metadata": {"after_sale": "AS-1"}},
        options={**on_account, "idempotency_key": "refund-AS-1"},
    )
    assert refund.id.startswith("re_")
    assert (refund.status, refund.amount, refund.payment_intent) == ("pending", 300, intent.id)
    assert fake.events_of("charge.refunded", account=account)

    assert fake.refund_succeed(refund.id)["type"] == "refund.updated"
    assert client.v1.refunds.retrieve(refund.id, options=on_account).status == "succeeded"

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(
            params={"payment_intent": intent.id, "amount": 800}, options=on_account
        )
    assert (caught.value.code, caught.value.param) == ("amount_too_large", "amount")

    rest = client.v1.refunds.create(params={"payment_intent": intent.id}, options=on_account)
    assert rest.amount == 700
    with pytest.raises(stripe.InvalidRequestError) as done:
        client.v1.refunds.create(params={"payment_intent": intent.id}, options=on_account)
    assert done.value.code == "charge_already_refunded"
    listed = client.v1.refunds.list(params={"payment_intent": intent.id}, options=on_account)
    assert [item.id for item in listed.data] == [rest.id, refund.id]


def test_signed_webhook_passes_and_bad_ones_are_rejected(
    fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = fake.create_account()["id"]
    intent = _intent(client, account, "k")
    event = fake.payment_succeed(intent.id)

    (good,) = fake.deliver(receiver.url, event, host="platform.test")
    assert good.status == 200
    (verified,) = receiver.verified
    assert (verified.id, verified.type, verified.account) == (event["id"], event["type"], account)
    assert verified.data.object["amount_received"] == 1000
    # Non-ASCII metadata survives signing: the HMAC is over the UTF-8 body as sent.
    assert verified.data.object["metadata"]["shop"] == "红色 T 恤店"
    assert (verified.livemode, verified.api_version) == (False, API_VERSION)
    assert receiver.got[0][2] == "platform.test"
    # The SDK's own signing helper gives the same header for the same body and time.
    body, header, _ = receiver.got[0]
    stamp = int(header.split(",")[0][2:])
    assert header == stripe.WebhookSignature.generate_signature_header(
        body.decode(), SECRET, timestamp=stamp
    )

    tampered = fake.deliver(receiver.url, event, tampered=True)
    stale = fake.deliver(receiver.url, event, stale_by_s=301)
    forged = fake.deliver(receiver.url, event, secret="whsec_someone_else")
    assert [d.status for d in tampered + stale + forged] == [400, 400, 400]
    assert json.loads(tampered[0].body)["data"]["object"]["amount"] == 1100
    assert "tolerance" in receiver.rejected[1]
    assert len(receiver.verified) == 1
    # Just inside the tolerance still passes.
    assert fake.deliver(receiver.url, event, stale_by_s=290)[0].status == 200


def test_duplicates_shuffle_and_concurrency(
    fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = fake.create_account()["id"]
    events = [fake.payment_succeed(_intent(client, account, f"k{n}").id) for n in range(3)]
    ids = [event["id"] for event in events]

    sent = fake.deliver(receiver.url, events, duplicates=3, shuffle=True, seed=7)
    order = [delivery.event_id for delivery in sent]
    assert Counter(order) == dict.fromkeys(ids, 3)
    assert order != [event_id for event_id in ids for _ in range(3)]
    assert [event.id for event in receiver.verified] == order

    ranged = fake.deliver(receiver.url, events, duplicates=(1, 5), seed=1)
    assert all(1 <= n <= 5 for n in Counter(d.event_id for d in ranged).values())

    receiver.verified.clear()
    together = fake.deliver(receiver.url, events[0], duplicates=5, concurrent=True)
    assert [d.status for d in together] == [200] * 5
    assert [event.id for event in receiver.verified] == [ids[0]] * 5


def test_late_delivery_in_background(fake: FakeStripe, receiver: Receiver) -> None:
    event = fake.make_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    started = time.monotonic()
    pending = fake.deliver_in_background(receiver.url, event, delay_s=0.3)
    assert receiver.got == []
    (late,) = pending.wait()
    assert late.status == 200
    assert time.monotonic() - started >= 0.3


def test_automatic_delivery_in_order(
    fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    fake.webhook_url = receiver.url
    account = fake.create_account()["id"]
    intent = _intent(client, account, "k")
    fake.payment_succeed(intent.id)
    types = [event.type for event in receiver.verified]
    assert types == [
        "account.updated",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]


def test_fail_next_gives_5xx_and_retries_reuse_the_idempotency_key(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    account = fake.create_account()["id"]
    fake.fail_next(1, status=500)
    # The fixture's client has max_network_retries=0 (also the SDK's StripeClient default).
    with pytest.raises(stripe.APIError) as caught:
        _intent(client, account, "k-500")
    assert caught.value.http_status == 500
    assert fake.payment_intents == {}

    fake.fail_next(1, status=503, path="/v1/payment_intents")
    retrying = fake.client(max_network_retries=1)
    intent = _intent(retrying, account, "k-503")
    attempts = [r for r in fake.received if r.idempotency_key == "k-503"]
    assert [r.status for r in attempts] == [503, 200]
    assert len(fake.payment_intents) == 1
    assert intent.id in fake.payment_intents


def test_latency(fake: FakeStripe, client: stripe.StripeClient) -> None:
    fake.latency_s = 0.3
    started = time.monotonic()
    client.v1.accounts.create(params={"type": "express", "country": "US"})
    assert time.monotonic() - started >= 0.3


def test_wrong_api_key_is_refused(fake: FakeStripe) -> None:
    with pytest.raises(stripe.AuthenticationError) as caught:
        fake.client(api_key="sk_test_not_ours").v1.accounts.create(params={"type": "express"})
    assert caught.value.http_status == 401
    assert fake.accounts == {}


def test_charges_and_refunds_listed_by_creation_time(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    # given: two paid intents on one account, one of them (and its refund) from yesterday
    account = fake.create_account()["id"]
    other = fake.create_account()["id"]
    on_account: stripe.RequestOptions = {"stripe_account": account}
    old, new = _intent(client, account, "k-old"), _intent(client, account, "k-new")
    fake.payment_succeed(old.id)
    fake.payment_succeed(new.id)
    fake.payment_succeed(_intent(client, other, "k-other").id)
    refund = client.v1.refunds.create(
        params={"payment_intent": old.id, "amount": 100}, options=on_account
    )
    now = int(time.time())
    for store, object_id in (
        (fake.payment_intents, old.id),
        (fake.charges, fake.payment_intents[old.id]["latest_charge"]),
        (fake.refunds, refund.id),
    ):
        store[object_id]["created"] = now - 86400
    # when
    today = client.v1.charges.list(params={"created": {"gte": now - 3600}}, options=on_account)
    yesterday = client.v1.charges.list(
        params={"created": {"gte": now - 90000, "lt": now - 3600}}, options=on_account
    )
    of_intent = client.v1.charges.list(params={"payment_intent": old.id}, options=on_account)
    refunds_today = client.v1.refunds.list(
        params={"created": {"gte": now - 3600}}, options=on_account
    )
    refunds_yesterday = client.v1.refunds.list(
        params={"created": {"lt": now - 3600}}, options=on_account
    )
    intents_today = client.v1.payment_intents.list(
        params={"created": {"gt": now - 3600}}, options=on_account
    )
    # then
    assert [charge.payment_intent for charge in today.data] == [new.id]
    assert [charge.payment_intent for charge in yesterday.data] == [old.id]
    assert [charge.amount for charge in of_intent.data] == [1000]
    assert refunds_today.data == []
    assert [item.id for item in refunds_yesterday.data] == [refund.id]
    assert [intent.id for intent in intents_today.data] == [new.id]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.list(params=cast(Any, {"created": {"after": now}}), options=on_account)
    assert caught.value.param == "created"
