"""Theme packages and their versions (control plane): shipped with the platform or uploaded by
an agency, shared by every shop that installs them. A version never changes once stored."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ThemeSource(models.TextChoices):
    BUILTIN = "builtin", _("Built-in")
    AGENCY = "agency", _("Agency")


class ThemePackage(models.Model):
    """A theme by handle: built-in ones (no agency) share one namespace, each agency its own."""

    source = models.CharField(max_length=16, choices=ThemeSource.choices)
    agency = models.ForeignKey(
        "tenants.Agency",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="theme_packages",
    )
    handle = models.CharField(max_length=40)
    # {"en": …, "zh-Hans": …}, from the latest version's manifest.
    name = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["handle"],
                condition=Q(agency__isnull=True),
                name="theme_package_builtin_handle_unique",
            ),
            models.UniqueConstraint(
                fields=["agency", "handle"], name="theme_package_agency_handle_unique"
            ),
            models.CheckConstraint(
                condition=(Q(source=ThemeSource.BUILTIN) & Q(agency__isnull=True))
                | (Q(source=ThemeSource.AGENCY) & Q(agency__isnull=False)),
                name="theme_package_source_matches_agency",
            ),
        ]

    def __str__(self) -> str:
        owner = "built-in" if self.agency_id is None else f"agency {self.agency_id}"
        return f"{self.handle} ({owner})"


class ThemeVersion(models.Model):
    """One version of a package: its manifest, templates and locales as validated.

    Assets live in ThemeAsset, so that reading a version does not load them. The version's
    numbers are also stored as integers, so that "latest" is an ORDER BY.
    """

    package = models.ForeignKey(ThemePackage, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=24)
    version_major = models.PositiveIntegerField()
    version_minor = models.PositiveIntegerField()
    version_patch = models.PositiveIntegerField()
    manifest = models.JSONField()
    # {"templates/home.liquid": "<source>", …}
    templates = models.JSONField()
    # {"en": {…}, "zh-Hans": {…}}
    locales = models.JSONField(default=dict, blank=True)
    checksum = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        "tenants.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_withdrawn = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["package", "version"], name="theme_version_unique_per_package"
            ),
        ]
        indexes = [
            models.Index(
                fields=["package", "-version_major", "-version_minor", "-version_patch"],
                name="theme_version_latest_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.package_id} {self.version}"


class ThemeAsset(models.Model):
    """A file of a version's assets/ folder ("theme.css"), served by the storefront."""

    version = models.ForeignKey(ThemeVersion, on_delete=models.CASCADE, related_name="assets")
    path = models.CharField(max_length=120)
    content = models.BinaryField()
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "path"], name="theme_asset_unique_path"),
        ]

    def __str__(self) -> str:
        return f"{self.version_id}:{self.path}"
