"""Uploaded files in development: served from MEDIA_ROOT, each shop only its own folder.

Production keeps files in S3 (presigned URLs); this view is routed only when DEBUG is on.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseBase
from django.views.static import serve

from infra.db import schema_connection


def media_serve(request: HttpRequest, path: str) -> HttpResponseBase:
    """A file of the current shop (its schema's folder); 404 for another shop's files."""
    folder = f"{schema_connection().schema_name}/"
    if not path.startswith(folder) or ".." in path.split("/"):
        raise Http404
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))
