"""Commission rates by source: global, grade (falling back to global), product and SKU (an SKU
falls back to its product, a product to global); the rate booked and its rule snapshot; a
constant number of queries whatever the depth."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from distribution.errors import ProductRateTargetInvalidError
from distribution.models import Commission, ProductCommissionRate
from distribution.services.bindings import distributor_make, referral_bind
from distribution.services.commissions import commissions_book
from distribution.services.grades import grade_create, grade_set_manual
from distribution.services.rates import (
    commission_rates,
    product_rate_delete,
    product_rate_set,
)
from distribution.services.settings import distribution_settings_get, distribution_settings_update
from infra.errors import ValidationFailed
from shop.catalog.models import Product, Sku
from shop.catalog.services.products import OptionSpec
from shop.customers.models import Member
from shop.orders.models import Order, OrderLine
from shop.payments.services.payments import payment_sandbox_confirm, payment_start
from tenants.models import Tenant
from tests.support.commerce import member_make, order_make, product_make, sku_of

pytestmark = pytest.mark.django_db


def _on(source: str, depth: int = 3) -> None:
    distribution_settings_update(
        changes={
            "enabled": True,
            "depth": depth,
            "level_rates": [1000, 500, 200][:depth],
            "rate_source": source,
        },
        actor="a",
    )


def _chain(length: int) -> list[Member]:
    members = [member_make() for _ in range(length)]
    for child, parent in zip(members[1:], members, strict=False):
        referral_bind(
            member=child, code=distributor_make(member=parent).code, trigger="first_visit"
        )
    distributor_make(member=members[-1])
    return members


def _paid(member: Member, items: list[tuple[Sku, int]]) -> Order:
    order = order_make(member=member, items=items)
    started = payment_start(order=order, method="sandbox", notify_url="http://x/")
    payment_sandbox_confirm(order=order, out_trade_no=started.payment.out_trade_no)
    order.refresh_from_db()
    return order


def _lines(order: Order) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order=order).order_by("id"))


def _two_skus() -> tuple[Product, Sku, Sku]:
    product = product_make(
        price_minor=10000, stock=20, options=[OptionSpec(name="Size", values=["S", "M"])]
    )
    small, medium = Sku.objects.filter(product=product).order_by("id")
    return product, small, medium


def test_global_rates_come_from_the_settings_without_a_query(shop: Tenant) -> None:
    # given
    _on("global")
    great, grand, upline, buyer = _chain(4)
    order = order_make(member=buyer, price_minor=10000)
    lines = _lines(order)
    settings = distribution_settings_get()
    beneficiaries = [(1, upline.pk), (2, grand.pk), (3, great.pk)]
    # when
    with CaptureQueriesContext(connection) as queries:
        rates = commission_rates(settings=settings, beneficiaries=beneficiaries, lines=lines)
    # then
    line = lines[0].pk
    assert rates == {
        (1, upline.pk, line): ("percentage", 1000),
        (2, grand.pk, line): ("percentage", 500),
        (3, great.pk, line): ("percentage", 200),
    }
    assert len(queries.captured_queries) == 0


def test_grade_rates_per_beneficiary_with_the_default_and_global_fallbacks(shop: Tenant) -> None:
    # given: VIP pays 20 % at level 1 only; the default grade 12 % / 6 % / 3 %
    _on("grade")
    vip = grade_create(values={"name": "VIP", "rank": 10, "level_rates": [2000]})
    grade_create(
        values={"name": "普通", "rank": 0, "is_default": True, "level_rates": [1200, 600, 300]}
    )
    great, grand, upline, buyer = _chain(4)
    grade_set_manual(member_id=upline.pk, grade_id=vip.pk, actor="a")
    grade_set_manual(member_id=grand.pk, grade_id=vip.pk, actor="a")
    lines = _lines(order_make(member=buyer, price_minor=10000))
    line = lines[0].pk
    # when
    rates = commission_rates(
        settings=distribution_settings_get(),
        beneficiaries=[(1, upline.pk), (2, grand.pk), (3, great.pk)],
        lines=lines,
    )
    # then: VIP's level 1; VIP has no level 2 → global 5 %; no grade → the default's level 3
    assert rates == {
        (1, upline.pk, line): ("percentage", 2000),
        (2, grand.pk, line): ("percentage", 500),
        (3, great.pk, line): ("percentage", 300),
    }


def test_without_any_grade_the_grade_source_pays_global_rates(shop: Tenant) -> None:
    # given
    _on("grade", depth=1)
    upline, buyer = _chain(2)
    lines = _lines(order_make(member=buyer, price_minor=10000))
    # when
    rates = commission_rates(
        settings=distribution_settings_get(), beneficiaries=[(1, upline.pk)], lines=lines
    )
    # then
    assert rates == {(1, upline.pk, lines[0].pk): ("percentage", 1000)}


def test_product_rates_with_the_global_fallback(shop: Tenant) -> None:
    # given: one product with its own 15 % / fixed nothing; another without
    _on("product", depth=2)
    own = product_make(price_minor=10000, stock=5)
    plain = product_make(price_minor=10000, stock=5)
    product_rate_set(product_id=own.pk, rate_kind="percentage", level_rates=[1500])
    grand, upline, buyer = _chain(3)
    order = order_make(member=buyer, items=[(sku_of(own), 1), (sku_of(plain), 1)])
    own_line, plain_line = (line.pk for line in _lines(order))
    # when
    rates = commission_rates(
        settings=distribution_settings_get(),
        beneficiaries=[(1, upline.pk), (2, grand.pk)],
        lines=_lines(order),
    )
    # then: the product has no level 2 rate → global
    assert rates == {
        (1, upline.pk, own_line): ("percentage", 1500),
        (1, upline.pk, plain_line): ("percentage", 1000),
        (2, grand.pk, own_line): ("percentage", 500),
        (2, grand.pk, plain_line): ("percentage", 500),
    }


def test_sku_rates_fall_back_to_the_product_then_to_global(shop: Tenant) -> None:
    # given: size S has a fixed 3.00; the product 8 %; another product nothing
    _on("sku", depth=1)
    product, small, medium = _two_skus()
    plain = product_make(price_minor=10000, stock=5)
    product_rate_set(product_id=product.pk, sku_id=small.pk, rate_kind="fixed", level_rates=[300])
    product_rate_set(product_id=product.pk, rate_kind="percentage", level_rates=[800])
    upline, buyer = _chain(2)
    order = order_make(member=buyer, items=[(small, 2), (medium, 1), (sku_of(plain), 1)])
    lines = _lines(order)
    # when
    rates = commission_rates(
        settings=distribution_settings_get(), beneficiaries=[(1, upline.pk)], lines=lines
    )
    # then
    assert [rates[(1, upline.pk, line.pk)] for line in lines] == [
        ("fixed", 300),
        ("percentage", 800),
        ("percentage", 1000),
    ]


def test_the_product_source_ignores_sku_rates(shop: Tenant) -> None:
    # given
    _on("product", depth=1)
    product, small, _medium = _two_skus()
    product_rate_set(product_id=product.pk, sku_id=small.pk, rate_kind="fixed", level_rates=[300])
    upline, buyer = _chain(2)
    lines = _lines(order_make(member=buyer, items=[(small, 1)]))
    # when
    rates = commission_rates(
        settings=distribution_settings_get(), beneficiaries=[(1, upline.pk)], lines=lines
    )
    # then
    assert rates == {(1, upline.pk, lines[0].pk): ("percentage", 1000)}


@pytest.mark.parametrize("source", ["global", "grade", "product", "sku"])
def test_resolving_takes_the_same_queries_at_depth_one_and_three(shop: Tenant, source: str) -> None:
    # given
    _on(source)
    grade_create(values={"name": "普通", "rank": 0, "is_default": True, "level_rates": [900]})
    great, grand, upline, buyer = _chain(4)
    product, small, medium = _two_skus()
    product_rate_set(product_id=product.pk, rate_kind="percentage", level_rates=[700, 300])
    lines = _lines(order_make(member=buyer, items=[(small, 1), (medium, 1)]))
    settings = distribution_settings_get()
    # when
    counts = []
    for beneficiaries in ([(1, upline.pk)], [(1, upline.pk), (2, grand.pk), (3, great.pk)]):
        with CaptureQueriesContext(connection) as queries:
            commission_rates(settings=settings, beneficiaries=beneficiaries, lines=lines)
        counts.append(len(queries.captured_queries))
    # then
    assert counts[0] == counts[1] <= 1


def test_a_grade_changes_the_booked_commission_and_the_rule_says_so(shop: Tenant) -> None:
    # given: grade source; the upline is VIP (25 %), the next one up has no grade (global 5 %)
    _on("grade", depth=2)
    vip = grade_create(values={"name": "VIP", "rank": 10, "level_rates": [2500, 1000]})
    grand, upline, buyer = _chain(3)
    grade_set_manual(member_id=upline.pk, grade_id=vip.pk, actor="a")
    order = _paid(buyer, [(sku_of(product_make(price_minor=9999, stock=5)), 1)])
    # when
    commissions_book(order_id=order.pk, event_id="e1")
    # then: 2499.75 → 2499 (rounded down), 499.95 → 499
    first, second = Commission.objects.filter(order=order).order_by("level")
    assert (first.beneficiary_id, first.rate, first.amount_minor) == (upline.pk, 2500, 2499)
    assert (second.beneficiary_id, second.rate, second.amount_minor) == (grand.pk, 500, 499)
    assert first.rule["rate_source"] == "grade"
    assert (first.rule["rate_source_used"], first.rule["grade_id"], first.rule["grade_name"]) == (
        "grade",
        vip.pk,
        "VIP",
    )
    assert (first.rule["rate_kind_used"], first.rule["rate_used"], first.rule["level"]) == (
        "percentage",
        2500,
        1,
    )
    assert second.rule["rate_source_used"] == "global"
    assert "grade_id" not in second.rule


def test_a_fixed_sku_rate_is_booked_per_unit(shop: Tenant) -> None:
    # given
    _on("sku", depth=1)
    product, small, _medium = _two_skus()
    product_rate_set(product_id=product.pk, sku_id=small.pk, rate_kind="fixed", level_rates=[350])
    upline, buyer = _chain(2)
    order = _paid(buyer, [(small, 3)])
    # when
    commissions_book(order_id=order.pk, event_id="e1")
    # then
    commission = Commission.objects.get(order=order)
    assert commission.beneficiary_id == upline.pk
    assert (commission.rate_kind, commission.rate, commission.amount_minor) == ("fixed", 350, 1050)
    assert commission.rule["rate_source_used"] == "sku"


def test_product_rates_are_validated_and_refused_without_changes(shop: Tenant) -> None:
    # given
    product, small, _medium = _two_skus()
    other = product_make(price_minor=100, stock=1)
    # when / then
    with pytest.raises(ValidationFailed) as four:
        product_rate_set(product_id=product.pk, rate_kind="percentage", level_rates=[1, 2, 3, 4])
    assert four.value.fields["level_rates"][0]["code"] == "depth_exceeds_limit"
    with pytest.raises(ValidationFailed) as over:
        product_rate_set(product_id=product.pk, rate_kind="percentage", level_rates=[9000, 2000])
    assert over.value.fields["level_rates"][0]["code"] == "rates_exceed_sale"
    with pytest.raises(ProductRateTargetInvalidError):
        product_rate_set(
            product_id=other.pk, sku_id=small.pk, rate_kind="percentage", level_rates=[100]
        )
    assert not ProductCommissionRate.objects.exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductCommissionRate.objects.create(product=product, level_rates=[1, 2, 3, 4])


def test_setting_a_product_rate_again_replaces_it_and_deleting_falls_back(shop: Tenant) -> None:
    # given
    _on("product", depth=1)
    product = product_make(price_minor=10000, stock=5)
    product_rate_set(product_id=product.pk, rate_kind="percentage", level_rates=[1500])
    product_rate_set(product_id=product.pk, rate_kind="fixed", level_rates=[200])
    upline, buyer = _chain(2)
    lines = _lines(order_make(member=buyer, items=[(sku_of(product), 1)]))
    settings = distribution_settings_get()
    # when
    replaced = commission_rates(settings=settings, beneficiaries=[(1, upline.pk)], lines=lines)
    removed = product_rate_delete(product_id=product.pk)
    fallback = commission_rates(settings=settings, beneficiaries=[(1, upline.pk)], lines=lines)
    # then
    assert ProductCommissionRate.objects.count() == 0
    assert removed is True
    assert replaced == {(1, upline.pk, lines[0].pk): ("fixed", 200)}
    assert fallback == {(1, upline.pk, lines[0].pk): ("percentage", 1000)}


def test_fixed_amounts_of_all_levels_together_never_exceed_what_the_line_earns(
    shop: Tenant,
) -> None:
    # given: fixed 60.00 / 30.00 / 20.00 per unit on a 100.00 SKU; a chain three deep
    _on("sku", depth=3)
    product, small, _medium = _two_skus()
    product_rate_set(
        product_id=product.pk, sku_id=small.pk, rate_kind="fixed", level_rates=[6000, 3000, 2000]
    )
    great, grand, upline, buyer = _chain(4)
    order = _paid(buyer, [(small, 1)])
    # when
    commissions_book(order_id=order.pk, event_id="e1")
    # then: levels 1 and 2 take 90.00; level 3 gets the 10.00 left, not 20.00
    booked = {
        c.level: (c.beneficiary_id, c.amount_minor) for c in Commission.objects.filter(order=order)
    }
    assert booked == {1: (upline.pk, 6000), 2: (grand.pk, 3000), 3: (great.pk, 1000)}
