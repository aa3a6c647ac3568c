"""Writes of products, their options and their SKUs (the options' cartesian product)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.errors import ValidationFailed
from shop.catalog.cache import catalog_changed
from shop.catalog.errors import OutOfStockError, SkuNotFoundError
from shop.catalog.lock_objects import product_lock
from shop.catalog.models import (
    Category,
    Product,
    ProductOption,
    ProductOptionValue,
    Sku,
    SkuOptionValue,
)
from shop.catalog.services.cards import product_cards_refresh
from shop.catalog.services.search_index import product_search_index_update
from shop.catalog.services.stock import sku_stock_adjust, sku_stock_set

TITLE_MAX_LENGTH = 200
OPTION_MAX_LENGTH = 50
MAX_OPTIONS = 3
MAX_SKUS = 400
SKU_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")

FieldErrors = dict[str, list[dict[str, str]]]


@dataclass(frozen=True)
class OptionSpec:
    """An option and its values, in display order: OptionSpec("颜色", ["红", "蓝"])."""

    name: str
    values: Sequence[str]


@dataclass
class SkuSyncResult:
    """What a sync changed: SKUs created, reactivated (their combination came back), deactivated."""

    created: list[Sku] = field(default_factory=list)
    reactivated: list[Sku] = field(default_factory=list)
    deactivated: list[Sku] = field(default_factory=list)


def _error(fields: FieldErrors, name: str, code: str, message: str) -> None:
    fields.setdefault(name, []).append({"code": code, "message": message})


def _raise_if(fields: FieldErrors) -> None:
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)


def _validate_texts(fields: FieldErrors, *, title: str, subtitle: str) -> None:
    if not title:
        _error(fields, "title", "required", _("Enter a title."))
    elif len(title) > TITLE_MAX_LENGTH:
        _error(fields, "title", "too_long", _("Use at most 200 characters."))
    if len(subtitle) > TITLE_MAX_LENGTH:
        _error(fields, "subtitle", "too_long", _("Use at most 200 characters."))


def _validate_money(fields: FieldErrors, name: str, amount: int | None) -> None:
    if amount is not None and amount < 0:
        _error(fields, name, "min_value", _("Use an amount of at least 0."))


def _clean_options(options: Sequence[OptionSpec]) -> list[OptionSpec]:
    fields: FieldErrors = {}
    cleaned: list[OptionSpec] = []
    if len(options) > MAX_OPTIONS:
        _error(fields, "options", "too_many", _("Use at most 3 options."))
    names: set[str] = set()
    combinations = 1
    for index, option in enumerate(options):
        name = option.name.strip()
        values = list(dict.fromkeys(value.strip() for value in option.values))
        if not name or len(name) > OPTION_MAX_LENGTH:
            _error(fields, f"options.{index}.name", "invalid", _("Use 1 to 50 characters."))
        if name in names:
            _error(fields, f"options.{index}.name", "duplicate", _("Each option once."))
        if not values or any(not value or len(value) > OPTION_MAX_LENGTH for value in values):
            _error(
                fields,
                f"options.{index}.values",
                "invalid",
                _("Give at least one value, each of 1 to 50 characters."),
            )
        names.add(name)
        combinations *= max(len(values), 1)
        cleaned.append(OptionSpec(name, values))
    if combinations > MAX_SKUS:
        _error(fields, "options", "too_many_skus", _("Use at most 400 combinations."))
    _raise_if(fields)
    return cleaned


@transaction.atomic
def product_create(
    *,
    title: str,
    subtitle: str = "",
    description: str = "",
    category: Category | None = None,
    on_shelf: bool = False,
    position: int = 0,
    options: Sequence[OptionSpec] = (),
    price_minor: int = 0,
    stock: int = 0,
    weight_grams: int = 0,
) -> Product:
    """A product with its options and one SKU per combination of values.

    Every SKU starts at `price_minor` (minor units of the shop's currency), `stock` and
    `weight_grams`; set them per SKU afterwards with sku_update and the stock services.
    """
    catalog_changed()
    title, subtitle = title.strip(), subtitle.strip()
    fields: FieldErrors = {}
    _validate_texts(fields, title=title, subtitle=subtitle)
    _validate_money(fields, "price_minor", price_minor)
    if stock < 0:
        _error(fields, "stock", "min_value", _("Use a stock of at least 0."))
    if weight_grams < 0:
        _error(fields, "weight_grams", "min_value", _("Use a weight of at least 0."))
    _raise_if(fields)
    cleaned = _clean_options(options)
    product = Product.objects.create(
        title=title,
        subtitle=subtitle,
        description=description,
        category=category,
        on_shelf=on_shelf,
        position=position,
    )
    _options_write(product=product, options=cleaned)
    result = product_skus_sync(product=product, price_minor=price_minor)  # writes the card
    if stock or weight_grams:
        Sku.objects.filter(pk__in=[sku.pk for sku in result.created]).update(
            stock=stock, weight_grams=weight_grams
        )
    product_search_index_update(product=product)
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    title: str | None = None,
    subtitle: str | None = None,
    description: str | None = None,
    category: Category | None = None,
    clear_category: bool = False,
    on_shelf: bool | None = None,
    position: int | None = None,
) -> Product:
    """Change a product's own fields (None leaves a field as it is)."""
    catalog_changed()
    if title is not None:
        product.title = title.strip()
    if subtitle is not None:
        product.subtitle = subtitle.strip()
    fields: FieldErrors = {}
    _validate_texts(fields, title=product.title, subtitle=product.subtitle)
    _raise_if(fields)
    if description is not None:
        product.description = description
    if category is not None or clear_category:
        product.category = category
    if on_shelf is not None:
        product.on_shelf = on_shelf
    if position is not None:
        product.position = position
    product.save(
        update_fields=[
            "title",
            "subtitle",
            "description",
            "category",
            "on_shelf",
            "position",
            "updated_at",
        ]
    )
    product_cards_refresh(product_ids=[product.pk])
    product_search_index_update(product=product)
    return product


@transaction.atomic
def product_shelf_set(*, product: Product, on_shelf: bool) -> Product:
    """Put a product on the shelf (for sale) or take it off."""
    catalog_changed()
    product.on_shelf = on_shelf
    product.save(update_fields=["on_shelf", "updated_at"])
    return product


@transaction.atomic
def products_shelf_set(*, product_ids: Sequence[int], on_shelf: bool) -> int:
    """Put several products on the shelf or take them off at once; how many changed.

    Deleted products and ids that are not products are skipped.
    """
    catalog_changed()
    return (
        Product.objects.filter(pk__in=product_ids, deleted_at__isnull=True)
        .exclude(on_shelf=on_shelf)
        .update(on_shelf=on_shelf, updated_at=timezone.now())
    )


@transaction.atomic
def product_delete(*, product: Product) -> Product:
    """Delete a product softly: off the shelf and gone from every list; its SKUs stay."""
    catalog_changed()
    product.on_shelf = False
    product.deleted_at = timezone.now()
    product.save(update_fields=["on_shelf", "deleted_at", "updated_at"])
    Sku.objects.filter(product=product).update(is_active=False)
    product_cards_refresh(product_ids=[product.pk])
    return product


def _options_write(*, product: Product, options: Sequence[OptionSpec]) -> None:
    """Make the product's active options and values exactly `options` (others deactivated)."""
    existing = {option.name: option for option in product.options.prefetch_related("values")}
    kept_value_ids: list[int] = []
    for position, spec in enumerate(options):
        option = existing.get(spec.name)
        if option is None:
            option = ProductOption.objects.create(
                product=product, name=spec.name, position=position
            )
            current: dict[str, ProductOptionValue] = {}
        else:
            if option.position != position:
                ProductOption.objects.filter(pk=option.pk).update(position=position)
            current = {value.value: value for value in option.values.all()}
        for value_position, text in enumerate(spec.values):
            value = current.get(text)
            if value is None:
                value = ProductOptionValue.objects.create(
                    option=option, value=text, position=value_position
                )
            elif value.position != value_position or not value.is_active:
                ProductOptionValue.objects.filter(pk=value.pk).update(
                    position=value_position, is_active=True
                )
            kept_value_ids.append(value.pk)
    ProductOptionValue.objects.filter(option__product=product, is_active=True).exclude(
        pk__in=kept_value_ids
    ).update(is_active=False)


@transaction.atomic
def product_options_set(
    *, product: Product, options: Sequence[OptionSpec], price_minor: int | None = None
) -> SkuSyncResult:
    """Replace the product's options and sync its SKUs to their cartesian product.

    Combinations that disappear deactivate their SKUs (never deleted: orders reference them);
    new ones get SKUs priced `price_minor` (default: the lowest active price).
    """
    catalog_changed()
    fields: FieldErrors = {}
    _validate_money(fields, "price_minor", price_minor)
    _raise_if(fields)
    cleaned = _clean_options(options)
    product_lock(product_id=product.pk)
    _options_write(product=product, options=cleaned)
    result = product_skus_sync(product=product, price_minor=price_minor)
    product_search_index_update(product=product)
    return result


def _current_specs(product: Product) -> list[OptionSpec]:
    return [
        OptionSpec(option.name, [value.value for value in option.values.all() if value.is_active])
        for option in product.options.prefetch_related("values")
        if any(value.is_active for value in option.values.all())
    ]


@transaction.atomic
def product_option_value_add(
    *, product: Product, option_name: str, value: str, price_minor: int | None = None
) -> SkuSyncResult:
    """Add a value (and the option, if new); the SKUs of the new combinations are created."""
    catalog_changed()
    product_lock(product_id=product.pk)
    specs = _current_specs(product)
    for index, spec in enumerate(specs):
        if spec.name == option_name.strip():
            specs[index] = OptionSpec(spec.name, [*spec.values, value])
            break
    else:
        specs.append(OptionSpec(option_name, [value]))
    return product_options_set(product=product, options=specs, price_minor=price_minor)


@transaction.atomic
def product_option_value_remove(*, product: Product, option_name: str, value: str) -> SkuSyncResult:
    """Remove a value; the SKUs that had it are deactivated, not deleted."""
    catalog_changed()
    product_lock(product_id=product.pk)
    specs = []
    for spec in _current_specs(product):
        if spec.name == option_name.strip():
            spec = OptionSpec(spec.name, [text for text in spec.values if text != value.strip()])
        if spec.values:
            specs.append(spec)
    return product_options_set(product=product, options=specs)


def _option_key(values: Sequence[ProductOptionValue]) -> str:
    return "-".join(str(pk) for pk in sorted(value.pk for value in values))


def _free_code(wanted: str, taken: set[str]) -> str:
    code, counter = wanted, 2
    while code in taken:
        code, counter = f"{wanted}-{counter}", counter + 1
    taken.add(code)
    return code


@transaction.atomic
def product_skus_sync(*, product: Product, price_minor: int | None = None) -> SkuSyncResult:
    """Make the active SKUs exactly the cartesian product of the active option values.

    Idempotent. Missing combinations get new SKUs (code "P<product>-<value ids>", price
    `price_minor` or else the lowest active price or else 0); SKUs whose combination is gone
    are deactivated; SKUs whose combination came back are reactivated.
    """
    catalog_changed()
    product_lock(product_id=product.pk)
    options = ProductOption.objects.filter(product=product).prefetch_related("values")
    value_lists = [
        [value for value in option.values.all() if value.is_active] for option in options
    ]
    wanted = {
        _option_key(combination): combination
        for combination in itertools.product(*[values for values in value_lists if values])
    }
    skus = {sku.option_key: sku for sku in Sku.objects.filter(product=product)}
    result = SkuSyncResult()
    for key, sku in skus.items():
        if key in wanted and not sku.is_active:
            result.reactivated.append(sku)
        elif key not in wanted and sku.is_active:
            result.deactivated.append(sku)
    if result.reactivated:
        Sku.objects.filter(pk__in=[sku.pk for sku in result.reactivated]).update(is_active=True)
    if result.deactivated:
        Sku.objects.filter(pk__in=[sku.pk for sku in result.deactivated]).update(is_active=False)
    missing = [key for key in wanted if key not in skus]
    if not missing:
        product_cards_refresh(product_ids=[product.pk])
        return result
    if price_minor is None:
        # The lowest price of the SKUs active before this sync (the objects are not updated).
        prices = [sku.price_minor for sku in skus.values() if sku.is_active]
        price_minor = min(prices, default=0)
    codes = {f"P{product.pk}" + "".join(f"-{pk}" for pk in key.split("-") if pk) for key in missing}
    taken = set(Sku.objects.filter(code__in=codes).values_list("code", flat=True))
    new_skus = [
        Sku(
            product=product,
            option_key=key,
            code=_free_code(
                f"P{product.pk}" + "".join(f"-{pk}" for pk in key.split("-") if pk), taken
            ),
            price_minor=price_minor,
        )
        for key in missing
    ]
    Sku.objects.bulk_create(new_skus)
    SkuOptionValue.objects.bulk_create(
        [
            SkuOptionValue(sku=sku, value=value)
            for sku in new_skus
            for value in wanted[sku.option_key]
        ]
    )
    result.created = new_skus
    product_cards_refresh(product_ids=[product.pk])
    return result


@transaction.atomic
def sku_update(
    *,
    sku: Sku,
    code: str | None = None,
    price_minor: int | None = None,
    list_price_minor: int | None = None,
    clear_list_price: bool = False,
    weight_grams: int | None = None,
    is_active: bool | None = None,
) -> Sku:
    """Change a SKU's code, price or list price (minor units), weight or availability.

    Stock changes go through the stock services (sku_stock_set / sku_stock_adjust).
    """
    catalog_changed()
    _sku_write(
        sku=sku,
        code=code,
        price_minor=price_minor,
        list_price_minor=list_price_minor,
        clear_list_price=clear_list_price,
        weight_grams=weight_grams,
        is_active=is_active,
    )
    product_cards_refresh(product_ids=[sku.product_id])
    return sku


def _sku_write(
    *,
    sku: Sku,
    code: str | None,
    price_minor: int | None,
    list_price_minor: int | None,
    clear_list_price: bool,
    weight_grams: int | None,
    is_active: bool | None,
) -> None:
    """sku_update without the card's refresh: for callers that refresh it after several SKUs."""
    fields: FieldErrors = {}
    if code is not None:
        code = code.strip()
        if not SKU_CODE.match(code):
            _error(fields, "code", "invalid", _("Use 1 to 64 letters, digits, dots, dashes."))
        sku.code = code
    _validate_money(fields, "price_minor", price_minor)
    _validate_money(fields, "list_price_minor", list_price_minor)
    if weight_grams is not None and weight_grams < 0:
        _error(fields, "weight_grams", "min_value", _("Use a weight of at least 0."))
    _raise_if(fields)
    if price_minor is not None:
        sku.price_minor = price_minor
    if list_price_minor is not None or clear_list_price:
        sku.list_price_minor = list_price_minor
    if weight_grams is not None:
        sku.weight_grams = weight_grams
    if is_active is not None:
        sku.is_active = is_active
    try:
        with transaction.atomic():
            sku.save(
                update_fields=[
                    "code",
                    "price_minor",
                    "list_price_minor",
                    "weight_grams",
                    "is_active",
                    "updated_at",
                ]
            )
    except IntegrityError as error:
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={"code": [{"code": "taken", "message": _("Another SKU uses this code.")}]},
        ) from error


