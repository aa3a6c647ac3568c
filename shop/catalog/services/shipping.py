"""Writes of shipping templates (运费模板) and of which template a product uses.

A template charges by item count or by weight (grams): the first units for one fee, each further
step of units (or part of one) for another, with rules of their own for some provinces, provinces
it does not deliver to, and free shipping from an amount. shop/orders/pricing.py reads them.
Amounts are integer minor units of the shop's currency. At most one template is the default (the
template of products that name none): a partial unique index says so, and changes of the default
run under one lock per shop so that two of them at once cannot both fail or both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.errors import ValidationFailed
from shop.catalog.cache import catalog_changed
from shop.catalog.errors import ShippingTemplateNotFoundError
from shop.catalog.lock_objects import shipping_default_lock
from shop.catalog.models import Product, ShippingRegionRule, ShippingTemplate

NAME_MAX_LENGTH = 64
REGION_MAX_LENGTH = 64
MAX_RULES = 50
MAX_REGIONS = 200
# A unit step or count far beyond any parcel (grams or items), far below the column's limit.
UNITS_MAX = 100_000_000
# Far above any fee, far below what a BigIntegerField holds.
FEE_MAX_MINOR = 10**13

FieldErrors = dict[str, list[dict[str, str]]]
_FIELDS = [
    "name",
    "basis",
    "first_units",
    "first_fee_minor",
    "additional_units",
    "additional_fee_minor",
    "free_over_minor",
    "excluded_regions",
    "updated_at",
]


@dataclass(frozen=True)
class RegionRuleSpec:
    """A rule for some provinces: the first units for one fee, each further step for another."""

    regions: Sequence[str]
    first_units: int = 1
    first_fee_minor: int = 0
    additional_units: int = 1
    additional_fee_minor: int = 0


@dataclass(frozen=True)
class ShippingTemplateSpec:
    """Everything a template is made of (fees in minor units; units are items or grams)."""

    name: str
    basis: str = ShippingTemplate.Basis.COUNT
    first_units: int = 1
    first_fee_minor: int = 0
    additional_units: int = 1
    additional_fee_minor: int = 0
    free_over_minor: int | None = None
    excluded_regions: Sequence[str] = ()
    rules: Sequence[RegionRuleSpec] = ()


def _error(fields: FieldErrors, name: str, code: str, message: str) -> None:
    fields.setdefault(name, []).append({"code": code, "message": message})


def _check_units(fields: FieldErrors, name: str, units: int) -> None:
    if not 1 <= units <= UNITS_MAX:
        _error(fields, name, "out_of_range", _("Use a whole number from 1 to 100000000."))


def _check_fee(fields: FieldErrors, name: str, fee: int | None) -> None:
    if fee is not None and not 0 <= fee <= FEE_MAX_MINOR:
        _error(fields, name, "out_of_range", _("Use an amount of at least 0."))


def _clean_regions(fields: FieldErrors, name: str, regions: Sequence[str]) -> list[str]:
    """Trimmed, without blanks and repeats, in the order given."""
    cleaned = list(dict.fromkeys(region.strip() for region in regions if region.strip()))
    if any(len(region) > REGION_MAX_LENGTH for region in cleaned):
        _error(fields, name, "too_long", _("Write each region in at most 64 characters."))
    if len(cleaned) > MAX_REGIONS:
        _error(fields, name, "too_many", _("Name at most 200 regions."))
    return cleaned


def _clean(spec: ShippingTemplateSpec) -> tuple[ShippingTemplateSpec, list[RegionRuleSpec]]:
    """The spec with names and regions trimmed, or ValidationFailed with every field's errors."""
    fields: FieldErrors = {}
    name = spec.name.strip()
    if not name:
        _error(fields, "name", "required", _("Name the template."))
    elif len(name) > NAME_MAX_LENGTH:
        _error(fields, "name", "too_long", _("Use at most 64 characters."))
    if spec.basis not in ShippingTemplate.Basis.values:
        _error(fields, "basis", "invalid", _("Charge by item count or by weight."))
    _check_units(fields, "first_units", spec.first_units)
    _check_units(fields, "additional_units", spec.additional_units)
    _check_fee(fields, "first_fee_minor", spec.first_fee_minor)
    _check_fee(fields, "additional_fee_minor", spec.additional_fee_minor)
    _check_fee(fields, "free_over_minor", spec.free_over_minor)
    excluded = _clean_regions(fields, "excluded_regions", spec.excluded_regions)
    if len(spec.rules) > MAX_RULES:
        _error(fields, "rules", "too_many", _("Use at most 50 region rules."))
    # A province is charged by one rule at most, and never by a rule when it is not delivered to.
    claimed: dict[str, str] = dict.fromkeys(excluded, "excluded_regions")
    rules: list[RegionRuleSpec] = []
    for index, rule in enumerate(spec.rules):
        prefix = f"rules.{index}"
        regions = _clean_regions(fields, f"{prefix}.regions", rule.regions)
        if not regions:
            _error(fields, f"{prefix}.regions", "required", _("Name the regions of this rule."))
        for region in regions:
            if region in claimed:
                message = (
                    _("%(region)s is not delivered to: it cannot have a rule.")
                    if claimed[region] == "excluded_regions"
                    else _("%(region)s is in another rule already.")
                )
                _error(fields, f"{prefix}.regions", "duplicate", message % {"region": region})
            claimed.setdefault(region, prefix)
        _check_units(fields, f"{prefix}.first_units", rule.first_units)
        _check_units(fields, f"{prefix}.additional_units", rule.additional_units)
        _check_fee(fields, f"{prefix}.first_fee_minor", rule.first_fee_minor)
        _check_fee(fields, f"{prefix}.additional_fee_minor", rule.additional_fee_minor)
        rules.append(
            RegionRuleSpec(
                regions=regions,
                first_units=rule.first_units,
                first_fee_minor=rule.first_fee_minor,
                additional_units=rule.additional_units,
                additional_fee_minor=rule.additional_fee_minor,
            )
        )
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)
    cleaned = ShippingTemplateSpec(
        name=name,
        basis=spec.basis,
        first_units=spec.first_units,
        first_fee_minor=spec.first_fee_minor,
        additional_units=spec.additional_units,
        additional_fee_minor=spec.additional_fee_minor,
        free_over_minor=spec.free_over_minor,
        excluded_regions=excluded,
        rules=rules,
    )
    return cleaned, rules


