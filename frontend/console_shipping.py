"""The merchant console's shipping templates (运费模板): list, create, edit, delete, default, and
which products each template charges.

Views validate input with forms and call shop.catalog's shipping services and selectors. Every
member may look; ORDER_ACTOR_ROLES (owner, admin, staff, agency) may change them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontend.catalog_forms import catalog_errors_apply, disable_all
from frontend.console_access import console_tenant
from frontend.console_orders import _can_act, _require, orders_context
from frontend.orders_forms import (
    FEE_ALIASES,
    TEMPLATE_ALIASES,
    ProductAssignForm,
    ProductSearchForm,
    RegionRuleFormSet,
    RegionRuleFormSetBase,
    ShippingTemplateForm,
    rule_initial,
)
from infra.errors import DomainError
from shop.catalog.errors import ShippingTemplateNotFoundError
from shop.catalog.selectors.shipping import (
    products_for_shipping_choice,
    shipping_template_get,
    shipping_template_products,
    shipping_templates_for_console,
)
from shop.catalog.services.shipping import (
    products_shipping_template_set,
    shipping_template_create,
    shipping_template_default_set,
    shipping_template_delete,
    shipping_template_update,
)
from tenants.models import Tenant

RULES_PREFIX = "rule"
PRODUCTS_PAGE_SIZE = 50


def _template(template_id: int) -> Any:
    try:
        return shipping_template_get(template_id=template_id)
    except ShippingTemplateNotFoundError as error:
        raise Http404 from error


@require_GET
def shipping_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Every template with its fees, rules and how many products it charges."""
    console_tenant(request)
    context = orders_context(request, "shipping")
    context.update(templates=list(shipping_templates_for_console()))
    return render(request, "frontend/orders/shipping_list.html", context)


def _with_one_more_rule(data: QueryDict) -> QueryDict:
    """The posted form with one more blank rule (the "add a rule" button)."""
    grown = data.copy()
    key = f"{RULES_PREFIX}-TOTAL_FORMS"
    try:
        grown[key] = str(int(data.get(key, "0")) + 1)
    except ValueError:
        grown[key] = "1"
    return grown


def _errors_apply(
    error: DomainError,
    form: ShippingTemplateForm,
    formset: RegionRuleFormSetBase,
    kept: list[Any],
) -> None:
    """The service's errors on the template's fields and on the rules they name (rules.<n>.…
    counts the rules that were sent: the kept forms)."""
    template_fields: dict[str, list[dict[str, str]]] = {}
    for name, items in error.fields.items():
        head, _dot, rest = name.partition(".")
        if head == "rules" and rest:
            index, _dot, field = rest.partition(".")
            if index.isdigit() and int(index) < len(kept) and field:
                rule_form = kept[int(index)]
                target = FEE_ALIASES.get(field, field)
                for item in items:
                    rule_form.add_error(
                        target if target in rule_form.fields else None, item["message"]
                    )
                continue
        template_fields[name] = items
    if template_fields or not error.fields:
        catalog_errors_apply(
            form,
            DomainError(error.message, code=error.code, fields=template_fields),
            TEMPLATE_ALIASES,
        )


def _template_page(
    request: HttpRequest,
    tenant: Tenant,
    *,
    template: Any | None,
    form: ShippingTemplateForm,
    formset: RegionRuleFormSetBase,
    status: int = 200,
) -> HttpResponse:
    can_edit = _can_act(request)
    if not can_edit:
        disable_all(form)
        for rule_form in formset.forms:
            disable_all(rule_form)
    context = orders_context(request, "shipping")
    context.update(template=template, form=form, formset=formset, can_edit=can_edit)
    return render(request, "frontend/orders/shipping_form.html", context, status=status)


def _save(
    request: HttpRequest, tenant: Tenant, template: Any | None
) -> tuple[ShippingTemplateForm, RegionRuleFormSetBase, Any | None]:
    """Validate the posted template and rules and save them; the saved template, or None with
    the forms showing why."""
    data: QueryDict = request.POST
    if "add_rule" in data:
        data = _with_one_more_rule(data)
    form = ShippingTemplateForm(data, currency=tenant.currency)
    formset = RegionRuleFormSet(data, prefix=RULES_PREFIX, currency=tenant.currency)
    if "add_rule" in request.POST:
        return form, formset, None
    if not (form.is_valid() and formset.is_valid()):
        return form, formset, None
    kept = formset.kept_forms()
    spec = form.spec([rule_form.rule() for rule_form in kept])
    try:
        if template is None:
            saved = shipping_template_create(spec=spec, is_default=form.cleaned_data["is_default"])
        else:
            saved = shipping_template_update(
                template=template, spec=spec, is_default=form.cleaned_data["is_default"]
            )
    except DomainError as error:
        _errors_apply(error, form, formset, kept)
        return form, formset, None
    return form, formset, saved


