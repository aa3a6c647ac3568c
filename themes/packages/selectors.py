"""Reads of theme packages: versions, bundles, assets, and what a shop may install."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from infra.db import tenant_schema
from tenants.models import Agency, Tenant
from themes.manifest import ThemeBundle, label_dict
from themes.packages.errors import ThemeNotAvailable
from themes.packages.models import ThemeAsset, ThemePackage, ThemeSource, ThemeVersion

LATEST_FIRST = ("-version_major", "-version_minor", "-version_patch")
# The large fields a list of versions does not need.
HEAVY_FIELDS = ("templates", "locales")


def theme_version_get(*, version_id: int) -> ThemeVersion | None:
    """A version with its package; None for an unknown id."""
    return ThemeVersion.objects.select_related("package").filter(pk=version_id).first()


def theme_latest_version(*, package_id: int) -> ThemeVersion | None:
    """The package's greatest version that is not withdrawn (by MAJOR.MINOR.PATCH)."""
    return (
        ThemeVersion.objects.select_related("package")
        .defer(*HEAVY_FIELDS)
        .filter(package_id=package_id, is_withdrawn=False)
        .order_by(*LATEST_FIRST)
        .first()
    )


def theme_version_bundle(*, version_id: int, with_assets: bool = True) -> ThemeBundle:
    """A stored version as a bundle (raises ThemeNotAvailable for an unknown id).

    Versions never change, so callers may cache the result by `checksum`. `with_assets=False`
    leaves `assets` empty (rendering needs templates only; assets are served one by one).
    """
    version = theme_version_get(version_id=version_id)
    if version is None:
        raise ThemeNotAvailable()
    assets: dict[str, bytes] = {}
    if with_assets:
        assets = {
            path: bytes(content)
            for path, content in ThemeAsset.objects.filter(version_id=version_id)
            .order_by("path")
            .values_list("path", "content")
        }
    manifest = version.manifest
    return ThemeBundle(
        handle=version.package.handle,
        name=label_dict(manifest.get("name", {})),
        version=version.version,
        description=label_dict(manifest.get("description", {})),
        author=str(manifest.get("author", "")),
        manifest=manifest,
        templates=dict(version.templates),
        assets=assets,
        locales=dict(version.locales),
        checksum=version.checksum,
    )


def theme_asset_get(*, version_id: int, path: str) -> tuple[bytes, str] | None:
    """A file of the version's assets ("theme.css") and its content type; None if missing."""
    row = (
        ThemeAsset.objects.filter(version_id=version_id, path=path)
        .values_list("content", "content_type")
        .first()
    )
    if row is None:
        return None
    return bytes(row[0]), str(row[1])


def theme_package_available(*, tenant: Tenant, package: ThemePackage) -> bool:
    """Whether the shop may use the package: a built-in one, or one of the shop's agency."""
    if package.source == ThemeSource.BUILTIN:
        return True
    return tenant.agency_id is not None and package.agency_id == tenant.agency_id


def _visible_to(tenant: Tenant) -> Q:
    visible = Q(package__source=ThemeSource.BUILTIN)
    if tenant.agency_id is not None:
        visible |= Q(package__source=ThemeSource.AGENCY, package__agency_id=tenant.agency_id)
    return visible


def theme_versions_for_tenant(*, tenant: Tenant) -> list[ThemeVersion]:
    """The themes the shop may install: each package's latest version that is not withdrawn.

    Built-in themes first, then the shop's agency's own; by handle within each (one query).
    """
    latest = (
        ThemeVersion.objects.select_related("package")
        .defer(*HEAVY_FIELDS)
        .filter(_visible_to(tenant), is_withdrawn=False)
        .order_by("package_id", *LATEST_FIRST)
        .distinct("package_id")
    )
    return sorted(
        latest,
        key=lambda version: (
            version.package.source != ThemeSource.BUILTIN,
            version.package.handle,
        ),
    )


def theme_version_for_tenant(*, tenant: Tenant, version_id: int) -> ThemeVersion | None:
    """A version the shop may install (not withdrawn); None otherwise."""
    version = theme_version_get(version_id=version_id)
    if version is None or version.is_withdrawn:
        return None
    if not theme_package_available(tenant=tenant, package=version.package):
        return None
    return version


def theme_packages_for_agency(*, agency_id: int) -> list[ThemePackage]:
    """The agency's packages by handle, each with `versions` newest first (light fields)."""
    versions = (
        ThemeVersion.objects.defer("manifest", *HEAVY_FIELDS)
        .select_related("uploaded_by")
        .order_by(*LATEST_FIRST)
    )
    return list(
        ThemePackage.objects.filter(agency_id=agency_id)
        .order_by("handle")
        .prefetch_related(Prefetch("versions", queryset=versions))
    )


def theme_agency_get(*, agency_id: int, account_id: int) -> Agency | None:
    """The agency, if the account works for it; None otherwise."""
    return Agency.objects.filter(pk=agency_id, memberships__account_id=account_id).first()


def theme_agency_client_shops(*, agency_id: int) -> QuerySet[Tenant]:
    """The shops the agency runs, by name."""
    return Tenant.objects.filter(agency_id=agency_id).order_by("name", "pk")


@dataclass(frozen=True)
class InstalledTheme:
    """The theme a shop uses (read from its schema)."""

    package_id: int
    version_id: int
    handle: str
    version: str


def theme_installed_in_shops(*, tenants: list[Tenant]) -> dict[int, InstalledTheme | None]:
    """The theme each shop uses (by tenant id; None before any install).

    Reads each shop's own schema (one search_path switch and one query per shop).
    """
    from themes.storefront.selectors import storefront_installed_theme

    installed: dict[int, InstalledTheme | None] = {}
    for tenant in tenants:
        with tenant_schema(tenant):
            install = storefront_installed_theme()
        installed[tenant.pk] = (
            None
            if install is None
            else InstalledTheme(
                package_id=int(install.package_id),
                version_id=int(install.version_id),
                handle=str(install.handle),
                version=str(install.version),
            )
        )
    return installed
