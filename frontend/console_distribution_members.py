"""The merchant console's distributors: the list (search, status tabs, downlines, earnings), a
distributor's page (upline and why, status history, team by level, commissions, appoint /
disable / enable), the applications queue (approve or reject with a note), the commissions with
their explanation (who earned what on an order, who did not and why) and the leaderboard.

Views call distribution's services and selectors (the request runs in the shop's schema). Every
member of the shop may look; the owner and admins decide (DISTRIBUTION_EDITOR_ROLES). Lists are
a count and a page of set-based queries, whatever the page size.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from distribution.selectors import orders_commission_explanation_for_console
from distribution.services.center import (
    RANKING_PERIODS,
    TEAM_LEVELS,
    application_status_counts,
    applications_for_console,
    binding_history,
    commission_order_ids,
    commission_orders,
    commission_row_state,
    default_grade_name,
    distributor_console_get,
    distributor_status_counts,
    distributors_for_console,
    earnings_summary,
    latest_application_of,
    member_find_for_console,
    orders_by_id,
    ranking_board,
    status_history,
    team_counts,
    team_list,
    upline_of,
)
from distribution.services.qualification import (
    distributor_application_approve,
    distributor_application_reject,
    distributor_appoint,
    distributor_disable,
    distributor_enable,
)
from frontend.catalog_forms import PAGE_SIZES
from frontend.console_access import (
    console_actor,
    console_editor_required,
    console_role_in,
    console_tenant,
)
from frontend.console_distribution import DISTRIBUTION_EDITOR_ROLES, commission_rows
from frontend.views import _console_context
from infra.errors import DomainError
from shop.customers.phones import phone_decrypt, phone_mask

DISTRIBUTOR_STATUSES: dict[str, Promise] = {
    "active": gettext_lazy("Active"),
    "applied": gettext_lazy("Applied"),
    "rejected": gettext_lazy("Rejected"),
    "disabled": gettext_lazy("Disabled"),
}
APPLICATION_STATUSES: dict[str, Promise] = {
    "submitted": gettext_lazy("To review"),
    "approved": gettext_lazy("Approved"),
    "rejected": gettext_lazy("Rejected"),
}
COMMISSION_STATES: dict[str, Promise] = {
    "held": gettext_lazy("Held for review"),
    "pending": pgettext_lazy("commission", "Pending"),
    "frozen": gettext_lazy("Frozen"),
    "available": gettext_lazy("Available"),
    "withdrawn": pgettext_lazy("commission", "Withdrawn"),
    "reversed": gettext_lazy("Reversed"),
}
# Why a distributor's status changed (DistributorStatusChange.Reason).
STATUS_REASONS: dict[str, Promise] = {
    "everyone": gettext_lazy("Became a distributor (every member may)"),
    "applied": gettext_lazy("Applied"),
    "approved": gettext_lazy("Application approved"),
    "rejected": gettext_lazy("Application rejected"),
    "appointed": gettext_lazy("Appointed by the shop"),
    "spend_threshold": gettext_lazy("Reached the qualifying spend"),
    "bought_product": gettext_lazy("Bought a qualifying product"),
    "spend_refunded": gettext_lazy("Refunds took the spend under the qualifying amount"),
    "disabled": gettext_lazy("Disabled by the shop"),
    "enabled": gettext_lazy("Enabled by the shop"),
}
BINDING_SOURCES: dict[str, Promise] = {
    "link": gettext_lazy("share link"),
    "code": gettext_lazy("typed code"),
    "coupon": gettext_lazy("coupon code"),
    "manual": gettext_lazy("set by the shop"),
}
PERIOD_TITLES: dict[str, Promise] = {
    "month": gettext_lazy("This month"),
    "all": gettext_lazy("All time"),
}
LEADERBOARD_SIZE = 100
RECENT_COMMISSIONS = 20


class _ListForm(forms.Form):
    """A GET form: a bad value is dropped rather than refused."""

    page_size = forms.TypedChoiceField(
        label=gettext_lazy("Per page"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(size, str(size)) for size in PAGE_SIZES],
    )

    def valid(self) -> dict[str, Any]:
        self.is_valid()
        return dict(getattr(self, "cleaned_data", {}))


class DistributorFilterForm(_ListForm):
    status = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[("", ""), *((key, key) for key in DISTRIBUTOR_STATUSES)],
    )
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": gettext_lazy("Name, phone number or share code"),
                "autocomplete": "off",
            }
        ),
    )


class CommissionFilterForm(_ListForm):
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[("", gettext_lazy("Every state")), *COMMISSION_STATES.items()],
    )
    level = forms.TypedChoiceField(
        label=gettext_lazy("Level"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", gettext_lazy("Every level")), *((n, str(n)) for n in TEAM_LEVELS)],
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=500, widget=forms.Textarea
    )


class AppointForm(forms.Form):
    member = forms.CharField(
        label=gettext_lazy("Member number or phone number"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=500)


def _context(request: HttpRequest, tab: str) -> dict[str, Any]:
    context = _console_context(request, "distribution")
    context.update(tab=tab, can_edit=console_role_in(request, DISTRIBUTION_EDITOR_ROLES))
    return context


def _member_name(member: Any) -> str:
    if member is None:
        return ""
    return str(member.nickname or _("Member #%(id)s") % {"id": member.pk})


def _phone(encrypted: str) -> str:
    return phone_mask(phone_decrypt(encrypted))


def _query_prefix(kept: dict[str, Any]) -> str:
    query = urlencode({key: value for key, value in kept.items() if value not in ("", None)})
    return f"{query}&" if query else ""


# --- Distributors


@require_GET
def distributor_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Every distributor: status tabs with counts, search by name, phone or code, pages."""
    console_tenant(request)
    context = _context(request, "distributors")
    form = DistributorFilterForm(request.GET)
    data = form.valid()
    status = data.get("status") or ""
    query = data.get("q") or ""
    paginator = Paginator(
        distributors_for_console(query=query, status=status or None),
        data.get("page_size") or PAGE_SIZES[0],
    )
    page = paginator.get_page(request.GET.get("page"))
    counts = distributor_status_counts()
    kept = {"q": query, "page_size": data.get("page_size") or ""}
    tabs = [
        {"key": "", "title": _("All"), "count": sum(counts.values())},
        *(
            {"key": key, "title": title, "count": counts.get(key, 0)}
            for key, title in DISTRIBUTOR_STATUSES.items()
        ),
    ]
    for tab in tabs:
        tab["query"] = "?" + urlencode(
            {k: v for k, v in {**kept, "status": tab["key"]}.items() if v}
        )
    default_grade = default_grade_name()
    rows = [
        {
            "distributor": distributor,
            "member_id": distributor.member_id,
            "name": _member_name(distributor.member),
            "phone": _phone(distributor.member.phone_encrypted),
            "status_label": DISTRIBUTOR_STATUSES.get(distributor.status, distributor.status),
            "grade": distributor.grade.name if distributor.grade else default_grade,
            "direct_count": distributor.direct_count,
            "earned_minor": distributor.earned_minor,
        }
        for distributor in page.object_list
    ]
    context.update(
        form=form,
        page=page,
        rows=rows,
        tabs=tabs,
        status=status,
        filtered=bool(query),
        query_prefix=_query_prefix({**kept, "status": status}),
        appoint_form=AppointForm(),
    )
    return render(request, "frontend/distribution/distributors.html", context)


