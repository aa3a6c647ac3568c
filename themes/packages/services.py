"""Writes of theme packages: shipping the built-in themes, agency uploads, installs into shops."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from infra.db import tenant_schema
from infra.errors import PermissionDenied
from tenants.models import AgencyMembership, Tenant
from tenants.services.audit import (
    AuditContext,
    audit_record,
    audited,
    orchestrator,
    unaudited,
)
from themes.manifest import (
    ASSET_CONTENT_TYPES,
    MANIFEST,
    PackageProblem,
    ThemeBundle,
    ThemePackageInvalid,
    package_files_from_directory,
    package_files_from_zip,
    package_validate,
    version_key,
)
from themes.packages.errors import (
    ThemeNotAvailable,
    ThemeVersionConflict,
    ThemeVersionExists,
    ThemeVersionNotNewer,
    ThemeVersionWithdrawn,
)
from themes.packages.models import ThemeAsset, ThemePackage, ThemeSource, ThemeVersion
from themes.packages.selectors import (
    LATEST_FIRST,
    theme_latest_version,
    theme_package_available,
    theme_version_bundle,
)

logger = logging.getLogger(__name__)

BUILTIN_ROOT = Path(__file__).resolve().parent / "builtin"
DEFAULT_BUILTIN_HANDLE = "daily"


def _version_create(
    *, package: ThemePackage, bundle: ThemeBundle, uploaded_by_id: int | None
) -> ThemeVersion:
    major, minor, patch = version_key(bundle.version)
    version = ThemeVersion.objects.create(
        package=package,
        version=bundle.version,
        version_major=major,
        version_minor=minor,
        version_patch=patch,
        manifest=bundle.manifest,
        templates=bundle.templates,
        locales=bundle.locales,
        checksum=bundle.checksum,
        uploaded_by_id=uploaded_by_id,
    )
    _assets_create(version, bundle)
    return version


def _assets_create(version: ThemeVersion, bundle: ThemeBundle) -> None:
    ThemeAsset.objects.bulk_create(
        ThemeAsset(
            version=version,
            path=path,
            content=content,
            content_type=ASSET_CONTENT_TYPES[PurePosixPath(path).suffix.lower()],
            size=len(content),
        )
        for path, content in bundle.assets.items()
    )


def _newest(package: ThemePackage) -> ThemeVersion | None:
    """The package's greatest version, withdrawn or not (version numbers are never reused)."""
    return (
        ThemeVersion.objects.filter(package=package)
        .only("version", "version_major", "version_minor", "version_patch")
        .order_by(*LATEST_FIRST)
        .first()
    )


# --- Built-in themes


def _builtin_bundle(directory: Path) -> ThemeBundle:
    bundle = package_validate(package_files_from_directory(directory))
    if bundle.handle != directory.name:
        raise ThemePackageInvalid(
            [
                PackageProblem(
                    MANIFEST,
                    None,
                    "handle_mismatch",
                    _("A built-in theme's handle is the name of its folder (%(name)s).")
                    % {"name": directory.name},
                )
            ]
        )
    return bundle


@functools.cache
def _builtin_bundle_cached(directory: Path) -> ThemeBundle:
    # Built-in themes change with a deployment, which restarts the processes.
    return _builtin_bundle(directory)


def _builtin_store(bundle: ThemeBundle) -> ThemeVersion:
    """The stored version of a built-in bundle, created when missing (safe against races)."""
    with transaction.atomic():
        package, _created = ThemePackage.objects.get_or_create(
            agency=None,
            handle=bundle.handle,
            defaults={"source": ThemeSource.BUILTIN, "name": bundle.name},
        )
        # Serialises syncs of one theme, so that its version and assets arrive together.
        ThemePackage.objects.select_for_update().filter(pk=package.pk).first()
        version = ThemeVersion.objects.filter(package=package, version=bundle.version).first()
        if version is None:
            newest = _newest(package)
            version = _version_create(package=package, bundle=bundle, uploaded_by_id=None)
            if newest is None or version_key(newest.version) < version_key(bundle.version):
                ThemePackage.objects.filter(pk=package.pk).update(name=bundle.name)
    if version.checksum != bundle.checksum:
        if not settings.DEBUG:
            raise ThemeVersionConflict(
                f"The built-in theme {bundle.handle} {bundle.version} changed: bump its version."
            )
        # Development (make dev keeps its database): a theme being worked on is stored as it
        # is now. Deployments never get here unnoticed: tests/themes/test_builtin_lock.py fails
        # on a changed theme whose version was not bumped.
        logger.warning("built-in theme %s %s changed in place", bundle.handle, bundle.version)
        with transaction.atomic():
            ThemeVersion.objects.filter(pk=version.pk).update(
                manifest=bundle.manifest,
                templates=bundle.templates,
                locales=bundle.locales,
                checksum=bundle.checksum,
            )
            ThemeAsset.objects.filter(version=version).delete()
            _assets_create(version, bundle)
        version.refresh_from_db()
    return version


def _builtin_directories(root: Path) -> list[Path]:
    return sorted(
        path for path in root.iterdir() if path.is_dir() and not path.name.startswith((".", "_"))
    )


