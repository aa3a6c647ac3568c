"""The Stripe gateway (Connect) with the real stripe client against the fake: PaymentIntents on
the shop's connected account in Stripe's units, query, close, refunds, and the daily bill."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from billing.models import MerchantPaymentAccount
from shop.core.selectors import shop_context
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.orders.services.orders import orders_unpaid_cancel
from shop.payments.errors import GatewayUnavailableError, PaymentProviderError
from shop.payments.gateways.base import GatewayError, PaymentRequest, RefundRequest
from shop.payments.gateways.stripe import StripeGateway, amount_from_stripe, amount_to_stripe
from shop.payments.models import Payment, ReconciliationMismatch, Refund
from shop.payments.selectors import notify_url_for
from shop.payments.services.payments import PaymentStarted, payment_start
from shop.payments.services.reconciliation import reconcile_gateway
from shop.payments.services.refunds import refund_create, refund_submit
from tenants.models import Tenant
from tests.fakes.stripe_server import FakeStripe
from tests.payments.stripe_support import PUBLISHABLE_KEY, stripe_account_connect, stripe_faked
from tests.support.commerce import order_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with stripe_faked() as server:
        yield server


@pytest.fixture
def account(shop: Tenant, fake: FakeStripe) -> MerchantPaymentAccount:
    return stripe_account_connect(shop, fake)


def _start(order: Order) -> PaymentStarted:
    return payment_start(
        order=order, method="stripe_card", notify_url=notify_url_for(gateway="stripe")
    )


def _request(tenant: Tenant, *, amount_minor: int, currency: str, no: str) -> PaymentRequest:
    return PaymentRequest(
        tenant_id=tenant.pk,
        out_trade_no=no,
        amount_minor=amount_minor,
        currency=currency,
        description="Tea",
        method="stripe_card",
        expires_at=timezone.now() + timedelta(minutes=30),
        notify_url="http://alpha.localhost/api/v1/payments/notify/stripe",
    )


# -- amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "ours", "stripes"),
    [
        ("CNY", 1999, 1999),  # two decimals both sides: 19.99
        ("JPY", 1500, 1500),  # zero-decimal both sides: ¥1500
        ("VND", 50000, 50000),  # zero-decimal both sides
        ("KRW", 12000, 12000),
        ("IDR", 15000, 1500000),  # whole rupiah here, two decimals at Stripe
        ("ISK", 500, 50000),  # whole krónur here, "two-decimal" multiples of 100 at Stripe
        ("KWD", 5120, 5120),  # three decimals both sides, last digit 0
        ("UGX", 10000, 100),  # ISO two decimals here, zero-decimal at Stripe
    ],
)
def test_amounts_convert_exactly_between_our_minor_units_and_stripes(
    currency: str, ours: int, stripes: int
) -> None:
    # when / then
    assert amount_to_stripe(ours, currency) == stripes
    assert amount_from_stripe(stripes, currency) == ours


@pytest.mark.parametrize(
    ("currency", "ours"),
    [("KWD", 5124), ("UGX", 10050)],
)
def test_amounts_stripe_cannot_take_exactly_are_refused_not_rounded(
    currency: str, ours: int
) -> None:
    # when / then
    with pytest.raises(ValueError, match=currency):
        amount_to_stripe(ours, currency)


# -- starting a payment ----------------------------------------------------------------------


def test_payment_intent_is_made_on_the_connected_account_for_the_order(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount
) -> None:
    # given
    order = order_make(price_minor=1999)
    # when
    started = _start(order)
    # then: the intent is the connected account's, in fen, under our reference
    payment = started.payment
    (intent_id,) = fake.payment_intents
    request = fake.received[-1]
    assert (request.method, request.path) == ("POST", "/v1/payment_intents")
    assert (request.account, request.idempotency_key) == (account.account_id, payment.out_trade_no)
    assert request.params["amount"] == str(order.total_minor)
    assert request.params["currency"] == "cny"
    assert request.params["metadata"] == {
        "out_trade_no": payment.out_trade_no,
        "tenant": str(shop.pk),
    }
    intent = fake.payment_intents[intent_id]
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        order.total_minor,
        "cny",
        "requires_payment_method",
    )
    # and the client gets what Stripe.js needs to confirm it on that account
    assert started.client_params == {
        "publishable_key": PUBLISHABLE_KEY,
        "stripe_account": account.account_id,
        "client_secret": intent["client_secret"],
        "payment_intent": intent_id,
        "amount": order.total_minor,
        "currency": "cny",
    }
    assert Payment.objects.get(pk=payment.pk).provider_ref == intent_id


@pytest.mark.parametrize(
    ("currency", "ours", "stripes"), [("JPY", 1500, 1500), ("IDR", 15000, 1500000)]
)
def test_payment_intent_amount_is_in_stripes_unit_of_the_currency(
    shop: Tenant,
    fake: FakeStripe,
    account: MerchantPaymentAccount,
    currency: str,
    ours: int,
    stripes: int,
) -> None:
    # when
    started = StripeGateway().payment_start(
        _request(shop, amount_minor=ours, currency=currency, no=f"SO{currency}P01")
    )
    # then
    intent = fake.payment_intents[started.provider_ref]
    assert (intent["amount"], intent["currency"]) == (stripes, currency.lower())
    assert fake.received[-1].account == account.account_id


def test_a_shop_whose_stripe_account_cannot_charge_yet_gets_no_intent(
    shop: Tenant, fake: FakeStripe
) -> None:
    # given: onboarding not finished
    stripe_account_connect(shop, fake, onboarded=False)
    order = order_make()
    # when
    with pytest.raises(GatewayUnavailableError):
        _start(order)
    # then
    assert fake.payment_intents == {}
    assert list(Payment.objects.filter(order=order).values_list("status", flat=True)) == ["failed"]


# -- query and close -------------------------------------------------------------------------


def test_query_follows_the_intent_and_close_cancels_it(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount
) -> None:
    # given: two attempts, one paid at Stripe
    paid, open_ = _start(order_make()).payment, _start(order_make()).payment
    gateway = StripeGateway()
    before = gateway.payment_query(tenant_id=shop.pk, out_trade_no=paid.out_trade_no)
    fake.payment_succeed(paid.provider_ref)
    # when
    after = gateway.payment_query(tenant_id=shop.pk, out_trade_no=paid.out_trade_no)
    gateway.payment_close(tenant_id=shop.pk, out_trade_no=open_.out_trade_no)
    gateway.payment_close(tenant_id=shop.pk, out_trade_no=open_.out_trade_no)  # again: no-op
    with pytest.raises(GatewayError) as paid_already:
        gateway.payment_close(tenant_id=shop.pk, out_trade_no=paid.out_trade_no)
    closed = gateway.payment_query(tenant_id=shop.pk, out_trade_no=open_.out_trade_no)
    # then
    assert (before.status, before.amount_minor) == ("pending", paid.amount_minor)
    assert (after.status, after.amount_minor, after.currency) == (
        "succeeded",
        paid.amount_minor,
        "CNY",
    )
    assert after.provider_ref == paid.provider_ref
    assert after.paid_at is not None
    assert closed.status == "closed"
    assert paid_already.value.code == "already_paid"
    assert fake.payment_intents[open_.provider_ref]["status"] == "canceled"
    assert fake.payment_intents[paid.provider_ref]["status"] == "succeeded"


def test_query_finds_the_intent_when_its_id_was_never_stored(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount
) -> None:
    # given: a crash between Stripe's answer and saving its id
    payment = _start(order_make()).payment
    intent_id = payment.provider_ref
    Payment.objects.filter(pk=payment.pk).update(provider_ref="")
    fake.payment_succeed(intent_id)
    # when
    state = StripeGateway().payment_query(tenant_id=shop.pk, out_trade_no=payment.out_trade_no)
    # then
    assert (state.status, state.provider_ref) == ("succeeded", intent_id)


def test_query_of_an_attempt_stripe_never_saw_is_closed(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount
) -> None:
    # given: the attempt was recorded, Stripe was never reached
    fake.fail_next(1, status=400, path="/v1/payment_intents")
    order = order_make()
    with pytest.raises(PaymentProviderError):
        _start(order)
    payment = Payment.objects.get(order=order)
    Payment.objects.filter(pk=payment.pk).update(status="pending")
    # when
    state = StripeGateway().payment_query(tenant_id=shop.pk, out_trade_no=payment.out_trade_no)
    # then
    assert (state.status, state.amount_minor) == ("closed", payment.amount_minor)


def _cancelled_event(order: Order) -> OutboxEvent:
    return OutboxEvent.objects.get(topic="order.cancelled", payload__order_id=order.pk)


def test_cancelling_the_order_cancels_its_intent(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount
) -> None:
    # given
    order = order_make()
    payment = _start(order).payment
    orders_unpaid_cancel(now=order.pay_deadline + timedelta(seconds=1))
    # when: the outbox delivers order.cancelled
    event_deliver(event_id=_cancelled_event(order).id)
    # then
    assert fake.payment_intents[payment.provider_ref]["status"] == "canceled"
    assert Payment.objects.get(pk=payment.pk).status == "closed"


def test_an_intent_paid_before_the_cancellation_arrived_is_refunded_at_stripe(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount
) -> None:
    # given: cancelled by the timeout while the payer was paying; Stripe's webhook is late
    order = order_make(price_minor=4100)
    payment = _start(order).payment
    orders_unpaid_cancel(now=order.pay_deadline + timedelta(seconds=1))
    fake.payment_succeed(payment.provider_ref)
    # when: the close finds it paid; the refund task runs
    event_deliver(event_id=_cancelled_event(order).id)
    refund = Refund.objects.get(payment=payment)
    refund_submit(refund_id=refund.pk)
    # then: the success is applied (the order stays cancelled) and the money goes back
    order.refresh_from_db()
    payment.refresh_from_db()
    refund.refresh_from_db()
    assert order.status == "cancelled"
    assert (payment.status, payment.paid_order) == ("succeeded", False)
    assert (refund.reason, refund.amount_minor, refund.status) == (
        "late_payment",
        order.total_minor,
        "pending",
    )
    (at_stripe,) = fake.refunds.values()
    assert (at_stripe["id"], at_stripe["amount"], at_stripe["payment_intent"]) == (
        refund.provider_ref,
        order.total_minor,
        payment.provider_ref,
    )


# -- refunds ---------------------------------------------------------------------------------


def _paid(fake: FakeStripe) -> Payment:
    payment = _start(order_make(price_minor=2000)).payment
    fake.payment_succeed(payment.provider_ref)
    Payment.objects.filter(pk=payment.pk).update(status="succeeded", succeeded_at=timezone.now())
    payment.refresh_from_db()
    return payment


def test_a_refund_is_made_once_at_stripe_and_stays_pending_until_stripe_settles_it(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount
) -> None:
    # given
    payment = _paid(fake)
    request = RefundRequest(
        tenant_id=shop.pk,
        out_refund_no=f"{payment.out_trade_no}M1",
        out_trade_no=payment.out_trade_no,
        payment_provider_ref=payment.provider_ref,
        amount_minor=500,
        payment_amount_minor=payment.amount_minor,
        currency="CNY",
        reason="Merchant",
        notify_url="",
    )
    gateway = StripeGateway()
    # when: asked, asked again after Stripe forgot the idempotency key (24 hours)
    first = gateway.refund_start(request)
    fake._idempotent.clear()
    again = gateway.refund_start(request)
    # then
    (refund_id,) = fake.refunds
    assert (first.status, first.amount_minor, first.provider_ref) == ("pending", 500, refund_id)
    assert again == first
    created = next(r for r in fake.received if r.path == "/v1/refunds" and r.method == "POST")
    assert (created.account, created.idempotency_key) == (
        account.account_id,
        request.out_refund_no,
    )
    assert created.params["metadata"] == {
        "out_refund_no": request.out_refund_no,
        "out_trade_no": payment.out_trade_no,
        "tenant": str(shop.pk),
    }
    # and the query says pending until Stripe settles it
    Refund.objects.create(
        payment=payment,
        order_id=payment.order_id,
        out_refund_no=request.out_refund_no,
        amount_minor=500,
        currency="CNY",
        reason="merchant",
        provider_ref=refund_id,
    )
    pending = gateway.refund_query(tenant_id=shop.pk, out_refund_no=request.out_refund_no)
    fake.refund_succeed(refund_id)
    settled = gateway.refund_query(tenant_id=shop.pk, out_refund_no=request.out_refund_no)
    assert (pending.status, settled.status, settled.amount_minor) == ("pending", "succeeded", 500)


def test_a_refund_stripe_refuses_fails_without_retrying(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount
) -> None:
    # given: the whole payment refunded at Stripe already (by the merchant, on Stripe)
    payment = _paid(fake)
    fake.client().v1.refunds.create(
        params={"payment_intent": payment.provider_ref},
        options={"stripe_account": account.account_id},
    )
    with transaction.atomic():
        refund = refund_create(
            payment=payment,
            amount_minor=300,
            reason=Refund.Reason.MERCHANT,
            out_refund_no=f"{payment.out_trade_no}M2",
            requested_by="account:1",
        )
    # when
    state = refund_submit(refund_id=refund.pk)
    # then
    refund.refresh_from_db()
    assert state is None
    assert refund.status == "failed"
    assert "already been refunded" in refund.failure
    assert len(fake.refunds) == 1


def test_gateway_errors_say_whether_a_retry_may_help(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount
) -> None:
    # given
    gateway = StripeGateway()
    fake.fail_next(3, status=503)  # the client retries twice
    # when
    with pytest.raises(GatewayError) as unavailable:
        gateway.payment_start(_request(shop, amount_minor=1000, currency="CNY", no="SO1P01"))
    with pytest.raises(GatewayError) as refused:
        gateway.payment_start(_request(shop, amount_minor=1, currency="HKD", no="SO2P01"))
    # then
    assert unavailable.value.retryable is True
    assert (refused.value.retryable, refused.value.code) == (False, "amount_too_small")
    assert fake.payment_intents == {}


# -- the daily bill --------------------------------------------------------------------------


def test_the_days_bill_of_the_account_is_matched_to_our_payments(
    shop: Tenant, fake: FakeStripe, account: MerchantPaymentAccount
) -> None:
    # given: a payment that matches, one Stripe has and we do not know, one we think paid that
    # Stripe never charged, one still pending here, and a settled refund
    matched = _paid(fake)
    pending_here = _start(order_make(price_minor=3000)).payment
    fake.payment_succeed(pending_here.provider_ref)
    stranger = fake.client().v1.payment_intents.create(
        params={"amount": 4200, "currency": "cny", "metadata": {"out_trade_no": "ELSEWHERE"}},
        options={"stripe_account": account.account_id},
    )
    fake.payment_succeed(stranger.id)
    gone = order_make(price_minor=5000)
    Payment.objects.create(
        order=gone,
        gateway="stripe",
        method="stripe_card",
        out_trade_no=f"{gone.number}P09",
        amount_minor=gone.total_minor,
        currency="CNY",
        status="succeeded",
        succeeded_at=timezone.now(),
        provider_ref="pi_never",
    )
    with transaction.atomic():
        refund = refund_create(
            payment=matched,
            amount_minor=700,
            reason=Refund.Reason.MERCHANT,
            out_refund_no=f"{matched.out_trade_no}M1",
            requested_by="account:1",
        )
    fake.refund_initial_status = "succeeded"
    refund_submit(refund_id=refund.pk)
    today = timezone.localtime(timezone.now(), shop_context().time_zone).date()
    # when
    run = reconcile_gateway(gateway="stripe", day=today)
    # then
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert (run.error, run.provider_rows, run.matched) == ("", 4, 2)
    found = {
        (
            item.kind,
            item.record_type,
            item.out_trade_no,
            item.our_amount_minor,
            item.provider_amount_minor,
        )
        for item in ReconciliationMismatch.objects.filter(run=run)
    }
    assert found == {
        ("missing_here", "payment", "ELSEWHERE", None, 4200),
        ("missing_at_provider", "payment", f"{gone.number}P09", gone.total_minor, None),
        (
            "status",
            "payment",
            pending_here.out_trade_no,
            pending_here.amount_minor,
            pending_here.amount_minor,
        ),
    }
    # and yesterday's bill has none of today's charges
    yesterday = reconcile_gateway(gateway="stripe", day=today - timedelta(days=1))
    assert (yesterday.provider_rows, yesterday.matched) == (0, 0)
