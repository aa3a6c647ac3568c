"""The base of every domain exception: a stable code, a human message, optional field errors."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


class DomainError(Exception):
    """An error a caller can act on; `code` is stable snake_case, `message` is translated."""

    code = "error"
    status_code = 400
    default_message = "The request could not be completed."

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        fields: dict[str, list[dict[str, str]]] | None = None,
    ) -> None:
        self.message = str(message if message is not None else self.default_message)
        if code is not None:
            self.code = code
        self.fields = fields or {}
        super().__init__(self.message)


class ValidationFailed(DomainError):
    code = "validation_failed"
    status_code = 400
    default_message = "Some fields are not valid."


class NotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_message = "Not found."


class PermissionDenied(DomainError):
    code = "permission_denied"
    status_code = 403
    default_message = "You do not have permission to do this."


class Conflict(DomainError):
    code = "conflict"
    status_code = 409
    default_message = "The request conflicts with the current state."


def validation_error_items(error: ValidationError) -> list[dict[str, str]]:
    """A Django ValidationError as [{"code", "message"}] items of the API error format."""
    return [
        {"code": str(item.code or "invalid"), "message": str(item.message % (item.params or {}))}
        for item in error.error_list
    ]
