"""Development serves a shop's uploaded files on its own host, and never another shop's."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404
from django.test import RequestFactory, override_settings

from infra import urls_tenant
from infra.db import tenant_schema
from infra.media import media_serve
from tenants.models import Tenant


def test_a_shop_serves_its_own_files_and_not_another_shop_s(
    shops: dict[str, Tenant], public: None, tmp_path: Path
) -> None:
    with override_settings(MEDIA_ROOT=tmp_path):
        # given: a file in alpha's folder
        with tenant_schema(shops["alpha"]):
            name = default_storage.save("products/a.txt", ContentFile(b"alpha's file"))
            url = default_storage.url(name)
        path = url.removeprefix(settings.MEDIA_URL)
        # when / then: alpha's host serves it
        with tenant_schema(shops["alpha"]):
            own = media_serve(RequestFactory().get(url), path)
        assert url == "/media/shop_alpha/products/a.txt"
        assert b"".join(own.streaming_content) == b"alpha's file"  # type: ignore[attr-defined]
        # when / then: beta's host does not, nor a path climbing out of its folder
        with tenant_schema(shops["beta"]), pytest.raises(Http404):
            media_serve(RequestFactory().get(url), path)
        with tenant_schema(shops["beta"]), pytest.raises(Http404):
            media_serve(RequestFactory().get(url), "shop_beta/../shop_alpha/products/a.txt")


def test_the_media_route_exists_only_when_debug_is_on() -> None:
    names = {getattr(pattern, "name", None) for pattern in urls_tenant.urlpatterns}
    assert ("media" in names) is settings.DEBUG
