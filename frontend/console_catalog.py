"""The merchant console's catalog pages: products, categories, CSV import and export.

Views validate input with forms and call the catalog's services and selectors (the request runs
in the shop's schema: the console middleware set it after checking the membership). Every
member may look; only the roles in CATALOG_EDITOR_ROLES may change anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontend.catalog_forms import (
    CategoryCreateForm,
    CategoryMoveForm,
    CategoryOrderForm,
    CategoryRenameForm,
    CsvImportForm,
    ImageOrderForm,
    ImagesUploadForm,
    OptionFieldsForm,
    ProductCreateForm,
    ProductFieldsForm,
    ProductFilterForm,
    ProductOptionsForm,
    ProductsShelfForm,
    ShelfForm,
    SkuTableForm,
    catalog_errors_apply,
    disable_all,
)
from frontend.console_access import console_editor_required, console_role_in, console_tenant
from frontend.links import storefront_url
from frontend.views import _console_context
from infra.errors import DomainError
from shop.catalog.errors import CategoryNotFoundError, ProductNotFoundError
from shop.catalog.selectors.categories import category_get
from shop.catalog.selectors.console import (
    LOW_STOCK_THRESHOLD,
    category_choices,
    category_entries,
    category_next_position,
    product_console_get,
    product_console_items,
    product_console_rows,
    product_console_skus,
    product_option_specs,
)
from shop.catalog.services.categories import (
    categories_reorder,
    category_create,
    category_delete,
    category_move,
    category_update,
)
from shop.catalog.services.csv_io import CSV_COLUMNS, catalog_csv_export, catalog_csv_import
from shop.catalog.services.images import (
    product_image_add,
    product_image_delete,
    product_images_reorder,
)
from shop.catalog.services.products import (
    product_create,
    product_delete,
    product_options_set,
    product_shelf_set,
    product_skus_update,
    product_update,
    products_shelf_set,
)
from tenants.models import Role, Tenant

# Roles that may change the catalog; store clerks (and anyone else) see it read-only.
CATALOG_EDITOR_ROLES = frozenset(
    {Role.OWNER, Role.ADMIN, Role.STAFF, Role.AGENCY, "platform_staff"}
)


def _shop_file_url(request: HttpRequest, url: str) -> str:
    """A shop's file, from the shop's own host: the console's host never serves shop content
    (S3 URLs are absolute already)."""
    if url.startswith("/"):
        return storefront_url(console_tenant(request).slug, request).rstrip("/") + url
    return url


def _product(product_id: int) -> Any:
    try:
        return product_console_get(product_id=product_id)
    except ProductNotFoundError as error:
        raise Http404 from error


def _category(category_id: int | None) -> Any:
    if category_id is None:
        return None
    return category_get(category_id=category_id)


def _category_or_404(category_id: int) -> Any:
    try:
        return category_get(category_id=category_id)
    except CategoryNotFoundError as error:
        raise Http404 from error


# --- Product list


def _list_url(tenant: Tenant) -> str:
    return reverse("console-products", kwargs={"slug": tenant.slug})


@require_GET
def product_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Every product: search, filters, sort, pages; bulk on and off the shelf."""
    tenant = console_tenant(request)
    context = _console_context(request, "products")
    categories = category_choices()
    form = ProductFilterForm(request.GET, categories=categories)
    filters = form.filters()
    page_size = filters.pop("page_size")
    paginator = Paginator(product_console_rows(**filters), page_size)
    page = paginator.get_page(request.GET.get("page"))
    items = [
        dataclasses.replace(
            item,
            thumbnail_url=_shop_file_url(request, item.thumbnail_url)
            if item.thumbnail_url
            else None,
        )
        for item in product_console_items(
            list(page.object_list),
            currency=tenant.currency,
            language=get_language() or tenant.language,
        )
    ]
    kept = {key: value for key, value in request.GET.items() if key != "page" and value}
    context.update(
        form=form,
        page=page,
        items=items,
        can_edit=console_role_in(request, CATALOG_EDITOR_ROLES),
        filtered=any(filters[name] for name in ("query", "category_id", "shelf", "stock")),
        query_prefix=f"{urlencode(kept)}&" if kept else "",
        current_url=request.get_full_path(),
        low_stock=LOW_STOCK_THRESHOLD,
        catalog_tab="products",
    )
    htmx = bool(getattr(request, "htmx", False))
    template = "frontend/catalog/product_" + ("results.html" if htmx else "list.html")
    response = render(request, template, context)
    # The same URL answers a whole page or (to htmx) only the results: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _next_list_url(request: HttpRequest, tenant: Tenant, target: str) -> str:
    """`target` when it is this shop's product list (with its filters), else the bare list."""
    default = _list_url(tenant)
    if target.startswith(default) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_POST
