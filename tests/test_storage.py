"""File paths carry the shop: MEDIA_ROOT/<schema>/… on disk, <bucket>/<schema>/… on S3 (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.db import connection
from django.test import override_settings
from moto.server import ThreadedMotoServer

from infra.storage import TenantS3Storage
from tenants.models import Tenant

BUCKET = "shop-media"
tenant_connection = cast(Any, connection)  # django-tenants' wrapper: set_tenant, schema_name


@pytest.fixture
def media_root(tmp_path: Path) -> Iterator[Path]:
    with override_settings(
        MEDIA_ROOT=tmp_path,
        MEDIA_URL="/media/",
        STORAGES={
            "default": {"BACKEND": "infra.storage.TenantFileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        yield tmp_path


def test_filesystem_storage_saves_under_the_shop_schema(
    media_root: Path, shop: Tenant, other_shop: Tenant
) -> None:
    # when
    name = default_storage.save("logos/logo.txt", ContentFile(b"alpha logo"))
    # then
    assert name == "logos/logo.txt"
    assert (media_root / "shop_alpha" / "logos" / "logo.txt").read_bytes() == b"alpha logo"
    assert default_storage.url(name) == "/media/shop_alpha/logos/logo.txt"
    assert default_storage.exists(name)
    assert sorted(path.name for path in media_root.iterdir()) == ["shop_alpha"]


def test_filesystem_storage_of_another_shop_does_not_see_the_file(
    media_root: Path, shop: Tenant, other_shop: Tenant
) -> None:
    # given
    default_storage.save("logos/logo.txt", ContentFile(b"alpha logo"))
    # when
    tenant_connection.set_tenant(other_shop)
    seen_by_beta = default_storage.exists("logos/logo.txt")
    beta_name = default_storage.save("logos/logo.txt", ContentFile(b"beta logo"))
    # then
    assert seen_by_beta is False
    assert beta_name == "logos/logo.txt"
    assert (media_root / "shop_beta" / "logos" / "logo.txt").read_bytes() == b"beta logo"
    assert (media_root / "shop_alpha" / "logos" / "logo.txt").read_bytes() == b"alpha logo"


def test_filesystem_storage_of_the_platform_uses_the_public_folder(
    media_root: Path, public: None
) -> None:
    # when
    name = default_storage.save("themes/package.zip", ContentFile(b"zip"))
    # then
    assert (media_root / "public" / name).read_bytes() == b"zip"
    assert default_storage.url(name) == "/media/public/themes/package.zip"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(moto_endpoint: str) -> Iterator[Any]:
    """A fresh bucket on the fake S3 and default_storage pointed at it; yields a boto3 client."""
    credentials = {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "region_name": "us-east-1",
    }
    client = boto3.client("s3", endpoint_url=moto_endpoint, **credentials)
    client.create_bucket(Bucket=BUCKET)
    with override_settings(
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_S3_ENDPOINT_URL=moto_endpoint,
        AWS_S3_REGION_NAME="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_S3_ADDRESSING_STYLE="path",
        AWS_QUERYSTRING_AUTH=True,
        STORAGES={
            "default": {"BACKEND": "infra.storage.TenantS3Storage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client: Any) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_s3_storage_saves_under_the_shop_schema_prefix(s3: Any, shop: Tenant) -> None:
    # when
    name = default_storage.save("logos/logo.txt", ContentFile(b"alpha logo"))
    # then
    assert isinstance(storages["default"], TenantS3Storage)
    assert name == "logos/logo.txt"
    assert _keys(s3) == ["shop_alpha/logos/logo.txt"]
    body = s3.get_object(Bucket=BUCKET, Key="shop_alpha/logos/logo.txt")["Body"].read()
    assert body == b"alpha logo"
    assert default_storage.exists(name) is True


def test_s3_storage_url_is_presigned_and_serves_the_file(
    s3: Any, moto_endpoint: str, shop: Tenant
) -> None:
    # given
    name = default_storage.save("logos/logo.txt", ContentFile(b"alpha logo"))
    # when
    url = default_storage.url(name)
    # then
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == moto_endpoint
    assert parts.path == f"/{BUCKET}/shop_alpha/logos/logo.txt"
    query = parse_qs(parts.query)
    assert (query["X-Amz-Algorithm"], query["X-Amz-Expires"]) == (["AWS4-HMAC-SHA256"], ["3600"])
    assert len(query["X-Amz-Signature"][0]) == 64
    fetched = requests.get(url, timeout=10)
    assert (fetched.status_code, fetched.content) == (200, b"alpha logo")


def test_s3_storage_of_another_shop_does_not_see_the_file(
    s3: Any, shop: Tenant, other_shop: Tenant
) -> None:
    # given
    default_storage.save("logos/logo.txt", ContentFile(b"alpha logo"))
    # when
    tenant_connection.set_tenant(other_shop)
    seen_by_beta = default_storage.exists("logos/logo.txt")
    listed_by_beta = default_storage.listdir("logos")
    default_storage.save("logos/logo.txt", ContentFile(b"beta logo"))
    # then
    assert seen_by_beta is False
    assert listed_by_beta == ([], [])
    assert _keys(s3) == ["shop_alpha/logos/logo.txt", "shop_beta/logos/logo.txt"]
    body = s3.get_object(Bucket=BUCKET, Key="shop_alpha/logos/logo.txt")["Body"].read()
    assert body == b"alpha logo"