@require_http_methods(["GET", "POST"])
def shipping_new(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = _require(request, _can_act) if request.method == "POST" else console_tenant(request)
    if request.method == "POST":
        form, formset, saved = _save(request, tenant, None)
        if saved is not None:
            messages.success(request, _("%(name)s is created.") % {"name": saved.name})
            return redirect("console-shipping", slug=tenant.slug)
        status = 200 if "add_rule" in request.POST else 400
        return _template_page(
            request, tenant, template=None, form=form, formset=formset, status=status
        )
    form = ShippingTemplateForm(
        currency=tenant.currency,
        initial={"basis": "count", "first_units": 1, "additional_units": 1},
    )
    formset = RegionRuleFormSet(prefix=RULES_PREFIX, currency=tenant.currency)
    return _template_page(request, tenant, template=None, form=form, formset=formset)


@require_http_methods(["GET", "POST"])
def shipping_edit(request: HttpRequest, slug: str, template_id: int) -> HttpResponse:
    tenant = _require(request, _can_act) if request.method == "POST" else console_tenant(request)
    template = _template(template_id)
    if request.method == "POST":
        form, formset, saved = _save(request, tenant, template)
        if saved is not None:
            messages.success(request, _("%(name)s is saved.") % {"name": saved.name})
            return redirect("console-shipping", slug=tenant.slug)
        status = 200 if "add_rule" in request.POST else 400
        return _template_page(
            request, tenant, template=template, form=form, formset=formset, status=status
        )
    form = ShippingTemplateForm(
        currency=tenant.currency,
        initial=ShippingTemplateForm.initial_for(template, tenant.currency),
    )
    formset = RegionRuleFormSet(
        prefix=RULES_PREFIX,
        currency=tenant.currency,
        initial=[rule_initial(rule, tenant.currency) for rule in template.rules.all()],
    )
    return _template_page(request, tenant, template=template, form=form, formset=formset)


@require_POST
def shipping_delete(request: HttpRequest, slug: str, template_id: int) -> HttpResponse:
    tenant = _require(request, _can_act)
    template = _template(template_id)
    moved = shipping_template_delete(template=template)
    notice = _("%(name)s is deleted.") % {"name": template.name}
    if moved:
        notice += " " + ngettext(
            "%(count)d product is now charged by the default template.",
            "%(count)d products are now charged by the default template.",
            moved,
        ) % {"count": moved}
    messages.success(request, notice)
    return redirect("console-shipping", slug=tenant.slug)


@require_POST
def shipping_default(request: HttpRequest, slug: str, template_id: int) -> HttpResponse:
    tenant = _require(request, _can_act)
    template = _template(template_id)
    try:
        shipping_template_default_set(template=template)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(name)s is now the default template.") % {"name": template.name}
        )
    return redirect("console-shipping", slug=tenant.slug)


@require_http_methods(["GET", "POST"])
def shipping_products(request: HttpRequest, slug: str, template_id: int) -> HttpResponse:
    """The products a template charges; find others and give them this template, or give
    some back to the default."""
    if request.method == "POST":
        _require(request, _can_act)
    else:
        console_tenant(request)
    template = _template(template_id)
    assign_form = ProductAssignForm(request.POST or None)
    if request.method == "POST" and assign_form.is_valid():
        release = assign_form.cleaned_data["release"]
        changed = products_shipping_template_set(
            product_ids=assign_form.cleaned_data["product"],
            template=None if release else template,
        )
        notice = (
            ngettext(
                "%(count)d product is now charged by the default template.",
                "%(count)d products are now charged by the default template.",
                changed,
            )
            if release
            else ngettext(
                "%(count)d product is now charged by %(name)s.",
                "%(count)d products are now charged by %(name)s.",
                changed,
            )
        )
        messages.success(request, notice % {"count": changed, "name": template.name})
        return redirect(
            f"{request.path}?{request.GET.urlencode()}" if request.GET else request.path
        )
    search = ProductSearchForm(request.GET)
    query = search.cleaned_data.get("q", "") if search.is_valid() else ""
    paginator = Paginator(shipping_template_products(template=template), PRODUCTS_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = orders_context(request, "shipping")
    context.update(
        template=template,
        search=search,
        query=query,
        found=products_for_shipping_choice(query=query),
        page=page,
        assign_form=assign_form,
        can_edit=_can_act(request),
    )
    status = 400 if assign_form.errors else 200
    return render(request, "frontend/orders/shipping_products.html", context, status=status)
