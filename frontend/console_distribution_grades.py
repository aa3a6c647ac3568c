"""The merchant console's distributor grades (等级): the grade list, creating and editing a grade
(per-level rates typed like the settings page: percentages as "10.00", fixed amounts in major
units; upgrade conditions; the retention rule), deleting an unused grade, setting a
distributor's grade by hand with a note (locked against automatic changes, audited), and the
history of grade changes.

Forms check the shape of input and convert units; distribution.services.grades checks the rules
(rank unique, at most 3 levels, …). Every member of the shop may look; the owner and admins
change grades.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from distribution.errors import DistributorNotFoundError, GradeNotFoundError
from distribution.services.grades import (
    distributor_find,
    grade_change_list,
    grade_create,
    grade_default,
    grade_delete,
    grade_get,
    grade_list,
    grade_set_manual,
    grade_update,
)
from distribution.services.rates import (
    product_rate_list,
    product_rate_remove,
    product_rate_set,
)
from distribution.services.settings import distribution_settings_get, distribution_settings_update
from frontend.catalog_forms import MoneyField, amount_major, catalog_errors_apply, disable_all
from frontend.console_access import console_role_in, console_tenant
from frontend.console_distribution import (
    DISTRIBUTION_EDITOR_ROLES,
    LEVELS,
    bp_to_percent,
    percent_to_bp,
)
from frontend.views import _console_context
from infra.errors import DomainError

HISTORY_SIZE = 50
RATE_KIND_LABELS: dict[str, Promise] = {
    "percentage": gettext_lazy("A percentage of the sale"),
    "fixed": gettext_lazy("A fixed amount per unit"),
}
MODE_LABELS: dict[str, Promise] = {
    "any": gettext_lazy("Any one of the conditions"),
    "all": gettext_lazy("All of the conditions"),
}
SOURCE_LABELS: dict[str, Promise] = {
    "global": gettext_lazy("The shop (the rates of the distribution settings)"),
    "grade": gettext_lazy("The distributor's grade"),
    "product": gettext_lazy("The product"),
    "sku": gettext_lazy("The SKU, else its product"),
}
REASON_LABELS: dict[str, Promise] = {
    "auto_upgrade": gettext_lazy("Upgraded automatically"),
    "retention_downgrade": gettext_lazy("Down one grade (retention rule)"),
    "manual": gettext_lazy("Set by hand"),
}
# Service field names → the form's.
ALIASES = {
    "level_rates": "rate_1",
    "own_spend_min_minor": "own_spend_min",
    "team_spend_min_minor": "team_spend_min",
    "retention_own_spend_min_minor": "retention_own_spend_min",
    "retention_team_spend_min_minor": "retention_team_spend_min",
}
MONEY_FIELDS = (
    "own_spend_min",
    "team_spend_min",
    "retention_own_spend_min",
    "retention_team_spend_min",
)


def _optional_count(label: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=0)


def _rate(text: str, kind: str, currency: str) -> int:
    if kind == "fixed":
        minor = MoneyField(currency=currency).clean(text)
        return 0 if minor is None else minor
    return percent_to_bp(text)


def _level_rates_clean(form: forms.Form, cleaned: dict[str, Any], currency: str) -> None:
    """rate_1..rate_3 (percentages or amounts by rate_kind) → cleaned["level_rates"]: the levels
    up to the last one given, none skipped."""
    kind = cleaned.get("rate_kind")
    if not kind:
        return
    texts = [str(cleaned.get(f"rate_{level}") or "").strip() for level in LEVELS]
    while texts and not texts[-1]:
        texts.pop()
    rates: list[int] = []
    for level, text in zip(LEVELS, texts, strict=False):
        if not text:
            form.add_error(
                f"rate_{level}",
                forms.ValidationError(
                    _("Give this level's rate, or none for the levels above."), code="required"
                ),
            )
            continue
        try:
            rates.append(_rate(text, kind, currency))
        except forms.ValidationError as error:
            form.add_error(f"rate_{level}", error)
    cleaned["level_rates"] = rates


def _rate_texts(rates: list[int], kind: str, currency: str) -> list[str]:
    return [
        amount_major(rate, currency) if kind == "fixed" else bp_to_percent(rate) + " %"
        for rate in rates
    ]


class GradeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=50)
    rank = forms.IntegerField(
        label=gettext_lazy("Rank"),
        min_value=0,
        max_value=32767,
        help_text=gettext_lazy("Higher is better; each grade has its own rank."),
    )
    is_default = forms.BooleanField(
        label=gettext_lazy("Default grade (of distributors without one)"), required=False
    )
    rate_kind = forms.ChoiceField(
        label=gettext_lazy("Commission is"), choices=list(RATE_KIND_LABELS.items())
    )
    rate_1 = forms.CharField(label=gettext_lazy("Level 1 (direct upline)"), required=False)
    rate_2 = forms.CharField(label=gettext_lazy("Level 2"), required=False)
    rate_3 = forms.CharField(label=gettext_lazy("Level 3"), required=False)
    condition_mode = forms.ChoiceField(
        label=gettext_lazy("Upgrade when"), choices=list(MODE_LABELS.items())
    )
    invites_min = _optional_count(gettext_lazy("Invited members (direct downlines)"))
    own_spend_min = MoneyField(label=gettext_lazy("Own spend"), required=False)
    own_orders_min = _optional_count(gettext_lazy("Own orders"))
    team_spend_min = MoneyField(label=gettext_lazy("Team spend"), required=False)
    team_orders_min = _optional_count(gettext_lazy("Team orders"))
    product_ids = forms.CharField(
        label=gettext_lazy("Bought one of these products (ids)"),
        required=False,
        max_length=1000,
        help_text=gettext_lazy("Product ids separated by commas."),
    )
    retention_days = forms.IntegerField(
        label=gettext_lazy("Re-check every (days)"),
        required=False,
        min_value=1,
        help_text=gettext_lazy("Leave empty to keep the grade for good."),
    )
    retention_own_spend_min = MoneyField(
        label=gettext_lazy("Keep with own spend in those days of at least"), required=False
    )
    retention_team_spend_min = MoneyField(
        label=gettext_lazy("Keep with team spend in those days of at least"), required=False
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        for name in MONEY_FIELDS:
            field = self.fields[name]
            assert isinstance(field, MoneyField)
            field.currency = currency
        for level in LEVELS:
            self.fields[f"rate_{level}"].widget.attrs.update(
                {"inputmode": "decimal", "autocomplete": "off"}
            )

    def clean_product_ids(self) -> list[int]:
        text = str(self.cleaned_data.get("product_ids") or "")
        parts = [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
        if not all(part.isdigit() and len(part) <= 18 for part in parts):
            raise forms.ValidationError(_("Give product ids like 12, 15."), code="invalid")
        return [int(part) for part in parts]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _level_rates_clean(self, cleaned, self.currency)
        return cleaned

    def values(self) -> dict[str, Any]:
        """The service's values (basis points and minor units)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "rank": data["rank"],
            "is_default": data["is_default"],
            "rate_kind": data["rate_kind"],
            "level_rates": data["level_rates"],
            "condition_mode": data["condition_mode"],
            "invites_min": data["invites_min"],
            "own_spend_min_minor": data["own_spend_min"],
            "own_orders_min": data["own_orders_min"],
            "team_spend_min_minor": data["team_spend_min"],
            "team_orders_min": data["team_orders_min"],
            "product_ids": data["product_ids"],
            "retention_days": data["retention_days"],
            "retention_own_spend_min_minor": data["retention_own_spend_min"],
            "retention_team_spend_min_minor": data["retention_team_spend_min"],
        }


