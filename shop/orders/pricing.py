"""The one price computation of the product: items, discounts (hooks), shipping (运费模板).

The cart shows a quote, checkout stores the same quote in the order; nothing else computes a
price. Discounts come from price adjusters that apps declare on their AppConfig
(`price_adjusters()`: coupons and points plug in there); each returns an order-level amount,
which is spread over the lines in proportion to their amounts (Money.allocate: exact to the
minor unit). Shipping is computed per template on the discounted amounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from django.utils.translation import gettext as _

from infra.money import Money
from infra.planes import tenant_app_configs
from shop.catalog.models import ShippingTemplate
from shop.catalog.selectors.skus import SaleSku, shipping_templates_for
from shop.orders.errors import RegionNotDeliveredError


@dataclass(frozen=True)
class QuoteLine:
    sku: SaleSku
    quantity: int
    referral_code: str = ""
    referral_link: str = ""
    discount_minor: int = 0

    @property
    def items_minor(self) -> int:
        return self.sku.price_minor * self.quantity

    @property
    def paid_minor(self) -> int:
        return self.items_minor - self.discount_minor


@dataclass(frozen=True)
class Adjustment:
    """A discount on the order: `code` names its source ("coupon", "points"), `ref` the thing."""

    code: str
    label: str
    amount_minor: int
    ref: str = ""


@dataclass(frozen=True)
class PricingContext:
    member_id: int | None
    currency: str
    province: str | None  # None: no address yet (the cart): shipping is then an estimate of 0
    # What the member asked for at checkout, for the adjusters (coupon codes, points to use…).
    requests: dict[str, Any] = field(default_factory=dict)


class PriceAdjuster(Protocol):
    name: str

    def adjust(self, *, lines: list[QuoteLine], context: PricingContext) -> list[Adjustment]: ...


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: list[QuoteLine]
    items_minor: int
    discount_minor: int
    shipping_minor: int
    total_minor: int
    adjustments: list[Adjustment]
    shipping_known: bool  # False until an address is given


def price_adjusters() -> list[PriceAdjuster]:
    adjusters: list[PriceAdjuster] = []
    for config in tenant_app_configs():
        adjusters.extend(config.price_adjusters())
    return adjusters


def _units_fee(units: int, first_units: int, first_fee: int, more_units: int, more_fee: int) -> int:
    if units <= 0:
        return 0
    extra = max(0, units - first_units)
    steps = -(-extra // more_units)  # each started step is charged
    return first_fee + steps * more_fee


def shipping_fee(*, template: ShippingTemplate, lines: list[QuoteLine], province: str) -> int:
    """What the lines of one template cost to ship to `province` (RegionNotDelivered if refused)."""
    if province in template.excluded_regions:
        raise RegionNotDeliveredError(
            _("%(items)s cannot be delivered to %(region)s.")
            % {"items": ", ".join(line.sku.title for line in lines), "region": province}
        )
    paid = sum(line.paid_minor for line in lines)
    if template.free_over_minor is not None and paid >= template.free_over_minor:
        return 0
    if template.basis == ShippingTemplate.Basis.WEIGHT:
        units = sum(line.sku.weight_grams * line.quantity for line in lines)
    else:
        units = sum(line.quantity for line in lines)
    rule: Any = template
    for region_rule in template.rules.all():
        if province in region_rule.regions:
            rule = region_rule
            break
    return _units_fee(
        units,
        rule.first_units,
        rule.first_fee_minor,
        rule.additional_units,
        rule.additional_fee_minor,
    )


def quote_compute(*, lines: list[QuoteLine], context: PricingContext) -> Quote:
    """Price `lines` (quantities already checked) for the member and address in `context`."""
    items = sum(line.items_minor for line in lines)
    adjustments: list[Adjustment] = []
    discount = 0
    for adjuster in price_adjusters():
        for adjustment in adjuster.adjust(lines=lines, context=context):
            amount = min(adjustment.amount_minor, items - discount)
            if amount <= 0:
                continue
            adjustments.append(replace(adjustment, amount_minor=amount))
            discount += amount
    if discount and items:
        shares = Money(discount, context.currency).allocate([line.items_minor for line in lines])
        lines = [
            replace(line, discount_minor=share.minor)
            for line, share in zip(lines, shares, strict=True)
        ]
    shipping = 0
    if context.province is not None and lines:
        templates = shipping_templates_for(
            template_ids={line.sku.shipping_template_id for line in lines}
        )
        groups: dict[int, tuple[ShippingTemplate, list[QuoteLine]]] = {}
        for line in lines:
            template = templates.get(line.sku.shipping_template_id)
            if template is None:  # a deleted template or no default: free shipping
                template = templates.get(None)
            if template is None:
                continue
            groups.setdefault(template.pk, (template, []))[1].append(line)
        for template, group in groups.values():
            shipping += shipping_fee(template=template, lines=group, province=context.province)
    return Quote(
        currency=context.currency,
        lines=lines,
        items_minor=items,
        discount_minor=discount,
        shipping_minor=shipping,
        total_minor=items - discount + shipping,
        adjustments=adjustments,
        shipping_known=context.province is not None,
    )
