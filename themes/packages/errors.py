"""Errors of theme packages, with stable codes."""

from __future__ import annotations

from infra.errors import Conflict, NotFound


class ThemeNotAvailable(NotFound):
    """The version does not exist, or the shop may not use it (another agency's theme)."""

    code = "theme_not_available"
    default_message = "This theme is not available to this shop."


class ThemeVersionWithdrawn(Conflict):
    code = "theme_version_withdrawn"
    default_message = "This theme version was withdrawn."


class ThemeVersionExists(Conflict):
    code = "theme_version_exists"
    default_message = "This version of the theme is uploaded already."


class ThemeVersionNotNewer(Conflict):
    code = "theme_version_not_newer"
    default_message = "The version must be greater than the theme's latest version."


class ThemeVersionConflict(Conflict):
    """A built-in theme changed without a new version number."""

    code = "theme_version_conflict"
    default_message = "This version of the theme is stored with other content: bump the version."
