"""Forms of the platform pages: they check the shape of input; the services check the rules."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from infra.errors import DomainError
from tenants.models import Role

CURRENCY_NAMES = {
    "CNY": _("Chinese yuan (CNY)"),
    "USD": _("US dollar (USD)"),
    "HKD": _("Hong Kong dollar (HKD)"),
    "SGD": _("Singapore dollar (SGD)"),
    "MYR": _("Malaysian ringgit (MYR)"),
    "THB": _("Thai baht (THB)"),
    "VND": _("Vietnamese dong (VND)"),
    "IDR": _("Indonesian rupiah (IDR)"),
    "EUR": _("Euro (EUR)"),
    "GBP": _("Pound sterling (GBP)"),
    "JPY": _("Japanese yen (JPY)"),
}
SHOP_LANGUAGE_NAMES = {
    "zh-hans": _("Simplified Chinese"),
    "en": _("English"),
    "vi": _("Vietnamese"),
    "th": _("Thai"),
    "id": _("Indonesian"),
    "ms": _("Malay"),
}
# Shown first in the time zone suggestions; any IANA zone is accepted.
COMMON_TIME_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Bangkok",
    "Asia/Ho_Chi_Minh",
    "Asia/Jakarta",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
)


def time_zone_suggestions() -> list[str]:
    """The common zones first, then every other IANA zone in order."""
    others = sorted(zoneinfo.available_timezones() - set(COMMON_TIME_ZONES))
    return [*COMMON_TIME_ZONES, *others]


def form_errors_apply(form: forms.Form, error: DomainError) -> None:
    """Show a service's error on the form: field errors next to their fields, the rest on top."""
    if not error.fields:
        form.add_error(None, forms.ValidationError(error.message, code=error.code))
        return
    for field, items in error.fields.items():
        target = field if field in form.fields else None
        for item in items:
            form.add_error(target, forms.ValidationError(item["message"], code=item["code"]))


class ShopFields(forms.Form):
    shop_name = forms.CharField(
        label=_("Shop name"),
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    slug = forms.CharField(
        label=_("Shop address"),
        max_length=40,
        help_text=_("Lower-case letters, digits and hyphens; it cannot be changed later."),
        widget=forms.TextInput(
            attrs={"autocapitalize": "none", "autocorrect": "off", "spellcheck": "false"}
        ),
    )
    currency = forms.ChoiceField(label=_("Currency"))
    language = forms.ChoiceField(label=_("Shop language"))
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency = self.fields["currency"]
        language = self.fields["language"]
        assert isinstance(currency, forms.ChoiceField)
        assert isinstance(language, forms.ChoiceField)
        currency.choices = [
            (code, CURRENCY_NAMES.get(code, code)) for code in settings.SHOP_CURRENCIES
        ]
        language.choices = [
            (code, SHOP_LANGUAGE_NAMES.get(code, code)) for code in settings.SHOP_LANGUAGES
        ]

    def clean_slug(self) -> str:
        return str(self.cleaned_data["slug"]).strip().lower()

    def shop_arguments(self) -> dict[str, str]:
        """The shop's fields, named as the signup services name them."""
        data = self.cleaned_data
        return {
            "shop_name": data["shop_name"],
            "slug": data["slug"],
            "currency": data["currency"],
            "language": data["language"],
            "time_zone": data["time_zone"],
        }


class ShopCreateForm(ShopFields):
    """A further shop: for the account itself, or for a client of one of its agencies."""

    owner = forms.ChoiceField(label=_("Who runs it"), required=False)

    def __init__(self, *args: Any, agencies: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ChoiceField)
        owner.choices = [("self", _("Me, as its owner"))] + [
            (f"agency:{agency_id}", _("%(agency)s, for a client") % {"agency": name})
            for agency_id, name in agencies
        ]
        if not agencies:
            owner.widget = forms.HiddenInput()

    def agency_id(self) -> int | None:
        """The agency chosen to run the shop, if any."""
        value = str(self.cleaned_data.get("owner") or "self")
        return int(value.split(":", 1)[1]) if value.startswith("agency:") else None


class SignupForm(ShopFields):
    email = forms.CharField(
        label=_("E-mail"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        required=False,
        max_length=20,
        help_text=_("Enter an e-mail address, a phone number, or both."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_("At least 8 characters, not only digits, not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    field_order = [
        "shop_name",
        "slug",
        "email",
        "phone",
        "password",
        "currency",
        "language",
        "time_zone",
    ]


class LoginForm(forms.Form):
    identifier = forms.CharField(
        label=_("E-mail or phone"),
        max_length=254,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordResetRequestForm(forms.Form):
    identifier = forms.CharField(
        label=_("E-mail or phone"),
        max_length=254,
        help_text=_("We send a code to this address or number if an account uses it."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )


class PasswordResetConfirmForm(forms.Form):
    identifier = forms.CharField(
        label=_("E-mail or phone"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    code = forms.CharField(
        label=pgettext_lazy("one-time code", "Code"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("New password, again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first = cleaned.get("new_password")
        second = cleaned.get("new_password_again")
        if first and second and first != second:
            self.add_error(
                "new_password_again",
                forms.ValidationError(_("The two passwords differ."), code="password_mismatch"),
            )
        return cleaned


class VerificationCodeForm(forms.Form):
    code = forms.CharField(
        label=pgettext_lazy("one-time code", "Code"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ShopProfileForm(forms.Form):
    """The shop profile in the console's settings (fields named as the service names them)."""

    name = forms.CharField(label=_("Shop name"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Shown on your storefront's home page."),
    )
    contact_email = forms.CharField(
        label=_("Contact e-mail"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    contact_phone = forms.CharField(
        label=_("Contact phone"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


class DomainForm(forms.Form):
    domain = forms.CharField(
        label=_("Your own domain"),
        max_length=253,
        help_text=_("For example shop.example.com. Point it at the platform, then verify it."),
        widget=forms.TextInput(
            attrs={"autocapitalize": "none", "autocorrect": "off", "spellcheck": "false"}
        ),
    )


class StaffAddForm(forms.Form):
    identifier = forms.CharField(
        label=_("E-mail or phone of their account"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.STAFF)


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
