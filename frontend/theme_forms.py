"""Forms of the theme editor, built from a theme's settings schema (THEME-FORMAT.md).

One form field per setting, named after the setting's id under a prefix (so that ids never
collide with the editor's own fields such as `revision`). The forms check the shape of input
only; themes.manifest (through the design services) decides what a valid value is, and its
errors come back under the setting's id. Image settings are a file input plus a "remove" box:
the view stores an uploaded file first (themes.storefront.services.images) and saves its name.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from infra.errors import DomainError
from themes.manifest import FONT_STACKS, label_text
from themes.storefront.services.images import theme_image_url

SETTINGS_PREFIX = "setting"
REMOVE_SUFFIX = "-remove"
PRODUCTS_MAX = 50
TEXT_MAX = 200
TEXTAREA_MAX = 5_000
URL_MAX = 500

FONT_LABELS: dict[str, Promise] = {
    "system": gettext_lazy("System (sans-serif)"),
    "serif": pgettext_lazy("font", "Serif"),
    "rounded": pgettext_lazy("font", "Rounded"),
    "mono": pgettext_lazy("font", "Monospace"),
}
_PRODUCT_IDS = re.compile(r"[\s,，;；]+")


def font_choices() -> list[tuple[str, str]]:
    return [(key, str(FONT_LABELS.get(key, key))) for key in FONT_STACKS]


class ProductIdsField(forms.CharField):
    """Product ids typed (or picked) as "12, 7, 30": a list of distinct ids, in order."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"inputmode": "numeric", "autocomplete": "off", "data-product-ids": ""}
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        text = str(super().to_python(value) or "")
        ids: list[int] = []
        for part in _PRODUCT_IDS.split(text.strip()):
            if not part:
                continue
            if not part.isdigit() or int(part) <= 0:
                raise forms.ValidationError(
                    _("Enter product numbers separated by commas."), code="products_invalid"
                )
            if int(part) not in ids:
                ids.append(int(part))
        if len(ids) > PRODUCTS_MAX:
            raise forms.ValidationError(
                _("Choose at most %(count)s products.") % {"count": PRODUCTS_MAX},
                code="products_invalid",
            )
        return ids


def _label(setting: dict[str, Any], language: str) -> str:
    return label_text(setting.get("label"), language) or str(setting["id"])


def setting_field(
    setting: dict[str, Any], *, language: str, categories: list[tuple[int, str]]
) -> forms.Field:
    """The form field of one setting of a schema."""
    kind = setting["type"]
    common: dict[str, Any] = {
        "label": _label(setting, language),
        "help_text": label_text(setting.get("info"), language),
    }
    placeholder = label_text(setting.get("placeholder"), language)
    if kind == "text":
        return forms.CharField(
            required=False,
            max_length=TEXT_MAX,
            strip=False,
            widget=forms.TextInput(attrs={"placeholder": placeholder} if placeholder else {}),
            **common,
        )
    if kind == "textarea":
        return forms.CharField(
            required=False,
            max_length=TEXTAREA_MAX,
            strip=False,
            widget=forms.Textarea(
                attrs={"rows": 4, **({"placeholder": placeholder} if placeholder else {})}
            ),
            **common,
        )
    if kind == "color":
        return forms.CharField(
            max_length=7, widget=forms.TextInput(attrs={"type": "color"}), **common
        )
    if kind == "font":
        return forms.ChoiceField(choices=font_choices(), **common)
    if kind == "checkbox":
        return forms.BooleanField(required=False, **common)
    if kind == "range":
        low, high = int(setting.get("min", 0)), int(setting.get("max", 0))
        step = int(setting.get("step") or 1)
        return forms.IntegerField(
            min_value=low,
            max_value=high,
            step_size=step,
            widget=forms.NumberInput(attrs={"min": low, "max": high, "step": step}),
            **common,
        )
    if kind == "select":
        return forms.ChoiceField(
            choices=[
                (
                    str(option["value"]),
                    label_text(option.get("label"), language) or str(option["value"]),
                )
                for option in setting.get("options", [])
            ],
            **common,
        )
    if kind == "url":
        return forms.CharField(
            required=False,
            max_length=URL_MAX,
            widget=forms.TextInput(
                attrs={"placeholder": placeholder or _("/search or https://…"), "inputmode": "url"}
            ),
            **common,
        )
    if kind == "image":
        return forms.FileField(
            required=False,
            widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
            **common,
        )
    if kind == "category":
        return forms.TypedChoiceField(
            required=False,
            choices=[("", _("— None —")), *[(str(pk), name) for pk, name in categories]],
            coerce=int,
            empty_value=None,
            **common,
        )
    if kind == "products":
        common["help_text"] = common["help_text"] or _(
            "Product numbers in the order to show, separated by commas (at most %(count)s)."
        ) % {"count": PRODUCTS_MAX}
        return ProductIdsField(**common)
    raise ValueError(f"unknown setting type {kind!r}")


