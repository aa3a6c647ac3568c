"""Checkout through the service: order, line snapshots, stock, shipping, errors."""

from __future__ import annotations

import pytest

from shop.catalog.models import ShippingRegionRule, ShippingTemplate, Sku
from shop.catalog.services.products import OptionSpec
from shop.events.models import OutboxEvent
from shop.orders.errors import RegionNotDeliveredError, SkuNotForSaleError, SoldOutError
from shop.orders.models import Order, OrderStatus, OrderTransition
from shop.orders.services.checkout import CheckoutItem, order_checkout
from tenants.models import Tenant
from tests.support.commerce import address_make, member_make, product_make, sku_of

pytestmark = pytest.mark.django_db


def test_checkout_creates_a_pending_order_with_snapshots_and_reserves_stock(shop: Tenant) -> None:
    # given
    member = member_make()
    address = address_make(member)
    product = product_make(
        title="乌龙茶", price_minor=1250, stock=5, options=[OptionSpec("罐", ["大", "小"])]
    )
    big = Sku.objects.filter(product=product).order_by("id")[0]
    # when
    order = order_checkout(
        member=member,
        items=[CheckoutItem(sku_id=big.pk, quantity=2, referral_code="INV42")],
        address_id=address.pk,
    )
    # then
    big.refresh_from_db()
    assert big.stock == 3
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert (order.items_minor, order.shipping_minor, order.total_minor) == (2500, 0, 2500)
    line = order.lines.get()
    assert (line.title, line.unit_price_minor, line.quantity, line.paid_minor) == (
        "乌龙茶",
        1250,
        2,
        2500,
    )
    assert line.options == [{"name": "罐", "value": "大"}]
    assert line.referral_code == "INV42"
    assert (order.province, order.recipient_name) == ("广东省", "张三")
    assert list(
        OrderTransition.objects.filter(order=order).values_list("to_status", flat=True)
    ) == ["pending_payment"]
    assert (
        OutboxEvent.objects.filter(topic="order.created", payload__order_id=order.pk).count() == 1
    )
    # and later product changes change nothing in the order
    product.title = "Renamed"
    product.save()
    line.refresh_from_db()
    assert line.title == "乌龙茶"


def test_checkout_of_more_than_the_stock_is_sold_out_and_changes_nothing(shop: Tenant) -> None:
    # given
    member = member_make()
    address = address_make(member)
    first = sku_of(product_make(stock=5))
    second = sku_of(product_make(stock=1))
    orders_before = Order.objects.count()
    # when
    with pytest.raises(SoldOutError) as raised:
        order_checkout(
            member=member,
            items=[
                CheckoutItem(sku_id=first.pk, quantity=2),
                CheckoutItem(sku_id=second.pk, quantity=2),
            ],
            address_id=address.pk,
        )
    # then
    assert raised.value.code == "sold_out"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.stock, second.stock) == (5, 1)
    assert Order.objects.count() == orders_before


def test_checkout_of_an_off_shelf_product_is_refused(shop: Tenant) -> None:
    # given
    member = member_make()
    address = address_make(member)
    product = product_make()
    product.on_shelf = False
    product.save()
    # when / then
    with pytest.raises(SkuNotForSaleError):
        order_checkout(
            member=member,
            items=[CheckoutItem(sku_id=sku_of(product).pk, quantity=1)],
            address_id=address.pk,
        )


def test_shipping_by_weight_with_a_region_rule_and_free_threshold(shop: Tenant) -> None:
    # given: 1 kg for 10.00, each further 500 g 3.00; 新疆 20.00 + 8.00; free from 300.00
    template = ShippingTemplate.objects.create(
        name="By weight",
        basis="weight",
        first_units=1000,
        first_fee_minor=1000,
        additional_units=500,
        additional_fee_minor=300,
        free_over_minor=30000,
        is_default=True,
    )
    ShippingRegionRule.objects.create(
        template=template,
        regions=["新疆维吾尔自治区"],
        first_units=1000,
        first_fee_minor=2000,
        additional_units=500,
        additional_fee_minor=800,
    )
    member = member_make()
    home = address_make(member)
    far = address_make(member, province="新疆维吾尔自治区")
    sku = sku_of(product_make(price_minor=5000, stock=50, weight_grams=700))
    # when: 3 x 700 g = 2100 g: first 1000 g, then 1100 g = 3 steps of 500 g
    near_order = order_checkout(member=member, items=[CheckoutItem(sku.pk, 3)], address_id=home.pk)
    far_order = order_checkout(member=member, items=[CheckoutItem(sku.pk, 3)], address_id=far.pk)
    free_order = order_checkout(member=member, items=[CheckoutItem(sku.pk, 6)], address_id=home.pk)
    # then
    assert near_order.shipping_minor == 1000 + 3 * 300
    assert far_order.shipping_minor == 2000 + 3 * 800
    assert free_order.shipping_minor == 0
    assert near_order.total_minor == 15000 + 1900


def test_excluded_region_is_refused(shop: Tenant) -> None:
    # given
    template = ShippingTemplate.objects.create(name="Mainland", excluded_regions=["西藏自治区"])
    product = product_make()
    product.shipping_template = template
    product.save()
    member = member_make()
    address = address_make(member, province="西藏自治区")
    # when / then
    with pytest.raises(RegionNotDeliveredError) as raised:
        order_checkout(
            member=member, items=[CheckoutItem(sku_of(product).pk, 1)], address_id=address.pk
        )
    assert raised.value.code == "region_not_delivered"
    sku = sku_of(product)
    assert sku.stock == 10
