"""The merchant console's theme section: the theme editor and the theme library.

The editor edits the shop's draft design (themes.storefront.services.design): theme settings,
each page's sections (add, configure, reorder, remove), publish, discard and roll back. Every form
posts the draft revision it was rendered with; a stale one is refused by the services (or, for
discard and roll back, which take no revision, here) and changes nothing.

Theme output is untrusted (agencies write themes), so the console never renders it: the preview is
an iframe on the shop's own host, opened with a short-lived signed preview token
(themes.storefront.http) that makes the storefront render the draft and allow the console to
frame it. The iframe is sandboxed without top navigation, so a theme cannot navigate the console.

Every member of the shop may look; the roles in THEME_EDITOR_ROLES change things.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from frontend.console_access import (
    console_actor,
    console_editor_required,
    console_role_in,
    console_tenant,
)
from frontend.console_orders import actor_names
from frontend.links import storefront_url
from frontend.theme_forms import ThemeSettingsForm
from frontend.views import _console_context
from infra.errors import DomainError, ValidationFailed
from shop.catalog.selectors.categories import category_tree
from shop.catalog.selectors.console import category_choices, product_console_rows
from shop.catalog.selectors.products import products_matching
from shop.orders.selectors import orders_for_console
from tenants.models import Role, Tenant
from tenants.services.audit import AuditContext
from themes.manifest import PAGE_TYPES, label_text, version_key
from themes.packages.errors import ThemeNotAvailable
from themes.packages.selectors import theme_versions_for_tenant
from themes.packages.services import theme_install
from themes.storefront.errors import DraftChangedError, SectionNotFoundError
from themes.storefront.http import preview_token_make
from themes.storefront.selectors import (
    storefront_draft_get,
    storefront_installed_theme,
    storefront_versions,
)
from themes.storefront.services.design import (
    storefront_draft_discard,
    storefront_publish,
    storefront_rollback,
    storefront_section_add,
    storefront_section_move,
    storefront_section_remove,
    storefront_section_update,
    storefront_settings_update,
)
from themes.storefront.services.images import ThemeImageInvalidError, theme_image_upload
from themes.storefront.services.install import storefront_draft_ensure

THEME_EDITOR_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.AGENCY})
VERSIONS_SHOWN = 20
PRODUCT_SEARCH_RESULTS = 10
STOREFRONT_URLCONF = "infra.urls_tenant"

PAGE_LABELS: dict[str, Promise] = {
    "home": gettext_lazy("Home"),
    "category": gettext_lazy("Category"),
    "search": gettext_lazy("Search results"),
    "product": gettext_lazy("Product"),
    "cart": gettext_lazy("Cart"),
    "checkout": gettext_lazy("Checkout"),
    "orders": gettext_lazy("My orders"),
    "order": gettext_lazy("Order details"),
    "account": gettext_lazy("Member centre"),
    "distribution": gettext_lazy("Distributor centre"),
    "login": gettext_lazy("Log in"),
}
# The storefront's URL name of each page (themes.storefront.urls) and its path when the name is
# not there.
PAGE_ROUTES: dict[str, tuple[str, str]] = {
    "home": ("storefront-home", "/"),
    "category": ("storefront-category", "/categories/{}"),
    "search": ("storefront-search", "/search"),
    "product": ("storefront-product", "/products/{}"),
    "cart": ("storefront-cart", "/cart"),
    "checkout": ("storefront-checkout", "/checkout"),
    "orders": ("storefront-orders", "/orders"),
    "order": ("storefront-order", "/orders/{}"),
    "account": ("storefront-account", "/account"),
    "distribution": ("storefront-distribution", "/distribution"),
    "login": ("storefront-login", "/login"),
}
# What the editor says for the services' refusals (in the console's language).
ERROR_MESSAGES: dict[str, Promise] = {
    "storefront_draft_changed": gettext_lazy(
        "Someone else changed the design meanwhile. The page now shows the latest draft: "
        "make your change again."
    ),
    "storefront_section_not_allowed": gettext_lazy("The theme has no such section for this page."),
    "storefront_section_limit": gettext_lazy("This page cannot hold more sections of this kind."),
    "storefront_section_not_found": gettext_lazy("This section is not on the page any more."),
    "storefront_version_not_found": gettext_lazy("This published version does not exist."),
    "storefront_theme_missing": gettext_lazy("The shop has no theme installed."),
    "storefront_page_unknown": gettext_lazy("This page type does not exist."),
    "theme_not_available": gettext_lazy("This theme is not available to this shop."),
    "theme_version_withdrawn": gettext_lazy("This theme version was withdrawn."),
    "theme_image_invalid": gettext_lazy("Upload a JPEG, PNG, WebP or GIF image of at most 5 MB."),
}


def error_text(error: DomainError) -> str:
    return str(ERROR_MESSAGES.get(error.code, error.message))


# --- Small forms of the editor's actions


class DraftForm(forms.Form):
    """What every editor action posts: the draft revision it was rendered with, and its page."""

    revision = forms.IntegerField(min_value=0)
    page = forms.ChoiceField(choices=[(page, page) for page in PAGE_TYPES], required=False)


class SectionAddForm(DraftForm):
    section_type = forms.CharField(max_length=60)


class SectionMoveForm(DraftForm):
    position = forms.IntegerField(min_value=0, max_value=100)


class PublishForm(DraftForm):
    note = forms.CharField(max_length=200, required=False)


class InstallForm(forms.Form):
    version_id = forms.IntegerField(min_value=1)


# --- Helpers


def _language() -> str:
    return get_language() or "en"


def _page_of(value: str | None) -> str:
    return value if value in PAGE_TYPES else "home"


def _editor_url(slug: str, page: str, section_id: str | None = None) -> str:
    query: dict[str, str] = {"page": page}
    if section_id:
        query["section"] = section_id
    return f"{reverse('console-theme', args=[slug])}?{urlencode(query)}"


def storefront_path(page: str, ident: Any = None) -> str:
    """The storefront path of a page type (`ident`: its category, product or order)."""
    name, fallback = PAGE_ROUTES[page]
    needs_ident = "{}" in fallback
    if needs_ident and ident is None:
        return "/"
    try:
        return reverse(name, urlconf=STOREFRONT_URLCONF, args=[ident] if needs_ident else [])
    except NoReverseMatch:
        return fallback.format(ident) if needs_ident else fallback


def _preview_ident(page: str) -> Any:
    """The category, product or order the preview of `page` shows (None: none exists)."""
    if page == "category":
        roots = category_tree(active_only=True)
        return roots[0].category.pk if roots else None
    if page == "product":
        return products_matching().values_list("id", flat=True).first()
    if page == "order":
        return orders_for_console().prefetch_related(None).values_list("number", flat=True).first()
    return None


def preview_src(request: HttpRequest, tenant: Tenant, page: str) -> str:
    """The iframe's address: the page on the shop's host, with a fresh preview token."""
    ident = _preview_ident(page)
    path = storefront_path(page, ident)
    if page in ("category", "product", "order") and ident is None:
        path = storefront_path("home")
    token = preview_token_make(tenant_id=tenant.pk)
    return (
        f"{storefront_url(tenant.slug, request).rstrip('/')}{path}?{urlencode({'preview': token})}"
    )


def _section_name(manifest: dict[str, Any], section_type: str) -> str:
    spec = (manifest.get("sections") or {}).get(section_type) or {}
    return label_text(spec.get("name"), _language()) or section_type


def _section_types(
    manifest: dict[str, Any], page: str, sections: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The section types that may go on `page`, with whether the page holds their limit."""
    types = []
    for section_type, spec in (manifest.get("sections") or {}).items():
        pages = spec.get("pages")
        if pages and page not in pages:
            continue
        limit = spec.get("limit")
        used = sum(1 for section in sections if section.get("type") == section_type)
        types.append(
            {
                "type": section_type,
                "name": _section_name(manifest, section_type),
                "full": bool(limit) and used >= int(limit),
            }
        )
    return sorted(types, key=lambda item: item["name"])