def _initial(grade: Any, currency: str) -> dict[str, Any]:
    def money(minor: int | None) -> str:
        return amount_major(minor, currency)

    rates = list(grade.level_rates)
    return {
        "name": grade.name,
        "rank": grade.rank,
        "is_default": grade.is_default,
        "rate_kind": grade.rate_kind,
        **{
            f"rate_{index + 1}": (
                amount_major(rate, currency) if grade.rate_kind == "fixed" else bp_to_percent(rate)
            )
            for index, rate in enumerate(rates[: len(LEVELS)])
        },
        "condition_mode": grade.condition_mode,
        "invites_min": grade.invites_min,
        "own_spend_min": money(grade.own_spend_min_minor),
        "own_orders_min": grade.own_orders_min,
        "team_spend_min": money(grade.team_spend_min_minor),
        "team_orders_min": grade.team_orders_min,
        "product_ids": ", ".join(str(pk) for pk in grade.product_ids),
        "retention_days": grade.retention_days,
        "retention_own_spend_min": money(grade.retention_own_spend_min_minor),
        "retention_team_spend_min": money(grade.retention_team_spend_min_minor),
    }


class GradeOverrideForm(forms.Form):
    member = forms.CharField(
        label=gettext_lazy("Distributor (share code or member id)"), max_length=32
    )
    grade = forms.ChoiceField(label=gettext_lazy("Grade"), required=False)
    note = forms.CharField(
        label=gettext_lazy("Note (why)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    lock = forms.BooleanField(
        label=gettext_lazy("Keep this grade: no automatic upgrades or downgrades"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, grades: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["grade"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("The default grade")), *((str(g.pk), g.name) for g in grades)]


class RateSourceForm(forms.Form):
    rate_source = forms.ChoiceField(
        label=gettext_lazy("Commissions are paid at the rates of"),
        choices=list(SOURCE_LABELS.items()),
    )


class ProductRateForm(forms.Form):
    product = forms.IntegerField(label=gettext_lazy("Product id"), min_value=1)
    sku_code = forms.CharField(
        label=gettext_lazy("SKU code"),
        required=False,
        max_length=64,
        help_text=gettext_lazy("Leave empty for every SKU of the product."),
    )
    rate_kind = forms.ChoiceField(
        label=gettext_lazy("Commission is"), choices=list(RATE_KIND_LABELS.items())
    )
    rate_1 = forms.CharField(label=gettext_lazy("Level 1 (direct upline)"), required=False)
    rate_2 = forms.CharField(label=gettext_lazy("Level 2"), required=False)
    rate_3 = forms.CharField(label=gettext_lazy("Level 3"), required=False)

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _level_rates_clean(self, cleaned, self.currency)
        if cleaned.get("rate_kind") and not cleaned.get("level_rates") and not self.errors:
            self.add_error(
                "rate_1",
                forms.ValidationError(_("Give at least the first level's rate."), code="required"),
            )
        return cleaned


def _grade_or_404(grade_id: int) -> Any:
    try:
        return grade_get(grade_id=grade_id)
    except GradeNotFoundError as error:
        raise Http404 from error


def _require_editor(request: HttpRequest) -> None:
    if not console_role_in(request, DISTRIBUTION_EDITOR_ROLES):
        raise PermissionDenied


def _actor(request: HttpRequest) -> str:
    email = getattr(request.user, "email", "") or ""
    return f"account:{request.user.pk} {email}".strip()


def _list_page(
    request: HttpRequest,
    *,
    override: GradeOverrideForm | None = None,
    product_rate: ProductRateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    tenant = console_tenant(request)
    can_edit = console_role_in(request, DISTRIBUTION_EDITOR_ROLES)
    grades = grade_list()
    settings = distribution_settings_get()
    if override is None:
        override = GradeOverrideForm(grades=grades, initial={"lock": True})
    if product_rate is None:
        product_rate = ProductRateForm(
            currency=tenant.currency, initial={"rate_kind": "percentage"}
        )
    source = RateSourceForm(initial={"rate_source": settings.rate_source})
    if not can_edit:
        for form in (override, product_rate, source):
            disable_all(form)
    product_rates = [
        {
            "rate": rate,
            "rates": _rate_texts(list(rate.level_rates), rate.rate_kind, tenant.currency),
        }
        for rate in product_rate_list()
    ]
    member_filter = request.GET.get("member", "").strip()
    member_id = int(member_filter) if member_filter.isdigit() and len(member_filter) <= 18 else None
    history = [
        {
            "change": change,
            "member_name": change.member.nickname or _("Member #%(id)s") % {"id": change.member_id},
            "reason": REASON_LABELS.get(change.reason, change.reason),
        }
        for change in grade_change_list(member_id=member_id, limit=HISTORY_SIZE)
    ]
    rows = [
        {
            "grade": grade,
            "rates": _rate_texts(list(grade.level_rates), grade.rate_kind, tenant.currency),
            "mode": MODE_LABELS.get(grade.condition_mode, grade.condition_mode),
        }
        for grade in grades
    ]
    context = _console_context(request, "distribution")
    context.update(
        can_edit=can_edit,
        rows=rows,
        override=override,
        history=history,
        member_filter=member_id,
        source_form=source,
        source_label=SOURCE_LABELS.get(settings.rate_source, settings.rate_source),
        product_rate_form=product_rate,
        product_rate_fields=[product_rate[f"rate_{level}"] for level in LEVELS],
        product_rates=product_rates,
    )
    return render(request, "frontend/distribution/grades.html", context, status=status)


def _form_page(
    request: HttpRequest, *, form: GradeForm, grade: Any | None, status: int = 200
) -> HttpResponse:
    can_edit = console_role_in(request, DISTRIBUTION_EDITOR_ROLES)
    if not can_edit:
        disable_all(form)
    context = _console_context(request, "distribution")
    context.update(
        form=form,
        grade=grade,
        can_edit=can_edit,
        rate_fields=[form[f"rate_{level}"] for level in LEVELS],
    )
    return render(request, "frontend/distribution/grade_form.html", context, status=status)


@require_GET
def grades(request: HttpRequest, slug: str) -> HttpResponse:
    """The grades, the manual override form and the latest grade changes."""
    return _list_page(request)


@require_http_methods(["GET", "POST"])
def grade_new(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = console_tenant(request)
    if request.method == "POST":
        _require_editor(request)
        form = GradeForm(request.POST, currency=tenant.currency)
        if form.is_valid():
            try:
                saved = grade_create(values=form.values())
            except DomainError as error:
                catalog_errors_apply(form, error, ALIASES)
            else:
                messages.success(request, _("%(name)s is created.") % {"name": saved.name})
                return redirect("console-distribution-grades", slug=tenant.slug)
        return _form_page(request, form=form, grade=None, status=400)
    form = GradeForm(
        currency=tenant.currency, initial={"rate_kind": "percentage", "condition_mode": "any"}
    )
    return _form_page(request, form=form, grade=None)


@require_http_methods(["GET", "POST"])
def grade_edit(request: HttpRequest, slug: str, grade_id: int) -> HttpResponse:
    tenant = console_tenant(request)
    grade = _grade_or_404(grade_id)
    if request.method == "POST":
        _require_editor(request)
        form = GradeForm(request.POST, currency=tenant.currency)
        if form.is_valid():
            try:
                saved = grade_update(grade_id=grade.pk, changes=form.values())
            except DomainError as error:
                catalog_errors_apply(form, error, ALIASES)
            else:
                messages.success(request, _("%(name)s is saved.") % {"name": saved.name})
                return redirect("console-distribution-grades", slug=tenant.slug)
        return _form_page(request, form=form, grade=grade, status=400)
    form = GradeForm(currency=tenant.currency, initial=_initial(grade, tenant.currency))
    return _form_page(request, form=form, grade=grade)


@require_POST
def grade_remove(request: HttpRequest, slug: str, grade_id: int) -> HttpResponse:
    tenant = console_tenant(request)
    _require_editor(request)
    grade = _grade_or_404(grade_id)
    try:
        grade_delete(grade_id=grade.pk)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s is deleted.") % {"name": grade.name})
    return redirect("console-distribution-grades", slug=tenant.slug)


@require_POST
def grade_override(request: HttpRequest, slug: str) -> HttpResponse:
    """Set a distributor's grade by hand, with a note (audited)."""
    tenant = console_tenant(request)
    _require_editor(request)
    form = GradeOverrideForm(request.POST, grades=list(grade_list()))
    if form.is_valid():
        data = form.cleaned_data
        try:
            distributor = distributor_find(reference=data["member"])
            change = grade_set_manual(
                member_id=distributor.member_id,
                grade_id=int(data["grade"]) if data["grade"] else None,
                actor=_actor(request),
                note=data["note"],
                lock=data["lock"],
            )
        except DistributorNotFoundError as error:
            form.add_error("member", forms.ValidationError(error.message, code=error.code))
        except GradeNotFoundError as error:
            form.add_error("grade", forms.ValidationError(error.message, code=error.code))
        except DomainError as error:
            catalog_errors_apply(form, error)
        else:
            default = grade_default()
            messages.success(
                request,
                _("%(member)s is now %(grade)s.")
                % {
                    "member": distributor.member.nickname or distributor.code,
                    "grade": change.to_grade_name or (default.name if default else _("ungraded")),
                },
            )
            return redirect("console-distribution-grades", slug=tenant.slug)
    return _list_page(request, override=form, status=400)


@require_POST
def rate_source_save(request: HttpRequest, slug: str) -> HttpResponse:
    """Where commission rates come from (the settings' rate source)."""
    tenant = console_tenant(request)
    _require_editor(request)
    form = RateSourceForm(request.POST)
    if form.is_valid():
        distribution_settings_update(
            changes={"rate_source": form.cleaned_data["rate_source"]}, actor=_actor(request)
        )
        messages.success(
            request,
            _("Commissions now take their rates from: %(source)s.")
            % {"source": SOURCE_LABELS[form.cleaned_data["rate_source"]]},
        )
    else:
        messages.error(request, _("Choose one of the offered values."))
    return redirect("console-distribution-grades", slug=tenant.slug)


@require_POST
def product_rate_save(request: HttpRequest, slug: str) -> HttpResponse:
    """Set a product's (or an SKU's) own per-level rates."""
    tenant = console_tenant(request)
    _require_editor(request)
    form = ProductRateForm(request.POST, currency=tenant.currency)
    if form.is_valid():
        data = form.cleaned_data
        try:
            product_rate_set(
                product_id=data["product"],
                sku_code=data["sku_code"],
                rate_kind=data["rate_kind"],
                level_rates=data["level_rates"],
            )
        except DomainError as error:
            if error.code == "product_rate_target_invalid":
                form.add_error("product", forms.ValidationError(error.message, code=error.code))
            else:
                catalog_errors_apply(form, error, {"level_rates": "rate_1"})
        else:
            messages.success(request, _("The product's rates are saved."))
            return redirect("console-distribution-grades", slug=tenant.slug)
    return _list_page(request, product_rate=form, status=400)


@require_POST
def product_rate_delete(request: HttpRequest, slug: str, rate_id: int) -> HttpResponse:
    tenant = console_tenant(request)
    _require_editor(request)
    if not product_rate_remove(rate_id=rate_id):
        raise Http404
    messages.success(request, _("The product's own rates are removed."))
    return redirect("console-distribution-grades", slug=tenant.slug)
