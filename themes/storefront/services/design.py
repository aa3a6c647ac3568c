"""The shop's design: editing the draft, publishing and rolling back.

The editor works on one draft row. Every edit names the draft revision it started from and is
refused (storefront_draft_changed) when someone saved meanwhile, so two editors never overwrite
each other silently. Publishing copies the draft into a new immutable version and makes it the
live one; a rollback publishes a copy of an older version (numbers only grow). The live design
is cached for the storefront (themes.storefront.cache) and replaced when the change commits.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.db.models import Max

from infra.errors import ValidationFailed
from themes.manifest import (
    PAGE_TYPES,
    SettingValueInvalid,
    section_settings_clean,
    setting_value_clean,
    theme_settings_clean,
)
from themes.storefront.cache import design_changed
from themes.storefront.errors import (
    DraftChangedError,
    PageTypeUnknownError,
    SectionLimitError,
    SectionNotFoundError,
    SectionTypeNotAllowedError,
    StorefrontNotInstalledError,
    VersionNotFoundError,
)
from themes.storefront.models import StorefrontDraft, StorefrontVersion

SECTIONS_PER_PAGE_MAX = 30


def section_id_new() -> str:
    """A fresh id for a section of a page layout."""
    return f"s{secrets.token_hex(4)}"


def section_allowed(manifest: dict[str, Any], page: str, section_type: str) -> dict[str, Any]:
    spec = manifest.get("sections", {}).get(section_type)
    if spec is None:
        raise SectionTypeNotAllowedError()
    pages = spec.get("pages")
    if pages and page not in pages:
        raise SectionTypeNotAllowedError()
    return dict(spec)


def _draft_locked(revision: int | None) -> StorefrontDraft:
    draft = StorefrontDraft.objects.select_for_update().select_related("install").first()
    if draft is None:
        raise StorefrontNotInstalledError()
    if revision is not None and draft.revision != revision:
        raise DraftChangedError()
    return draft


def _draft_save(draft: StorefrontDraft, actor: str) -> StorefrontDraft:
    draft.revision += 1
    draft.updated_by = actor
    draft.save()
    return draft


def _page_sections(draft: StorefrontDraft, page: str) -> list[dict[str, Any]]:
    if page not in PAGE_TYPES:
        raise PageTypeUnknownError()
    pages = dict(draft.pages)
    sections = list(pages.get(page, []))
    pages[page] = sections
    draft.pages = pages
    return sections


def _values_clean(schema: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """Each given value checked against its setting; every bad one reported by its id."""
    cleaned: dict[str, Any] = {}
    fields: dict[str, list[dict[str, str]]] = {}
    by_id = {setting["id"]: setting for setting in schema}
    for key, value in values.items():
        setting = by_id.get(key)
        if setting is None:
            continue
        try:
            cleaned[key] = setting_value_clean(setting, value)
        except SettingValueInvalid as error:
            # The specific reason (color_invalid, range_invalid …) when the check gives one.
            fields[key] = error.fields.get(key) or [{"code": error.code, "message": error.message}]
    if fields:
        raise ValidationFailed(fields=fields)
    return cleaned


@transaction.atomic
def storefront_settings_update(
    *, revision: int, values: dict[str, Any], actor: str
) -> StorefrontDraft:
    """Change theme settings of the draft (only the ids given); every bad value is reported."""
    draft = _draft_locked(revision)
    manifest = draft.install.manifest
    cleaned = _values_clean(manifest.get("settings", []), values)
    draft.settings = theme_settings_clean(manifest, {**draft.settings, **cleaned})
    return _draft_save(draft, actor)


@transaction.atomic
def storefront_section_add(
    *, revision: int, page: str, section_type: str, actor: str
) -> tuple[StorefrontDraft, str]:
    """Append a section of `section_type`, with its defaults, to a page of the draft."""
    draft = _draft_locked(revision)
    manifest = draft.install.manifest
    sections = _page_sections(draft, page)
    spec = section_allowed(manifest, page, section_type)
    limit = spec.get("limit")
    same = sum(1 for section in sections if section["type"] == section_type)
    if (limit and same >= limit) or len(sections) >= SECTIONS_PER_PAGE_MAX:
        raise SectionLimitError()
    section_id = section_id_new()
    sections.append(
        {
            "id": section_id,
            "type": section_type,
            "settings": section_settings_clean(manifest, section_type, {}),
        }
    )
    return _draft_save(draft, actor), section_id


def _section_index(sections: list[dict[str, Any]], section_id: str) -> int:
    for index, section in enumerate(sections):
        if section["id"] == section_id:
            return index
    raise SectionNotFoundError()


@transaction.atomic
def storefront_section_update(
    *, revision: int, page: str, section_id: str, values: dict[str, Any], actor: str
) -> StorefrontDraft:
    """Change settings of one section of the draft; every bad value is reported by its id."""
    draft = _draft_locked(revision)
    manifest = draft.install.manifest
    sections = _page_sections(draft, page)
    index = _section_index(sections, section_id)
    section = dict(sections[index])
    schema = manifest["sections"][section["type"]].get("settings", [])
    cleaned = _values_clean(schema, values)
    section["settings"] = section_settings_clean(
        manifest, section["type"], {**section["settings"], **cleaned}
    )
    sections[index] = section
    return _draft_save(draft, actor)


@transaction.atomic
def storefront_section_remove(
    *, revision: int, page: str, section_id: str, actor: str
) -> StorefrontDraft:
    """Take a section off a page of the draft."""
    draft = _draft_locked(revision)
    sections = _page_sections(draft, page)
    del sections[_section_index(sections, section_id)]
    return _draft_save(draft, actor)


@transaction.atomic
def storefront_section_move(
    *, revision: int, page: str, section_id: str, position: int, actor: str
) -> StorefrontDraft:
    """Move a section to `position` (0-based, clamped to the page) on a page of the draft."""
    draft = _draft_locked(revision)
    sections = _page_sections(draft, page)
    section = sections.pop(_section_index(sections, section_id))
    sections.insert(max(0, min(position, len(sections))), section)
    return _draft_save(draft, actor)


def version_publish(
    *, draft: StorefrontDraft, actor: str, note: str, restored_from: int | None = None
) -> StorefrontVersion:
    number = (StorefrontVersion.objects.aggregate(top=Max("number"))["top"] or 0) + 1
    StorefrontVersion.objects.filter(is_live=True).update(is_live=False)
    version = StorefrontVersion.objects.create(
        number=number,
        install=draft.install,
        settings=draft.settings,
        pages=draft.pages,
        note=note[:200],
        restored_from=restored_from,
        is_live=True,
        published_by=actor,
    )
    design_changed()
    return version


@transaction.atomic
def storefront_publish(*, revision: int, actor: str, note: str = "") -> StorefrontVersion:
    """Make the draft (as of `revision`) the live design, as a new version."""
    draft = _draft_locked(revision)
    return version_publish(draft=draft, actor=actor, note=note)


@transaction.atomic
def storefront_rollback(
    *, number: int, actor: str, revision: int | None = None
) -> StorefrontVersion:
    """Publish a copy of version `number` (theme version, settings, layouts); the draft too.

    With `revision`, refused (storefront_draft_changed) when the draft changed since.
    """
    draft = _draft_locked(revision)
    source = StorefrontVersion.objects.select_related("install").filter(number=number).first()
    if source is None:
        raise VersionNotFoundError()
    draft.install = source.install
    draft.settings = source.settings
    draft.pages = source.pages
    _draft_save(draft, actor)
    return version_publish(draft=draft, actor=actor, note=source.note, restored_from=number)


@transaction.atomic
def storefront_draft_discard(*, actor: str, revision: int | None = None) -> StorefrontDraft:
    """Put the draft back to the live design (the editor's unpublished changes are dropped).

    With `revision`, refused (storefront_draft_changed) when the draft changed since.
    """
    draft = _draft_locked(revision)
    live = StorefrontVersion.objects.select_related("install").filter(is_live=True).first()
    if live is None:
        return draft
    draft.install = live.install
    draft.settings = live.settings
    draft.pages = live.pages
    return _draft_save(draft, actor)
