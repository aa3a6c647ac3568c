"""Paid entry: with an entry fee set (a risky setting, acknowledged), a member who becomes a
distributor by their own request pays it from their store balance, once, recorded on the status
change or the application; short of it they are refused (insufficient_store_balance) and nothing
changes; a rejected application gives it back; the distributor center shows it."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from distribution.errors import NotADistributorError, RiskAcknowledgementRequiredError
from distribution.models import (
    DistributionSettings,
    Distributor,
    DistributorApplication,
    DistributorStatusChange,
)
from distribution.services.qualification import (
    distributor_application_approve,
    distributor_application_reject,
    distributor_apply,
    distributor_appoint,
    distributor_qualify_on_demand,
)
from distribution.services.settings import distribution_settings_update
from shop.customers.errors import StoreBalanceInsufficientError
from shop.customers.models import Member, StoreBalanceEntry
from shop.customers.services.store_balance import store_balance_credit
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.support.commerce import member_make, member_token, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db
FEE = 1000


def _on(qualification: str = "everyone", fee: int = FEE, **changes: object) -> None:
    distribution_settings_update(
        changes={
            "enabled": True,
            "qualification": qualification,
            "paid_entry_minor": fee,
            **changes,
        },
        actor="a",
        acknowledge_risks=True,
    )


def _member_with(balance_minor: int) -> Member:
    member = member_make()
    if balance_minor:
        store_balance_credit(
            member_id=member.pk,
            amount_minor=balance_minor,
            source="test_topup",
            source_id=uuid.uuid4().hex,
        )
    member.refresh_from_db()
    return member


def _balance(member: Member) -> int:
    member.refresh_from_db()
    return member.store_balance_minor


def _fees(member: Member) -> list[tuple[str, str, int]]:
    return list(
        DistributorStatusChange.objects.filter(distributor__member=member)
        .order_by("id")
        .values_list("to_status", "reason", "entry_fee_minor")
    )


def test_the_member_pays_the_fee_from_their_store_balance_once(shop: Tenant) -> None:
    # given: a fee of 10.00; the member holds 30.00
    _on()
    member = _member_with(3000)
    # when
    result = distributor_apply(member=member)
    # then
    assert result.distributor.status == "active"
    assert _balance(member) == 2000
    assert _fees(member) == [("active", "everyone", FEE)]
    entry = StoreBalanceEntry.objects.get(member=member, source="distributor_entry")
    assert (entry.source_id, entry.amount_minor) == (f"member:{member.pk}", -FEE)


def test_short_of_the_fee_the_member_is_refused_and_nothing_changes(shop: Tenant) -> None:
    # given: 9.99 for a fee of 10.00
    _on()
    member = _member_with(999)
    # when
    with pytest.raises(StoreBalanceInsufficientError) as refused:
        distributor_apply(member=member)
    # then
    assert refused.value.code == "insufficient_store_balance"
    assert _balance(member) == 999
    assert not Distributor.objects.filter(member=member).exists()
    assert not DistributorStatusChange.objects.filter(distributor__member=member).exists()
    assert not StoreBalanceEntry.objects.filter(source="distributor_entry").exists()


def test_a_first_share_never_charges_the_fee(shop: Tenant) -> None:
    # given: a fee, and a member whose balance would cover it
    _on()
    member = _member_with(FEE)
    # when: their first share asks for a distributor profile on demand
    with pytest.raises(NotADistributorError):
        distributor_qualify_on_demand(member=member)
    # then: nothing is charged and nothing made; they must apply (and pay) themselves
    assert _balance(member) == FEE
    assert not Distributor.objects.filter(member=member).exists()
    assert not StoreBalanceEntry.objects.filter(source="distributor_entry").exists()


def test_an_application_pays_the_fee_and_a_rejection_gives_it_back(shop: Tenant) -> None:
    # given
    _on("apply_review")
    member = _member_with(2500)
    # when: the member applies
    first = distributor_apply(member=member, name="王", phone="13800138000")
    # then: paid with the application
    assert first.application is not None
    assert first.application.entry_fee_minor == FEE
    assert _balance(member) == 1500
    # when: the merchant rejects it
    distributor_application_reject(application_id=first.application.pk, actor="a", note="no")
    # then: the fee is back
    assert _balance(member) == 2500
    # when: they apply again and are approved
    second = distributor_apply(member=member, name="王", phone="13800138000")
    assert second.application is not None
    distributor_application_approve(application_id=second.application.pk, actor="a")
    # then: paid once more, kept
    assert _balance(member) == 1500
    assert list(
        DistributorApplication.objects.filter(member=member)
        .order_by("id")
        .values_list("status", "entry_fee_minor")
    ) == [("rejected", FEE), ("approved", FEE)]
    assert _fees(member) == [
        ("applied", "applied", FEE),
        ("rejected", "rejected", 0),
        ("applied", "applied", FEE),
        ("active", "approved", 0),
    ]
    assert sorted(
        StoreBalanceEntry.objects.filter(member=member)
        .exclude(source="test_topup")
        .values_list("source", "amount_minor")
    ) == [
        ("distributor_entry", -FEE),
        ("distributor_entry", -FEE),
        ("distributor_entry_refund", FEE),
    ]


def test_an_application_short_of_the_fee_is_not_recorded(shop: Tenant) -> None:
    # given
    _on("apply_review")
    member = _member_with(0)
    # when
    with pytest.raises(StoreBalanceInsufficientError):
        distributor_apply(member=member, name="王", phone="13800138000")
    # then
    assert not DistributorApplication.objects.filter(member=member).exists()
    assert not Distributor.objects.filter(member=member).exists()


def test_a_spend_condition_met_waits_for_the_member_to_pay(shop: Tenant) -> None:
    # given: spend 50.00 to qualify, and a fee
    _on("spend_threshold", qualification_spend_minor=5000)
    member = _member_with(FEE)
    # when: they pay an order of 60.00 (the automatic qualification runs on order.paid)
    order = order_make(member=member, items=[(sku_of(product_make(price_minor=6000)), 1)])
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    for event in OutboxEvent.objects.filter(topic="order.paid", settled_at__isnull=True):
        event_deliver(event_id=event.pk)
    # then: not made a distributor (nobody charged their balance)
    assert not Distributor.objects.filter(member=member).exists()
    assert _balance(member) == FEE
    # when: they ask
    distributor_apply(member=member)
    # then
    assert _fees(member) == [("active", "spend_threshold", FEE)]
    assert _balance(member) == 0


def test_the_merchant_appoints_without_a_fee(shop: Tenant) -> None:
    # given
    _on("appointed")
    member = _member_with(0)
    # when
    distributor_appoint(member_id=member.pk, actor="account:1")
    # then
    assert _fees(member) == [("active", "appointed", 0)]


def test_paid_entry_needs_the_acknowledgement(shop: Tenant) -> None:
    # given
    distribution_settings_update(changes={"enabled": True}, actor="a")
    # when
    with pytest.raises(RiskAcknowledgementRequiredError) as refused:
        distribution_settings_update(changes={"paid_entry_minor": FEE}, actor="a")
    # then
    assert "paid_entry_minor" not in refused.value.fields
    assert "paid_entry" in refused.value.fields
    assert DistributionSettings.objects.get().paid_entry_minor == 0


def test_the_center_shows_the_fee_and_refuses_a_member_short_of_it(shop: Tenant) -> None:
    # given
    _on()
    api = Client(HTTP_HOST="alpha.localhost")
    member = _member_with(500)
    headers = member_token(member)
    # when
    before = api.get("/api/v1/distribution/me", **headers).json()
    refused = api.post("/api/v1/distribution/apply", {}, content_type="application/json", **headers)
    # then
    assert (before["status"], before["entry_fee_minor"]) == ("none", FEE)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_store_balance"
    # when: topped up, they join
    store_balance_credit(member_id=member.pk, amount_minor=500, source="test_topup", source_id="x")
    joined = api.post("/api/v1/distribution/apply", {}, content_type="application/json", **headers)
    # then: no fee is due any more
    assert joined.status_code == 200
    assert (joined.json()["status"], joined.json()["entry_fee_minor"]) == ("active", 0)
    assert _balance(member) == 0
