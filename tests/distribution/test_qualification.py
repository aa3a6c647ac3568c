"""Who becomes a distributor: every qualification mode, the merchant's decisions, the automatic
conditions evaluated from order events (spend net of refunds, a bought product), and disabling."""

from __future__ import annotations

import pytest

from distribution.errors import (
    AlreadyADistributorError,
    ApplicationDecidedError,
    ApplicationPendingError,
    DistributionOffError,
    DistributorStatusInvalidError,
    NotADistributorError,
    QualificationAppointedOnlyError,
    QualificationNotMetError,
)
from distribution.models import (
    Commission,
    Distributor,
    DistributorApplication,
    DistributorStatusChange,
)
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.qualification import (
    distributor_application_approve,
    distributor_application_reject,
    distributor_apply,
    distributor_appoint,
    distributor_disable,
    distributor_enable,
    distributor_qualify_on_demand,
    member_net_spend_minor,
)
from distribution.services.settings import distribution_settings_update
from infra.errors import ValidationFailed
from shop.catalog.models import Product
from shop.customers.models import Member
from shop.customers.phones import phone_decrypt
from shop.events.models import OutboxEvent
from shop.events.services import event_deliver
from shop.orders.models import Order
from shop.orders.services.after_sales import AfterSaleItem, order_refund_by_merchant
from shop.payments.models import Refund
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from shop.payments.services.refunds import refund_submit
from tenants.models import Tenant
from tests.support.commerce import member_make, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db
Status = Distributor.Status


def _mode(qualification: str, **changes: object) -> None:
    distribution_settings_update(
        changes={"enabled": True, "qualification": qualification, **changes}, actor="a"
    )


def _paid(
    member: Member, *, price_minor: int, quantity: int = 1, product: Product | None = None
) -> Order:
    product = product or product_make(price_minor=price_minor, stock=50)
    order = order_make(member=member, items=[(sku_of(product), quantity)])
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    return order


def _deliver(topic: str) -> None:
    for event in OutboxEvent.objects.filter(topic=topic, settled_at__isnull=True):
        event_deliver(event_id=event.pk)


def _refund(order: Order, quantity: int) -> None:
    line = order.lines.get()
    after_sale = order_refund_by_merchant(
        order=order, items=[AfterSaleItem(line.pk, quantity)], reason="x", actor="account:1"
    )
    _deliver("after_sale.refunding")
    refund_submit(refund_id=Refund.objects.get(after_sale=after_sale).pk)
    _deliver("order.refunded")


def _status(member: Member) -> str | None:
    return Distributor.objects.filter(member=member).values_list("status", flat=True).first()


def _reasons(member: Member) -> list[tuple[str, str, str]]:
    return list(
        DistributorStatusChange.objects.filter(distributor__member=member)
        .order_by("id")
        .values_list("from_status", "to_status", "reason")
    )


def test_everyone_becomes_a_distributor_on_demand(shop: Tenant) -> None:
    # given
    _mode("everyone")
    member = member_make()
    # when: they ask in the center, and (another member) at their first share
    applied = distributor_apply(member=member)
    sharer = member_make()
    shared = distributor_qualify_on_demand(member=sharer)
    # then
    assert (applied.distributor.status, applied.application) == (Status.ACTIVE, None)
    assert applied.distributor.activated_at is not None
    assert shared.status == Status.ACTIVE
    assert len(shared.code) == 8
    assert _reasons(member) == [("", "active", "everyone")]
    # asking again is refused with a stable code, and changes nothing
    with pytest.raises(AlreadyADistributorError):
        distributor_apply(member=member)
    assert _reasons(member) == [("", "active", "everyone")]


def test_nothing_while_distribution_is_off(shop: Tenant) -> None:
    # given: a shop that has not switched distribution on
    distribution_settings_update(changes={"enabled": False}, actor="a")
    member = member_make()
    # when / then
    with pytest.raises(DistributionOffError):
        distributor_apply(member=member)
    with pytest.raises(NotADistributorError):
        distributor_qualify_on_demand(member=member)
    assert _status(member) is None