def _initial(setting: dict[str, Any], value: Any) -> Any:
    if setting["type"] == "image":
        return None
    if setting["type"] == "category":
        return "" if value is None else str(value)
    return value


class ThemeSettingsForm(forms.Form):
    """The values of a settings schema (the theme's, or one section type's).

    `values` are the current (cleaned) values: the form's initial data, and the images shown
    beside their file inputs. `changes()` is what to save: every setting of the schema except
    an image left alone; `uploads()` the files to store first.
    """

    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        *,
        schema: list[dict[str, Any]],
        values: dict[str, Any],
        language: str,
        categories: list[tuple[int, str]] | None = None,
        revision: int,
        disabled: bool = False,
        auto_id: str = "id_%s",
    ) -> None:
        super().__init__(data, files, initial={"revision": revision}, auto_id=auto_id)
        self.schema = [setting for setting in schema if isinstance(setting, dict)]
        self.current = dict(values)
        for setting in self.schema:
            setting_id = str(setting["id"])
            name = self.setting_name(setting_id)
            field = setting_field(setting, language=language, categories=categories or [])
            field.initial = _initial(setting, values.get(setting_id))
            self.fields[name] = field
            if setting["type"] == "image":
                self.fields[name + REMOVE_SUFFIX] = forms.BooleanField(
                    required=False, label=_("Remove the image")
                )
        if disabled:
            for field in self.fields.values():
                field.disabled = True

    @staticmethod
    def setting_name(setting_id: str) -> str:
        return f"{SETTINGS_PREFIX}-{setting_id}"

    def setting_rows(self) -> list[dict[str, Any]]:
        """For the template: each setting's bound field, type, and (images) current value."""
        rows = []
        for setting in self.schema:
            setting_id = str(setting["id"])
            name = self.setting_name(setting_id)
            rows.append(
                {
                    "id": setting_id,
                    "type": setting["type"],
                    "field": self[name],
                    "remove": self[name + REMOVE_SUFFIX] if setting["type"] == "image" else None,
                    "value": self.current.get(setting_id),
                    "image_url": theme_image_url(self.current.get(setting_id))
                    if setting["type"] == "image"
                    else None,
                }
            )
        return rows

    def uploads(self) -> dict[str, UploadedFile]:
        """Image files to store, by setting id."""
        found = {}
        for setting in self.schema:
            if setting["type"] != "image":
                continue
            name = self.setting_name(str(setting["id"]))
            file = self.cleaned_data.get(name)
            if file and not self.cleaned_data.get(name + REMOVE_SUFFIX):
                found[str(setting["id"])] = file
        return found

    def changes(self, stored: dict[str, str] | None = None) -> dict[str, Any]:
        """Setting values for the design services; `stored`: storage names of uploaded images."""
        stored = stored or {}
        values: dict[str, Any] = {}
        for setting in self.schema:
            setting_id = str(setting["id"])
            name = self.setting_name(setting_id)
            if setting["type"] == "image":
                if self.cleaned_data.get(name + REMOVE_SUFFIX):
                    values[setting_id] = None
                elif setting_id in stored:
                    values[setting_id] = stored[setting_id]
                continue
            values[setting_id] = self.cleaned_data.get(name)
        return values

    def domain_error_apply(self, error: DomainError) -> None:
        """Show a service's error: field errors under their settings, the rest on the form."""
        known = {str(setting["id"]) for setting in self.schema}
        placed = False
        for key, items in (error.fields or {}).items():
            for item in items:
                problem = forms.ValidationError(item.get("message", ""), code=item.get("code"))
                if key in known:
                    self.add_error(self.setting_name(key), problem)
                    placed = True
                else:
                    self.add_error(None, problem)
                    placed = True
        if not placed:
            self.add_error(None, forms.ValidationError(error.message, code=error.code))