def _needs_categories(schema: list[dict[str, Any]]) -> bool:
    return any(setting.get("type") == "category" for setting in schema)


class _Categories:
    """The shop's categories for category settings, read once and only when a form needs them."""

    def __init__(self) -> None:
        self.choices: list[tuple[int, str]] | None = None

    def for_schema(self, schema: list[dict[str, Any]]) -> list[tuple[int, str]]:
        if not _needs_categories(schema):
            return []
        if self.choices is None:
            self.choices = category_choices()
        return self.choices


def _product_titles(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        products_matching(storefront=False).filter(pk__in=ids).order_by().values_list("id", "title")
    )


def _find_section(sections: list[dict[str, Any]], section_id: str | None) -> dict[str, Any] | None:
    for section in sections:
        if section.get("id") == section_id:
            return section
    return None


def _settings_form(
    request: HttpRequest | None,
    draft: Any,
    categories: _Categories,
    *,
    disabled: bool,
) -> ThemeSettingsForm:
    schema = list(draft.install.manifest.get("settings") or [])
    return ThemeSettingsForm(
        None if request is None else request.POST,
        None if request is None else request.FILES,
        schema=schema,
        values=draft.settings,
        language=_language(),
        categories=categories.for_schema(schema),
        revision=draft.revision,
        disabled=disabled,
        auto_id="theme_%s",
    )


