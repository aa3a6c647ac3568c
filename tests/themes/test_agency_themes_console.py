"""The agency's themes page: upload packages, read problems by file and line, install per shop."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from infra.db import tenant_schema
from tenants.models import Account, Agency, AuditLog, Tenant
from tenants.services.agencies import agency_create
from tenants.services.audit import AuditContext
from tests.support.console import logged_in
from themes.manifest import package_files_from_directory
from themes.packages.models import ThemePackage, ThemeVersion
from themes.packages.services import theme_agency_upload
from themes.storefront.selectors import storefront_installed_theme

MINIMAL = Path(__file__).parent / "packages" / "minimal"


def _zip(*, version: str = "1.0.0", broken: bool = False) -> bytes:
    files = package_files_from_directory(MINIMAL)
    manifest = json.loads(files["manifest.json"])
    manifest["version"] = version
    files["manifest.json"] = json.dumps(manifest, indent=2).encode()
    if broken:
        files["templates/cart.liquid"] = b"<h1>\n{% for item in cart.items %}\n{% endif %}\n"
        files["manifest.json"] = files["manifest.json"].replace(
            b'"version": "1.0.0"', b'"version": "one"'
        )
        del files["templates/login.liquid"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(f"minimal/{path}", content)
    return buffer.getvalue()


def _agency(email: str = "agent@example.com", name: str = "Blue Agency") -> tuple[Agency, Account]:
    account = Account.objects.create_user(email=email, password="long-password-1")
    return agency_create(name=name, owner=account, context=AuditContext.system()), account


def _client_shop(tenant: Tenant, agency: Agency) -> Tenant:
    Tenant.objects.filter(pk=tenant.pk).update(agency=agency)
    return Tenant.objects.get(pk=tenant.pk)


def _upload(client: Client, agency: Agency, data: bytes) -> Any:
    return client.post(
        f"/agency/{agency.pk}/themes/",
        {"file": SimpleUploadedFile("theme.zip", data, content_type="application/zip")},
    )


def _problem_rows(html: str) -> list[tuple[str, str, str]]:
    return re.findall(r'<tr data-file="([^"]*)" data-line="([^"]*)" data-code="([^"]*)">', html)


def test_the_agency_uploads_a_theme_and_sees_it_with_its_client_shops(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    agency, account = _agency()
    _client_shop(shops["alpha"], agency)
    client = logged_in(account)
    # when
    response = _upload(client, agency, _zip())
    page = client.get(f"/agency/{agency.pk}/themes/")
    # then
    assert (response.status_code, response["Location"]) == (302, f"/agency/{agency.pk}/themes/")
    version = ThemeVersion.objects.get(package__agency=agency, package__handle="minimal")
    assert version.uploaded_by_id == account.pk
    html = page.content.decode()
    assert page.status_code == 200
    assert "Theme minimal 1.0.0 is uploaded." in html
    assert 'data-handle="minimal"' in html
    assert 'data-version="1.0.0"' in html
    assert 'data-shop="alpha"' in html
    assert 'data-shop="beta"' not in html
    assert f'name="version_id" value="{version.pk}"' in html
    assert "Install 1.0.0" in html


def test_problems_of_an_invalid_package_are_listed_by_file_and_line(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    agency, account = _agency()
    client = logged_in(account)
    manifest = json.dumps(json.loads((MINIMAL / "manifest.json").read_bytes()), indent=2)
    version_line = manifest.splitlines().index('  "version": "1.0.0",') + 1
    # when
    response = _upload(client, agency, _zip(broken=True))
    # then
    assert response.status_code == 400
    assert _problem_rows(response.content.decode()) == [
        ("manifest.json", str(version_line), "version_invalid"),
        ("templates/cart.liquid", "3", "liquid_syntax"),
        ("templates/login.liquid", "", "file_missing"),
    ]
    assert not ThemePackage.objects.filter(agency=agency).exists()


def test_something_that_is_not_a_zip_is_named_as_the_archive(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    agency, account = _agency()
    # when
    response = _upload(logged_in(account), agency, b"not a zip")
    # then
    assert response.status_code == 400
    assert _problem_rows(response.content.decode()) == [("(archive)", "", "archive_invalid")]


def test_uploading_a_version_twice_says_so_and_stores_nothing(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    agency, account = _agency()
    client = logged_in(account)
    _upload(client, agency, _zip())
    # when
    response = _upload(client, agency, _zip())
    # then
    assert response.status_code == 409
    assert "Version 1.0.0 of this theme is uploaded already." in response.content.decode()
    assert ThemeVersion.objects.filter(package__agency=agency).count() == 1


def test_the_page_is_for_the_agency_staff_only(shops: dict[str, Tenant], public: None) -> None:
    # given
    agency, _account = _agency()
    _other, outsider = _agency("other@example.com", "Red Agency")
    # when
    anonymous = Client().get(f"/agency/{agency.pk}/themes/")
    stranger = logged_in(outsider).get(f"/agency/{agency.pk}/themes/")
    upload = _upload(logged_in(outsider), agency, _zip())
    # then
    assert (anonymous.status_code, anonymous["Location"]) == (
        302,
        f"/login/?next=/agency/{agency.pk}/themes/",
    )
    assert (stranger.status_code, upload.status_code) == (404, 404)
    assert not ThemePackage.objects.filter(agency=agency).exists()


def test_an_update_reaches_a_client_shop_only_when_installed_there(
    shops: dict[str, Tenant], public: None
) -> None:
    # given a shop with version 1.0.0, then version 1.1.0 uploaded
    agency, account = _agency()
    alpha = _client_shop(shops["alpha"], agency)
    client = logged_in(account)
    _upload(client, agency, _zip(version="1.0.0"))
    first = ThemeVersion.objects.get(package__agency=agency, version="1.0.0")
    installed = client.post(
        f"/agency/{agency.pk}/themes/install/",
        {"tenant_id": alpha.pk, "version_id": first.pk, "publish": "on"},
    )
    _upload(client, agency, _zip(version="1.1.0"))
    second = ThemeVersion.objects.get(package__agency=agency, version="1.1.0")
    with tenant_schema(alpha):
        before_update = storefront_installed_theme()
    page = client.get(f"/agency/{agency.pk}/themes/").content.decode()
    # when
    updated = client.post(
        f"/agency/{agency.pk}/themes/install/",
        {"tenant_id": alpha.pk, "version_id": second.pk, "publish": "on"},
    )
    # then
    assert installed.status_code == updated.status_code == 302
    assert before_update is not None
    assert before_update.version_id == first.pk
    assert "Update to 1.1.0" in page
    with tenant_schema(alpha):
        after = storefront_installed_theme()
    assert after is not None
    assert (after.version_id, after.version) == (second.pk, "1.1.0")
    assert "Up to date" in client.get(f"/agency/{agency.pk}/themes/").content.decode()
    assert list(
        AuditLog.objects.filter(action="theme.installed").values_list("target_id", flat=True)
    ) == [str(second.pk), str(first.pk)]


def test_a_shop_outside_the_agency_cannot_be_installed_into(
    shops: dict[str, Tenant], public: None
) -> None:
    # given beta, which the agency does not run
    agency, account = _agency()
    version = theme_agency_upload(
        agency_id=agency.pk,
        account_id=account.pk,
        data=_zip(),
        context=AuditContext.system(),
    )
    beta = shops["beta"]
    with tenant_schema(beta):
        before = storefront_installed_theme()
    # when
    response = logged_in(account).post(
        f"/agency/{agency.pk}/themes/install/",
        {"tenant_id": beta.pk, "version_id": version.pk},
    )
    # then
    assert response.status_code == 404
    with tenant_schema(beta):
        after = storefront_installed_theme()
    assert (after.pk if after else None) == (before.pk if before else None)
    assert not AuditLog.objects.filter(action="theme.installed").exists()


def test_another_agencys_version_cannot_be_installed_into_a_client_shop(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    agency, account = _agency()
    alpha = _client_shop(shops["alpha"], agency)
    red, red_account = _agency("other@example.com", "Red Agency")
    foreign = theme_agency_upload(
        agency_id=red.pk, account_id=red_account.pk, data=_zip(), context=AuditContext.system()
    )
    client = logged_in(account)
    # when
    response = client.post(
        f"/agency/{agency.pk}/themes/install/",
        {"tenant_id": alpha.pk, "version_id": foreign.pk},
        follow=True,
    )
    # then
    assert response.status_code == 200
    assert "This theme is not available to this shop." in response.content.decode()
    assert not AuditLog.objects.filter(action="theme.installed").exists()


def test_the_page_stays_within_its_query_budget(
    shops: dict[str, Tenant], public: None, django_assert_max_num_queries: Any
) -> None:
    # given two client shops and two packages with two versions each
    agency, account = _agency()
    _client_shop(shops["alpha"], agency)
    _client_shop(shops["beta"], agency)
    client = logged_in(account)
    for version in ("1.0.0", "1.1.0"):
        _upload(client, agency, _zip(version=version))
    client.get(f"/agency/{agency.pk}/themes/")  # warm
    # when: 7 queries, and per client shop a search_path switch and one query in its schema
    with django_assert_max_num_queries(7 + 2 * 2):
        response = client.get(f"/agency/{agency.pk}/themes/")
    # then
    assert response.status_code == 200