def test_apply_review_approve_reject_and_apply_again(shop: Tenant) -> None:
    # given
    _mode("apply_review")
    member = member_make()
    # when: the member applies
    result = distributor_apply(
        member=member, name=" 王小明 ", phone="13800138000", reason="I share tea with friends"
    )
    # then: an application waits, the distributor is only "applied" (earns nothing)
    application = result.application
    assert application is not None
    assert (application.status, application.name) == ("submitted", "王小明")
    assert phone_decrypt(application.phone_encrypted) == "+8613800138000"
    assert _status(member) == Status.APPLIED
    with pytest.raises(ApplicationPendingError):
        distributor_apply(member=member, name="x", phone="13800138000")
    assert DistributorApplication.objects.filter(member=member).count() == 1
    # when: the merchant rejects it with a note
    distributor_application_reject(
        application_id=application.pk, actor="account:7", note="Tell us more about your shop"
    )
    application.refresh_from_db()
    # then
    assert (application.status, application.note, application.decided_by) == (
        "rejected",
        "Tell us more about your shop",
        "account:7",
    )
    assert _status(member) == Status.REJECTED
    with pytest.raises(ApplicationDecidedError):
        distributor_application_approve(application_id=application.pk, actor="account:7")
    # when: they apply again and the merchant approves
    again = distributor_apply(member=member, name="王小明", phone="+8613800138000", reason="更多")
    assert again.application is not None
    distributor_application_approve(application_id=again.application.pk, actor="account:7")
    # then
    assert _status(member) == Status.ACTIVE
    assert _reasons(member) == [
        ("", "applied", "applied"),
        ("applied", "rejected", "rejected"),
        ("rejected", "applied", "applied"),
        ("applied", "active", "approved"),
    ]


def test_an_application_needs_a_name_and_a_valid_phone(shop: Tenant) -> None:
    # given
    _mode("apply_review")
    member = member_make()
    # when
    with pytest.raises(ValidationFailed) as caught:
        distributor_apply(member=member, name="  ", phone="12", reason="")
    # then
    assert set(caught.value.fields) == {"name", "phone"}
    assert not DistributorApplication.objects.filter(member=member).exists()
    assert _status(member) is None


def test_a_rejection_needs_a_note(shop: Tenant) -> None:
    # given
    _mode("apply_review")
    member = member_make()
    application = distributor_apply(member=member, name="A", phone="13800138001").application
    assert application is not None
    # when
    with pytest.raises(ValidationFailed) as caught:
        distributor_application_reject(application_id=application.pk, actor="a", note=" ")
    # then
    assert set(caught.value.fields) == {"note"}
    application.refresh_from_db()
    assert application.status == "submitted"


def test_appointed_only_by_the_merchant(shop: Tenant) -> None:
    # given
    _mode("appointed")
    member = member_make()
    # when: the member asks
    with pytest.raises(QualificationAppointedOnlyError):
        distributor_apply(member=member)
    with pytest.raises(NotADistributorError):
        distributor_qualify_on_demand(member=member)
    assert _status(member) is None
    # when: the merchant appoints them
    distributor_appoint(member_id=member.pk, actor="account:7", note="our best customer")
    # then
    assert _status(member) == Status.ACTIVE
    change = DistributorStatusChange.objects.get(distributor__member=member)
    assert (change.reason, change.actor, change.note) == (
        "appointed",
        "account:7",
        "our best customer",
    )
    with pytest.raises(AlreadyADistributorError):
        distributor_appoint(member_id=member.pk, actor="account:7")


def test_appointing_an_applicant_approves_their_application(shop: Tenant) -> None:
    # given
    _mode("apply_review")
    member = member_make()
    application = distributor_apply(member=member, name="A", phone="13800138002").application
    assert application is not None
    # when
    distributor_appoint(member_id=member.pk, actor="account:7")
    # then
    application.refresh_from_db()
    assert (application.status, _status(member)) == ("approved", Status.ACTIVE)


