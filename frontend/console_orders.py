"""The merchant console's order pages: the list, an order's page and its actions (ship, cancel,
refund units, confirm an offline payment, note), and the after-sale requests.

Views validate input with forms and call shop.orders' and shop.payments' services and selectors
(the request runs in the shop's schema: the console middleware set it after checking the
membership). Every member of the shop may look; ORDER_ACTOR_ROLES may act on orders; moving
money back (refunds, approving after-sales, taking returns back) needs REFUND_ROLES.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from distribution.selectors import order_commission_explanation_for_console
from frontend.catalog_forms import catalog_errors_apply
from frontend.console_access import console_actor, console_tenant
from frontend.console_distribution import commission_rows
from frontend.order_labels import AFTER_SALE_STATUSES, ORDER_STATUSES
from frontend.orders_forms import (
    CARRIERS,
    AfterSaleDecisionForm,
    CancelForm,
    MerchantNoteForm,
    OrderFilterForm,
    RefundForm,
    ShipForm,
)
from frontend.templatetags.console_format import money
from frontend.views import _console_context
from infra.errors import DomainError
from shop.core.idempotency import idempotent
from shop.customers.phones import phone_decrypt, phone_mask
from shop.orders.errors import AfterSaleNotFoundError, OrderNotFoundError
from shop.orders.selectors import (
    after_sale_counts,
    after_sale_get,
    after_sales_for_console,
    order_console_get,
    order_lines_refundable,
    order_status_counts,
    orders_for_console,
)
from shop.orders.services.after_sales import (
    after_sale_approve,
    after_sale_reject,
    after_sale_return_receive,
    order_refund_by_merchant,
)
from shop.orders.services.notes import order_merchant_note_set
from shop.orders.services.orders import order_cancel, order_ship
from shop.payments.errors import PaymentNotFoundError
from shop.payments.selectors import order_payments, order_refunds, payment_get
from shop.payments.services.payments import payment_offline_confirm
from tenants.models import Role, Tenant
from tenants.selectors.accounts import membership_list_for_tenant

# Roles that may act on orders (ship, cancel, notes, offline payments, reject requests).
ORDER_ACTOR_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.STAFF, Role.AGENCY})
# Roles that may give money back: refunds, and after-sale decisions that lead to one.
REFUND_ROLES = frozenset({Role.OWNER, Role.ADMIN})

# Order statuses in which units may be refunded from the console.
REFUNDABLE_STATUSES = frozenset({"paid", "shipped", "received"})

# The after-sales page's tabs: which statuses each shows.
AFTER_SALE_TABS: dict[str, tuple[str, ...]] = {
    "review": ("requested",),
    "returns": ("awaiting_return", "return_shipped"),
    "refunding": ("refunding",),
    "closed": ("refunded", "rejected", "withdrawn"),
}
AFTER_SALE_TAB_TITLES = {
    "review": AFTER_SALE_STATUSES["requested"],
    "returns": gettext_lazy("Returns"),
    "refunding": AFTER_SALE_STATUSES["refunding"],
    "closed": gettext_lazy("Closed"),
}
AFTER_SALES_PAGE_SIZE = 20


def _role(request: HttpRequest) -> str | None:
    return getattr(request, "console_role", None)


def _can_act(request: HttpRequest) -> bool:
    return _role(request) in ORDER_ACTOR_ROLES


def _can_refund(request: HttpRequest) -> bool:
    return _role(request) in REFUND_ROLES


def _require(request: HttpRequest, allowed: Callable[[HttpRequest], bool]) -> Tenant:
    tenant = console_tenant(request)
    if not allowed(request):
        raise PermissionDenied
    return tenant


def _order(order_id: int) -> Any:
    try:
        return order_console_get(order_id=order_id)
    except OrderNotFoundError as error:
        raise Http404 from error


def actor_names(tenant: Tenant) -> dict[str, str]:
    """Names of the people who work on the shop by actor code ("account:3"); one query."""
    return {
        f"account:{membership.account_id}": str(membership.account)
        for membership in membership_list_for_tenant(tenant=tenant)
    }


def orders_context(request: HttpRequest, tab: str) -> dict[str, Any]:
    """The console context of the orders section, with the sub-page `tab` current."""
    context = _console_context(request, "orders")
    context.update(orders_tab=tab, can_act=_can_act(request), can_refund=_can_refund(request))
    return context


# --- The list


def _line_summary(order: Any) -> dict[str, Any]:
    lines = list(order.lines.all())
    return {
        "first_title": lines[0].title if lines else "",
        "more_lines": max(len(lines) - 1, 0),
        "units": sum(line.quantity for line in lines),
    }


@require_GET
def order_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Every order: status tabs with counts, search, creation dates, pages."""
    console_tenant(request)
    context = orders_context(request, "orders")
    form = OrderFilterForm(request.GET)
    filters = form.filters()
    page_size = filters.pop("page_size")
    paginator = Paginator(orders_for_console(**filters), page_size)
    page = paginator.get_page(request.GET.get("page"))
    counts = order_status_counts()
    kept = {
        key: value
        for key, value in request.GET.items()
        if key not in ("page", "status") and value != ""
    }
    status = filters["status"] or ""
    tabs = [
        {"key": "", "title": _("All"), "count": sum(counts.values())},
        *(
            {"key": key, "title": title, "count": counts[key]}
            for key, title in ORDER_STATUSES.items()
        ),
    ]
    for tab in tabs:
        tab["query"] = "?" + urlencode({**kept, **({"status": tab["key"]} if tab["key"] else {})})
    page_query = urlencode({**kept, **({"status": status} if status else {})})
    context.update(
        form=form,
        page=page,
        rows=[{"order": order, **_line_summary(order)} for order in page.object_list],
        tabs=tabs,
        status=status,
        filtered=bool(filters["query"] or filters["created_from"] or filters["created_to"]),
        query_prefix=f"{page_query}&" if page_query else "",
    )
    template = (
        "frontend/orders/order_results.html"
        if getattr(request, "htmx", False)
        else "frontend/orders/order_list.html"
    )
    return render(request, template, context)


