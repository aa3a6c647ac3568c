"""The merchant console's risk holds, regional agents and team bonus pages.

- Risk holds: commissions a risk rule held (shared device or IP, a referral ring, velocity,
  a device shared by many accounts), with the evidence; the owner and admins release them (to
  pending, or frozen once the order was received) or reject them (reversed to the shop).
- Regional agents: the list, appointing, editing and disabling an agent of a province, city or
  district, with the share (percent typed as "3.00", stored as basis points).
- Team bonus: the monthly results (team sales, rate, bonus and how it was computed).

Every member of the shop may look; the owner and admins act. The services check the rules.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from distribution.errors import RegionalAgentNotFoundError
from distribution.services.regions import (
    member_reference_resolve,
    regional_agent_create,
    regional_agent_disable,
    regional_agent_get,
    regional_agent_list,
    regional_agent_update,
)
from distribution.services.risk import risk_flag_reject, risk_flag_release, risk_flags_list
from distribution.services.team import team_bonus_results, team_bonus_runs
from frontend.catalog_forms import amount_major, catalog_errors_apply, disable_all
from frontend.console_access import console_role_in, console_tenant
from frontend.console_distribution import DISTRIBUTION_EDITOR_ROLES, PercentField, bp_to_percent
from frontend.views import _console_context
from infra.errors import DomainError

QUEUE_SIZE = 100
RESULTS_SIZE = 500
RULE_LABELS: dict[str, Promise] = {
    "ring": gettext_lazy("Referral ring"),
    "shared_device": gettext_lazy("Device shared with the buyer"),
    "shared_ip": gettext_lazy("IP address shared with the buyer"),
    "device_many_accounts": gettext_lazy("Device used by many accounts"),
    "buyer_velocity": gettext_lazy("Buyer pays unusually many orders"),
    "earner_velocity": gettext_lazy("Distributor earns on unusually many orders"),
}
SEEN_LABELS: dict[str, Promise] = {
    "order": gettext_lazy("orders"),
    "login": gettext_lazy("logins"),
    "token": gettext_lazy("signed-in devices"),
}
STATUS_LABELS: dict[str, Promise] = {
    "open": gettext_lazy("Waiting for review"),
    "released": pgettext_lazy("risk hold", "Released"),
    "rejected": gettext_lazy("Rejected"),
}
KIND_LABELS: dict[str, Promise] = {
    "level": gettext_lazy("Level commission"),
    "region": gettext_lazy("Regional share"),
    "invite": gettext_lazy("Invite reward"),
}


def _require_editor(request: HttpRequest) -> None:
    if not console_role_in(request, DISTRIBUTION_EDITOR_ROLES):
        raise PermissionDenied


def _actor(request: HttpRequest) -> str:
    email = getattr(request.user, "email", "") or ""
    return f"account:{request.user.pk} {email}".strip()


def _member_name(member: Any) -> str:
    return str(member.nickname or _("Member #%(id)s") % {"id": member.pk})


def _evidence_text(rule: str, detail: dict[str, Any]) -> str:
    """One line of a rule's evidence for the merchant."""
    seen = ", ".join(str(SEEN_LABELS.get(str(s), s)) for s in detail.get("seen_in", []))
    if rule == "shared_device":
        return _("Device %(device)s, also in the distributor's %(seen)s.") % {
            "device": detail.get("device_id", ""),
            "seen": seen,
        }
    if rule == "shared_ip":
        return _("IP address %(ip)s, also in the distributor's %(seen)s.") % {
            "ip": detail.get("ip", ""),
            "seen": seen,
        }
    if rule == "ring":
        path = " → ".join(f"#{member}" for member in detail.get("path", []))
        return _("Following uplines (binding history included): %(path)s.") % {"path": path}
    if rule == "device_many_accounts":
        return _("Device %(device)s used by %(accounts)s accounts (more than %(limit)s).") % {
            "device": detail.get("device_id", ""),
            "accounts": detail.get("accounts", ""),
            "limit": detail.get("limit", ""),
        }
    if rule == "buyer_velocity":
        return _("%(count)s paid orders in %(hours)s hours (more than %(limit)s).") % {
            "count": detail.get("paid_orders", ""),
            "hours": detail.get("window_hours", ""),
            "limit": detail.get("limit", ""),
        }
    if rule == "earner_velocity":
        return _("Earned on %(count)s orders in %(hours)s hours (more than %(limit)s).") % {
            "count": detail.get("orders", ""),
            "hours": detail.get("window_hours", ""),
            "limit": detail.get("limit", ""),
        }
    return str(detail)