@require_POST
def distributor_appoint_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Appoint a member (found by member number or phone number) as a distributor."""
    tenant = console_editor_required(request, DISTRIBUTION_EDITOR_ROLES)
    form = AppointForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a member number or phone number."))
        return redirect("console-distribution-distributors", slug=tenant.slug)
    member = member_find_for_console(text=form.cleaned_data["member"])
    if member is None:
        messages.error(request, _("No member of your shop has this number."))
        return redirect("console-distribution-distributors", slug=tenant.slug)
    try:
        distributor_appoint(
            member_id=member.pk, actor=console_actor(request), note=form.cleaned_data["note"]
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("console-distribution-distributors", slug=tenant.slug)
    messages.success(request, _("The member is a distributor now."))
    return redirect("console-distribution-distributor", slug=tenant.slug, member_id=member.pk)


def _level(request: HttpRequest) -> int:
    raw = request.GET.get("level", "1")
    return int(raw) if raw in {str(level) for level in TEAM_LEVELS} else 1


@require_GET
def distributor_detail(request: HttpRequest, slug: str, member_id: int) -> HttpResponse:
    """A distributor: status and how they got it, upline and why, team by level, earnings and
    their latest commissions."""
    tenant = console_tenant(request)
    distributor = distributor_console_get(member_id=member_id)
    if distributor is None:
        raise Http404
    context = _context(request, "distributors")
    level = _level(request)
    paginator = Paginator(team_list(member_id=member_id, level=level), PAGE_SIZES[0])
    team_page = paginator.get_page(request.GET.get("page"))
    counts = team_counts(member_id=member_id)
    changes = [
        {
            "change": change,
            "from_name": _member_name(change.from_upline),
            "to_name": _member_name(change.to_upline),
            "source": BINDING_SOURCES.get(change.source, change.source),
        }
        for change in binding_history(member_id=member_id)
    ]
    statuses = [
        {
            "change": change,
            "reason": STATUS_REASONS.get(change.reason, change.reason),
            "to_label": DISTRIBUTOR_STATUSES.get(change.to_status, change.to_status),
        }
        for change in status_history(distributor=distributor)
    ]
    commissions = [
        {
            **row,
            "state": commission_row_state(list(row["states"])),
            "state_label": COMMISSION_STATES.get(
                commission_row_state(list(row["states"])), row["states"]
            ),
            "net_minor": row["amount_minor"] - row["reversed_minor"],
        }
        for row in commission_orders(member_id=member_id)[:RECENT_COMMISSIONS]
    ]
    application = latest_application_of(member_id=member_id)
    context.update(
        distributor=distributor,
        member=distributor.member,
        name=_member_name(distributor.member),
        phone=_phone(distributor.member.phone_encrypted),
        status_label=DISTRIBUTOR_STATUSES.get(distributor.status, distributor.status),
        grade=distributor.grade.name if distributor.grade else default_grade_name(),
        upline=upline_of(member_id=member_id),
        binding_changes=changes,
        statuses=statuses,
        level=level,
        levels=[{"level": n, "count": counts[n], "query": f"?level={n}#team"} for n in TEAM_LEVELS],
        team_page=team_page,
        earnings=earnings_summary(member_id=member_id),
        commissions=commissions,
        application=application,
        application_phone=_phone(application.phone_encrypted) if application else "",
        currency=tenant.currency,
        note_form=NoteForm(),
    )
    return render(request, "frontend/distribution/distributor_detail.html", context)


@require_POST
def distributor_status_view(request: HttpRequest, slug: str, member_id: int) -> HttpResponse:
    """Disable, enable or appoint the distributor (owner and admins), with an optional note."""
    tenant = console_editor_required(request, DISTRIBUTION_EDITOR_ROLES)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    actions = {
        "disable": (distributor_disable, _("The distributor is disabled: they earn nothing.")),
        "enable": (distributor_enable, _("The distributor is enabled again.")),
        "appoint": (distributor_appoint, _("The member is a distributor now.")),
    }
    action = actions.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, _("Choose an action."))
    else:
        service, done = action
        try:
            service(member_id=member_id, actor=console_actor(request), note=note)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, done)
    return redirect("console-distribution-distributor", slug=tenant.slug, member_id=member_id)


# --- Applications


@require_GET
def application_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The applications: those to review first (oldest first), then the decided ones."""
    console_tenant(request)
    context = _context(request, "applications")
    status = request.GET.get("status", "submitted")
    if status not in APPLICATION_STATUSES:
        status = "submitted"
    paginator = Paginator(applications_for_console(status=status), PAGE_SIZES[0])
    page = paginator.get_page(request.GET.get("page"))
    counts = application_status_counts()
    rows = [
        {
            "application": application,
            "member_name": _member_name(application.member),
            "phone": _phone(application.phone_encrypted),
            "status_label": APPLICATION_STATUSES.get(application.status, application.status),
        }
        for application in page.object_list
    ]
    context.update(
        page=page,
        rows=rows,
        status=status,
        tabs=[
            {"key": key, "title": title, "count": counts.get(key, 0), "query": f"?status={key}"}
            for key, title in APPLICATION_STATUSES.items()
        ],
        query_prefix=f"status={status}&",
    )
    return render(request, "frontend/distribution/applications.html", context)


