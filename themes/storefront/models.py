"""The shop's theme: the installed theme versions, the editor's draft and the published versions.

The theme's files stay in the control plane (themes.packages, shared by every shop that uses
them); a shop keeps which version it installed and a copy of its manifest (the editor validates
settings and sections against it). Published versions are immutable snapshots of the theme
settings and page layouts; exactly one is live. Rolling back publishes a copy of an older one,
so version numbers only grow (the page cache is keyed by the live number).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ThemeInstall(models.Model):
    """A theme version installed into the shop (a row per install; updates add rows)."""

    package_id = models.BigIntegerField()  # themes.packages ThemePackage, control plane
    version_id = models.BigIntegerField()  # themes.packages ThemeVersion, control plane
    handle = models.CharField(max_length=40)
    version = models.CharField(max_length=32)
    source = models.CharField(max_length=16)  # builtin | agency
    name = models.JSONField(default=dict)  # {"en": …, "zh-Hans": …}
    manifest = models.JSONField()
    checksum = models.CharField(max_length=64)
    installed_by = models.CharField(max_length=64)
    installed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.handle} {self.version}"


class StorefrontDraft(models.Model):
    """What the theme editor edits (one row): the theme, its settings and the page layouts.

    `pages` maps a page type to its sections: [{"id": "s1", "type": "banner", "settings": {…}}].
    `revision` grows with every save; a save names the revision it edited (no lost updates).
    """

    install = models.ForeignKey(ThemeInstall, on_delete=models.PROTECT, related_name="+")
    settings = models.JSONField(default=dict)
    pages = models.JSONField(default=dict)
    revision = models.PositiveIntegerField(default=1)
    updated_by = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="storefront_draft_single_row"),
        ]

    def __str__(self) -> str:
        return f"draft r{self.revision}"


class StorefrontVersion(models.Model):
    """A published design: immutable; `is_live` on exactly one once the shop has published."""

    number = models.PositiveIntegerField(unique=True)
    install = models.ForeignKey(ThemeInstall, on_delete=models.PROTECT, related_name="+")
    settings = models.JSONField()
    pages = models.JSONField()
    note = models.CharField(max_length=200, blank=True, default="")
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    is_live = models.BooleanField(default=False)
    published_by = models.CharField(max_length=64)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_live"], condition=Q(is_live=True), name="storefront_one_live_version"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.number}"
