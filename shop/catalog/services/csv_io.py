"""CSV export and import of the catalog: one row per SKU.

Columns: title, category ("服装/女装"), options ("颜色:红; 尺码:S"), sku_code, price (major units
as text with the currency's digits: "12.50" CNY, "12000" VND), stock, on_shelf (true/false).
Export is UTF-8 with a BOM so that Excel reads Chinese; import accepts it with or without.
Import creates or updates by sku_code; it checks every row first and imports nothing when any
row is invalid, unless `partial=True`, which imports the valid rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from infra.errors import DomainError
from infra.money import Money, currency_exponent
from shop.catalog.cache import catalog_changed
from shop.catalog.models import Category, Product, ProductOptionValue, Sku
from shop.catalog.selectors.categories import category_paths
from shop.catalog.services.cards import product_cards_refresh
from shop.catalog.services.categories import category_create
from shop.catalog.services.products import (
    MAX_OPTIONS,
    OPTION_MAX_LENGTH,
    SKU_CODE,
    TITLE_MAX_LENGTH,
    OptionSpec,
    product_create,
    product_options_set,
    product_update,
    sku_update,
)
from shop.catalog.services.stock import sku_stock_set

CSV_COLUMNS = ("title", "category", "options", "sku_code", "price", "stock", "on_shelf")
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是", "上架"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否", "下架"})
# Cells starting with these run as formulas in spreadsheets: exported with a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

OptionPairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class CsvRowError:
    """One problem of one row: `row` counts like a spreadsheet (the header is row 1)."""

    row: int
    field: str
    code: str
    message: str


@dataclass
class CsvImportResult:
    """What an import did (nothing, when it has errors and was not partial)."""

    created_products: int = 0
    updated_products: int = 0
    created_skus: int = 0
    updated_skus: int = 0
    imported_rows: int = 0
    errors: list[CsvRowError] = field(default_factory=list)


@dataclass
class _Row:
    number: int
    title: str
    category: tuple[str, ...]
    options: OptionPairs
    sku_code: str
    price_minor: int
    stock: int
    on_shelf: bool | None
    product: Product | None = None
    sku: Sku | None = None


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _uncell(text: str) -> str:
    text = text.strip()
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS) else text


def _options_text(values: Sequence[ProductOptionValue]) -> str:
    return "; ".join(f"{value.option.name}:{value.value}" for value in values)


def _sku_pairs(sku: Sku) -> OptionPairs:
    return tuple((value.option.name, value.value) for value in sku.option_values.all())


def catalog_csv_export(*, currency: str) -> str:
    """Every product that is not deleted, one row per active SKU, as CSV text with a BOM.

    Prices are the SKUs' minor units shown in major units with the currency's exponent.
    """
    paths = category_paths()
    products = (
        Product.objects.filter(deleted_at__isnull=True)
        .order_by("id")
        .prefetch_related(
            Prefetch(
                "skus",
                queryset=Sku.objects.filter(is_active=True)
                .order_by("id")
                .prefetch_related(
                    Prefetch(
                        "option_values",
                        queryset=ProductOptionValue.objects.select_related("option").order_by(
                            "option__position", "option__id"
                        ),
                    )
                ),
            )
        )
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for product in products:
        category = paths.get(product.category_id, "") if product.category_id else ""
        for sku in product.skus.all():
            writer.writerow(
                [
                    _cell(product.title),
                    _cell(category),
                    _cell(_options_text(list(sku.option_values.all()))),
                    _cell(sku.code),
                    str(Money(sku.price_minor, currency).to_major()),
                    sku.stock,
                    "true" if product.on_shelf else "false",
                ]
            )
    return "\ufeff" + buffer.getvalue()


class _RowErrors:
    def __init__(self) -> None:
        self.items: list[CsvRowError] = []
        self.rows: set[int] = set()

    def add(self, row: int, field_name: str, code: str, message: str) -> None:
        self.items.append(CsvRowError(row, field_name, code, message))
        self.rows.add(row)


def _parse_options(text: str) -> OptionPairs | None:
    if not text:
        return ()
    pairs: list[tuple[str, str]] = []
    # Full-width separators too: Chinese keyboards type them.
    for part in text.replace("\uff1b", ";").split(";"):
        if not part.strip():
            continue
        name, colon, value = part.replace("\uff1a", ":").partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not name or not value:
            return None
        if len(name) > OPTION_MAX_LENGTH or len(value) > OPTION_MAX_LENGTH:
            return None
        pairs.append((name, value))
    names = [name for name, _value in pairs]
    if len(set(names)) != len(names) or len(names) > MAX_OPTIONS:
        return None
    return tuple(pairs)


def _parse_price(text: str, currency: str) -> int | None:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or amount < 0:
        return None
    if isinstance(exponent, int) and -exponent > currency_exponent(currency):
        return None  # more digits than the currency has: refuse rather than round
    return Money.from_major(amount, currency, mode=ROUND_HALF_UP).minor


def _parse_row(
    number: int, cells: dict[str, str], currency: str, errors: _RowErrors
) -> _Row | None:
    before = len(errors.items)
    title = _uncell(cells.get("title", ""))
    if not title:
        errors.add(number, "title", "required", _("Enter a title."))
    elif len(title) > TITLE_MAX_LENGTH:
        errors.add(number, "title", "too_long", _("Use at most 200 characters."))
    category_text = _uncell(cells.get("category", ""))
    category = tuple(part.strip() for part in category_text.split("/")) if category_text else ()
    if any(not part or len(part) > 100 for part in category):
        errors.add(number, "category", "invalid", _("Write the path as 服装/女装."))
    options = _parse_options(_uncell(cells.get("options", "")))
    if options is None:
        errors.add(number, "options", "invalid", _("Write up to 3 options as 颜色:红; 尺码:S."))
    code = _uncell(cells.get("sku_code", ""))
    if not code:
        errors.add(number, "sku_code", "required", _("Enter a SKU code."))
    elif not SKU_CODE.match(code):
        errors.add(number, "sku_code", "invalid", _("Use 1 to 64 letters, digits, dots, dashes."))
    price = _parse_price(cells.get("price", "").strip(), currency)
    if price is None:
        errors.add(
            number, "price", "invalid", _("Write the price like 12.50, with the currency's digits.")
        )
    stock_text = cells.get("stock", "").strip()
    stock = int(stock_text) if stock_text.isdigit() else None
    if stock is None:
        errors.add(number, "stock", "invalid", _("Write the stock as a whole number, 0 or more."))
    shelf_text = cells.get("on_shelf", "").strip().lower()
    on_shelf: bool | None = None
    if shelf_text in TRUE_WORDS:
        on_shelf = True
    elif shelf_text in FALSE_WORDS:
        on_shelf = False
    elif shelf_text:
        errors.add(number, "on_shelf", "invalid", _("Write true or false."))
    if len(errors.items) > before or options is None or price is None or stock is None:
        return None
    return _Row(number, title, category, options, code, price, stock, on_shelf)


def _decode(content: bytes | str) -> str | None:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _read(content: bytes | str, currency: str, errors: _RowErrors) -> list[_Row]:
    text = _decode(content)
    if text is None:
        errors.add(1, "file", "encoding", _("Save the file as UTF-8 (CSV UTF-8 in Excel)."))
        return []
    reader = csv.reader(io.StringIO(text))
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in CSV_COLUMNS if name not in header]
    for name in missing:
        errors.add(1, name, "missing_column", _("The header row lacks this column."))
    if missing:
        return []
    rows: list[_Row] = []
    for index, record in enumerate(reader):
        if not any(cell.strip() for cell in record):
            continue
        cells = dict(zip(header, record, strict=False))
        row = _parse_row(index + 2, cells, currency, errors)
        if row is not None:
            rows.append(row)
    return rows


def _check_against_catalog(rows: list[_Row], errors: _RowErrors) -> None:
    """Cross-row and catalog checks; attaches the existing SKU or product to each row."""
    values = Prefetch(
        "option_values",
        queryset=ProductOptionValue.objects.select_related("option").order_by(
            "option__position", "option__id"
        ),
    )
    existing = {
        sku.code: sku
        for sku in Sku.objects.filter(code__in=[row.sku_code for row in rows])
        .select_related("product")
        .prefetch_related(values)
    }
    by_title: dict[str, list[Product]] = {}
    for candidate in Product.objects.filter(
        title__in=[row.title for row in rows], deleted_at__isnull=True
    ).prefetch_related(Prefetch("skus", queryset=Sku.objects.prefetch_related(values))):
        by_title.setdefault(candidate.title, []).append(candidate)
    seen_codes: set[str] = set()
    names_of: dict[object, frozenset[str]] = {}
    combinations: dict[object, set[frozenset[tuple[str, str]]]] = {}
    for row in rows:
        if row.sku_code in seen_codes:
            errors.add(
                row.number, "sku_code", "duplicate", _("This SKU code is on an earlier row.")
            )
            continue
        seen_codes.add(row.sku_code)
        names = frozenset(name for name, _value in row.options)
        sku = existing.get(row.sku_code)
        if sku is not None:
            if sku.product.deleted_at is not None:
                errors.add(row.number, "sku_code", "deleted", _("This SKU's product is deleted."))
            elif set(_sku_pairs(sku)) != set(row.options):
                errors.add(
                    row.number, "options", "options_changed", _("A SKU's options cannot change.")
                )
            else:
                row.sku = sku
            continue
        matches = by_title.get(row.title, [])
        if len(matches) > 1:
            errors.add(row.number, "title", "ambiguous", _("Several products have this title."))
            continue
        product = matches[0] if matches else None
        key: object = product.pk if product is not None else ("new", row.title)
        if key not in names_of:
            taken: set[frozenset[tuple[str, str]]] = set()
            if product is not None:
                skus = list(product.skus.all())
                taken = {frozenset(_sku_pairs(item)) for item in skus}
                active = [item for item in skus if item.is_active]
                names_of[key] = (
                    frozenset(name for name, _v in _sku_pairs(active[0])) if active else names
                )
            else:
                names_of[key] = names
            combinations[key] = taken
        if names_of[key] != names:
            errors.add(
                row.number,
                "options",
                "options_mismatch",
                _("Use the same option names as the product's other SKUs."),
            )
            continue
        combination = frozenset(row.options)
        if combination in combinations[key]:
            errors.add(row.number, "options", "options_taken", _("Another SKU has these options."))
            continue
        combinations[key].add(combination)
        row.product = product


class _CategoryPaths:
    """Finds categories by their path of names, creating the missing ones."""

    def __init__(self) -> None:
        self.children: dict[tuple[int | None, str], Category] = {
            (category.parent_id, category.name): category for category in Category.objects.all()
        }

    def get(self, path: tuple[str, ...]) -> Category | None:
        parent: Category | None = None
        for name in path:
            found = self.children.get((parent.pk if parent else None, name))
            if found is None:
                found = category_create(name=name, parent=parent)
                self.children[(parent.pk if parent else None, name)] = found
            parent = found
        return parent


def _specs_with(specs: list[OptionSpec], pairs: OptionPairs) -> list[OptionSpec]:
    by_name = {spec.name: list(spec.values) for spec in specs}
    order = [spec.name for spec in specs]
    for name, value in pairs:
        if name not in by_name:
            by_name[name] = []
            order.append(name)
        if value not in by_name[name]:
            by_name[name].append(value)
    return [OptionSpec(name, by_name[name]) for name in order]


def _apply_product_rows(
    existing: Product | None, rows: list[_Row], paths: _CategoryPaths, result: CsvImportResult
) -> None:
    first = rows[0]
    category = paths.get(first.category)
    if existing is None:
        specs = _specs_with([], ())
        for row in rows:
            specs = _specs_with(specs, row.options)
        product = product_create(
            title=first.title, category=category, on_shelf=bool(first.on_shelf), options=specs
        )
        result.created_products += 1
        fresh = list(Sku.objects.filter(product=product))
    else:
        product = existing
        product_update(
            product=product,
            category=category,
            clear_category=category is None,
            on_shelf=rows[-1].on_shelf,
        )
        result.updated_products += 1
        specs = [
            OptionSpec(
                option.name, [value.value for value in option.values.all() if value.is_active]
            )
            for option in product.options.prefetch_related("values")
        ]
        specs = [spec for spec in specs if spec.values]
        for row in rows:
            specs = _specs_with(specs, row.options)
        sync = product_options_set(product=product, options=specs)
        fresh = [*sync.created, *sync.reactivated]
    skus = {
        frozenset(_sku_pairs(sku)): sku
        for sku in Sku.objects.filter(product=product).prefetch_related(
            Prefetch("option_values", queryset=ProductOptionValue.objects.select_related("option"))
        )
    }
    listed: set[int] = set()
    for row in rows:
        sku = skus[frozenset(row.options)]
        listed.add(sku.pk)
        sku_update(sku=sku, code=row.sku_code, price_minor=row.price_minor, is_active=True)
        sku_stock_set(sku=sku, stock=row.stock)
        result.created_skus += 1
        result.imported_rows += 1
    # Combinations the import made but no row lists are not for sale.
    Sku.objects.filter(pk__in=[sku.pk for sku in fresh if sku.pk not in listed]).update(
        is_active=False
    )
    product_cards_refresh(product_ids=[product.pk])


def _apply_sku_row(row: _Row, paths: _CategoryPaths, result: CsvImportResult) -> None:
    assert row.sku is not None
    sku, product = row.sku, row.sku.product
    product_update(
        product=product,
        title=row.title,
        category=paths.get(row.category),
        clear_category=not row.category,
        on_shelf=row.on_shelf,
    )
    sku_update(sku=sku, price_minor=row.price_minor, is_active=True)
    sku_stock_set(sku=sku, stock=row.stock)
    result.updated_skus += 1
    result.imported_rows += 1


def _apply(rows: list[_Row], errors: _RowErrors, *, partial: bool) -> CsvImportResult:
    result = CsvImportResult()
    paths = _CategoryPaths()
    groups: dict[object, list[_Row]] = {}
    for row in rows:
        if row.sku is not None:
            try:
                with transaction.atomic():
                    _apply_sku_row(row, paths, result)
            except DomainError as error:
                errors.add(row.number, "sku_code", error.code, error.message)
        else:
            key = row.product.pk if row.product is not None else ("new", row.title)
            groups.setdefault(key, []).append(row)
    for group in groups.values():
        try:
            with transaction.atomic():
                _apply_product_rows(group[0].product, group, paths, result)
        except DomainError as error:
            for row in group:
                errors.add(row.number, "sku_code", error.code, error.message)
    if errors.items and not partial:
        raise _ImportAborted(errors.items)
    return result


class _ImportAborted(Exception):
    def __init__(self, errors: list[CsvRowError]) -> None:
        self.errors = errors


def catalog_csv_import(
    *, content: bytes | str, currency: str, partial: bool = False
) -> CsvImportResult:
    """Create or update SKUs (and their products, options, categories) from CSV rows.

    Every row is checked first; with any error nothing is imported (unless `partial`, which
    imports the valid rows) and the result lists each error by row, field and code. Prices are
    in major units of `currency` and may not have more digits than it does.
    """
    errors = _RowErrors()
    rows = _read(content, currency, errors)
    _check_against_catalog(rows, errors)
    if errors.items and not partial:
        return CsvImportResult(errors=sorted(errors.items, key=lambda item: item.row))
    valid = [row for row in rows if row.number not in errors.rows]
    try:
        with transaction.atomic():
            catalog_changed()
            result = _apply(valid, errors, partial=partial)
    except _ImportAborted as aborted:
        return CsvImportResult(errors=sorted(aborted.errors, key=lambda item: item.row))
    result.errors = sorted(errors.items, key=lambda item: item.row)
    return result