def _section_form(
    request: HttpRequest | None,
    draft: Any,
    section: dict[str, Any],
    categories: _Categories,
    *,
    disabled: bool,
) -> ThemeSettingsForm:
    spec = (draft.install.manifest.get("sections") or {}).get(section["type"]) or {}
    schema = list(spec.get("settings") or [])
    return ThemeSettingsForm(
        None if request is None else request.POST,
        None if request is None else request.FILES,
        schema=schema,
        values=section.get("settings") or {},
        language=_language(),
        categories=categories.for_schema(schema),
        revision=draft.revision,
        disabled=disabled,
        auto_id="section_%s",
    )


# --- The editor page


def _editor(
    request: HttpRequest,
    *,
    page: str,
    section_id: str | None = None,
    settings_form: ThemeSettingsForm | None = None,
    section_form: ThemeSettingsForm | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    tenant = console_tenant(request)
    context = _console_context(request, "theme")
    can_edit = console_role_in(request, THEME_EDITOR_ROLES)
    draft = storefront_draft_ensure()
    context.update(can_edit=can_edit, page=page, error=error)
    if error is not None:
        context.update(error_code=error.code, error_message=error_text(error))
    manifest = draft.install.manifest
    sections = list((draft.pages or {}).get(page) or [])
    categories = _Categories()
    if settings_form is None:
        settings_form = _settings_form(None, draft, categories, disabled=not can_edit)
    configured = _find_section(sections, section_id)
    if configured is not None and section_form is None:
        section_form = _section_form(None, draft, configured, categories, disabled=not can_edit)
    if configured is None:
        section_form = None
    product_query = request.GET.get("product_q", "").strip()[:100]
    found: list[tuple[Any, ...]] = []
    chosen: list[dict[str, Any]] = []
    has_products_setting = False
    if section_form is not None:
        rows = section_form.setting_rows()
        has_products_setting = any(row["type"] == "products" for row in rows)
        picked = list(
            dict.fromkeys(
                int(pk) for row in rows if row["type"] == "products" for pk in row["value"] or []
            )
        )
        if product_query:
            found = list(product_console_rows(query=product_query)[:PRODUCT_SEARCH_RESULTS])
        titles = _product_titles(picked)
        chosen = [{"id": pk, "title": titles.get(pk)} for pk in picked]
    versions = list(storefront_versions(limit=VERSIONS_SHOWN))
    context.update(
        draft=draft,
        install=draft.install,
        theme_name=label_text(draft.install.name, _language()) or draft.install.handle,
        pages=[{"key": key, "label": PAGE_LABELS[key]} for key in PAGE_TYPES],
        page_label=PAGE_LABELS[page],
        page_sections=[
            {
                "id": section["id"],
                "type": section["type"],
                "name": _section_name(manifest, section["type"]),
                "index": index,
                "configured": configured is not None and section["id"] == configured["id"],
            }
            for index, section in enumerate(sections)
        ],
        section_types=_section_types(manifest, page, sections),
        settings_form=settings_form,
        configured=configured,
        configured_name=_section_name(manifest, configured["type"]) if configured else "",
        section_form=section_form,
        product_query=product_query,
        has_products_setting=has_products_setting,
        products_found=[{"id": row[0], "title": row[1]} for row in found],
        products_chosen=chosen,
        versions=versions,
        live=next((version for version in versions if version.is_live), None),
        names=actor_names(tenant) if versions else {},
        preview_src=preview_src(request, tenant, page),
        publish_form=PublishForm(initial={"revision": draft.revision, "page": page}),
    )
    return render(request, "frontend/themes/editor.html", context, status=status)


@require_GET
def theme_editor(request: HttpRequest, slug: str) -> HttpResponse:
    """The theme editor: a page's sections, the theme settings, publishing, history, preview."""
    return _editor(
        request,
        page=_page_of(request.GET.get("page")),
        section_id=request.GET.get("section") or None,
    )


def _refused(
    request: HttpRequest, error: DomainError, page: str, section_id: str | None = None
) -> HttpResponse:
    """The editor again with the service's refusal; 409 for a stale draft, else 400."""
    status = 409 if isinstance(error, DraftChangedError) else error.status_code
    return _editor(request, page=page, section_id=section_id, error=error, status=status)


def _posted(request: HttpRequest, form_class: type[DraftForm]) -> DraftForm:
    form = form_class(request.POST)
    if not form.is_valid():
        raise _BadPost()
    return form


class _BadPost(Exception):
    """A tampered or incomplete post (the editor's own forms always send what is needed)."""


def _bad_post(request: HttpRequest) -> HttpResponse:
    messages.error(request, _("The form was incomplete; nothing was changed. Try again."))
    return redirect(_editor_url(console_tenant(request).slug, _page_of(request.POST.get("page"))))


def _posted_revision(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("revision", ""))
    except ValueError:
        return None


@require_POST
def theme_settings_save(request: HttpRequest, slug: str) -> HttpResponse:
    """Save the theme settings form (uploaded images are stored first)."""
    tenant = console_editor_required(request, THEME_EDITOR_ROLES)
    page = _page_of(request.POST.get("page"))
    draft = storefront_draft_get()
    if draft is None:
        return redirect("console-theme-library", slug=tenant.slug)
    # A stale form is refused before its values are checked or its images stored.
    if _posted_revision(request) != draft.revision:
        return _refused(request, DraftChangedError(), page)
    form = _settings_form(request, draft, _Categories(), disabled=False)
    if not form.is_valid():
        return _editor(request, page=page, settings_form=form, status=400)
    try:
        stored = _uploads_store(form)
        storefront_settings_update(
            revision=draft.revision, values=form.changes(stored), actor=console_actor(request)
        )
    except (ValidationFailed, ThemeImageInvalidError) as error:
        form.domain_error_apply(error)
        return _editor(request, page=page, settings_form=form, status=400)
    except DomainError as error:
        return _refused(request, error, page)
    messages.success(request, _("The theme settings are saved in your draft."))
    return redirect(_editor_url(tenant.slug, page))


def _uploads_store(form: ThemeSettingsForm) -> dict[str, str]:
    stored = {}
    for setting_id, file in form.uploads().items():
        try:
            stored[setting_id] = theme_image_upload(file=file)
        except ThemeImageInvalidError as error:
            raise ThemeImageInvalidError(
                error_text(error),
                fields={setting_id: [{"code": error.code, "message": error_text(error)}]},
            ) from error
    return stored


@require_POST
def theme_section_add(request: HttpRequest, slug: str) -> HttpResponse:
    """Add a section (with its defaults) to the end of a page, and open its settings."""
    tenant = console_editor_required(request, THEME_EDITOR_ROLES)
    try:
        form = _posted(request, SectionAddForm)
    except _BadPost:
        return _bad_post(request)
    page = _page_of(form.cleaned_data["page"])
    try:
        _draft, section_id = storefront_section_add(
            revision=form.cleaned_data["revision"],
            page=page,
            section_type=form.cleaned_data["section_type"],
            actor=console_actor(request),
        )
    except DomainError as error:
        return _refused(request, error, page)
    messages.success(request, _("The section is added to the page."))
    return redirect(_editor_url(tenant.slug, page, section_id))


@require_POST
def theme_section_save(request: HttpRequest, slug: str, section_id: str) -> HttpResponse:
    """Save a section's settings form."""
    tenant = console_editor_required(request, THEME_EDITOR_ROLES)
    page = _page_of(request.POST.get("page"))
    draft = storefront_draft_get()
    if draft is None:
        return redirect("console-theme-library", slug=tenant.slug)
    if _posted_revision(request) != draft.revision:
        return _refused(request, DraftChangedError(), page, section_id)
    section = _find_section(list((draft.pages or {}).get(page) or []), section_id)
    if section is None:
        return _refused(request, SectionNotFoundError(), page)
    form = _section_form(request, draft, section, _Categories(), disabled=False)
    if not form.is_valid():
        return _editor(request, page=page, section_id=section_id, section_form=form, status=400)
    try:
        stored = _uploads_store(form)
        storefront_section_update(
            revision=draft.revision,
            page=page,
            section_id=section_id,
            values=form.changes(stored),
            actor=console_actor(request),
        )
    except (ValidationFailed, ThemeImageInvalidError) as error:
        form.domain_error_apply(error)
        return _editor(request, page=page, section_id=section_id, section_form=form, status=400)
    except DomainError as error:
        return _refused(request, error, page, section_id)
    messages.success(request, _("The section is saved in your draft."))
    return redirect(_editor_url(tenant.slug, page, section_id))


@require_POST
def theme_section_move(request: HttpRequest, slug: str, section_id: str) -> HttpResponse:
    """Move a section up or down its page (the button posts the position it goes to)."""
    tenant = console_editor_required(request, THEME_EDITOR_ROLES)
    try:
        form = _posted(request, SectionMoveForm)
    except _BadPost:
        return _bad_post(request)
    page = _page_of(form.cleaned_data["page"])
    try:
        storefront_section_move(
            revision=form.cleaned_data["revision"],
            page=page,
            section_id=section_id,
            position=form.cleaned_data["position"],
            actor=console_actor(request),
        )
    except DomainError as error:
        return _refused(request, error, page)
    return redirect(_editor_url(tenant.slug, page))


@require_POST
def theme_section_remove(request: HttpRequest, slug: str, section_id: str) -> HttpResponse:
    """Take a section off its page."""
    tenant = console_editor_required(request, THEME_EDITOR_ROLES)
    try:
        form = _posted(request, DraftForm)
    except _BadPost:
        return _bad_post(request)
    page = _page_of(form.cleaned_data["page"])
    try:
        storefront_section_remove(
            revision=form.cleaned_data["revision"],
            page=page,
            section_id=section_id,
            actor=console_actor(request),
        )
    except DomainError as error:
        return _refused(request, error, page)
    messages.success(request, _("The section is removed from the page."))
    return redirect(_editor_url(tenant.slug, page))


@require_POST
def theme_publish(request: HttpRequest, slug: str) -> HttpResponse:
    """Publish the draft as a new live version."""
    tenant = console_editor_required(request, THEME_EDITOR_ROLES)
    try:
        form = _posted(request, PublishForm)
    except _BadPost:
        return _bad_post(request)
    page = _page_of(form.cleaned_data["page"])
    try:
        version = storefront_publish(
            revision=form.cleaned_data["revision"],
            actor=console_actor(request),
            note=form.cleaned_data["note"].strip(),
        )
    except DomainError as error:
        return _refused(request, error, page)
    messages.success(
        request, _("Version %(number)s is live in your shop.") % {"number": version.number}
    )
    return redirect(_editor_url(tenant.slug, page))


@require_POST
def theme_discard(request: HttpRequest, slug: str) -> HttpResponse:
    """Drop the draft's unpublished changes (back to the live version)."""
    tenant = console_editor_required(request, THEME_EDITOR_ROLES)
    try:
        form = _posted(request, DraftForm)
    except _BadPost:
        return _bad_post(request)
    page = _page_of(form.cleaned_data["page"])
    try:
        storefront_draft_discard(
            actor=console_actor(request), revision=form.cleaned_data["revision"]
        )
    except DomainError as error:
        return _refused(request, error, page)
    messages.success(request, _("Your unpublished changes are discarded."))
    return redirect(_editor_url(tenant.slug, page))


@require_POST
def theme_rollback(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """Publish a copy of an older version (the draft becomes it too)."""
    tenant = console_editor_required(request, THEME_EDITOR_ROLES)
    try:
        form = _posted(request, DraftForm)
    except _BadPost:
        return _bad_post(request)
    page = _page_of(form.cleaned_data["page"])
    try:
        version = storefront_rollback(
            number=number, actor=console_actor(request), revision=form.cleaned_data["revision"]
        )
    except DomainError as error:
        return _refused(request, error, page)
    messages.success(
        request,
        _("Version %(source)s is live again, as version %(number)s.")
        % {"source": number, "number": version.number},
    )
    return redirect(_editor_url(tenant.slug, page))


# --- The theme library


def _library_rows(tenant: Tenant, install: Any) -> list[dict[str, Any]]:
    language = _language()
    agency = tenant.agency if tenant.agency_id is not None else None
    agency_name = agency.name if agency is not None else ""
    rows = []
    for version in theme_versions_for_tenant(tenant=tenant):
        package = version.package
        manifest = version.manifest or {}
        is_builtin = package.source == "builtin"
        installed = install is not None and int(install.package_id) == package.pk
        newer = installed and version_key(version.version) > version_key(str(install.version))
        rows.append(
            {
                "version_id": version.pk,
                "handle": package.handle,
                "name": label_text(manifest.get("name") or package.name, language)
                or package.handle,
                "description": label_text(manifest.get("description"), language),
                "version": version.version,
                "author": _("Platform") if is_builtin else agency_name,
                "installed": installed,
                "installed_version": str(install.version) if installed else "",
                "current": installed and int(install.version_id) == version.pk,
                "update": newer,
            }
        )
    return rows


@require_GET
def theme_library(request: HttpRequest, slug: str) -> HttpResponse:
    """The installed theme and the themes this shop may install (built-in and its agency's)."""
    tenant = console_tenant(request)
    context = _console_context(request, "theme")
    draft = storefront_draft_ensure()
    live = storefront_installed_theme()
    install = draft.install
    language = _language()
    context.update(
        can_edit=console_role_in(request, THEME_EDITOR_ROLES),
        install=install,
        install_name=label_text(install.name, language) if install is not None else "",
        live=live,
        live_name=label_text(live.name, language) if live is not None else "",
        live_differs=live is not None and install is not None and live.pk != install.pk,
        themes=_library_rows(tenant, install),
    )
    return render(request, "frontend/themes/library.html", context)


@require_POST
def theme_library_install(request: HttpRequest, slug: str) -> HttpResponse:
    """Install a theme version: the draft switches to it (preview it, then publish)."""
    tenant = console_editor_required(request, THEME_EDITOR_ROLES)
    form = InstallForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a theme from the list."))
        return redirect("console-theme-library", slug=tenant.slug)
    try:
        theme_install(
            tenant=tenant,
            version_id=form.cleaned_data["version_id"],
            actor=console_actor(request),
            context=AuditContext.from_request(request),
        )
    except (ThemeNotAvailable, DomainError) as error:
        messages.error(request, error_text(error))
        return redirect("console-theme-library", slug=tenant.slug)
    messages.success(
        request,
        _(
            "The theme is installed in your draft. Look at the preview, then publish it to "
            "show it to your shoppers."
        ),
    )
    return redirect("console-theme", slug=tenant.slug)
