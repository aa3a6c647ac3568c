"""The merchant console's payment reconciliation: the daily runs per provider, the differences
still to explain by kind, marking one explained, and running a day again now.

Every member may look; the actions need RECONCILIATION_ROLES (owner, admin).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from frontend.catalog_forms import catalog_errors_apply
from frontend.console_access import console_tenant
from frontend.console_orders import _require, actor_names, orders_context
from frontend.order_labels import GATEWAYS, MISMATCH_KIND_HELP, MISMATCH_KINDS
from frontend.orders_forms import MismatchResolveForm, ReconcileRunForm
from infra.errors import DomainError
from shop.payments.errors import MismatchNotFoundError
from shop.payments.selectors import (
    reconcilable_gateways,
    reconciliation_mismatch_counts,
    reconciliation_mismatch_get,
    reconciliation_mismatches,
    reconciliation_mismatches_resolved,
    reconciliation_runs,
)
from shop.payments.services.reconciliation import mismatch_resolve, reconcile_gateway
from tenants.models import Role, Tenant

RECONCILIATION_ROLES = frozenset({Role.OWNER, Role.ADMIN})
MISMATCHES_PAGE_SIZE = 50
RUNS_SHOWN = 30
RESOLVED_SHOWN = 20


def _can_reconcile(request: HttpRequest) -> bool:
    return getattr(request, "console_role", None) in RECONCILIATION_ROLES


def _today(tenant: Tenant) -> Any:
    return timezone.localtime(timezone.now(), ZoneInfo(tenant.time_zone)).date()


def _run_form(tenant: Tenant, data: Any = None) -> ReconcileRunForm:
    today = _today(tenant)
    return ReconcileRunForm(
        data,
        gateways=reconcilable_gateways(),
        today=today,
        initial={"day": today - timedelta(days=1)},
    )


def _page(
    request: HttpRequest,
    *,
    resolve_forms: dict[int, MismatchResolveForm] | None = None,
    run_form: ReconcileRunForm | None = None,
    status: int = 200,
) -> HttpResponse:
    tenant = console_tenant(request)
    kind = request.GET.get("kind", "")
    kind = kind if kind in MISMATCH_KINDS else ""
    counts = reconciliation_mismatch_counts()
    paginator = Paginator(reconciliation_mismatches(kind=kind or None), MISMATCHES_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    resolve_forms = resolve_forms or {}
    can_reconcile = _can_reconcile(request)
    context = orders_context(request, "reconciliation")
    context.update(
        kind=kind,
        kind_help=MISMATCH_KIND_HELP.get(kind, ""),
        tabs=[
            {"key": "", "title": _("All"), "count": sum(counts.values())},
            *(
                {"key": key, "title": title, "count": counts[key]}
                for key, title in MISMATCH_KINDS.items()
            ),
        ],
        page=page,
        items=[
            {
                "mismatch": mismatch,
                "form": resolve_forms.get(mismatch.pk)
                or MismatchResolveForm(prefix=f"m{mismatch.pk}"),
            }
            for mismatch in page.object_list
        ],
        runs=list(reconciliation_runs(limit=RUNS_SHOWN)),
        resolved=reconciliation_mismatches_resolved(limit=RESOLVED_SHOWN),
        can_reconcile=can_reconcile,
        run_form=(run_form or _run_form(tenant)) if can_reconcile else None,
        gateways=GATEWAYS,
        actor_names=actor_names(tenant),
    )
    return render(request, "frontend/orders/reconciliation.html", context, status=status)


@require_GET
def reconciliation(request: HttpRequest, slug: str) -> HttpResponse:
    """Runs by day and provider, and the differences still to explain, by kind."""
    return _page(request)


@require_POST
def mismatch_resolve_view(request: HttpRequest, slug: str, mismatch_id: int) -> HttpResponse:
    """Mark a difference as explained, saying how (who and when are recorded)."""
    tenant = _require(request, _can_reconcile)
    try:
        mismatch = reconciliation_mismatch_get(mismatch_id=mismatch_id)
    except MismatchNotFoundError as error:
        raise Http404 from error
    form = MismatchResolveForm(request.POST, prefix=f"m{mismatch.pk}")
    if form.is_valid():
        try:
            mismatch_resolve(
                mismatch=mismatch,
                actor=f"account:{request.user.pk}",
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            catalog_errors_apply(form, error)
        else:
            messages.success(request, _("The difference is marked as explained."))
            return redirect("console-reconciliation", slug=tenant.slug)
    return _page(request, resolve_forms={mismatch.pk: form}, status=400)


@require_POST
def reconciliation_run(request: HttpRequest, slug: str) -> HttpResponse:
    """Fetch a provider's bill for a past day now and match it again (replaces the day's
    unexplained differences; explained ones stay)."""
    tenant = _require(request, _can_reconcile)
    form = _run_form(tenant, request.POST)
    if not form.is_valid():
        return _page(request, run_form=form, status=400)
    run = reconcile_gateway(gateway=form.cleaned_data["gateway"], day=form.cleaned_data["day"])
    names = {"gateway": GATEWAYS.get(run.gateway, run.gateway), "day": run.bill_date.isoformat()}
    if run.error:
        messages.error(
            request,
            _("The bill of %(gateway)s for %(day)s could not be fetched: %(error)s")
            % {**names, "error": run.error},
        )
    else:
        messages.success(
            request,
            _("%(gateway)s, %(day)s: %(matched)s matched, %(mismatches)s differences.")
            % {**names, "matched": run.matched, "mismatches": run.mismatches},
        )
    return redirect("console-reconciliation", slug=tenant.slug)
