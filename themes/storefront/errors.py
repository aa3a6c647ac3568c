"""Storefront design errors with stable codes (console forms and the API show them)."""

from __future__ import annotations

from infra.errors import Conflict, DomainError, NotFound


class StorefrontNotInstalledError(NotFound):
    code = "storefront_theme_missing"
    default_message = "The shop has no theme installed."


class DraftChangedError(Conflict):
    code = "storefront_draft_changed"
    default_message = "Someone else changed the design meanwhile; reload and try again."


class PageTypeUnknownError(DomainError):
    code = "storefront_page_unknown"
    default_message = "This page type does not exist."


class SectionTypeNotAllowedError(DomainError):
    code = "storefront_section_not_allowed"
    default_message = "The theme has no such section for this page."


class SectionLimitError(DomainError):
    code = "storefront_section_limit"
    default_message = "This page cannot hold more sections of this kind."


class SectionNotFoundError(NotFound):
    code = "storefront_section_not_found"
    default_message = "This section is not on the page."


class VersionNotFoundError(NotFound):
    code = "storefront_version_not_found"
    default_message = "This published version does not exist."


class PreviewTokenInvalidError(DomainError):
    code = "storefront_preview_invalid"
    status_code = 403
    default_message = "The preview link has expired; open the preview from the theme editor again."