@unaudited("ships the platform's own themes from its source tree; no person acts")
def theme_builtin_sync(
    *, root: Path | None = None, handles: Sequence[str] | None = None
) -> list[ThemeVersion]:
    """Store every built-in theme under `root` (default themes/packages/builtin/) as shipped.

    Each folder is validated (ThemePackageInvalid when broken) and stored once per version;
    running it again stores nothing. A folder whose version is stored with other content
    raises ThemeVersionConflict: its author must bump the version. Returns the versions as
    shipped, in folder order (only those of `handles` when given).
    """
    return [
        _builtin_store(_builtin_bundle(directory))
        for directory in _builtin_directories(root or BUILTIN_ROOT)
        if handles is None or directory.name in handles
    ]


@unaudited("ships the platform's own default theme; no person acts")
def theme_builtin_default_version(*, root: Path | None = None) -> ThemeVersion:
    """The default theme's ("daily") latest version, stored first when it is not yet.

    New shops start with it (tenant provisioning installs it).
    """
    directory = (root or BUILTIN_ROOT) / DEFAULT_BUILTIN_HANDLE
    # Development reads the folder each time (a theme being edited); elsewhere once.
    bundle = _builtin_bundle(directory) if settings.DEBUG else _builtin_bundle_cached(directory)
    stored = ThemeVersion.objects.filter(
        package__agency__isnull=True, package__handle=bundle.handle, version=bundle.version
    ).first()
    if stored is None or stored.checksum != bundle.checksum:
        stored = _builtin_store(bundle)
    latest = theme_latest_version(package_id=stored.package_id)
    return latest or stored


# --- Agency uploads


@orchestrator
def theme_agency_upload(
    *, agency_id: int, account_id: int, data: bytes, context: AuditContext
) -> ThemeVersion:
    """Store a zipped theme package uploaded by an agency's staff as a new version.

    Raises ThemePackageInvalid (every problem, with file and line), ThemeVersionExists for a
    version already uploaded, ThemeVersionNotNewer for one not above the latest.
    """
    if not AgencyMembership.objects.filter(agency_id=agency_id, account_id=account_id).exists():
        raise PermissionDenied(_("Only the agency's staff can upload its themes."))
    # Validation (parsing every template) runs before any transaction or lock.
    bundle = package_validate(package_files_from_zip(data))
    return _agency_version_store(
        agency_id=agency_id, account_id=account_id, bundle=bundle, context=context
    )


@audited
def _agency_version_store(
    *, agency_id: int, account_id: int, bundle: ThemeBundle, context: AuditContext
) -> ThemeVersion:
    package, created = ThemePackage.objects.get_or_create(
        agency_id=agency_id,
        handle=bundle.handle,
        defaults={"source": ThemeSource.AGENCY, "name": bundle.name},
    )
    # Uploads of one theme take turns: the "newer than the latest" check holds until commit.
    package = ThemePackage.objects.select_for_update().get(pk=package.pk)
    if ThemeVersion.objects.filter(package=package, version=bundle.version).exists():
        raise ThemeVersionExists(
            _("Version %(version)s of this theme is uploaded already.")
            % {"version": bundle.version}
        )
    newest = _newest(package)
    if newest is not None and version_key(bundle.version) <= version_key(newest.version):
        raise ThemeVersionNotNewer(
            _("The version must be greater than %(version)s.") % {"version": newest.version}
        )
    try:
        with transaction.atomic():
            version = _version_create(package=package, bundle=bundle, uploaded_by_id=account_id)
    except IntegrityError as error:
        raise ThemeVersionExists() from error
    package.name = bundle.name
    package.save(update_fields=["name"])
    audit_record(
        context=context,
        action="theme.uploaded",
        target=version,
        data={
            "agency_id": agency_id,
            "handle": bundle.handle,
            "version": bundle.version,
            "checksum": bundle.checksum,
            "new_package": created,
        },
    )
    return version


# --- Installs


@audited
def theme_install(
    *,
    tenant: Tenant,
    version_id: int,
    actor: str,
    context: AuditContext | None = None,
    publish: bool = False,
) -> None:
    """Install a version into the shop (its draft switches to it; see storefront_theme_install).

    Raises ThemeNotAvailable for an unknown version or another agency's theme, and
    ThemeVersionWithdrawn for a withdrawn one. Nothing updates by itself: an agency or the
    merchant installs each new version into each shop. `actor` is recorded in the shop
    ("account:<id>", "system").
    """
    from themes.storefront.services.install import storefront_theme_install

    version = ThemeVersion.objects.select_related("package").filter(pk=version_id).first()
    if version is None or not theme_package_available(tenant=tenant, package=version.package):
        raise ThemeNotAvailable()
    if version.is_withdrawn:
        raise ThemeVersionWithdrawn()
    bundle = theme_version_bundle(version_id=version.pk)
    with tenant_schema(tenant):
        storefront_theme_install(
            bundle=bundle,
            package_id=version.package_id,
            version_id=version.pk,
            source=str(version.package.source),
            actor=actor,
            publish=publish,
        )
    audit_record(
        context=context or AuditContext.system(),
        action="theme.installed",
        tenant=tenant,
        target=version,
        data={
            "handle": bundle.handle,
            "version": bundle.version,
            "publish": publish,
            "actor": actor,
        },
    )
