"""The agency's themes (platform host): upload theme packages, see their versions, and install a
version into each client shop, one shop at a time (nothing updates by itself).

Views check the form and the agency membership and call themes.packages; rules live there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from frontend.forms import form_errors_apply
from infra.errors import DomainError
from tenants.models import Account, Agency, Tenant
from tenants.services.audit import AuditContext
from themes.manifest import MAX_ARCHIVE_BYTES, PackageProblem, ThemePackageInvalid, label_text
from themes.packages.models import ThemePackage, ThemeVersion
from themes.packages.selectors import (
    InstalledTheme,
    theme_agency_client_shops,
    theme_agency_get,
    theme_installed_in_shops,
    theme_packages_for_agency,
)
from themes.packages.services import theme_agency_upload, theme_install


class ThemeUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Theme package (zip)"),
        help_text=gettext_lazy(
            "A zip of manifest.json, layout/, templates/, sections/, snippets/, assets/ and "
            "locales/ (at its root or in one folder), at most 10 MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )

    def clean_file(self) -> UploadedFile:
        file: UploadedFile = self.cleaned_data["file"]
        if file.size is not None and file.size > MAX_ARCHIVE_BYTES:
            raise forms.ValidationError(
                _("Upload a zip file of at most %(size)s MB.")
                % {"size": MAX_ARCHIVE_BYTES // 2**20},
                code="too_large",
            )
        return file


class ThemeInstallForm(forms.Form):
    tenant_id = forms.IntegerField(min_value=1)
    version_id = forms.IntegerField(min_value=1)
    publish = forms.BooleanField(required=False)


@dataclass(frozen=True)
class ShopRow:
    """A client shop as one package's table shows it."""

    tenant: Tenant
    installed: InstalledTheme | None
    uses_package: bool
    # The version offered to install (the package's latest), or None when the shop has it.
    offer: ThemeVersion | None
    is_update: bool


@dataclass(frozen=True)
class PackageCard:
    package: ThemePackage
    name: str
    versions: list[ThemeVersion]
    latest: ThemeVersion | None
    shops: list[ShopRow]


def _account(request: HttpRequest) -> Account:
    return cast(Account, request.user)


def _agency(request: HttpRequest, agency_id: int) -> Agency:
    """The agency, for its staff only (anyone else gets the answer of a missing page)."""
    agency = theme_agency_get(agency_id=agency_id, account_id=_account(request).pk)
    if agency is None:
        raise Http404
    return agency


def _cards(agency: Agency) -> list[PackageCard]:
    language = get_language() or "en"
    shops = list(theme_agency_client_shops(agency_id=agency.pk))
    installed = theme_installed_in_shops(tenants=shops)
    cards = []
    for package in theme_packages_for_agency(agency_id=agency.pk):
        versions = list(package.versions.all())
        latest = next((version for version in versions if not version.is_withdrawn), None)
        rows = []
        for tenant in shops:
            current = installed.get(tenant.pk)
            uses_package = current is not None and current.package_id == package.pk
            has_latest = (
                current is not None
                and uses_package
                and latest is not None
                and current.version_id == latest.pk
            )
            rows.append(
                ShopRow(
                    tenant=tenant,
                    installed=current,
                    uses_package=uses_package,
                    offer=None if has_latest else latest,
                    is_update=uses_package,
                )
            )
        cards.append(
            PackageCard(
                package=package,
                name=label_text(package.name, language) or package.handle,
                versions=versions,
                latest=latest,
                shops=rows,
            )
        )
    return cards


def _problem_rows(problems: list[PackageProblem]) -> list[PackageProblem]:
    return sorted(problems, key=lambda problem: (problem.file, problem.line or 0))


@login_required
@require_http_methods(["GET", "POST"])
def agency_themes(request: HttpRequest, agency_id: int) -> HttpResponse:
    """The agency's theme packages with their versions and client shops; the upload form."""
    agency = _agency(request, agency_id)
    form = ThemeUploadForm(request.POST or None, request.FILES or None)
    problems: list[PackageProblem] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                version = theme_agency_upload(
                    agency_id=agency.pk,
                    account_id=_account(request).pk,
                    data=form.cleaned_data["file"].read(),
                    context=AuditContext.from_request(request),
                )
            except ThemePackageInvalid as error:
                problems = _problem_rows(error.problems)
            except DomainError as error:
                form_errors_apply(form, error)
                status = error.status_code
            else:
                messages.success(
                    request,
                    _("Theme %(handle)s %(version)s is uploaded. Install it into your shops below.")
                    % {"handle": version.package.handle, "version": version.version},
                )
                return redirect("agency-themes", agency_id=agency.pk)
    context: dict[str, Any] = {
        "agency": agency,
        "form": form,
        "problems": problems,
        "cards": _cards(agency),
    }
    return render(request, "frontend/themes/agency_themes.html", context, status=status)


@login_required
@require_POST
def agency_theme_install(request: HttpRequest, agency_id: int) -> HttpResponse:
    """Install (or update to) a version in one client shop of the agency."""
    agency = _agency(request, agency_id)
    form = ThemeInstallForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a shop and a version."))
        return redirect("agency-themes", agency_id=agency.pk)
    tenant = (
        theme_agency_client_shops(agency_id=agency.pk)
        .filter(pk=form.cleaned_data["tenant_id"])
        .first()
    )
    if tenant is None:
        raise Http404
    account = _account(request)
    try:
        theme_install(
            tenant=tenant,
            version_id=form.cleaned_data["version_id"],
            actor=f"account:{account.pk}",
            context=AuditContext.from_request(request),
            publish=form.cleaned_data["publish"],
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if form.cleaned_data["publish"]:
            notice = _("The theme is installed and published in %(shop)s.")
        else:
            notice = _(
                "The theme is installed in %(shop)s as a draft: publish it from the shop's "
                "theme editor."
            )
        messages.success(request, notice % {"shop": tenant.name})
    return redirect("agency-themes", agency_id=agency.pk)