@dataclass(frozen=True)
class SkuChange:
    """What the merchant sets on one SKU of a product (money in minor units of the shop).

    `stock` sets a counted figure; `stock_delta` adds units (negative: removes them) with the
    conditional update that never goes below zero. Give one of them, or neither.
    """

    sku_id: int
    price_minor: int
    list_price_minor: int | None
    weight_grams: int
    is_active: bool
    code: str | None = None
    stock: int | None = None
    stock_delta: int = 0


def _prefixed(fields: FieldErrors, prefix: str, error: ValidationFailed) -> None:
    for name, items in error.fields.items():
        fields.setdefault(f"{prefix}{name}", []).extend(items)


@transaction.atomic
def product_skus_update(*, product: Product, changes: Sequence[SkuChange]) -> list[Sku]:
    """Apply the changes to the product's SKUs: all of them, or none when any is refused.

    Every problem is reported at once, keyed "skus.<sku id>.<field>" (code, price_minor,
    list_price_minor, weight_grams, stock, stock_delta); SkuNotFoundError for a SKU of
    another product.
    """
    catalog_changed()
    product_lock(product_id=product.pk)
    skus = {
        sku.pk: sku
        for sku in Sku.objects.filter(product=product, pk__in=[item.sku_id for item in changes])
    }
    fields: FieldErrors = {}
    updated: list[Sku] = []
    for change in changes:
        sku = skus.get(change.sku_id)
        if sku is None:
            raise SkuNotFoundError(_("This SKU does not exist."))
        prefix = f"skus.{sku.pk}."
        try:
            _sku_write(
                sku=sku,
                code=change.code,
                price_minor=change.price_minor,
                list_price_minor=change.list_price_minor,
                clear_list_price=change.list_price_minor is None,
                weight_grams=change.weight_grams,
                is_active=change.is_active,
            )
            if change.stock is not None and change.stock_delta:
                _error(
                    fields,
                    f"{prefix}stock_delta",
                    "stock_conflict",
                    _("Either set the stock or add to it, not both."),
                )
            elif change.stock is not None:
                sku_stock_set(sku=sku, stock=change.stock)
            elif change.stock_delta:
                sku_stock_adjust(sku=sku, delta=change.stock_delta)
        except ValidationFailed as error:
            _prefixed(fields, prefix, error)
        except OutOfStockError:
            _error(
                fields,
                f"{prefix}stock_delta",
                "out_of_stock",
                _("Fewer units than that are in stock."),
            )
        else:
            updated.append(sku)
    # Raising undoes the changes already applied to the other SKUs.
    _raise_if(fields)
    product_cards_refresh(product_ids=[product.pk])
    return updated