# --- Risk holds


class ReviewForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)


@require_GET
def risk_holds(request: HttpRequest, slug: str) -> HttpResponse:
    """The held commissions: open ones by default, or the released / rejected."""
    tenant = console_tenant(request)
    status = request.GET.get("status", "open")
    if status not in STATUS_LABELS:
        status = "open"
    rows = []
    for flag in risk_flags_list(status=status)[:QUEUE_SIZE]:
        rows.append(
            {
                "flag": flag,
                "member": _member_name(flag.member),
                "buyer": _member_name(flag.buyer),
                "kind": KIND_LABELS.get(flag.kind, flag.kind),
                "held": amount_major(flag.held_minor, tenant.currency),
                "evidence": [
                    {
                        "rule": rule,
                        "label": RULE_LABELS.get(rule, rule),
                        "text": _evidence_text(rule, dict(flag.evidence.get(rule, {}))),
                    }
                    for rule in flag.rules
                ],
            }
        )
    context = _console_context(request, "distribution")
    context.update(
        can_edit=console_role_in(request, DISTRIBUTION_EDITOR_ROLES),
        rows=rows,
        status=status,
        statuses=list(STATUS_LABELS.items()),
        status_label=STATUS_LABELS[status],
    )
    return render(request, "frontend/distribution/risk_holds.html", context)


def _review(request: HttpRequest, flag_id: int, *, release: bool) -> HttpResponse:
    tenant = console_tenant(request)
    _require_editor(request)
    form = ReviewForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    action = risk_flag_release if release else risk_flag_reject
    try:
        flag = action(flag_id=flag_id, actor=_actor(request), note=note)
    except DomainError as error:
        if error.status_code == 404:
            raise Http404 from error
        messages.error(request, error.message)
    else:
        if release:
            messages.success(
                request,
                _("The held commissions of order %(id)s are released.") % {"id": flag.order_id},
            )
        else:
            messages.success(
                request,
                _("The held commissions of order %(id)s are rejected.") % {"id": flag.order_id},
            )
    return redirect("console-distribution-risk", slug=tenant.slug)


@require_POST
def risk_hold_release(request: HttpRequest, slug: str, flag_id: int) -> HttpResponse:
    return _review(request, flag_id, release=True)


@require_POST
def risk_hold_reject(request: HttpRequest, slug: str, flag_id: int) -> HttpResponse:
    return _review(request, flag_id, release=False)


# --- Regional agents


