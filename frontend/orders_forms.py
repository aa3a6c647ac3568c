"""Forms of the console's order, after-sale, shipping-template and reconciliation pages.

They check the shape of what is typed (amounts in major units, quantities, dates); the services
check the rules, and their errors are shown on these forms.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from frontend.catalog_forms import PAGE_SIZES, IdListField, MoneyField, amount_major
from frontend.order_labels import BASES, GATEWAYS, ORDER_STATUSES
from shop.catalog.services.shipping import RegionRuleSpec, ShippingTemplateSpec
from shop.orders.services.after_sales import AfterSaleItem

# Regions may be separated by commas (also Chinese ones), 、, semicolons or new lines.
_REGION_SEPARATORS = re.compile(r"[,，、;；\n]")

# The province-level divisions as addresses write them (WeChat's address picker gives these).
CHINA_PROVINCES: tuple[str, ...] = (
    "北京市",
    "天津市",
    "河北省",
    "山西省",
    "内蒙古自治区",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "上海市",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "广西壮族自治区",
    "海南省",
    "重庆市",
    "四川省",
    "贵州省",
    "云南省",
    "西藏自治区",
    "陕西省",
    "甘肃省",
    "青海省",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
    "台湾省",
    "香港特别行政区",
    "澳门特别行政区",
)

# Carriers offered as suggestions when shipping (any other name may be typed).
CARRIERS: tuple[str, ...] = (
    "顺丰速运",
    "中通快递",
    "圆通速递",
    "韵达快递",
    "申通快递",
    "极兔速递",
    "京东物流",
    "邮政快递包裹",
    "EMS",
)

UNITS_MAX = 100_000_000


def split_regions(text: str) -> list[str]:
    return [part.strip() for part in _REGION_SEPARATORS.split(text) if part.strip()]


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- Orders


class OrderFilterForm(forms.Form):
    """The order list's status tab, search, dates and page size (a GET form: a bad value is
    dropped rather than refused)."""

    status = forms.ChoiceField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Order number, recipient or tracking number"),
                "autocomplete": "off",
            }
        ),
    )
    created_from = forms.DateField(label=_("Placed from"), required=False, widget=_date_input())
    created_to = forms.DateField(label=_("Placed until"), required=False, widget=_date_input())
    page_size = forms.TypedChoiceField(
        label=_("Per page"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(size, str(size)) for size in PAGE_SIZES],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = [("", ""), *((key, key) for key in ORDER_STATUSES)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("Choose a day on or after the first one."))
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The valid filters (invalid ones are left out): orders_for_console's arguments and
        the page size."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "status": data.get("status") or None,
            "query": data.get("q") or "",
            "created_from": data.get("created_from"),
            "created_to": data.get("created_to"),
            "page_size": data.get("page_size") or PAGE_SIZES[0],
        }


class ShipForm(forms.Form):
    carrier = forms.CharField(
        label=_("Carrier"),
        max_length=64,
        widget=forms.TextInput(attrs={"list": "carriers", "autocomplete": "off"}),
    )
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=200)


class MerchantNoteForm(forms.Form):
    merchant_note = forms.CharField(
        label=_("Note for your team"),
        required=False,
        max_length=500,
        help_text=_("Only your team sees it."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RefundForm(forms.Form):
    """Units to refund from each line (at most what is left of it) and the reason."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("The member sees it with the refund."),
    )
    # An Idempotency-Key per rendered form: a double click or a resubmitted page refunds once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, refundable: dict[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = uuid.uuid4().hex
        self.refundable = refundable
        for line_id, left in refundable.items():
            self.fields[f"line_{line_id}"] = forms.IntegerField(
                label=_("Units to refund"),
                min_value=0,
                max_value=left,
                initial=0,
                required=False,
                disabled=left == 0,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    def line_field(self, line_id: int) -> forms.BoundField:
        return self[f"line_{line_id}"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.items() and not self.errors:
            raise forms.ValidationError(_("Choose at least one unit to refund."), code="required")
        return cleaned

    def items(self) -> list[AfterSaleItem]:
        data = getattr(self, "cleaned_data", {})
        return [
            AfterSaleItem(line_id=line_id, quantity=data[f"line_{line_id}"])
            for line_id in self.refundable
            if data.get(f"line_{line_id}")
        ]


# --- After-sales


class AfterSaleDecisionForm(forms.Form):
    """Approve, reject (a note is then needed) or confirm a return: `next` says which page."""

    note = forms.CharField(
        label=_("Note to the member"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    next = forms.ChoiceField(
        required=False, choices=[("list", "list"), ("order", "order")], widget=forms.HiddenInput
    )


# --- Shipping templates


class RegionsField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(choices=[(name, name) for name in CHINA_PROVINCES], **kwargs)


def _units_field(label: Any, help_text: Any = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=UNITS_MAX,
        initial=1,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


def regions_initial(regions: Sequence[str]) -> tuple[list[str], str]:
    """Stored regions as the form shows them: the provinces ticked, the others typed."""
    known = [region for region in regions if region in CHINA_PROVINCES]
    others = [region for region in regions if region not in CHINA_PROVINCES]
    return known, "、".join(others)


class _Fees(forms.Form):
    """First and further units and their fees (shared by templates and their region rules)."""

    def __init__(self, *args: Any, currency: str = "CNY", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["first_units"] = _units_field(
            _("First units"), _("Items, or grams when charged by weight.")
        )
        self.fields["first_fee"] = MoneyField(label=_("Fee for the first units"), currency=currency)
        self.fields["additional_units"] = _units_field(
            _("Each further units"), _("Each started step is charged.")
        )
        self.fields["additional_fee"] = MoneyField(
            label=_("Fee for each further step"), currency=currency
        )

    def fee_arguments(self) -> dict[str, int]:
        data = self.cleaned_data
        return {
            "first_units": data["first_units"],
            "first_fee_minor": data["first_fee"] or 0,
            "additional_units": data["additional_units"],
            "additional_fee_minor": data["additional_fee"] or 0,
        }


class RegionRuleForm(_Fees):
    """One region rule; a rule left blank is skipped, one ticked for removal is dropped."""

    regions = RegionsField(label=_("Provinces"))
    regions_other = forms.CharField(
        label=_("Other regions"),
        required=False,
        max_length=2000,
        help_text=_("Separated by commas, as addresses write them."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Prefix-relative order: regions first, then the fees.
        self.order_fields(["regions", "regions_other"])

    def rule(self) -> RegionRuleSpec:
        data = self.cleaned_data
        regions = [*data.get("regions", []), *split_regions(data.get("regions_other", ""))]
        return RegionRuleSpec(regions=regions, **self.fee_arguments())


# Service field names -> this form's, for the errors of shipping_template_create / _update.
FEE_ALIASES = {"first_fee_minor": "first_fee", "additional_fee_minor": "additional_fee"}
TEMPLATE_ALIASES = {**FEE_ALIASES, "free_over_minor": "free_over", "excluded_regions": "excluded"}


class RegionRuleFormSetBase(forms.BaseFormSet):  # type: ignore[type-arg]
    def __init__(self, *args: Any, currency: str = "CNY", **kwargs: Any) -> None:
        self.currency = currency
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "currency": self.currency}

    def kept_forms(self) -> list[RegionRuleForm]:
        """The rules to save, in order: filled in and not ticked for removal."""
        return [
            form
            for form in self.forms
            if form.has_changed() and not form.cleaned_data.get("DELETE", False)
        ]


RegionRuleFormSet = cast(
    "type[RegionRuleFormSetBase]",
    forms.formset_factory(
        RegionRuleForm,
        formset=RegionRuleFormSetBase,
        extra=1,
        can_delete=True,
        max_num=50,
        validate_max=True,
    ),
)


class ShippingTemplateForm(_Fees):
    name = forms.CharField(label=_("Name"), max_length=64)
    basis = forms.ChoiceField(
        label=_("Charge"),
        choices=list(BASES.items()),
        initial="count",
        widget=forms.RadioSelect,
    )
    free_over = MoneyField(
        label=_("Free shipping from"),
        required=False,
        help_text=_("Items of this template, after discounts. Leave empty for never."),
    )
    excluded = RegionsField(label=_("Provinces not delivered to"))
    excluded_other = forms.CharField(
        label=_("Other regions not delivered to"),
        required=False,
        max_length=2000,
        help_text=_("Separated by commas, as addresses write them."),
    )
    is_default = forms.BooleanField(
        label=_("Default template"),
        required=False,
        help_text=_("Products that name no template are charged by it."),
    )

    def __init__(self, *args: Any, currency: str = "CNY", **kwargs: Any) -> None:
        super().__init__(*args, currency=currency, **kwargs)
        free_over = self.fields["free_over"]
        assert isinstance(free_over, MoneyField)
        free_over.currency = currency
        self.order_fields(
            [
                "name",
                "basis",
                "first_units",
                "first_fee",
                "additional_units",
                "additional_fee",
                "free_over",
                "excluded",
                "excluded_other",
                "is_default",
            ]
        )

    @classmethod
    def initial_for(cls, template: Any, currency: str) -> dict[str, Any]:
        excluded, excluded_other = regions_initial(template.excluded_regions)
        return {
            "name": template.name,
            "basis": template.basis,
            "first_units": template.first_units,
            "first_fee": amount_major(template.first_fee_minor, currency),
            "additional_units": template.additional_units,
            "additional_fee": amount_major(template.additional_fee_minor, currency),
            "free_over": amount_major(template.free_over_minor, currency),
            "excluded": excluded,
            "excluded_other": excluded_other,
            "is_default": template.is_default,
        }

    def spec(self, rules: Sequence[RegionRuleSpec]) -> ShippingTemplateSpec:
        data = self.cleaned_data
        return ShippingTemplateSpec(
            name=data["name"],
            basis=data["basis"],
            free_over_minor=data.get("free_over"),
            excluded_regions=[
                *data.get("excluded", []),
                *split_regions(data.get("excluded_other", "")),
            ],
            rules=rules,
            **self.fee_arguments(),
        )


def rule_initial(rule: Any, currency: str) -> dict[str, Any]:
    regions, others = regions_initial(rule.regions)
    return {
        "regions": regions,
        "regions_other": others,
        "first_units": rule.first_units,
        "first_fee": amount_major(rule.first_fee_minor, currency),
        "additional_units": rule.additional_units,
        "additional_fee": amount_major(rule.additional_fee_minor, currency),
    }


class ProductSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find products"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Title"), "autocomplete": "off"}
        ),
    )


class ProductAssignForm(forms.Form):
    """Products checked to be charged by a template (or, with `release`, by the default)."""

    product = IdListField(required=False)
    release = forms.BooleanField(required=False)

    def clean_product(self) -> list[int]:
        ids: list[int] = self.cleaned_data["product"]
        if not ids:
            raise forms.ValidationError(_("Check the products to change first."), code="required")
        return ids


# --- Reconciliation


class MismatchResolveForm(forms.Form):
    note = forms.CharField(
        label=_("How it was explained"),
        max_length=500,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class ReconcileRunForm(forms.Form):
    gateway = forms.ChoiceField(label=_("Provider"))
    day = forms.DateField(label=_("Day"), widget=_date_input())

    def __init__(self, *args: Any, gateways: Sequence[str], today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gateway = self.fields["gateway"]
        assert isinstance(gateway, forms.ChoiceField)
        gateway.choices = [(name, GATEWAYS.get(name, name)) for name in gateways]
        self.today = today

    def clean_day(self) -> date:
        day: date = self.cleaned_data["day"]
        if day >= self.today:
            raise forms.ValidationError(
                _("Choose a day before today: its bill is complete."), code="not_past"
            )
        return day
