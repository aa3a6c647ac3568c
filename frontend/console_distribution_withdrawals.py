"""The merchant console's withdrawals page (distribution section): the review queue by state,
approve or reject (with a reason the distributor sees), mark a bank-card withdrawal paid with
the reference of the transfer the merchant made offline, transfer an approved one now, and retry
a failed WeChat transfer.

The owner and admins act (money leaves the shop); every other member of the shop may look.
Bank card numbers are shown in full only to those who act (they pay them).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from distribution.errors import WithdrawalNotFoundError
from distribution.services.withdrawals import (
    withdrawal_approve,
    withdrawal_get,
    withdrawal_mark_paid,
    withdrawal_payee,
    withdrawal_reject,
    withdrawal_retry,
    withdrawal_state_counts,
    withdrawal_transfer,
    withdrawals_for_console,
)
from frontend.console_access import console_actor, console_tenant
from frontend.console_distribution import CHANNEL_LABELS
from frontend.views import _console_context
from infra.errors import DomainError
from shop.payments.gateways.base import GatewayError
from tenants.models import Role, Tenant

WITHDRAWAL_ACTOR_ROLES = frozenset({Role.OWNER, Role.ADMIN})
PAGE_SIZE = 20
STATE_LABELS: dict[str, Promise] = {
    "requested": gettext_lazy("To review"),
    "approved": gettext_lazy("Approved"),
    "transferring": gettext_lazy("Transferring"),
    "awaiting_confirmation": gettext_lazy("Waiting for the distributor to confirm"),
    "paid": gettext_lazy("Paid"),
    "rejected": gettext_lazy("Rejected"),
    "failed": gettext_lazy("Failed"),
    "cancelled": gettext_lazy("Cancelled"),
    "expired": gettext_lazy("Expired (not confirmed in 24 hours)"),
}
DEFAULT_STATE = "requested"


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why (the distributor sees this)"), max_length=255, required=True
    )


class PaidForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Bank transfer reference"), max_length=128, required=True
    )


def _can_act(request: HttpRequest) -> bool:
    return getattr(request, "console_role", None) in WITHDRAWAL_ACTOR_ROLES


def _state(value: str | None) -> str:
    """The tab asked for: a state, "all", or the review queue by default."""
    if value == "all" or value in STATE_LABELS:
        return str(value)
    return DEFAULT_STATE


def _withdrawal(withdrawal_id: int) -> Any:
    try:
        return withdrawal_get(withdrawal_id=withdrawal_id)
    except WithdrawalNotFoundError as error:
        raise Http404 from error


def _row(
    withdrawal: Any, *, can_act: bool, forms_by_id: dict[int, dict[str, forms.Form]]
) -> dict[str, Any]:
    state = withdrawal.state
    channel = withdrawal.channel
    own_forms = forms_by_id.get(withdrawal.pk, {})
    is_bank = channel == "bank_card"
    return {
        "withdrawal": withdrawal,
        "member_name": withdrawal.member.nickname
        or _("Member #%(id)s") % {"id": withdrawal.member_id},
        "state_label": STATE_LABELS.get(state, state),
        "channel_label": CHANNEL_LABELS.get(channel, channel),
        # The full card details only for those who pay them.
        "payee": withdrawal_payee(withdrawal) if can_act and is_bank else {},
        "can_approve": can_act and state == "requested",
        "can_reject": can_act and state in ("requested", "approved"),
        "can_mark_paid": can_act and is_bank and state in ("requested", "approved"),
        "can_transfer": can_act and not is_bank and state == "approved",
        "can_retry": can_act and channel == "wechat_balance" and state == "failed",
        "reject_form": own_forms.get("reject") or RejectForm(prefix=f"w{withdrawal.pk}"),
        "paid_form": own_forms.get("paid") or PaidForm(prefix=f"w{withdrawal.pk}"),
    }


def _page(
    request: HttpRequest,
    *,
    state: str,
    forms_by_id: dict[int, dict[str, forms.Form]] | None = None,
    status: int = 200,
) -> HttpResponse:
    console_tenant(request)
    can_act = _can_act(request)
    counts = withdrawal_state_counts()
    paginator = Paginator(
        withdrawals_for_console(state=None if state == "all" else state), PAGE_SIZE
    )
    page = paginator.get_page(request.GET.get("page"))
    tabs = [
        {"key": key, "title": title, "count": counts.get(key, 0)}
        for key, title in STATE_LABELS.items()
    ]
    tabs.append({"key": "all", "title": _("All"), "count": sum(counts.values())})
    context = _console_context(request, "distribution")
    context.update(
        state=state,
        tabs=tabs,
        page=page,
        page_query=urlencode({"state": state}),
        can_act=can_act,
        rows=[
            _row(item, can_act=can_act, forms_by_id=forms_by_id or {}) for item in page.object_list
        ],
    )
    return render(request, "frontend/distribution/withdrawals.html", context, status=status)


@require_GET
def withdrawal_queue(request: HttpRequest, slug: str) -> HttpResponse:
    """Withdrawals by state, oldest first: the review queue by default."""
    return _page(request, state=_state(request.GET.get("state")))


def _act(request: HttpRequest) -> Tenant:
    tenant = console_tenant(request)
    if not _can_act(request):
        raise PermissionDenied
    return tenant


def _back(tenant: Tenant, request: HttpRequest, notice: str) -> HttpResponse:
    messages.success(request, notice)
    state = _state(request.POST.get("state"))
    response = redirect("console-distribution-withdrawals", slug=tenant.slug)
    response["Location"] += "?" + urlencode({"state": state})
    return response


def _failed(request: HttpRequest, error: Exception) -> HttpResponse:
    tenant = console_tenant(request)
    message = error.message if isinstance(error, DomainError) else str(error)
    messages.error(request, message)
    state = _state(request.POST.get("state"))
    response = redirect("console-distribution-withdrawals", slug=tenant.slug)
    response["Location"] += "?" + urlencode({"state": state})
    return response


@require_POST
def withdrawal_approve_view(request: HttpRequest, slug: str, withdrawal_id: int) -> HttpResponse:
    """Approve a requested withdrawal (it goes out now if the shop transfers automatically)."""
    tenant = _act(request)
    _withdrawal(withdrawal_id)
    try:
        withdrawal_approve(withdrawal_id=withdrawal_id, actor=console_actor(request))
    except DomainError as error:
        return _failed(request, error)
    return _back(tenant, request, _("The withdrawal is approved."))


@require_POST
def withdrawal_reject_view(request: HttpRequest, slug: str, withdrawal_id: int) -> HttpResponse:
    """Refuse it, saying why; the money goes back to the distributor's balance."""
    tenant = _act(request)
    withdrawal = _withdrawal(withdrawal_id)
    form = RejectForm(request.POST, prefix=f"w{withdrawal.pk}")
    if form.is_valid():
        try:
            withdrawal_reject(
                withdrawal_id=withdrawal_id,
                actor=console_actor(request),
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            return _failed(request, error)
        return _back(tenant, request, _("The withdrawal is rejected; the money is back."))
    return _page(
        request,
        state=_state(request.POST.get("state")),
        forms_by_id={withdrawal.pk: {"reject": form}},
        status=400,
    )


@require_POST
def withdrawal_paid_view(request: HttpRequest, slug: str, withdrawal_id: int) -> HttpResponse:
    """A bank-card withdrawal the merchant paid offline: record the transfer's reference."""
    tenant = _act(request)
    withdrawal = _withdrawal(withdrawal_id)
    form = PaidForm(request.POST, prefix=f"w{withdrawal.pk}")
    if form.is_valid():
        try:
            withdrawal_mark_paid(
                withdrawal_id=withdrawal_id,
                actor=console_actor(request),
                reference=form.cleaned_data["reference"],
            )
        except DomainError as error:
            return _failed(request, error)
        return _back(tenant, request, _("The withdrawal is marked paid."))
    return _page(
        request,
        state=_state(request.POST.get("state")),
        forms_by_id={withdrawal.pk: {"paid": form}},
        status=400,
    )


@require_POST
def withdrawal_transfer_view(request: HttpRequest, slug: str, withdrawal_id: int) -> HttpResponse:
    """Transfer an approved withdrawal now (WeChat balance or store balance)."""
    tenant = _act(request)
    _withdrawal(withdrawal_id)
    try:
        withdrawal = withdrawal_transfer(withdrawal_id=withdrawal_id)
    except (DomainError, GatewayError) as error:
        return _failed(request, error)
    return _back(tenant, request, _transfer_notice(withdrawal.state))


@require_POST
def withdrawal_retry_view(request: HttpRequest, slug: str, withdrawal_id: int) -> HttpResponse:
    """Try a failed WeChat transfer again (the money is held again, under a new bill)."""
    tenant = _act(request)
    _withdrawal(withdrawal_id)
    try:
        withdrawal_retry(withdrawal_id=withdrawal_id, actor=console_actor(request))
        withdrawal = withdrawal_transfer(withdrawal_id=withdrawal_id)
    except (DomainError, GatewayError) as error:
        return _failed(request, error)
    return _back(tenant, request, _transfer_notice(withdrawal.state))


def _transfer_notice(state: str) -> str:
    if state == "paid":
        return _("The withdrawal is paid.")
    if state == "awaiting_confirmation":
        return _("Sent to WeChat: the distributor confirms it in the app.")
    if state == "failed":
        return _("WeChat refused the transfer; the money is back in the balance.")
    return _("The transfer is on its way.")
