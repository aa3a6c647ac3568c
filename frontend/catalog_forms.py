"""Forms of the console's catalog pages: they check the shape of input (amounts typed in major
units, lists of values); the catalog services check the rules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from infra.errors import DomainError
from infra.money import Money, currency_exponent
from shop.catalog.selectors.console import ConsoleSort, ShelfFilter, StockFilter
from shop.catalog.services.products import MAX_OPTIONS, OptionSpec, SkuChange

# Far above any price, far below what a BigIntegerField holds.
MONEY_MAX_MINOR = 10**13
STOCK_MAX = 2_000_000_000
WEIGHT_MAX_GRAMS = 2_000_000_000
PAGE_SIZES = (20, 50, 100)
CSV_MAX_BYTES = 5 * 1024 * 1024
IMAGES_PER_UPLOAD = 10
# Values of an option may be separated by commas (also Chinese ones), 、 or new lines.
_VALUE_SEPARATORS = re.compile(r"[,，、;；\n]")


def amount_major(minor: int | None, currency: str) -> str:
    """Minor units as the text a merchant types ("12.50"); "" for no amount."""
    return "" if minor is None else str(Money(minor, currency).to_major())


class MoneyField(forms.CharField):
    """An amount typed in major units of the shop's currency ("12.50"), cleaned to minor units.

    Refuses more decimals than the currency has rather than rounding them away.
    """

    def __init__(self, *, currency: str = "CNY", **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)
        self.currency = currency

    def clean(self, value: Any) -> int | None:
        text = str(super().clean(value) or "").strip()
        if not text:
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            raise forms.ValidationError(_("Enter an amount like 12.50."), code="invalid")
        if amount < 0:
            raise forms.ValidationError(_("Enter an amount of at least 0."), code="min_value")
        digits = currency_exponent(self.currency)
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > digits:
            raise forms.ValidationError(
                _("Use at most %(digits)s decimal places.") % {"digits": digits},
                code="decimal_places",
            )
        minor = Money.from_major(amount, self.currency, mode=ROUND_HALF_UP).minor
        if minor > MONEY_MAX_MINOR:
            raise forms.ValidationError(_("This amount is too large."), code="max_value")
        return minor


def _currency_set(form: forms.Form, currency: str) -> None:
    for field in form.fields.values():
        if isinstance(field, MoneyField):
            field.currency = currency


def catalog_errors_apply(
    form: forms.Form, error: DomainError, aliases: Mapping[str, str] | None = None
) -> None:
    """Show a catalog service's error on the form: a field's next to it (service names mapped
    through `aliases`), the rest on top."""
    aliases = aliases or {}
    if not error.fields:
        form.add_error(None, forms.ValidationError(error.message, code=error.code))
        return
    for name, items in error.fields.items():
        target = aliases.get(name, name)
        for item in items:
            form.add_error(
                target if target in form.fields else None,
                forms.ValidationError(item["message"], code=item["code"]),
            )


def disable_all(form: forms.Form) -> forms.Form:
    """The form shown read-only (for roles that may look but not change)."""
    for field in form.fields.values():
        field.disabled = True
    return form


# --- Products


class ProductFieldsForm(forms.Form):
    """A product's own fields (named as product_create / product_update name them)."""

    title = forms.CharField(label=_("Title"), max_length=200)
    subtitle = forms.CharField(label=_("Subtitle"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Product details"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    category = forms.TypedChoiceField(
        label=_("Category"), required=False, coerce=int, empty_value=None
    )
    on_shelf = forms.BooleanField(
        label=_("On the shelf (for sale)"),
        required=False,
        help_text=_("Products off the shelf are hidden from shoppers."),
    )

    def __init__(self, *args: Any, categories: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.TypedChoiceField)
        category.choices = [("", _("No category")), *categories]


class OptionFieldsForm(forms.Form):
    """Up to three options, each a name and its values ("红, 蓝"), generating the SKUs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for number in range(1, MAX_OPTIONS + 1):
            self.fields[f"option_{number}_name"] = forms.CharField(
                label=_("Option %(number)s") % {"number": number},
                required=False,
                max_length=50,
                widget=forms.TextInput(attrs={"placeholder": _("Colour")}),
            )
            self.fields[f"option_{number}_values"] = forms.CharField(
                label=_("Its values"),
                required=False,
                max_length=2000,
                widget=forms.TextInput(attrs={"placeholder": _("Red, Blue")}),
                help_text=_("Separated by commas."),
            )
        # Which numbered row each cleaned option came from (empty rows are skipped).
        self.option_rows: list[int] = []

    def option_rows_bound(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """(name, values) of each option row, for the template."""
        return [
            (self[f"option_{number}_name"], self[f"option_{number}_values"])
            for number in range(1, MAX_OPTIONS + 1)
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.option_rows = []
        for number in range(1, MAX_OPTIONS + 1):
            name = str(cleaned.get(f"option_{number}_name") or "").strip()
            values = [
                value.strip()
                for value in _VALUE_SEPARATORS.split(
                    str(cleaned.get(f"option_{number}_values") or "")
                )
                if value.strip()
            ]
            if name and not values:
                self.add_error(
                    f"option_{number}_values",
                    forms.ValidationError(_("Give this option its values."), code="required"),
                )
            elif values and not name:
                self.add_error(
                    f"option_{number}_name",
                    forms.ValidationError(_("Name this option."), code="required"),
                )
            elif name:
                self.option_rows.append(number)
            cleaned[f"option_{number}_values"] = values
        return cleaned

    def option_specs(self) -> list[OptionSpec]:
        """The options filled in, in order."""
        return [
            OptionSpec(
                str(self.cleaned_data[f"option_{number}_name"]).strip(),
                list(self.cleaned_data[f"option_{number}_values"]),
            )
            for number in self.option_rows
        ]

    def option_aliases(self) -> dict[str, str]:
        """The services' "options.<index>.<part>" error names as this form's fields."""
        aliases = {"options": "option_1_name"}
        for index, number in enumerate(self.option_rows):
            aliases[f"options.{index}.name"] = f"option_{number}_name"
            aliases[f"options.{index}.values"] = f"option_{number}_values"
        return aliases

    @staticmethod
    def initial_for(specs: Iterable[tuple[str, Sequence[str]]]) -> dict[str, str]:
        """Initial data showing a product's current options."""
        initial: dict[str, str] = {}
        for number, (name, values) in enumerate(specs, start=1):
            initial[f"option_{number}_name"] = name
            initial[f"option_{number}_values"] = ", ".join(values)
        return initial


class ProductCreateForm(ProductFieldsForm, OptionFieldsForm):
    """A new product: its fields, its options, and what every SKU starts with."""

    price = MoneyField(label=_("Price"), help_text=_("Of every SKU; change each one afterwards."))
    stock = forms.IntegerField(
        label=_("Stock of each SKU"), min_value=0, max_value=STOCK_MAX, initial=0
    )
    weight_grams = forms.IntegerField(
        label=_("Weight (g)"), min_value=0, max_value=WEIGHT_MAX_GRAMS, initial=0
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _currency_set(self, currency)

    def aliases(self) -> dict[str, str]:
        return {**self.option_aliases(), "price_minor": "price"}


class ProductOptionsForm(OptionFieldsForm):
    """A product's options; new combinations get new SKUs, removed ones are switched off."""

    new_price = MoneyField(
        label=_("Price of new SKUs"),
        required=False,
        help_text=_("Leave empty for the lowest price of the current SKUs."),
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _currency_set(self, currency)

    def aliases(self) -> dict[str, str]:
        return {**self.option_aliases(), "price_minor": "new_price"}


_SKU_PARTS = {
    "code": "code",
    "price_minor": "price",
    "list_price_minor": "list_price",
    "weight_grams": "weight",
    "stock": "stock",
    "stock_delta": "stock_delta",
}


class SkuTableForm(forms.Form):
    """Every SKU of a product in one form: code, price, list price, weight, on sale, stock.

    The stock field shows the count read with the page; it is only set when the merchant
    changed it (so that sales meanwhile are not overwritten); "add" adjusts it by a delta.
    """

    def __init__(
        self,
        *args: Any,
        skus: Sequence[Any],
        currency: str,
        labels: Mapping[int, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.skus = list(skus)
        self.labels = labels
        for sku in self.skus:
            prefix = f"sku_{sku.pk}_"
            self.fields[f"{prefix}code"] = forms.CharField(
                label=_("SKU code"), max_length=64, initial=sku.code
            )
            self.fields[f"{prefix}price"] = MoneyField(
                label=_("Price"), currency=currency, initial=amount_major(sku.price_minor, currency)
            )
            self.fields[f"{prefix}list_price"] = MoneyField(
                label=_("List price"),
                currency=currency,
                required=False,
                initial=amount_major(sku.list_price_minor, currency),
            )
            self.fields[f"{prefix}weight"] = forms.IntegerField(
                label=_("Weight (g)"),
                min_value=0,
                max_value=WEIGHT_MAX_GRAMS,
                initial=sku.weight_grams,
            )
            self.fields[f"{prefix}active"] = forms.BooleanField(
                label=_("For sale"), required=False, initial=sku.is_active
            )
            self.fields[f"{prefix}stock"] = forms.IntegerField(
                label=_("Stock"), min_value=0, max_value=STOCK_MAX, initial=sku.stock
            )
            self.fields[f"{prefix}stock_was"] = forms.IntegerField(
                widget=forms.HiddenInput, initial=sku.stock
            )
            self.fields[f"{prefix}stock_delta"] = forms.IntegerField(
                label=_("Add to stock"),
                required=False,
                min_value=-STOCK_MAX,
                max_value=STOCK_MAX,
                help_text=_("For example 10, or -3."),
                widget=forms.NumberInput(attrs={"placeholder": "±0"}),
            )

    def rows(self) -> list[dict[str, Any]]:
        """One entry per SKU with its bound fields, for the template."""
        return [
            {
                "sku": sku,
                "label": self.labels.get(sku.pk, ""),
                **{
                    part: self[f"sku_{sku.pk}_{part}"]
                    for part in (
                        "code",
                        "price",
                        "list_price",
                        "weight",
                        "active",
                        "stock",
                        "stock_was",
                        "stock_delta",
                    )
                },
            }
            for sku in self.skus
        ]

    def changes(self) -> list[SkuChange]:
        data = self.cleaned_data
        changes = []
        for sku in self.skus:
            prefix = f"sku_{sku.pk}_"
            stock = data[f"{prefix}stock"]
            changes.append(
                SkuChange(
                    sku_id=sku.pk,
                    code=data[f"{prefix}code"],
                    price_minor=data[f"{prefix}price"],
                    list_price_minor=data[f"{prefix}list_price"],
                    weight_grams=data[f"{prefix}weight"],
                    is_active=bool(data[f"{prefix}active"]),
                    stock=stock if stock != data[f"{prefix}stock_was"] else None,
                    stock_delta=data[f"{prefix}stock_delta"] or 0,
                )
            )
        return changes

    def aliases(self) -> dict[str, str]:
        """The service's "skus.<id>.<field>" error names as this form's fields."""
        return {
            f"skus.{sku.pk}.{name}": f"sku_{sku.pk}_{part}"
            for sku in self.skus
            for name, part in _SKU_PARTS.items()
        }


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class ImagesUploadForm(forms.Form):
    images = forms.Field(
        label=_("Add pictures"),
        help_text=_("JPEG, PNG, WebP or GIF, up to 10 MB each; the first picture is the cover."),
        widget=MultipleImageInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
    )

    def clean_images(self) -> list[UploadedFile]:
        files = self.files.getlist(self.add_prefix("images"))
        if not files:
            raise forms.ValidationError(_("Choose at least one picture."), code="required")
        if len(files) > IMAGES_PER_UPLOAD:
            raise forms.ValidationError(
                _("Add at most %(count)s pictures at once.") % {"count": IMAGES_PER_UPLOAD},
                code="too_many",
            )
        return list(files)


class IdListField(forms.Field):
    """Ids posted as repeated fields (checkboxes, hidden inputs), in their order."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        try:
            return [int(item) for item in value]
        except (TypeError, ValueError) as error:
            raise forms.ValidationError(_("Choose from the list."), code="invalid") from error


class ImageOrderForm(forms.Form):
    image_ids = IdListField()


class ProductsShelfForm(forms.Form):
    """Bulk: put the checked products on the shelf or take them off."""

    product = IdListField(required=False)
    on_shelf = forms.TypedChoiceField(
        choices=[("on", _("Put on the shelf")), ("off", _("Take off the shelf"))],
        coerce=lambda value: value == "on",
    )
    next = forms.CharField(required=False, max_length=2000)

    def clean_product(self) -> list[int]:
        ids: list[int] = self.cleaned_data["product"]
        if not ids:
            raise forms.ValidationError(_("Check the products to change first."), code="required")
        return ids


class ShelfForm(forms.Form):
    on_shelf = forms.TypedChoiceField(
        choices=[("on", _("Put on the shelf")), ("off", _("Take off the shelf"))],
        coerce=lambda value: value == "on",
    )


class ProductFilterForm(forms.Form):
    """The product list's search, filters, sort and page size (a GET form: bad values are
    ignored)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Title, option, category…")}
        ),
    )
    category = forms.TypedChoiceField(
        label=_("Category"), required=False, coerce=int, empty_value=None
    )
    shelf = forms.ChoiceField(
        label=_("Shelf"), required=False, choices=[("", _("On or off")), *ShelfFilter.choices]
    )
    stock = forms.ChoiceField(
        label=_("Stock"), required=False, choices=[("", _("Any stock")), *StockFilter.choices]
    )
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("", _("Newest, or best match when searching")),
            *(choice for choice in ConsoleSort.choices if choice[0] != ConsoleSort.RELEVANCE),
        ],
    )
    page_size = forms.TypedChoiceField(
        label=_("Per page"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(size, str(size)) for size in PAGE_SIZES],
    )

    def __init__(self, *args: Any, categories: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.TypedChoiceField)
        category.choices = [("", _("All categories")), *categories]

    def filters(self) -> dict[str, Any]:
        """The valid values, each field that is not valid left at its default."""
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in self.fields}
        return {
            "query": str(data["q"] or "").strip(),
            "category_id": data["category"],
            "shelf": data["shelf"] or "",
            "stock": data["stock"] or "",
            "sort": data["sort"] or "",
            "page_size": data["page_size"] or PAGE_SIZES[0],
        }