def products_shelf(request: HttpRequest, slug: str) -> HttpResponse:
    """Put the checked products on the shelf, or take them off."""
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    form = ProductsShelfForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(_next_list_url(request, tenant, request.POST.get("next", "")))
    on_shelf: bool = form.cleaned_data["on_shelf"]
    changed = products_shelf_set(product_ids=form.cleaned_data["product"], on_shelf=on_shelf)
    notice = (
        ngettext(
            "%(count)d product is now on the shelf.",
            "%(count)d products are now on the shelf.",
            changed,
        )
        if on_shelf
        else ngettext(
            "%(count)d product is now off the shelf.",
            "%(count)d products are now off the shelf.",
            changed,
        )
    )
    messages.success(request, notice % {"count": changed})
    return redirect(_next_list_url(request, tenant, form.cleaned_data["next"]))


# --- Product create and edit


@require_http_methods(["GET", "POST"])
def product_new(request: HttpRequest, slug: str) -> HttpResponse:
    """A new product with its options (the SKUs follow from them)."""
    tenant = (
        console_editor_required(request, CATALOG_EDITOR_ROLES)
        if request.method == "POST"
        else console_tenant(request)
    )
    form = ProductCreateForm(
        request.POST or None,
        initial={"stock": 0, "weight_grams": 0},
        categories=category_choices(),
        currency=tenant.currency,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                product = product_create(
                    title=data["title"],
                    subtitle=data["subtitle"],
                    description=data["description"],
                    category=_category(data["category"]),
                    on_shelf=data["on_shelf"],
                    options=form.option_specs(),
                    price_minor=data["price"],
                    stock=data["stock"],
                    weight_grams=data["weight_grams"],
                )
            except DomainError as error:
                catalog_errors_apply(form, error, form.aliases())
            else:
                messages.success(
                    request,
                    _("%(title)s is created. Add its pictures and set each SKU below.")
                    % {"title": product.title},
                )
                return redirect("console-product", slug=tenant.slug, product_id=product.pk)
        status = 400
    if not console_role_in(request, CATALOG_EDITOR_ROLES):
        disable_all(form)
    context = _console_context(request, "products")
    context.update(
        form=form, can_edit=console_role_in(request, CATALOG_EDITOR_ROLES), catalog_tab="products"
    )
    return render(request, "frontend/catalog/product_new.html", context, status=status)


def _sku_labels(skus: list[Any]) -> dict[int, str]:
    return {
        sku.pk: " / ".join(value.value for value in sku.option_values.all()) or _("Single SKU")
        for sku in skus
    }


def _order_moves(ids: list[int], index: int) -> dict[str, list[int] | None]:
    """The orders of `ids` after moving the one at `index` earlier, later, or first."""

    def _swapped(other: int) -> list[int] | None:
        if not 0 <= other < len(ids):
            return None
        moved = list(ids)
        moved[index], moved[other] = moved[other], moved[index]
        return moved

    first = None if index == 0 else [ids[index], *ids[:index], *ids[index + 1 :]]
    return {"earlier": _swapped(index - 1), "later": _swapped(index + 1), "first": first}


def _product_page(
    request: HttpRequest,
    product: Any,
    *,
    fields_form: ProductFieldsForm | None = None,
    options_form: ProductOptionsForm | None = None,
    sku_form: SkuTableForm | None = None,
    images_form: ImagesUploadForm | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    tenant = console_tenant(request)
    context = _console_context(request, "products")
    currency = tenant.currency
    can_edit = console_role_in(request, CATALOG_EDITOR_ROLES)
    skus = product_console_skus(product)
    fields_form = fields_form or ProductFieldsForm(
        initial={
            "title": product.title,
            "subtitle": product.subtitle,
            "description": product.description,
            "category": product.category_id,
            "on_shelf": product.on_shelf,
        },
        categories=category_choices(),
    )
    options_form = options_form or ProductOptionsForm(
        initial=OptionFieldsForm.initial_for(product_option_specs(product)), currency=currency
    )
    sku_form = sku_form or SkuTableForm(skus=skus, currency=currency, labels=_sku_labels(skus))
    images_form = images_form or ImagesUploadForm()
    if not can_edit:
        for form in (fields_form, options_form, sku_form, images_form):
            disable_all(form)
    images = list(product.images.all())
    ids = [image.pk for image in images]
    context.update(
        product=product,
        can_edit=can_edit,
        fields_form=fields_form,
        options_form=options_form,
        sku_form=sku_form,
        images_form=images_form,
        images=[
            {
                "image": image,
                "thumbnail_url": _shop_file_url(request, image.thumbnail.url),
                "url": _shop_file_url(request, image.image.url),
                **_order_moves(ids, index),
            }
            for index, image in enumerate(images)
        ],
        errors=errors or {},
        shelf_form=ShelfForm(),
        storefront_product_url=storefront_url(tenant.slug, request),
        catalog_tab="products",
    )
    return render(request, "frontend/catalog/product_edit.html", context, status=status)


def _product_url(tenant: Tenant, product_id: int, anchor: str = "") -> str:
    url = reverse("console-product", kwargs={"slug": tenant.slug, "product_id": product_id})
    return f"{url}#{anchor}" if anchor else url


@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    """A product's page; POST saves its own fields (title, texts, category, shelf)."""
    if request.method == "GET":
        console_tenant(request)
        return _product_page(request, _product(product_id))
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    product = _product(product_id)
    form = ProductFieldsForm(request.POST, categories=category_choices())
    if form.is_valid():
        data = form.cleaned_data
        try:
            product_update(
                product=product,
                title=data["title"],
                subtitle=data["subtitle"],
                description=data["description"],
                category=_category(data["category"]),
                clear_category=data["category"] is None,
                on_shelf=data["on_shelf"],
            )
        except DomainError as error:
            catalog_errors_apply(form, error)
        else:
            messages.success(request, _("The product is saved."))
            return redirect(_product_url(tenant, product.pk))
    return _product_page(request, _product(product_id), fields_form=form, status=400)


@require_POST
def product_options(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    """Set the options; new combinations get SKUs, removed ones are switched off."""
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    product = _product(product_id)
    form = ProductOptionsForm(request.POST, currency=tenant.currency)
    if form.is_valid():
        try:
            result = product_options_set(
                product=product,
                options=form.option_specs(),
                price_minor=form.cleaned_data["new_price"],
            )
        except DomainError as error:
            catalog_errors_apply(form, error, form.aliases())
        else:
            added = len(result.created) + len(result.reactivated)
            messages.success(
                request,
                _("The options are saved: %(added)d SKUs added, %(removed)d switched off.")
                % {"added": added, "removed": len(result.deactivated)},
            )
            return redirect(_product_url(tenant, product.pk, "skus"))
    return _product_page(request, _product(product_id), options_form=form, status=400)


@require_POST
def product_skus(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    """Save the SKU table: codes, prices, weights, on sale, stock (set or adjusted)."""
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    product = _product(product_id)
    skus = product_console_skus(product)
    form = SkuTableForm(request.POST, skus=skus, currency=tenant.currency, labels=_sku_labels(skus))
    if form.is_valid():
        try:
            product_skus_update(product=product, changes=form.changes())
        except DomainError as error:
            catalog_errors_apply(form, error, form.aliases())
        else:
            messages.success(request, _("The SKUs are saved."))
            return redirect(_product_url(tenant, product.pk, "skus"))
    return _product_page(request, _product(product_id), sku_form=form, status=400)


@require_POST
def product_images_add(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    """Upload pictures; each is checked on its own (a bad one is listed, the others kept)."""
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    product = _product(product_id)
    form = ImagesUploadForm(request.POST, request.FILES)
    if form.is_valid():
        added = 0
        for file in form.cleaned_data["images"]:
            try:
                product_image_add(product=product, file=file)
            except DomainError as error:
                form.add_error(
                    "images",
                    f"{file.name}: {error.message}",  # which file, and why
                )
            else:
                added += 1
        if added:
            messages.success(
                request,
                ngettext("%(count)d picture added.", "%(count)d pictures added.", added)
                % {"count": added},
            )
        if not form.errors:
            return redirect(_product_url(tenant, product.pk, "images"))
    return _product_page(request, _product(product_id), images_form=form, status=400)


def _product_action(
    request: HttpRequest,
    product_id: int,
    section: str,
    action: Callable[[], object],
    notice: str,
) -> HttpResponse:
    """Run a service from a button of the product page; its error shows in `section`."""
    tenant = console_tenant(request)
    try:
        action()
    except DomainError as error:
        return _product_page(
            request, _product(product_id), errors={section: [error.message]}, status=400
        )
    messages.success(request, notice)
    return redirect(_product_url(tenant, product_id, "" if section == "product" else section))


@require_POST
def product_images_order(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    console_editor_required(request, CATALOG_EDITOR_ROLES)
    product = _product(product_id)
    form = ImageOrderForm(request.POST)
    if not form.is_valid():
        return _product_page(
            request, product, errors={"images": [_("Choose from the list.")]}, status=400
        )
    return _product_action(
        request,
        product_id,
        "images",
        lambda: product_images_reorder(product=product, image_ids=form.cleaned_data["image_ids"]),
        _("The pictures are reordered."),
    )


@require_POST
def product_image_remove(
    request: HttpRequest, slug: str, product_id: int, image_id: int
) -> HttpResponse:
    console_editor_required(request, CATALOG_EDITOR_ROLES)
    product = _product(product_id)
    image = next((image for image in product.images.all() if image.pk == image_id), None)
    if image is None:
        raise Http404
    return _product_action(
        request,
        product_id,
        "images",
        lambda: product_image_delete(image=image),
        _("The picture is deleted."),
    )


@require_POST
def product_shelf(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    console_editor_required(request, CATALOG_EDITOR_ROLES)
    product = _product(product_id)
    form = ShelfForm(request.POST)
    if not form.is_valid():
        return _product_page(
            request, product, errors={"product": [_("Choose from the list.")]}, status=400
        )
    on_shelf: bool = form.cleaned_data["on_shelf"]
    return _product_action(
        request,
        product_id,
        "product",
        lambda: product_shelf_set(product=product, on_shelf=on_shelf),
        _("The product is on the shelf.") if on_shelf else _("The product is off the shelf."),
    )


@require_POST
def product_remove(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    """Delete a product softly: gone from every list, its SKUs kept for past orders."""
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    product = _product(product_id)
    try:
        product_delete(product=product)
    except DomainError as error:
        return _product_page(request, product, errors={"product": [error.message]}, status=400)
    messages.success(request, _("%(title)s is deleted.") % {"title": product.title})
    return redirect(_list_url(tenant))


# --- Categories


def _categories_page(
    request: HttpRequest,
    *,
    create_form: CategoryCreateForm | None = None,
    failed_id: int | None = None,
    failed_form: CategoryRenameForm | CategoryMoveForm | None = None,
    failed_errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _console_context(request, "products")
    can_edit = console_role_in(request, CATALOG_EDITOR_ROLES)
    entries = category_entries()
    choices = [(entry.category.pk, entry.path) for entry in entries]
    siblings: dict[int | None, list[int]] = {}
    for entry in entries:
        siblings.setdefault(entry.category.parent_id, []).append(entry.category.pk)
    nodes = []
    for entry in entries:
        category = entry.category
        group = siblings[category.parent_id]
        rename_form = CategoryRenameForm(
            initial={"name": category.name, "is_active": category.is_active},
            prefix=f"c{category.pk}",
        )
        move_form = CategoryMoveForm(
            initial={"parent": category.parent_id}, categories=choices, prefix=f"m{category.pk}"
        )
        if category.pk == failed_id and isinstance(failed_form, CategoryRenameForm):
            rename_form = failed_form
        if category.pk == failed_id and isinstance(failed_form, CategoryMoveForm):
            move_form = failed_form
        if not can_edit:
            disable_all(rename_form)
            disable_all(move_form)
        nodes.append(
            {
                "entry": entry,
                "rename_form": rename_form,
                "move_form": move_form,
                "errors": failed_errors if category.pk == failed_id else [],
                **_order_moves(group, group.index(category.pk)),
            }
        )
    create_form = create_form or CategoryCreateForm(categories=choices)
    if not can_edit:
        disable_all(create_form)
    context.update(
        nodes=nodes, create_form=create_form, can_edit=can_edit, catalog_tab="categories"
    )
    return render(request, "frontend/catalog/categories.html", context, status=status)


def _categories_url(tenant: Tenant) -> str:
    return reverse("console-categories", kwargs={"slug": tenant.slug})


@require_GET
def categories(request: HttpRequest, slug: str) -> HttpResponse:
    """The category tree: create, rename, move, reorder, delete."""
    console_tenant(request)
    return _categories_page(request)


@require_POST
def category_add(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    form = CategoryCreateForm(request.POST, categories=category_choices())
    if form.is_valid():
        try:
            parent = _category(form.cleaned_data["parent"])
            category = category_create(
                name=form.cleaned_data["name"],
                parent=parent,
                position=category_next_position(parent=parent),
            )
        except DomainError as error:
            catalog_errors_apply(form, error)
        else:
            messages.success(request, _("%(name)s is created.") % {"name": category.name})
            return redirect(_categories_url(tenant))
    return _categories_page(request, create_form=form, status=400)


@require_POST
def category_rename(request: HttpRequest, slug: str, category_id: int) -> HttpResponse:
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    category = _category_or_404(category_id)
    form = CategoryRenameForm(request.POST, prefix=f"c{category.pk}")
    if form.is_valid():
        try:
            category_update(
                category=category,
                name=form.cleaned_data["name"],
                is_active=form.cleaned_data["is_active"],
            )
        except DomainError as error:
            catalog_errors_apply(form, error)
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": category.name})
            return redirect(_categories_url(tenant))
    return _categories_page(request, failed_id=category.pk, failed_form=form, status=400)


@require_POST
def category_relocate(request: HttpRequest, slug: str, category_id: int) -> HttpResponse:
    """Move a category (and its subtree) under another one, at the end of its children."""
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    category = _category_or_404(category_id)
    form = CategoryMoveForm(request.POST, categories=category_choices(), prefix=f"m{category.pk}")
    if form.is_valid():
        try:
            parent = _category(form.cleaned_data["parent"])
            category_move(
                category=category,
                parent=parent,
                position=category_next_position(parent=parent),
            )
        except DomainError as error:
            catalog_errors_apply(form, error, {"parent": "parent"})
        else:
            messages.success(request, _("%(name)s is moved.") % {"name": category.name})
            return redirect(_categories_url(tenant))
    return _categories_page(request, failed_id=category.pk, failed_form=form, status=400)


@require_POST
def categories_order(request: HttpRequest, slug: str) -> HttpResponse:
    """Reorder the children of one category (or the top level)."""
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    form = CategoryOrderForm(request.POST)
    if form.is_valid():
        try:
            categories_reorder(
                parent=_category(form.cleaned_data["parent"]),
                category_ids=form.cleaned_data["category_ids"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The categories are reordered."))
    else:
        messages.error(request, _("Choose from the list."))
    return redirect(_categories_url(tenant))


@require_POST
def category_remove(request: HttpRequest, slug: str, category_id: int) -> HttpResponse:
    tenant = console_editor_required(request, CATALOG_EDITOR_ROLES)
    category = _category_or_404(category_id)
    name = category.name
    try:
        category_delete(category=category)
    except DomainError as error:
        return _categories_page(
            request, failed_id=category_id, failed_errors=[error.message], status=400
        )
    messages.success(request, _("%(name)s is deleted.") % {"name": name})
    return redirect(_categories_url(tenant))


# --- CSV


@require_http_methods(["GET", "POST"])
def catalog_import(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload a CSV (one row per SKU); errors are listed by row, all or nothing unless chosen."""
    tenant = (
        console_editor_required(request, CATALOG_EDITOR_ROLES)
        if request.method == "POST"
        else console_tenant(request)
    )
    form = CsvImportForm(request.POST or None, request.FILES or None)
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            partial = form.cleaned_data["mode"] == "partial"
            result = catalog_csv_import(
                content=form.cleaned_data["file"].read(),
                currency=tenant.currency,
                partial=partial,
            )
            if not result.errors:
                messages.success(
                    request,
                    ngettext(
                        "%(count)d row imported.", "%(count)d rows imported.", result.imported_rows
                    )
                    % {"count": result.imported_rows},
                )
                return redirect(_list_url(tenant))
            status = 200 if partial else 400
        else:
            status = 400
    if not console_role_in(request, CATALOG_EDITOR_ROLES):
        disable_all(form)
    context = _console_context(request, "products")
    context.update(
        form=form,
        result=result,
        columns=CSV_COLUMNS,
        can_edit=console_role_in(request, CATALOG_EDITOR_ROLES),
        catalog_tab="csv",
    )
    return render(request, "frontend/catalog/import.html", context, status=status)


@require_GET
def catalog_export(request: HttpRequest, slug: str) -> HttpResponse:
    """The catalog as CSV (one row per SKU), in the format the import reads."""
    tenant = console_tenant(request)
    day = timezone.now().astimezone(ZoneInfo(tenant.time_zone)).strftime("%Y%m%d")
    response = HttpResponse(
        catalog_csv_export(currency=tenant.currency), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="catalog-{tenant.slug}-{day}.csv"'
    return response
