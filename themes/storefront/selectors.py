"""Reads of the shop's design: the live one (cached), the draft, the history."""

from __future__ import annotations

from django.db.models import QuerySet, Subquery
from django.db.models.functions import Coalesce

from themes.storefront.cache import Design, design_cache_fill, design_cached
from themes.storefront.models import StorefrontDraft, StorefrontVersion, ThemeInstall


def _design(
    install: ThemeInstall,
    *,
    number: int | None,
    revision: int | None,
    settings: dict[str, object],
    pages: dict[str, list[dict[str, object]]],
) -> Design:
    return Design(
        number=number,
        revision=revision,
        install_id=install.pk,
        version_id=install.version_id,
        checksum=install.checksum,
        handle=install.handle,
        version=install.version,
        manifest=install.manifest,
        settings=dict(settings),
        pages={page: list(sections) for page, sections in pages.items()},
    )


def storefront_live_design_read() -> Design | None:
    """The live design from the database (one query); None before the first publish."""
    live = StorefrontVersion.objects.select_related("install").filter(is_live=True).first()
    if live is None:
        return None
    return _design(
        live.install, number=live.number, revision=None, settings=live.settings, pages=live.pages
    )


def storefront_live_design() -> Design | None:
    """The live design the storefront renders (from the cache; the database on a miss)."""
    design = design_cached()
    if design is None:
        design = storefront_live_design_read()
        if design is not None:
            design_cache_fill(design)
    return design


def storefront_draft_design() -> Design | None:
    """The editor's draft as a design (for previews)."""
    draft = StorefrontDraft.objects.select_related("install").first()
    if draft is None:
        return None
    return _design(
        draft.install,
        number=None,
        revision=draft.revision,
        settings=draft.settings,
        pages=draft.pages,
    )


def storefront_draft_get() -> StorefrontDraft | None:
    """The draft row with its installed theme (None before any install)."""
    return StorefrontDraft.objects.select_related("install").first()


def storefront_installed_theme() -> ThemeInstall | None:
    """The theme version the shop's live design uses (the draft's before the first publish);
    one query."""
    live = StorefrontVersion.objects.filter(is_live=True).values("install_id")[:1]
    draft = StorefrontDraft.objects.values("install_id")[:1]
    return ThemeInstall.objects.filter(pk=Coalesce(Subquery(live), Subquery(draft))).first()


def storefront_versions(*, limit: int = 50) -> QuerySet[StorefrontVersion]:
    """Published versions, newest first, with their theme version."""
    return StorefrontVersion.objects.select_related("install").order_by("-number")[:limit]