def _name_taken() -> ValidationFailed:
    return ValidationFailed(
        _("Some fields are not valid."),
        fields={"name": [{"code": "taken", "message": _("Another template has this name.")}]},
    )


def _save(
    template: ShippingTemplate, spec: ShippingTemplateSpec, rules: list[RegionRuleSpec]
) -> None:
    template.name = spec.name
    template.basis = spec.basis
    template.first_units = spec.first_units
    template.first_fee_minor = spec.first_fee_minor
    template.additional_units = spec.additional_units
    template.additional_fee_minor = spec.additional_fee_minor
    template.free_over_minor = spec.free_over_minor
    template.excluded_regions = list(spec.excluded_regions)
    try:
        with transaction.atomic():  # a savepoint: the name's uniqueness is the database's
            # Whether it is the default changes only under shipping_default_lock.
            template.save(update_fields=_FIELDS if template.pk else None)
    except IntegrityError as error:
        raise _name_taken() from error
    ShippingRegionRule.objects.filter(template=template).delete()
    ShippingRegionRule.objects.bulk_create(
        [
            ShippingRegionRule(
                template=template,
                regions=list(rule.regions),
                first_units=rule.first_units,
                first_fee_minor=rule.first_fee_minor,
                additional_units=rule.additional_units,
                additional_fee_minor=rule.additional_fee_minor,
                position=position,
            )
            for position, rule in enumerate(rules)
        ]
    )


def _default_make(template: ShippingTemplate) -> None:
    """Make `template` the only default (the caller holds shipping_default_lock)."""
    ShippingTemplate.objects.filter(is_default=True).exclude(pk=template.pk).update(
        is_default=False, updated_at=timezone.now()
    )
    if not ShippingTemplate.objects.filter(pk=template.pk).update(
        is_default=True, updated_at=timezone.now()
    ):
        raise ShippingTemplateNotFoundError()
    template.is_default = True


@transaction.atomic
def shipping_template_create(
    *, spec: ShippingTemplateSpec, is_default: bool = False
) -> ShippingTemplate:
    """A new template with its region rules; the default one (and the only one) if asked."""
    cleaned, rules = _clean(spec)
    template = ShippingTemplate()
    _save(template, cleaned, rules)
    if is_default:
        shipping_default_lock()
        _default_make(template)
    return template


@transaction.atomic
def shipping_template_update(
    *, template: ShippingTemplate, spec: ShippingTemplateSpec, is_default: bool | None = None
) -> ShippingTemplate:
    """Replace a template's fields and rules; make it the default (True), not the default
    (False: products naming none then ship free), or leave that as it is (None)."""
    cleaned, rules = _clean(spec)
    locked = ShippingTemplate.objects.select_for_update().filter(pk=template.pk).first()
    if locked is None:
        raise ShippingTemplateNotFoundError()
    template.is_default = locked.is_default
    _save(template, cleaned, rules)
    if is_default is not None and is_default != template.is_default:
        shipping_default_lock()
        if is_default:
            _default_make(template)
        else:
            ShippingTemplate.objects.filter(pk=template.pk).update(
                is_default=False, updated_at=timezone.now()
            )
            template.is_default = False
    return template


@transaction.atomic
def shipping_template_default_set(*, template: ShippingTemplate) -> ShippingTemplate:
    """Make `template` the default: products that name no template are charged by it."""
    shipping_default_lock()
    _default_make(template)
    return template


@transaction.atomic
def shipping_template_delete(*, template: ShippingTemplate) -> int:
    """Delete a template; its products fall back to the default template (how many did).

    Orders keep what they were charged: their lines copied the template's id, not its fees.
    """
    moved = Product.objects.filter(shipping_template=template).update(
        shipping_template=None, updated_at=timezone.now()
    )
    ShippingTemplate.objects.filter(pk=template.pk).delete()
    if moved:
        catalog_changed()
    return moved


@transaction.atomic
def product_shipping_template_set(
    *, product: Product, template: ShippingTemplate | None
) -> Product:
    """Charge `product`'s shipping by `template` (None: by the shop's default template)."""
    Product.objects.filter(pk=product.pk).update(
        shipping_template=template, updated_at=timezone.now()
    )
    product.shipping_template = template
    catalog_changed()
    return product


@transaction.atomic
def products_shipping_template_set(
    *, product_ids: Sequence[int], template: ShippingTemplate | None
) -> int:
    """product_shipping_template_set for several products at once; how many changed.

    Deleted products and ids that are not products are skipped.
    """
    products = Product.objects.filter(pk__in=list(product_ids), deleted_at__isnull=True)
    if template is None:
        products = products.exclude(shipping_template__isnull=True)
    else:
        products = products.exclude(shipping_template=template)
    changed = products.update(shipping_template=template, updated_at=timezone.now())
    if changed:
        catalog_changed()
    return changed
