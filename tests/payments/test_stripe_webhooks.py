"""Stripe's Connect webhooks on the platform host: verified on the raw body, routed to the shop
by the connected account, stored once, applied once, whatever Stripe's duplicates and order."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from billing.models import MerchantPaymentAccount
from infra.db import schema_connection, tenant_schema
from shop.events.models import OutboxEvent
from shop.orders.models import Order, OrderStatus, OrderTransition
from shop.payments.models import Payment, PaymentNotification, Refund
from shop.payments.selectors import notify_url_for
from shop.payments.services.notifications import notifications_unprocessed_process
from shop.payments.services.payments import payment_start
from shop.payments.services.refunds import refund_create, refund_submit
from tenants.models import AuditLog, Tenant
from tenants.services.provisioning import schema_drop
from tests.fakes.stripe_server import FakeStripe
from tests.payments.stripe_support import (
    WEBHOOK_PATH,
    stripe_account_connect,
    stripe_faked,
    webhook_post,
)
from tests.support.commerce import order_make
from tests.support.shops import shop_provision
from tests.support.threads import run_in_threads

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with stripe_faked() as server:
        yield server


@pytest.fixture
def account(shop: Tenant, fake: FakeStripe) -> MerchantPaymentAccount:
    return stripe_account_connect(shop, fake)


@pytest.fixture
def platform() -> Client:
    """Stripe, posting to the platform host."""
    return Client()


def _deliver(platform: Client, fake: FakeStripe, shop: Tenant, event: Any, **spoil: Any) -> Any:
    response = webhook_post(platform, fake, event, **spoil)
    schema_connection().set_tenant(shop)  # the request left the platform's schema active
    return response


def _paying(price_minor: int = 2599) -> tuple[Order, Payment]:
    order = order_make(price_minor=price_minor)
    started = payment_start(
        order=order, method="stripe_card", notify_url=notify_url_for(gateway="stripe")
    )
    return order, started.payment


def _process(shop: Tenant) -> int:
    """What the notification task does after each commit (no worker runs in these tests)."""
    with tenant_schema(shop):
        return notifications_unprocessed_process(older_than_s=0)


def _state(order: Order, payment: Payment) -> tuple[str, str, bool, int]:
    order.refresh_from_db()
    payment.refresh_from_db()
    paid = OrderTransition.objects.filter(order=order, to_status=OrderStatus.PAID).count()
    return (order.status, payment.status, payment.paid_order, paid)


# -- payments --------------------------------------------------------------------------------


def test_a_paid_intent_pays_the_order_once_whatever_stripe_repeats(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount, platform: Client
) -> None:
    # given: the shopper paid; Stripe sends the success three times, shuffled among the
    # other events of the payment
    order, payment = _paying()
    succeeded = fake.payment_succeed(payment.provider_ref)
    deliveries = [succeeded] * 3 + fake.events_of("charge.succeeded", account=account.account_id)
    deliveries += fake.events_of("payment_intent.created", account=account.account_id)
    random.Random(7).shuffle(deliveries)
    # when
    with CaptureQueriesContext(schema_connection()) as first:
        answers = [_deliver(platform, fake, shop, deliveries[0])]
    first_queries = [query["sql"] for query in first.captured_queries]  # before the next request
    answers += [_deliver(platform, fake, shop, event) for event in deliveries[1:]]
    processed = _process(shop)
    late = _deliver(platform, fake, shop, succeeded)
    processed_late = _process(shop)
    # then
    assert [answer.status_code for answer in answers] == [200] * 5
    outcomes = [(answer.json()["event_type"], answer.json()["outcome"]) for answer in answers]
    assert sorted(outcomes) == [
        ("charge.succeeded", "stored"),
        ("payment_intent.created", "stored"),
        ("payment_intent.succeeded", "duplicate"),
        ("payment_intent.succeeded", "duplicate"),
        ("payment_intent.succeeded", "stored"),
    ]
    assert (late.status_code, late.json()["outcome"]) == (200, "duplicate")
    assert (processed, processed_late) == (3, 0)
    assert _state(order, payment) == ("paid", "succeeded", True, 1)
    assert payment.succeeded_at is not None
    assert OutboxEvent.objects.filter(topic="order.paid", payload__order_id=order.pk).count() == 1
    assert not Refund.objects.filter(payment=payment).exists()
    notes = dict(PaymentNotification.objects.values_list("event_id", "outcome"))
    assert notes[succeeded["id"]] == "applied"
    assert sorted(notes.values()) == ["applied", "ignored", "ignored"]
    # a delivery costs: the shop's lookup by account (public), the switch to its schema, the
    # gateway's check of the account, and the stored row (in a savepoint)
    assert len(first_queries) <= 7, first_queries


def test_a_declined_card_then_a_success_pays_the_order_in_either_order(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount, platform: Client
) -> None:
    # given: the first card was declined, the second one paid; Stripe delivers the success
    # before the decline
    order, payment = _paying()
    declined = fake.payment_fail(payment.provider_ref)
    succeeded = fake.payment_succeed(payment.provider_ref)
    # when
    _deliver(platform, fake, shop, succeeded)
    _process(shop)
    _deliver(platform, fake, shop, declined)
    _process(shop)
    # then
    assert _state(order, payment) == ("paid", "succeeded", True, 1)
    assert PaymentNotification.objects.get(event_id=declined["id"]).outcome == "ignored"


@pytest.mark.parametrize(
    ("spoil", "code"),
    [
        ({"secret": "whsec_someone_else"}, "notification_signature_invalid"),
        ({"stale_by_s": 301}, "notification_stale"),
        ({"tampered": True}, "notification_signature_invalid"),
    ],
    ids=["forged", "stale", "tampered"],
)
def test_forged_stale_and_tampered_webhooks_are_refused_and_change_nothing(
    shop: Tenant,
    fake: FakeStripe,
    account: MerchantPaymentAccount,
    platform: Client,
    spoil: dict[str, Any],
    code: str,
) -> None:
    # given
    order, payment = _paying()
    succeeded = fake.payment_succeed(payment.provider_ref)
    # when
    refused = _deliver(platform, fake, shop, succeeded, **spoil)
    # then
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == code
    assert PaymentNotification.objects.count() == 0
    assert _process(shop) == 0
    assert _state(order, payment) == ("pending_payment", "pending", False, 0)


def test_a_webhook_without_signature_or_body_is_refused(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount, platform: Client
) -> None:
    # when
    unsigned = platform.post(WEBHOOK_PATH, data=b"{}", content_type="application/json")
    garbage = platform.post(
        WEBHOOK_PATH,
        data=b"\xff\xfe not json",
        content_type="application/json",
        headers={"Stripe-Signature": fake.sign("x")},
    )
    schema_connection().set_tenant(shop)
    # then
    assert (unsigned.status_code, unsigned.json()["error"]["code"]) == (
        400,
        "notification_signature_invalid",
    )
    assert (garbage.status_code, garbage.json()["error"]["code"]) == (
        400,
        "notification_signature_invalid",
    )
    assert PaymentNotification.objects.count() == 0


def test_an_event_of_an_account_that_is_no_shops_is_acknowledged_and_ignored(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount, platform: Client
) -> None:
    # given: a payment on a connected account the platform does not know (any more)
    order, payment = _paying()
    stranger = fake.create_account()["id"]
    intent = fake.client().v1.payment_intents.create(
        params={
            "amount": order.total_minor,
            "currency": "cny",
            "metadata": {"out_trade_no": payment.out_trade_no, "tenant": str(shop.pk)},
        },
        options={"stripe_account": stranger},
    )
    event = fake.payment_succeed(intent.id)
    # when
    answer = _deliver(platform, fake, shop, event)
    # then
    assert answer.status_code == 200
    assert (answer.json()["outcome"], answer.json()["detail"]) == ("ignored", "unknown_account")
    assert PaymentNotification.objects.count() == 0
    assert _state(order, payment) == ("pending_payment", "pending", False, 0)


def _forged_success(fake: FakeStripe, account: str, payment: Payment, **changes: Any) -> Any:
    """A genuinely signed success whose content disagrees with our attempt."""
    intent = copy.deepcopy(fake.payment_intents[payment.provider_ref])
    intent.update(status="succeeded", amount_received=intent["amount"])
    metadata = {**intent["metadata"], **changes.pop("metadata", {})}
    intent.update(changes, metadata=metadata)
    return fake.make_event("payment_intent.succeeded", intent, account=account)


@pytest.mark.parametrize(
    "changes",
    [{"amount_received": 1}, {"currency": "usd"}],
    ids=["amount", "currency"],
)
def test_a_success_of_another_amount_or_currency_is_rejected_and_changes_nothing(
    shop: Tenant,
    fake: FakeStripe,
    account: MerchantPaymentAccount,
    platform: Client,
    changes: dict[str, Any],
) -> None:
    # given
    order, payment = _paying()
    event = _forged_success(fake, account.account_id, payment, **changes)
    # when
    answer = _deliver(platform, fake, shop, event)
    _process(shop)
    # then: stored as received, rejected when applied
    assert (answer.status_code, answer.json()["outcome"]) == (200, "stored")
    assert PaymentNotification.objects.get(event_id=event["id"]).outcome == "rejected"
    assert _state(order, payment) == ("pending_payment", "pending", False, 0)
    assert OutboxEvent.objects.filter(topic="order.paid").count() == 0


def test_an_event_for_another_shop_on_this_account_is_refused(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount, platform: Client
) -> None:
    # given: a success naming another tenant (order numbers repeat across shops)
    order, payment = _paying()
    event = _forged_success(fake, account.account_id, payment, metadata={"tenant": "999999"})
    # when
    answer = _deliver(platform, fake, shop, event)
    # then
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "notification_wrong_shop")
    assert PaymentNotification.objects.count() == 0
    assert _state(order, payment) == ("pending_payment", "pending", False, 0)


# -- refunds ---------------------------------------------------------------------------------


def _paid_through_webhook(
    shop: Tenant, fake: FakeStripe, platform: Client
) -> tuple[Order, Payment]:
    order, payment = _paying(price_minor=2000)
    _deliver(platform, fake, shop, fake.payment_succeed(payment.provider_ref))
    _process(shop)
    payment.refresh_from_db()
    return order, payment


def _refund(payment: Payment, amount_minor: int) -> Refund:
    with transaction.atomic():
        refund = refund_create(
            payment=payment,
            amount_minor=amount_minor,
            reason=Refund.Reason.MERCHANT,
            out_refund_no=f"{payment.out_trade_no}M1",
            requested_by="account:1",
        )
    refund_submit(refund_id=refund.pk)  # what the task does after the commit
    refund.refresh_from_db()
    return refund


def test_a_stripe_refund_completes_only_when_stripe_says_it_succeeded(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount, platform: Client
) -> None:
    # given: a refund Stripe accepted (pending); Stripe sends refund.created and charge.refunded
    _, payment = _paid_through_webhook(shop, fake, platform)
    refund = _refund(payment, 800)
    for event in fake.events_of("refund.created") + fake.events_of("charge.refunded"):
        _deliver(platform, fake, shop, event)
    _process(shop)
    refund.refresh_from_db()
    payment.refresh_from_db()
    pending = (refund.status, payment.refunded_minor)
    # when: Stripe settles it
    settled = fake.refund_succeed(refund.provider_ref)
    _deliver(platform, fake, shop, settled)
    _deliver(platform, fake, shop, settled)
    _process(shop)
    # then
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert pending == ("pending", 0)
    assert refund.provider_ref in fake.refunds
    assert (refund.status, payment.refunded_minor) == ("succeeded", 800)
    assert refund.succeeded_at is not None
    assert PaymentNotification.objects.get(event_id=settled["id"]).outcome == "applied"


def test_a_refund_stripe_fails_is_failed_and_gives_nothing_back(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount, platform: Client
) -> None:
    # given
    _, payment = _paid_through_webhook(shop, fake, platform)
    refund = _refund(payment, 500)
    # when: Stripe fails it (refund.updated, then refund.failed), delivered in reverse
    fake.refund_fail(refund.provider_ref)
    for event in reversed(fake.events_of("refund.updated") + fake.events_of("refund.failed")):
        _deliver(platform, fake, shop, event)
    _process(shop)
    # then
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert (refund.status, refund.failure, payment.refunded_minor) == (
        "failed",
        "expired_or_canceled_card",
        0,
    )


# -- the connected account -------------------------------------------------------------------


def test_account_updated_activates_the_shops_account_whatever_the_order_of_events(
    shop: Tenant, fake: FakeStripe, platform: Client
) -> None:
    # given: onboarding in progress; Stripe sends an older account.updated after the newer one
    account = stripe_account_connect(shop, fake, onboarded=False)
    older = fake.make_event(
        "account.updated",
        {**fake.accounts[account.account_id], "charges_enabled": False},
        account=account.account_id,
    )
    newer = fake.complete_onboarding(account.account_id)
    # when
    answers = [_deliver(platform, fake, shop, event) for event in (newer, older)]
    # then: Stripe's account as it is now decides, not the event's copy
    account.refresh_from_db()
    shop.refresh_from_db()
    assert [(a.status_code, a.json()["outcome"]) for a in answers] == [
        (200, "account_synced"),
        (200, "account_synced"),
    ]
    assert (account.status, account.charges_enabled) == ("active", True)
    assert shop.onboarding["payments"] is True
    (row,) = AuditLog.objects.filter(action="payment_account.stripe_synced")
    assert (row.tenant_id, row.actor_id) == (shop.pk, None)
    assert row.data["after"] == {"status": "active", "charges_enabled": True}


def test_a_deauthorized_account_stops_taking_payments(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount, platform: Client
) -> None:
    # given
    event = fake.make_event(
        "account.application.deauthorized",
        {"id": "ca_platform", "object": "application", "name": "Platform"},
        account=account.account_id,
    )
    # when
    answer = _deliver(platform, fake, shop, event)
    # then
    account.refresh_from_db()
    assert answer.status_code == 200
    assert (account.status, account.charges_enabled) == ("disabled", False)
    assert AuditLog.objects.filter(action="payment_account.stripe_deauthorized").count() == 1


# -- concurrency: Stripe's servers deliver one event at the same moment -----------------------


@pytest.mark.serial
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_and_workers_pay_the_order_exactly_once(
    shops: dict[str, Tenant],
) -> None:
    # given: a shop of its own (committed data), paying through Stripe
    tenant = shop_provision("stripe-race")
    try:
        with stripe_faked() as fake:
            with tenant_schema(tenant):
                account = stripe_account_connect(tenant, fake)
                order, payment = _paying()
            succeeded = fake.payment_succeed(payment.provider_ref)
            charge = fake.events_of("charge.succeeded", account=account.account_id)[0]
            deliveries = [succeeded] * 5 + [charge] * 2
            random.Random(3).shuffle(deliveries)

            def post(event: Any) -> tuple[int, str]:
                answer = webhook_post(Client(), fake, event)
                return answer.status_code, json.loads(answer.content)["outcome"]

            def work() -> int:
                with tenant_schema(tenant):
                    return notifications_unprocessed_process(older_than_s=0)

            # when: all deliveries at once, then three workers at once
            answers = run_in_threads([lambda e=event: post(e) for event in deliveries])  # type: ignore[misc]
            worked = run_in_threads([work] * 3)
            # then
            assert sorted(answers) == sorted([(200, "stored")] * 2 + [(200, "duplicate")] * 5), (
                answers
            )
            assert all(isinstance(count, int) for count in worked), worked
            assert sum(worked) == 2  # each stored notification processed by one worker
            with tenant_schema(tenant):
                assert _state(order, payment) == ("paid", "succeeded", True, 1)
                assert PaymentNotification.objects.count() == 2
                assert OutboxEvent.objects.filter(topic="order.paid").count() == 1
                assert not Refund.objects.exists()
    finally:
        schema_drop(tenant.schema_name)