class RegionalAgentForm(forms.Form):
    member = forms.CharField(label=gettext_lazy("Agent (member id or share code)"), max_length=32)
    province = forms.CharField(label=gettext_lazy("Province"), max_length=64)
    city = forms.CharField(
        label=gettext_lazy("City"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("Leave empty for the whole province."),
    )
    district = forms.CharField(
        label=gettext_lazy("District"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("Leave empty for the whole city."),
    )
    rate = PercentField(label=gettext_lazy("Share of the region's sales (%)"))
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def clean_member(self) -> int:
        member_id = member_reference_resolve(reference=str(self.cleaned_data.get("member", "")))
        if member_id is None:
            raise forms.ValidationError(_("No member has this id or share code."), code="invalid")
        return member_id

    def clean_rate(self) -> int:
        rate = self.cleaned_data.get("rate")
        if rate is None:
            raise forms.ValidationError(_("Give the share."), code="required")
        return int(rate)

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "member_id": data["member"],
            "province": data["province"],
            "city": data["city"],
            "district": data["district"],
            "rate_bp": data["rate"],
        }


ALIASES = {"member_id": "member", "rate_bp": "rate"}


def _agents_page(
    request: HttpRequest, *, form: RegionalAgentForm | None = None, status: int = 200
) -> HttpResponse:
    can_edit = console_role_in(request, DISTRIBUTION_EDITOR_ROLES)
    if form is None:
        form = RegionalAgentForm(initial={"active": True})
        if not can_edit:
            disable_all(form)
    rows = [
        {
            "agent": agent,
            "member": _member_name(agent.member),
            "rate": bp_to_percent(agent.rate_bp),
        }
        for agent in regional_agent_list()
    ]
    context = _console_context(request, "distribution")
    context.update(can_edit=can_edit, rows=rows, form=form)
    return render(request, "frontend/distribution/regions.html", context, status=status)


@require_GET
def regional_agents(request: HttpRequest, slug: str) -> HttpResponse:
    console_tenant(request)
    return _agents_page(request)


@require_POST
def regional_agent_new(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = console_tenant(request)
    _require_editor(request)
    form = RegionalAgentForm(request.POST)
    if form.is_valid():
        try:
            regional_agent_create(**form.values())
        except DomainError as error:
            catalog_errors_apply(form, error, ALIASES)
        else:
            messages.success(request, _("The regional agent is appointed."))
            return redirect("console-distribution-regions", slug=tenant.slug)
    return _agents_page(request, form=form, status=400)


def _agent_or_404(agent_id: int) -> Any:
    try:
        return regional_agent_get(agent_id=agent_id)
    except RegionalAgentNotFoundError as error:
        raise Http404 from error


@require_http_methods(["GET", "POST"])
def regional_agent_edit(request: HttpRequest, slug: str, agent_id: int) -> HttpResponse:
    tenant = console_tenant(request)
    agent = _agent_or_404(agent_id)
    can_edit = console_role_in(request, DISTRIBUTION_EDITOR_ROLES)
    status = 200
    if request.method == "POST":
        _require_editor(request)
        form = RegionalAgentForm(request.POST)
        if form.is_valid():
            try:
                regional_agent_update(
                    agent_id=agent.pk, **form.values(), active=form.cleaned_data["active"]
                )
            except DomainError as error:
                catalog_errors_apply(form, error, ALIASES)
            else:
                messages.success(request, _("The regional agent is saved."))
                return redirect("console-distribution-regions", slug=tenant.slug)
        status = 400
    else:
        form = RegionalAgentForm(
            initial={
                "member": str(agent.member_id),
                "province": agent.province,
                "city": agent.city,
                "district": agent.district,
                "rate": bp_to_percent(agent.rate_bp),
                "active": agent.active,
            }
        )
        if not can_edit:
            disable_all(form)
    context = _console_context(request, "distribution")
    context.update(can_edit=can_edit, agent=agent, form=form)
    return render(request, "frontend/distribution/region_form.html", context, status=status)


@require_POST
def regional_agent_stop(request: HttpRequest, slug: str, agent_id: int) -> HttpResponse:
    tenant = console_tenant(request)
    _require_editor(request)
    try:
        regional_agent_disable(agent_id=agent_id)
    except RegionalAgentNotFoundError as error:
        raise Http404 from error
    messages.success(request, _("The regional agent is disabled."))
    return redirect("console-distribution-regions", slug=tenant.slug)


# --- Team bonus


def _month(text: str) -> date | None:
    try:
        year, month = (int(part) for part in text.split("-", 1))
        return date(year, month, 1)
    except ValueError:
        return None


@require_GET
def team_bonus(request: HttpRequest, slug: str) -> HttpResponse:
    """The months run, and one month's results (the latest by default)."""
    tenant = console_tenant(request)
    runs = team_bonus_runs()
    chosen = _month(request.GET.get("month", ""))
    run = next((r for r in runs if r.month == chosen), runs[0] if runs else None)
    rows = []
    if run is not None:
        for bonus in team_bonus_results(month=run.month, limit=RESULTS_SIZE):
            detail = dict(bonus.detail)
            rows.append(
                {
                    "bonus": bonus,
                    "member": _member_name(bonus.member),
                    "sales": amount_major(bonus.team_sales_minor, tenant.currency),
                    "amount": amount_major(bonus.amount_minor, tenant.currency),
                    "refunded": amount_major(int(detail.get("refunded_minor", 0)), tenant.currency),
                    "by_level": [
                        {"level": level, "sales": amount_major(int(minor), tenant.currency)}
                        for level, minor in sorted(dict(detail.get("by_level", {})).items())
                    ],
                    "orders": detail.get("orders", 0),
                    "members": detail.get("members", 0),
                }
            )
    context = _console_context(request, "distribution")
    context.update(
        runs=runs,
        run=run,
        rows=rows,
        rate=bp_to_percent(run.rate_bp) if run is not None else "",
        paid=amount_major(run.paid_minor, tenant.currency) if run is not None else "",
    )
    return render(request, "frontend/distribution/team_bonus.html", context)