def test_spend_threshold_net_of_refunds_through_order_events(shop: Tenant) -> None:
    # given: members qualify once they spent 100.00 net of refunds
    _mode("spend_threshold", qualification_spend_minor=10000)
    member = member_make()
    # when: they pay 60.00, then 2 x 30.00 (120.00 in all)
    _paid(member, price_minor=6000)
    _deliver("order.paid")
    below = _status(member)
    second = _paid(member, price_minor=3000, quantity=2)
    _deliver("order.paid")
    # then: not before 100.00, a distributor once reached
    assert below is None
    assert _status(member) == Status.ACTIVE
    assert member_net_spend_minor(member_id=member.pk) == 12000
    # when: one unit of the second order is refunded (90.00 net)
    _refund(second, 1)
    # then: under the threshold again: disabled, with the reason
    assert member_net_spend_minor(member_id=member.pk) == 9000
    assert _status(member) == Status.DISABLED
    # when: a later payment takes them over it again
    _paid(member, price_minor=2000)
    _deliver("order.paid")
    # then
    assert _status(member) == Status.ACTIVE
    assert _reasons(member) == [
        ("", "active", "spend_threshold"),
        ("active", "disabled", "spend_refunded"),
        ("disabled", "active", "spend_threshold"),
    ]


def test_a_refund_leaves_a_distributor_alone_whom_the_threshold_did_not_qualify(
    shop: Tenant,
) -> None:
    # given: an appointed distributor whose only order is refunded
    _mode("spend_threshold", qualification_spend_minor=5000)
    member = member_make()
    distributor_appoint(member_id=member.pk, actor="account:7")
    order = _paid(member, price_minor=6000)
    _deliver("order.paid")
    # when
    _refund(order, 1)
    # then
    assert _status(member) == Status.ACTIVE
    assert [reason for _f, _t, reason in _reasons(member)] == ["appointed"]


def test_spend_threshold_asked_in_the_center(shop: Tenant) -> None:
    # given
    _mode("spend_threshold", qualification_spend_minor=5000)
    member = member_make()
    _paid(member, price_minor=1000)
    # when / then: not yet
    with pytest.raises(QualificationNotMetError):
        distributor_apply(member=member)
    assert _status(member) is None
    # when: they spent enough (the event not delivered yet), they may ask
    _paid(member, price_minor=4000)
    assert distributor_apply(member=member).distributor.status == Status.ACTIVE


def test_bought_product_qualifies_on_payment(shop: Tenant) -> None:
    # given: buying the starter kit qualifies
    kit = product_make(title="Starter kit", price_minor=1990, stock=10)
    _mode("bought_product", qualification_product_ids=[kit.pk])
    buyer_of_tea = member_make()
    buyer_of_kit = member_make()
    # when
    _paid(buyer_of_tea, price_minor=5000)
    _paid(buyer_of_kit, price_minor=0, product=kit)
    _deliver("order.paid")
    # then
    assert _status(buyer_of_tea) is None
    assert _status(buyer_of_kit) == Status.ACTIVE
    assert _reasons(buyer_of_kit) == [("", "active", "bought_product")]


def test_a_disabled_distributor_earns_nothing_until_enabled(shop: Tenant) -> None:
    # given: upline ← buyer, the upline disabled by the merchant
    _mode("everyone")
    upline, buyer = member_make(), member_make()
    referral_bind(member=buyer, code=distributor_make(member=upline).code, trigger="first_visit")
    distributor_disable(member_id=upline.pk, actor="account:7", note="fake reviews")
    # when
    first = _paid(buyer, price_minor=10000)
    _deliver("order.paid")
    # then: nothing booked; the disabled one cannot ask to be one again
    assert not Commission.objects.filter(order=first).exists()
    with pytest.raises(DistributorStatusInvalidError):
        distributor_apply(member=upline)
    with pytest.raises(DistributorStatusInvalidError):
        distributor_disable(member_id=upline.pk, actor="account:7")
    # when: enabled again
    distributor_enable(member_id=upline.pk, actor="account:7")
    second = _paid(buyer, price_minor=10000)
    _deliver("order.paid")
    # then
    assert Commission.objects.filter(order=second, beneficiary=upline).exists()
    assert [reason for _f, _t, reason in _reasons(upline)] == ["disabled", "enabled"]
