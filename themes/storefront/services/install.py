"""Installing a theme version into the shop: the draft switches to it, fitted to its manifest."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from themes.manifest import (
    PAGE_TYPES,
    SettingValueInvalid,
    ThemeBundle,
    section_settings_clean,
    setting_value_clean,
    theme_settings_clean,
)
from themes.storefront.errors import SectionTypeNotAllowedError
from themes.storefront.models import StorefrontDraft, StorefrontVersion, ThemeInstall
from themes.storefront.services.design import (
    SECTIONS_PER_PAGE_MAX,
    section_allowed,
    section_id_new,
    version_publish,
)


def _pages_clean(
    manifest: dict[str, Any], pages: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """`pages` fitted to `manifest`: unknown pages and section types dropped, settings cleaned.

    Used when a theme is installed or updated: a section the new version no longer has goes,
    settings it no longer has go, new settings get their defaults, and values the new version
    refuses fall back to its defaults (nothing invalid reaches the storefront).
    """
    cleaned: dict[str, list[dict[str, Any]]] = {}
    for page in PAGE_TYPES:
        sections: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        for section in pages.get(page, []) or []:
            section_type = str(section.get("type", ""))
            try:
                spec = section_allowed(manifest, page, section_type)
            except SectionTypeNotAllowedError:
                continue
            counts[section_type] = counts.get(section_type, 0) + 1
            limit = spec.get("limit")
            if (limit and counts[section_type] > limit) or len(sections) >= SECTIONS_PER_PAGE_MAX:
                continue
            values = _values_fitted(spec.get("settings", []), section.get("settings") or {})
            settings = section_settings_clean(manifest, section_type, values)
            sections.append(
                {
                    "id": str(section.get("id") or section_id_new()),
                    "type": section_type,
                    "settings": settings,
                }
            )
        cleaned[page] = sections
    return cleaned


def _values_fitted(schema: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """The values `schema` still accepts, each on its own (the others get their defaults)."""
    fitted = {}
    for setting in schema:
        if setting["id"] in values:
            try:
                fitted[setting["id"]] = setting_value_clean(setting, values[setting["id"]])
            except SettingValueInvalid:
                continue
    return fitted


def _theme_settings_fitted(manifest: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return theme_settings_clean(manifest, _values_fitted(manifest.get("settings", []), values))


def storefront_theme_install(
    *,
    bundle: ThemeBundle,
    package_id: int,
    version_id: int,
    source: str,
    actor: str,
    publish: bool = False,
) -> ThemeInstall:
    """Install a theme version into the active shop: the draft switches to it.

    Another version of the theme the draft uses (an update) keeps the shop's settings and
    layouts, fitted to the new version; another theme starts from its own defaults. The draft
    is published at once when `publish` is set or when the shop has never published.
    """
    manifest = bundle.manifest
    with transaction.atomic():
        install = ThemeInstall.objects.create(
            package_id=package_id,
            version_id=version_id,
            handle=bundle.handle,
            version=bundle.version,
            source=source,
            name=bundle.name,
            manifest=manifest,
            checksum=bundle.checksum,
            installed_by=actor,
        )
        draft = StorefrontDraft.objects.select_for_update().select_related("install").first()
        if draft is not None and draft.install.package_id == package_id:
            settings = _theme_settings_fitted(manifest, dict(draft.settings))
            pages = _pages_clean(manifest, dict(draft.pages))
        else:
            settings = theme_settings_clean(manifest, {})
            pages = _pages_clean(manifest, dict(manifest.get("pages") or {}))
        if draft is None:
            draft = StorefrontDraft.objects.create(
                id=1, install=install, settings=settings, pages=pages, updated_by=actor
            )
        else:
            draft.install = install
            draft.settings = settings
            draft.pages = pages
            draft.revision += 1
            draft.updated_by = actor
            draft.save()
        if publish or not StorefrontVersion.objects.exists():
            version_publish(draft=draft, actor=actor, note=f"{bundle.handle} {bundle.version}")
    return install


def storefront_theme_seed() -> None:
    """A shop's first design: the platform's default theme, published (nothing if it has one).

    Runs on first use (the first storefront page, the editor), once: concurrent first visits
    wait for each other on a lock of the shop's schema and the later ones find the design.
    """
    if StorefrontDraft.objects.exists():
        return
    # The built-in themes live in the control plane, shared by every shop.
    from themes.packages.selectors import theme_version_bundle
    from themes.packages.services import theme_builtin_default_version

    version = theme_builtin_default_version()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                [f"storefront-seed:{connection.schema_name}"],  # type: ignore[attr-defined]
            )
        if StorefrontDraft.objects.exists():
            return
        storefront_theme_install(
            bundle=theme_version_bundle(version_id=version.pk, with_assets=False),
            package_id=version.package_id,
            version_id=version.pk,
            source="builtin",
            actor="system",
            publish=True,
        )


def storefront_draft_ensure() -> StorefrontDraft:
    """The editor's draft; a shop that never had a theme gets the default one first (as its
    storefront would on its first visit)."""
    draft = StorefrontDraft.objects.select_related("install").first()
    if draft is None:
        storefront_theme_seed()
        draft = StorefrontDraft.objects.select_related("install").get()
    return draft
