"""One error format for every API (ARCHITECTURE §3).

{"error": {"code": "<stable_snake_case>", "message": "<human, translated>",
           "fields": {"<field>": [{"code": ..., "message": ...}]}}}
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from infra.errors import DomainError

_CODES_BY_EXCEPTION: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
}


def error_body(
    code: str, message: str, fields: dict[str, list[dict[str, str]]] | None = None
) -> dict[str, Any]:
    """The error envelope."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _field_errors(detail: Any, prefix: str = "") -> dict[str, list[dict[str, str]]]:
    """Flatten DRF's nested ErrorDetail structure into {"a.b": [{"code", "message"}]}."""
    fields: dict[str, list[dict[str, str]]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                name = prefix or "non_field_errors"
            for field, errors in _field_errors(value, name).items():
                fields.setdefault(field, []).extend(errors)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, (dict, list)):
                for field, errors in _field_errors(item, f"{prefix}.{index}").items():
                    fields.setdefault(field, []).extend(errors)
            else:
                fields.setdefault(prefix or "non_field_errors", []).append(
                    {"code": str(getattr(item, "code", "invalid")), "message": str(item)}
                )
    else:
        fields.setdefault(prefix or "non_field_errors", []).append(
            {"code": str(getattr(detail, "code", "invalid")), "message": str(detail)}
        )
    return fields


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, answering in our envelope; domain errors keep their codes."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(
            "validation_failed", _("Some fields are not valid."), _field_errors(exc.detail)
        )
    else:
        code = _CODES_BY_EXCEPTION.get(type(exc)) or str(getattr(exc, "default_code", "error"))
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (dict, list)) else _("Request failed.")
        body = error_body(code, message)
    response.data = body
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response.status_code = status.HTTP_403_FORBIDDEN
    return response
