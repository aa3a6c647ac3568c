"""Theme packages in the control plane: built-in sync, agency uploads and versions, installs."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.db import tenant_schema
from infra.errors import PermissionDenied
from tenants.models import Account, Agency, AuditLog, Tenant
from tenants.services.agencies import agency_create
from tenants.services.audit import AuditContext
from tests.support.threads import committed, run_in_threads
from themes.manifest import ThemePackageInvalid, package_files_from_directory, package_validate
from themes.packages.errors import (
    ThemeNotAvailable,
    ThemeVersionConflict,
    ThemeVersionExists,
    ThemeVersionNotNewer,
    ThemeVersionWithdrawn,
)
from themes.packages.models import ThemeAsset, ThemePackage, ThemeSource, ThemeVersion
from themes.packages.selectors import (
    theme_asset_get,
    theme_latest_version,
    theme_version_bundle,
    theme_versions_for_tenant,
)
from themes.packages.services import (
    theme_agency_upload,
    theme_builtin_default_version,
    theme_builtin_sync,
    theme_install,
)
from themes.storefront.selectors import storefront_installed_theme

MINIMAL = Path(__file__).parent / "packages" / "minimal"
SHIPPED = Path(__file__).resolve().parents[2] / "themes" / "packages" / "builtin"


def _files(
    *, version: str = "1.0.0", handle: str = "minimal", css: bytes | None = None
) -> dict[str, bytes]:
    files = package_files_from_directory(MINIMAL)
    manifest = json.loads(files["manifest.json"])
    manifest["version"] = version
    manifest["handle"] = handle
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    if css is not None:
        files["assets/theme.css"] = css
    return files


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return buffer.getvalue()


def _builtin_root(
    tmp_path: Path, *, version: str = "1.0.0", handle: str = "minimal", css: bytes | None = None
) -> Path:
    """A built-in themes folder holding the minimal theme as `minimal/`."""
    folder = tmp_path / "builtin" / "minimal"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path, content in _files(version=version, handle=handle, css=css).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(content)
    return tmp_path / "builtin"


def _agency(email: str, name: str) -> tuple[Agency, Account]:
    account = Account.objects.create_user(email=email, password="long-password-1")
    agency = agency_create(name=name, owner=account, context=AuditContext.system())
    return agency, account


def _upload(
    agency: Agency,
    account: Account,
    *,
    version: str = "1.0.0",
    handle: str = "minimal",
    css: bytes | None = None,
) -> ThemeVersion:
    return theme_agency_upload(
        agency_id=agency.pk,
        account_id=account.pk,
        data=_zip(_files(version=version, handle=handle, css=css)),
        context=AuditContext(actor_id=account.pk),
    )


def _client_of(tenant: Tenant, agency: Agency) -> Tenant:
    Tenant.objects.filter(pk=tenant.pk).update(agency=agency)
    return Tenant.objects.get(pk=tenant.pk)


# --- Built-in themes


def test_builtin_sync_stores_each_theme_once(tmp_path: Path, public: None) -> None:
    # given
    root = _builtin_root(tmp_path)
    # when
    first = theme_builtin_sync(root=root)
    second = theme_builtin_sync(root=root)
    # then
    assert [version.pk for version in first] == [version.pk for version in second]
    package = ThemePackage.objects.get(handle="minimal", agency__isnull=True)
    assert (package.source, package.name) == (
        ThemeSource.BUILTIN,
        {"en": "Minimal", "zh-Hans": "极简"},
    )
    assert list(package.versions.values_list("version", flat=True)) == ["1.0.0"]
    assert list(ThemeAsset.objects.filter(version=first[0]).values_list("path", "size")) == [
        ("theme.css", 20)
    ]


def test_a_builtin_theme_changed_without_a_new_version_is_refused(
    tmp_path: Path, public: None
) -> None:
    # given
    theme_builtin_sync(root=_builtin_root(tmp_path))
    stored = ThemeVersion.objects.get(package__handle="minimal", package__agency__isnull=True)
    changed = _builtin_root(tmp_path, css=b"body { margin: 2px; }\n")
    # when
    with pytest.raises(ThemeVersionConflict) as caught:
        theme_builtin_sync(root=changed)
    # then
    assert caught.value.code == "theme_version_conflict"
    assert list(ThemeVersion.objects.filter(package=stored.package)) == [stored]
    assert theme_asset_get(version_id=stored.pk, path="theme.css") == (
        b"body { margin: 0; }\n",
        "text/css; charset=utf-8",
    )


def test_a_bumped_builtin_theme_adds_a_version(tmp_path: Path, public: None) -> None:
    # given
    (old,) = theme_builtin_sync(root=_builtin_root(tmp_path))
    # when
    (new,) = theme_builtin_sync(root=_builtin_root(tmp_path, version="1.0.1", css=b"p{}"))
    # then
    assert new.pk != old.pk
    assert new.package_id == old.package_id
    latest = theme_latest_version(package_id=old.package_id)
    assert latest is not None
    assert latest.pk == new.pk


def test_a_builtin_folder_must_be_named_after_its_handle(tmp_path: Path, public: None) -> None:
    # given
    root = _builtin_root(tmp_path, handle="other")
    # when
    with pytest.raises(ThemePackageInvalid) as caught:
        theme_builtin_sync(root=root)
    # then
    assert [(p.file, p.code) for p in caught.value.problems] == [
        ("manifest.json", "handle_mismatch")
    ]
    assert not ThemePackage.objects.filter(handle__in=["other", "minimal"]).exists()


def test_the_default_theme_is_stored_on_first_use(tmp_path: Path, public: None) -> None:
    # given a built-in folder whose default theme ("daily") is not stored yet
    folder = tmp_path / "builtin" / "daily"
    folder.mkdir(parents=True)
    for path, content in _files(handle="daily", version="7.0.0").items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(content)
    # when
    first = theme_builtin_default_version(root=tmp_path / "builtin")
    again = theme_builtin_default_version(root=tmp_path / "builtin")
    # then
    assert (first.package.handle, first.version, first.package.agency_id) == (
        "daily",
        "7.0.0",
        None,
    )
    assert again.pk == first.pk
    assert ThemeVersion.objects.filter(package=first.package, version="7.0.0").count() == 1


def test_the_shipped_builtin_themes_are_valid_and_stored(public: None) -> None:
    # when
    versions = theme_builtin_sync(root=SHIPPED)
    # then every folder is a valid theme, stored as built-in, the default among them
    handles = [version.package.handle for version in versions]
    folders = [path.name for path in SHIPPED.iterdir() if path.is_dir()]
    assert handles == sorted(name for name in folders if not name.startswith((".", "_")))
    assert "daily" in handles
    assert {version.package.source for version in versions} == {ThemeSource.BUILTIN}


@pytest.fixture
def race_root(tmp_path: Path, db: None) -> Iterator[Path]:
    yield _builtin_root(tmp_path, handle="minimal")

    def cleanup() -> None:
        packages = ThemePackage.objects.filter(handle="minimal", agency__isnull=True)
        ThemeAsset.objects.filter(version__package__in=packages).delete()
        ThemeVersion.objects.filter(package__in=packages).delete()
        packages.delete()

    committed(cleanup)


@pytest.mark.serial
def test_concurrent_builtin_syncs_store_one_version(race_root: Path) -> None:
    # when two processes sync the same theme at once
    results = run_in_threads([lambda: theme_builtin_sync(root=race_root)] * 2)
    # then both get the one stored version
    assert not [result for result in results if isinstance(result, BaseException)], results
    assert results[0][0].pk == results[1][0].pk
    counts = committed(
        lambda: (
            ThemePackage.objects.filter(handle="minimal", agency__isnull=True).count(),
            ThemeVersion.objects.filter(package__handle="minimal").count(),
            ThemeAsset.objects.filter(version__package__handle="minimal").count(),
        )
    )
    assert counts == (1, 1, 1)


# --- Agency uploads


def test_an_agency_uploads_a_theme_and_a_newer_version(public: None) -> None:
    # given
    agency, account = _agency("agent@example.com", "Blue Agency")
    # when
    first = _upload(agency, account, version="1.9.0")
    second = _upload(agency, account, version="1.10.0")
    # then
    package = ThemePackage.objects.get(agency=agency, handle="minimal")
    assert package.source == ThemeSource.AGENCY
    assert (first.package_id, second.package_id) == (package.pk, package.pk)
    assert second.uploaded_by_id == account.pk
    latest = theme_latest_version(package_id=package.pk)
    assert latest is not None
    assert latest.version == "1.10.0"
    rows = AuditLog.objects.filter(action="theme.uploaded").order_by("id")
    assert [(row.actor_id, row.target_id, row.data["version"]) for row in rows] == [
        (account.pk, str(first.pk), "1.9.0"),
        (account.pk, str(second.pk), "1.10.0"),
    ]


def test_the_stored_bundle_is_the_uploaded_package(public: None) -> None:
    # given
    agency, account = _agency("agent@example.com", "Blue Agency")
    version = _upload(agency, account)
    # when
    bundle = theme_version_bundle(version_id=version.pk)
    # then
    assert bundle == package_validate(_files())
    assert theme_version_bundle(version_id=version.pk, with_assets=False).assets == {}
    assert theme_asset_get(version_id=version.pk, path="missing.css") is None


def test_the_same_version_cannot_be_uploaded_twice(public: None) -> None:
    # given
    agency, account = _agency("agent@example.com", "Blue Agency")
    stored = _upload(agency, account, version="1.2.0")
    # when
    with pytest.raises(ThemeVersionExists) as caught:
        _upload(agency, account, version="1.2.0", css=b"p{}")
    # then
    assert (caught.value.code, caught.value.status_code) == ("theme_version_exists", 409)
    assert list(ThemeVersion.objects.filter(package__agency=agency)) == [stored]
    assert AuditLog.objects.filter(action="theme.uploaded").count() == 1


def test_a_version_below_the_latest_is_refused(public: None) -> None:
    # given
    agency, account = _agency("agent@example.com", "Blue Agency")
    stored = _upload(agency, account, version="1.2.0")
    # when
    with pytest.raises(ThemeVersionNotNewer) as caught:
        _upload(agency, account, version="1.1.9")
    # then
    assert caught.value.code == "theme_version_not_newer"
    assert list(ThemeVersion.objects.filter(package__agency=agency)) == [stored]


def test_an_invalid_package_stores_nothing(public: None) -> None:
    # given
    agency, account = _agency("agent@example.com", "Blue Agency")
    files = _files()
    files["templates/home.liquid"] = b"{% if %}"
    # when
    with pytest.raises(ThemePackageInvalid) as caught:
        theme_agency_upload(
            agency_id=agency.pk,
            account_id=account.pk,
            data=_zip(files),
            context=AuditContext.system(),
        )
    # then
    assert [(p.file, p.line, p.code) for p in caught.value.problems] == [
        ("templates/home.liquid", 1, "liquid_syntax")
    ]
    assert not ThemePackage.objects.filter(agency=agency).exists()
    assert not AuditLog.objects.filter(action="theme.uploaded").exists()


def test_only_the_agency_staff_may_upload(public: None) -> None:
    # given
    agency, _owner = _agency("agent@example.com", "Blue Agency")
    _other, outsider = _agency("other@example.com", "Red Agency")
    # when
    with pytest.raises(PermissionDenied):
        _upload(agency, outsider)
    # then
    assert not ThemePackage.objects.filter(agency=agency).exists()


def test_handles_belong_to_their_owner(tmp_path: Path, public: None) -> None:
    # given
    blue, blue_account = _agency("agent@example.com", "Blue Agency")
    red, red_account = _agency("other@example.com", "Red Agency")
    theme_builtin_sync(root=_builtin_root(tmp_path))
    # when
    _upload(blue, blue_account)
    _upload(red, red_account)
    # then
    owners = ThemePackage.objects.filter(handle="minimal").values_list("agency_id", flat=True)
    assert sorted(owners, key=lambda value: value or 0) == [None, blue.pk, red.pk]


# --- What a shop may install


def test_a_shop_sees_builtin_themes_and_its_agency_themes_latest_versions(
    tmp_path: Path, shops: dict[str, Tenant], public: None
) -> None:
    # given
    blue, blue_account = _agency("agent@example.com", "Blue Agency")
    red, red_account = _agency("other@example.com", "Red Agency")
    (builtin,) = theme_builtin_sync(root=_builtin_root(tmp_path))
    _upload(blue, blue_account, handle="blue-theme", version="1.0.0")
    blue_latest = _upload(blue, blue_account, handle="blue-theme", version="1.1.0")
    withdrawn = _upload(blue, blue_account, handle="blue-theme", version="1.2.0")
    ThemeVersion.objects.filter(pk=withdrawn.pk).update(is_withdrawn=True)
    _upload(red, red_account, handle="red-theme")
    client = _client_of(shops["alpha"], blue)
    # when
    visible = theme_versions_for_tenant(tenant=client)
    alone = theme_versions_for_tenant(tenant=shops["beta"])
    # then
    builtin_ids = {version.pk for version in alone}
    assert builtin.pk in builtin_ids
    assert all(version.package.source == ThemeSource.BUILTIN for version in alone)
    assert [version.pk for version in visible] == [*(v.pk for v in alone), blue_latest.pk]


def test_another_agencys_theme_cannot_be_installed(shops: dict[str, Tenant], public: None) -> None:
    # given
    blue, _blue_account = _agency("agent@example.com", "Blue Agency")
    red, red_account = _agency("other@example.com", "Red Agency")
    foreign = _upload(red, red_account, handle="red-theme")
    client = _client_of(shops["alpha"], blue)
    with tenant_schema(client):
        before = storefront_installed_theme()
    audits = AuditLog.objects.count()
    # when
    with pytest.raises(ThemeNotAvailable) as caught:
        theme_install(tenant=client, version_id=foreign.pk, actor="account:1")
    # then
    assert (caught.value.code, caught.value.status_code) == ("theme_not_available", 404)
    with tenant_schema(client):
        after = storefront_installed_theme()
    assert (after.pk if after else None) == (before.pk if before else None)
    assert AuditLog.objects.count() == audits


def test_an_unknown_or_withdrawn_version_cannot_be_installed(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    blue, account = _agency("agent@example.com", "Blue Agency")
    version = _upload(blue, account)
    ThemeVersion.objects.filter(pk=version.pk).update(is_withdrawn=True)
    client = _client_of(shops["alpha"], blue)
    # when
    with pytest.raises(ThemeVersionWithdrawn) as withdrawn:
        theme_install(tenant=client, version_id=version.pk, actor="account:1")
    with pytest.raises(ThemeNotAvailable) as unknown:
        theme_install(tenant=client, version_id=version.pk + 1000, actor="account:1")
    # then
    assert (withdrawn.value.code, unknown.value.code) == (
        "theme_version_withdrawn",
        "theme_not_available",
    )


def test_an_agency_installs_its_theme_into_a_client_shop(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    blue, account = _agency("agent@example.com", "Blue Agency")
    version = _upload(blue, account)
    client = _client_of(shops["alpha"], blue)
    context = AuditContext(actor_id=account.pk)
    # when
    theme_install(
        tenant=client,
        version_id=version.pk,
        actor=f"account:{account.pk}",
        context=context,
        publish=True,
    )
    # then
    with tenant_schema(client):
        installed = storefront_installed_theme()
    assert installed is not None
    assert (installed.package_id, installed.version_id, installed.handle, installed.version) == (
        version.package_id,
        version.pk,
        "minimal",
        "1.0.0",
    )
    row = AuditLog.objects.get(action="theme.installed")
    assert (row.tenant_id, row.actor_id, row.target_id) == (client.pk, account.pk, str(version.pk))
