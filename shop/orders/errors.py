"""Cart, checkout, order and after-sale errors with stable codes."""

from __future__ import annotations

from infra.errors import Conflict, DomainError, NotFound


class RegionNotDeliveredError(DomainError):
    code = "region_not_delivered"
    status_code = 400
    default_message = "Some items cannot be delivered to this address."


class SkuNotForSaleError(DomainError):
    code = "sku_not_for_sale"
    status_code = 400
    default_message = "Some items are no longer for sale."


class SoldOutError(Conflict):
    code = "sold_out"
    default_message = "Sold out: not enough stock left for some items."


class CartEmptyError(DomainError):
    code = "cart_empty"
    status_code = 400
    default_message = "There is nothing to check out."


class QuantityInvalidError(DomainError):
    code = "quantity_invalid"
    status_code = 400
    default_message = "Use a quantity from 1 to 999."


class OrderNotFoundError(NotFound):
    code = "order_not_found"
    default_message = "This order does not exist."


class OrderStateError(Conflict):
    code = "order_state_invalid"
    default_message = "This cannot be done to the order in its current state."


class AfterSaleNotFoundError(NotFound):
    code = "after_sale_not_found"
    default_message = "This after-sale request does not exist."


class AfterSaleInvalidError(DomainError):
    code = "after_sale_invalid"
    status_code = 400
    default_message = "This after-sale request is not possible."


class AfterSaleStateError(Conflict):
    code = "after_sale_state_invalid"
    default_message = "This cannot be done to the after-sale request in its current state."
