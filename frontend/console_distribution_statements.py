"""The merchant console's distributor statements: each month's statements (opening balance,
earned, reversed, released, withdrawn, fees, clawback, closing), one distributor's months, a
month as CSV, and the latest settlement runs.

Statements are written by the beat after each month ends in the shop's time zone; the owner and
admins can (re)generate a month from the ledger now, the current one included. Every member of
the shop may look.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from distribution.services.settlement import settlement_runs_recent
from distribution.services.statements import (
    FIELDS,
    statement_months,
    statements_for_member,
    statements_generate,
    statements_of_month,
)
from frontend.catalog_forms import amount_major
from frontend.console_access import console_role_in, console_tenant
from frontend.console_distribution import DISTRIBUTION_EDITOR_ROLES
from frontend.views import _console_context

RUNS_SHOWN = 12
RUN_KINDS = {
    "unfreeze": gettext_lazy("Unfreeze (hourly)"),
    "periodic": gettext_lazy("Settlement day"),
}


def month_parse(text: str) -> date | None:
    """ "2026-11" as the first day of that month; None when it is not a month."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        return None


class StatementsGenerateForm(forms.Form):
    month = forms.CharField(
        label=gettext_lazy("Month (YYYY-MM)"),
        max_length=7,
        widget=forms.TextInput(attrs={"placeholder": "2026-01", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_month(self) -> date:
        month = month_parse(str(self.cleaned_data.get("month") or ""))
        if month is None:
            raise forms.ValidationError(_("Enter a month like 2026-01."), code="invalid")
        if month > self.today.replace(day=1):
            raise forms.ValidationError(
                _("This month has not begun yet in your shop's time zone."), code="future"
            )
        return month


def _today(request: HttpRequest) -> date:
    """Today in the shop's time zone."""
    return timezone.localtime(timezone.now(), ZoneInfo(console_tenant(request).time_zone)).date()


def _name(member: Any) -> str:
    return str(member.nickname or _("Member #%(id)s") % {"id": member.pk})


def _row(statement: Any, currency: str) -> dict[str, Any]:
    return {
        "statement": statement,
        "name": _name(statement.member),
        **{name: amount_major(getattr(statement, name), currency) for name in FIELDS},
    }


def _page(
    request: HttpRequest, *, form: StatementsGenerateForm | None = None, status: int = 200
) -> HttpResponse:
    tenant = console_tenant(request)
    months = statement_months()
    month = month_parse(request.GET.get("month", "")) or (months[0] if months else None)
    statements = list(statements_of_month(month=month)) if month is not None else []
    totals = {
        name: amount_major(sum(getattr(item, name) for item in statements), tenant.currency)
        for name in FIELDS
    }
    can_edit = console_role_in(request, DISTRIBUTION_EDITOR_ROLES)
    context = _console_context(request, "distribution")
    context.update(
        months=months,
        month=month,
        rows=[_row(statement, tenant.currency) for statement in statements],
        totals=totals,
        runs=[
            {"run": run, "kind": RUN_KINDS.get(run.kind, run.kind)}
            for run in settlement_runs_recent(limit=RUNS_SHOWN)
        ],
        currency=tenant.currency,
        can_edit=can_edit,
        form=(form or StatementsGenerateForm(today=_today(request))) if can_edit else None,
    )
    return render(request, "frontend/distribution/statements.html", context, status=status)


@require_GET
def distribution_statements(request: HttpRequest, slug: str) -> HttpResponse:
    """Every distributor's statement of a month (the latest by default), and the runs."""
    return _page(request)


@require_POST
def distribution_statements_generate(request: HttpRequest, slug: str) -> HttpResponse:
    """(Re)write a month's statements from the ledger now."""
    tenant = console_tenant(request)
    if not console_role_in(request, DISTRIBUTION_EDITOR_ROLES):
        raise PermissionDenied
    form = StatementsGenerateForm(request.POST, today=_today(request))
    if not form.is_valid():
        return _page(request, form=form, status=400)
    month: date = form.cleaned_data["month"]
    written = statements_generate(month=month)
    messages.success(
        request,
        _("%(count)s statements of %(month)s written from the ledger.")
        % {"count": written, "month": f"{month:%Y-%m}"},
    )
    response = redirect("console-distribution-statements", slug=tenant.slug)
    response["Location"] += f"?month={month:%Y-%m}"
    return response


@require_GET
def distribution_statement_member(request: HttpRequest, slug: str, member_id: int) -> HttpResponse:
    """One distributor's statements, newest month first."""
    tenant = console_tenant(request)
    statements = list(statements_for_member(member_id=member_id).select_related("member"))
    context = _console_context(request, "distribution")
    context.update(
        member_id=member_id,
        name=_name(statements[0].member) if statements else "",
        rows=[_row(statement, tenant.currency) for statement in statements],
        currency=tenant.currency,
    )
    return render(request, "frontend/distribution/statement_member.html", context)


CSV_HEADER = [
    "month",
    "member_id",
    "member",
    "currency",
    "opening",
    "earned",
    "reversed",
    "released",
    "withdrawn",
    "fees",
    "clawback",
    "closing",
    "closing_available",
]


@require_GET
def distribution_statements_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """A month's statements as CSV (amounts in major units of the shop's currency)."""
    tenant = console_tenant(request)
    month = month_parse(request.GET.get("month", ""))
    if month is None:
        months = statement_months()
        month = months[0] if months else timezone.now().date().replace(day=1)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for statement in statements_of_month(month=month):
        writer.writerow(
            [
                f"{statement.month:%Y-%m}",
                statement.member_id,
                _name(statement.member),
                statement.currency,
                *(amount_major(getattr(statement, name), statement.currency) for name in FIELDS),
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="statements-{tenant.slug}-{month:%Y-%m}.csv"'
    )
    return response
