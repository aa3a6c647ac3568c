"""Makers of commerce data for tests, through the real services (run in the active shop schema)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from shop.catalog.models import Product, Sku
from shop.catalog.services.products import OptionSpec, product_create
from shop.customers.models import Address, Member
from shop.customers.services.addresses import AddressFields, address_create
from shop.customers.services.tokens import member_token_issue
from shop.orders.models import Order
from shop.orders.services.checkout import CheckoutItem, Client, order_checkout

_numbers = itertools.count(1)


def member_make(*, nickname: str = "") -> Member:
    number = next(_numbers)
    return Member.objects.create(nickname=nickname or f"Member {number}")


def member_token(member: Member) -> dict[str, Any]:
    """Headers of the member API for `member` (a fresh bearer token)."""
    return {"HTTP_AUTHORIZATION": f"Bearer {member_token_issue(member=member, device_id='test')}"}


def address_make(member: Member, *, province: str = "广东省") -> Address:
    return address_create(
        member=member,
        fields=AddressFields(
            recipient_name="张三",
            phone="+8613800138000",
            province=province,
            city="深圳市",
            district="南山区",
            detail="科技园 1 号",
            postal_code="518000",
        ),
        is_default=True,
    )


def product_make(
    *,
    title: str = "Tea",
    price_minor: int = 1000,
    stock: int = 10,
    weight_grams: int = 100,
    options: Sequence[OptionSpec] = (),
) -> Product:
    return product_create(
        title=title,
        on_shelf=True,
        options=options,
        price_minor=price_minor,
        stock=stock,
        weight_grams=weight_grams,
    )


def sku_of(product: Product) -> Sku:
    return Sku.objects.filter(product=product).order_by("id").first()  # type: ignore[return-value]


def order_make(
    *,
    member: Member | None = None,
    items: Sequence[tuple[Sku, int]] | None = None,
    price_minor: int = 1000,
    quantity: int = 1,
    referral_code: str = "",
) -> Order:
    """A pending order (checkout through the real service): a new product unless `items`."""
    member = member or member_make()
    address = Address.objects.filter(member=member, is_default=True).first() or address_make(member)
    if items is None:
        items = [(sku_of(product_make(price_minor=price_minor, stock=100)), quantity)]
    return order_checkout(
        member=member,
        items=[
            CheckoutItem(sku_id=sku.pk, quantity=count, referral_code=referral_code)
            for sku, count in items
        ],
        address_id=address.pk,
        client=Client(channel="miniprogram", device_id="device-1", ip="203.0.113.7"),
    )