# --- An order's page


def _after_sale_actions(after_sale: Any) -> dict[str, bool]:
    return {
        "approve": after_sale.status == "requested",
        "reject": after_sale.status == "requested",
        "receive": after_sale.status in ("awaiting_return", "return_shipped"),
    }


def _order_page(
    request: HttpRequest,
    order: Any,
    *,
    ship_form: ShipForm | None = None,
    cancel_form: CancelForm | None = None,
    refund_form: RefundForm | None = None,
    note_form: MerchantNoteForm | None = None,
    decision_forms: dict[int, AfterSaleDecisionForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = orders_context(request, "orders")
    payments = list(order_payments(order_id=order.pk))
    refunds = list(order_refunds(order_id=order.pk))
    refundable = order_lines_refundable(order=order)
    refund_form = refund_form or RefundForm(refundable=refundable)
    lines = [
        {
            "line": line,
            "refundable": refundable.get(line.pk, 0),
            "refund_field": refund_form.line_field(line.pk),
        }
        for line in order.lines.all()
    ]
    decision_forms = decision_forms or {}
    after_sales = [
        {
            "after_sale": after_sale,
            "actions": _after_sale_actions(after_sale),
            "form": decision_forms.get(after_sale.pk)
            or AfterSaleDecisionForm(initial={"next": "order"}, prefix=f"as{after_sale.pk}"),
        }
        for after_sale in order.after_sales.all()
    ]
    paid = any(payment.paid_order for payment in payments)
    context.update(
        order=order,
        lines=lines,
        payments=payments,
        refunds=refunds,
        after_sales=after_sales,
        transitions=list(order.transitions.all()),
        commissions=commission_rows(
            order_commission_explanation_for_console(order_id=order.pk), order.currency
        ),
        actor_names=actor_names(context["shop"]),
        recipient_phone=phone_mask(phone_decrypt(order.recipient_phone_encrypted)),
        ship_form=ship_form or ShipForm(),
        cancel_form=cancel_form or CancelForm(),
        refund_form=refund_form,
        note_form=note_form or MerchantNoteForm(initial={"merchant_note": order.merchant_note}),
        carriers=CARRIERS,
        may_ship=order.status == "paid",
        may_cancel=order.status == "pending_payment",
        may_refund=paid and order.status in REFUNDABLE_STATUSES and any(refundable.values()),
    )
    return render(request, "frontend/orders/order_detail.html", context, status=status)


@require_GET
def order_detail(request: HttpRequest, slug: str, order_id: int) -> HttpResponse:
    console_tenant(request)
    return _order_page(request, _order(order_id))


def _done(request: HttpRequest, tenant: Tenant, order_id: int, notice: str) -> HttpResponse:
    messages.success(request, notice)
    return redirect("console-order", slug=tenant.slug, order_id=order_id)


@require_POST
def order_ship_view(request: HttpRequest, slug: str, order_id: int) -> HttpResponse:
    """Record the shipment of a paid order: carrier and tracking number."""
    tenant = _require(request, _can_act)
    order = _order(order_id)
    form = ShipForm(request.POST)
    if form.is_valid():
        try:
            order_ship(
                order=order,
                carrier=form.cleaned_data["carrier"],
                tracking_number=form.cleaned_data["tracking_number"],
                actor=console_actor(request),
            )
        except DomainError as error:
            catalog_errors_apply(form, error)
        else:
            return _done(
                request,
                tenant,
                order.pk,
                _("Order %(number)s is shipped with %(carrier)s %(tracking)s.")
                % {
                    "number": order.number,
                    "carrier": order.carrier,
                    "tracking": order.tracking_number,
                },
            )
    return _order_page(request, _order(order_id), ship_form=form, status=400)


@require_POST
def order_cancel_view(request: HttpRequest, slug: str, order_id: int) -> HttpResponse:
    """Cancel an order that is not paid yet; its stock goes back on sale."""
    tenant = _require(request, _can_act)
    order = _order(order_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            order_cancel(
                order=order, actor=console_actor(request), reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            catalog_errors_apply(form, error)
        else:
            return _done(
                request,
                tenant,
                order.pk,
                _("Order %(number)s is cancelled.") % {"number": order.number},
            )
    return _order_page(request, _order(order_id), cancel_form=form, status=400)


@require_POST
def order_refund_view(request: HttpRequest, slug: str, order_id: int) -> HttpResponse:
    """Refund some units of some lines: an after-sale request made and approved at once."""
    tenant = _require(request, _can_refund)
    order = _order(order_id)
    form = RefundForm(request.POST, refundable=order_lines_refundable(order=order))
    if form.is_valid():
        items = form.items()

        def refund() -> tuple[int, Any]:
            after_sale = order_refund_by_merchant(
                order=order,
                items=items,
                reason=form.cleaned_data["reason"],
                actor=console_actor(request),
            )
            return 200, {"after_sale_id": after_sale.pk, "amount_minor": after_sale.amount_minor}

        try:
            _status, done = idempotent(
                scope="console_refund",
                owner=console_actor(request),
                key=form.cleaned_data["idempotency_key"],
                request={
                    "order": order.pk,
                    "items": [(item.line_id, item.quantity) for item in items],
                    "reason": form.cleaned_data["reason"],
                },
                run=refund,
            )
        except DomainError as error:
            catalog_errors_apply(form, error)
        else:
            return _done(
                request,
                tenant,
                order.pk,
                _(
                    "A refund of %(amount)s is on its way; it shows under Refunds once the "
                    "payment provider confirms it."
                )
                % {"amount": money(done["amount_minor"], order.currency)},
            )
    return _order_page(request, _order(order_id), refund_form=form, status=400)


@require_POST
def order_note_view(request: HttpRequest, slug: str, order_id: int) -> HttpResponse:
    tenant = _require(request, _can_act)
    order = _order(order_id)
    form = MerchantNoteForm(request.POST)
    if form.is_valid():
        try:
            order_merchant_note_set(order=order, note=form.cleaned_data["merchant_note"])
        except DomainError as error:
            catalog_errors_apply(form, error)
        else:
            return _done(request, tenant, order.pk, _("Your note is saved."))
    return _order_page(request, _order(order_id), note_form=form, status=400)


@require_POST
def order_payment_confirm(
    request: HttpRequest, slug: str, order_id: int, payment_id: int
) -> HttpResponse:
    """Staff saw the money of an offline payment (cash, transfer) arrive: the order is paid."""
    tenant = _require(request, _can_act)
    order = _order(order_id)
    try:
        payment = payment_get(order_id=order.pk, payment_id=payment_id)
    except PaymentNotFoundError as error:
        raise Http404 from error
    try:
        outcome = payment_offline_confirm(payment=payment, actor=console_actor(request))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("console-order", slug=tenant.slug, order_id=order.pk)
    if outcome == "applied":
        order = _order(order_id)
        notice = (
            _("The payment is confirmed: order %(number)s is paid.")
            if order.status == "paid"
            else _(
                "The payment is confirmed, but the order was no longer awaiting payment: the "
                "money is refunded."
            )
        )
        return _done(request, tenant, order.pk, notice % {"number": order.number})
    if outcome == "ignored":
        messages.info(request, _("This payment was confirmed already."))
    else:
        messages.error(request, _("This payment could not be confirmed."))
    return redirect("console-order", slug=tenant.slug, order_id=order.pk)


# --- After-sales


def _after_sale(after_sale_id: int) -> Any:
    try:
        return after_sale_get(after_sale_id=after_sale_id)
    except AfterSaleNotFoundError as error:
        raise Http404 from error


def _after_sales_page(
    request: HttpRequest,
    *,
    tab: str,
    decision_forms: dict[int, AfterSaleDecisionForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = orders_context(request, "after_sales")
    counts = after_sale_counts()
    paginator = Paginator(
        after_sales_for_console(statuses=AFTER_SALE_TABS[tab]), AFTER_SALES_PAGE_SIZE
    )
    page = paginator.get_page(request.GET.get("page"))
    decision_forms = decision_forms or {}
    context.update(
        tab=tab,
        tabs=[
            {
                "key": key,
                "title": AFTER_SALE_TAB_TITLES[key],
                "count": sum(counts[name] for name in statuses),
            }
            for key, statuses in AFTER_SALE_TABS.items()
        ],
        page=page,
        cards=[
            {
                "after_sale": after_sale,
                "actions": _after_sale_actions(after_sale),
                "form": decision_forms.get(after_sale.pk)
                or AfterSaleDecisionForm(initial={"next": "list"}, prefix=f"as{after_sale.pk}"),
            }
            for after_sale in page.object_list
        ],
    )
    return render(request, "frontend/orders/after_sales.html", context, status=status)


@require_GET
def after_sale_list(request: HttpRequest, slug: str) -> HttpResponse:
    """After-sale requests by stage: to review, returns, refunding, closed."""
    console_tenant(request)
    tab = request.GET.get("tab", "review")
    return _after_sales_page(request, tab=tab if tab in AFTER_SALE_TABS else "review")


def _decide(
    request: HttpRequest,
    after_sale_id: int,
    allowed: Callable[[HttpRequest], bool],
    decide: Callable[[Any, str, str], Any],
    notice: str,
) -> HttpResponse:
    tenant = _require(request, allowed)
    after_sale = _after_sale(after_sale_id)
    form = AfterSaleDecisionForm(request.POST, prefix=f"as{after_sale.pk}")
    if form.is_valid():
        try:
            decide(after_sale, console_actor(request), form.cleaned_data["note"])
        except DomainError as error:
            catalog_errors_apply(form, error)
        else:
            messages.success(request, notice)
            if form.cleaned_data["next"] == "order":
                return redirect("console-order", slug=tenant.slug, order_id=after_sale.order_id)
            return redirect("console-after-sales", slug=tenant.slug)
    if form.data.get(form.add_prefix("next")) == "order":
        return _order_page(
            request,
            _order(after_sale.order_id),
            decision_forms={after_sale.pk: form},
            status=400,
        )
    tab = next(
        (key for key, statuses in AFTER_SALE_TABS.items() if after_sale.status in statuses),
        "review",
    )
    return _after_sales_page(request, tab=tab, decision_forms={after_sale.pk: form}, status=400)


@require_POST
def after_sale_approve_view(request: HttpRequest, slug: str, after_sale_id: int) -> HttpResponse:
    """Agree: a refund-only request is refunded now; a return waits for the goods."""
    return _decide(
        request,
        after_sale_id,
        _can_refund,
        lambda after_sale, actor, note: after_sale_approve(
            after_sale=after_sale, actor=actor, note=note
        ),
        _("The request is approved."),
    )


@require_POST
def after_sale_reject_view(request: HttpRequest, slug: str, after_sale_id: int) -> HttpResponse:
    """Refuse, telling the member why."""
    return _decide(
        request,
        after_sale_id,
        _can_act,
        lambda after_sale, actor, note: after_sale_reject(
            after_sale=after_sale, actor=actor, note=note
        ),
        _("The request is rejected."),
    )


@require_POST
def after_sale_receive_view(request: HttpRequest, slug: str, after_sale_id: int) -> HttpResponse:
    """The goods are back: the refund goes out."""
    return _decide(
        request,
        after_sale_id,
        _can_refund,
        lambda after_sale, actor, _note: after_sale_return_receive(
            after_sale=after_sale, actor=actor
        ),
        _("The return is received; the refund is on its way."),
    )