# --- Categories


class CategoryCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    parent = forms.TypedChoiceField(label=_("Under"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, categories: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        assert isinstance(parent, forms.TypedChoiceField)
        parent.choices = [("", _("The top level")), *categories]


class CategoryRenameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(
        label=_("Shown to shoppers"),
        required=False,
        help_text=_("A hidden category hides its subcategories too."),
    )


class CategoryMoveForm(forms.Form):
    parent = forms.TypedChoiceField(
        label=_("Move under"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, categories: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        assert isinstance(parent, forms.TypedChoiceField)
        parent.choices = [("", _("The top level")), *categories]


class CategoryOrderForm(forms.Form):
    parent = forms.IntegerField(required=False)
    category_ids = IdListField()


# --- CSV


class CsvImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 (“CSV UTF-8” in Excel), with the columns of the export."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    mode = forms.ChoiceField(
        label=_("When some rows have errors"),
        choices=[
            ("all", _("Import nothing, so that I can fix the file")),
            ("partial", _("Import the valid rows and list the others")),
        ],
        initial="all",
        widget=forms.RadioSelect,
    )

    def clean_file(self) -> UploadedFile:
        file: UploadedFile = self.cleaned_data["file"]
        if file.size is not None and file.size > CSV_MAX_BYTES:
            raise forms.ValidationError(
                _("Upload a file of at most 5 MB (split a larger catalog)."), code="too_large"
            )
        return file