@require_POST
def application_decide(request: HttpRequest, slug: str, application_id: int) -> HttpResponse:
    """Approve or reject an application (owner and admins); a rejection needs a note."""
    tenant = console_editor_required(request, DISTRIBUTION_EDITOR_ROLES)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    decision = request.POST.get("decision", "")
    try:
        if decision == "approve":
            distributor_application_approve(
                application_id=application_id, actor=console_actor(request), note=note
            )
            messages.success(request, _("Approved: the member is a distributor now."))
        elif decision == "reject":
            distributor_application_reject(
                application_id=application_id, actor=console_actor(request), note=note
            )
            messages.success(request, _("Rejected: the member sees your note."))
        else:
            messages.error(request, _("Choose approve or reject."))
    except DomainError as error:
        field_messages = [item["message"] for items in error.fields.values() for item in items]
        messages.error(request, " ".join(field_messages) or error.message)
    return redirect("console-distribution-applications", slug=tenant.slug)


# --- Commissions


@require_GET
def commission_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Orders with commissions, newest first, each with who earned what on it and who did not
    and why; by state and level."""
    tenant = console_tenant(request)
    context = _context(request, "commissions")
    form = CommissionFilterForm(request.GET)
    data = form.valid()
    state = data.get("state") or None
    level = data.get("level")
    paginator = Paginator(
        commission_order_ids(state=state, level=level), data.get("page_size") or PAGE_SIZES[0]
    )
    page = paginator.get_page(request.GET.get("page"))
    ids = [row["order_id"] for row in page.object_list]
    orders = orders_by_id(order_ids=ids)
    explanations = orders_commission_explanation_for_console(order_ids=ids)
    rows = [
        {
            "order": orders.get(row["order_id"]),
            "buyer": _member_name(orders[row["order_id"]].member)
            if row["order_id"] in orders
            else "",
            "amount_minor": row["amount_minor"],
            "reversed_minor": row["reversed_minor"],
            "explanation": commission_rows(explanations.get(row["order_id"], []), tenant.currency),
        }
        for row in page.object_list
    ]
    context.update(
        form=form,
        page=page,
        rows=rows,
        currency=tenant.currency,
        filtered=bool(state or level),
        query_prefix=_query_prefix(
            {"state": state or "", "level": level or "", "page_size": data.get("page_size")}
        ),
    )
    return render(request, "frontend/distribution/commissions.html", context)


# --- Leaderboard


@require_GET
def order_explanation_json(request: HttpRequest, slug: str, order_id: int) -> JsonResponse:
    """The order's commission explanation as JSON (for the merchant's own tools): each member
    considered, their part, and what they earned or why they did not."""
    tenant = console_tenant(request)
    order = orders_by_id(order_ids=[order_id]).get(order_id)
    if order is None:
        raise Http404
    explanation = orders_commission_explanation_for_console(order_ids=[order_id]).get(order_id, [])
    rows = commission_rows(explanation, tenant.currency)
    return JsonResponse(
        {
            "order_id": order.pk,
            "order_number": order.number,
            "currency": tenant.currency,
            "decisions": [
                {
                    "level": row["level"],
                    "role": row["role"],
                    "member_id": row["member"].pk if row["member"] is not None else None,
                    "member_name": row["name"],
                    "reason": row["reason"],
                    "explanation": str(row["explanation"]),
                    "earns": row["earns"],
                    "net_minor": row["net_minor"],
                    "reversed_minor": row["reversed_minor"],
                    "rate": item.get("rate"),
                    "rate_kind": item.get("rate_kind"),
                    "rule": item.get("rule"),
                }
                for row, item in zip(rows, explanation, strict=True)
            ],
        },
        json_dumps_params={"ensure_ascii": False},
    )


@require_GET
def leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    """The best distributors by net earnings, this month (shop time) or of all time."""
    tenant = console_tenant(request)
    context = _context(request, "leaderboard")
    period = request.GET.get("period", "month")
    if period not in RANKING_PERIODS:
        period = "month"
    context.update(
        period=period,
        periods=[{"key": key, "title": PERIOD_TITLES[key]} for key in RANKING_PERIODS],
        entries=ranking_board(period=period, size=LEADERBOARD_SIZE),
        currency=tenant.currency,
    )
    return render(request, "frontend/distribution/leaderboard.html", context)
