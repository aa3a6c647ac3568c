"""A member's cart: SKUs and quantities, with the referral context of the visit that added them."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Least

from shop.catalog.selectors.skus import skus_for_sale
from shop.customers.models import Member
from shop.orders.errors import QuantityInvalidError, SkuNotForSaleError
from shop.orders.models import CartItem
from shop.orders.services.checkout import MAX_QUANTITY

MAX_CART_LINES = 100


def _check(*, sku_id: int, quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise QuantityInvalidError()
    sku = skus_for_sale(sku_ids=[sku_id]).get(sku_id)
    if sku is None or not sku.for_sale:
        raise SkuNotForSaleError()


def cart_item_add(
    *, member: Member, sku_id: int, quantity: int, referral_code: str = "", referral_link: str = ""
) -> CartItem:
    """Add units of a SKU (to the line already there, if any: at most 999 in all)."""
    _check(sku_id=sku_id, quantity=quantity)
    if CartItem.objects.filter(member=member).count() >= MAX_CART_LINES:
        raise QuantityInvalidError(code="cart_full")
    try:
        with transaction.atomic():
            return CartItem.objects.create(
                member=member,
                sku_id=sku_id,
                quantity=quantity,
                referral_code=referral_code[:64],
                referral_link=referral_link[:500],
            )
    except IntegrityError:
        pass  # the line exists: add to it
    CartItem.objects.filter(member=member, sku_id=sku_id).update(
        quantity=Least(F("quantity") + quantity, MAX_QUANTITY)
    )
    if referral_code:
        # The latest visit's referral counts (as a share link followed later would).
        CartItem.objects.filter(member=member, sku_id=sku_id).update(
            referral_code=referral_code[:64], referral_link=referral_link[:500]
        )
    return CartItem.objects.get(member=member, sku_id=sku_id)


def cart_item_set(*, member: Member, sku_id: int, quantity: int) -> CartItem | None:
    """Set a line's quantity; 0 removes it. None when removed (or not in the cart)."""
    if quantity == 0:
        CartItem.objects.filter(member=member, sku_id=sku_id).delete()
        return None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise QuantityInvalidError()
    CartItem.objects.filter(member=member, sku_id=sku_id).update(quantity=quantity)
    return CartItem.objects.filter(member=member, sku_id=sku_id).first()


def cart_clear(*, member: Member) -> int:
    return CartItem.objects.filter(member=member).delete()[0]
