"""Writes of the category tree."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils.text import slugify
from django.utils.translation import gettext as _

from infra.errors import ValidationFailed
from shop.catalog.cache import catalog_changed
from shop.catalog.errors import CategoryCycleError, CategoryNotEmptyError
from shop.catalog.lock_objects import category_tree_lock
from shop.catalog.models import Category, Product
from shop.catalog.services.search_index import products_search_index_update

NAME_MAX_LENGTH = 100


def _validate(*, name: str, slug: str) -> None:
    fields: dict[str, list[dict[str, str]]] = {}
    if not name:
        fields["name"] = [{"code": "required", "message": _("Enter a name.")}]
    elif len(name) > NAME_MAX_LENGTH:
        fields["name"] = [{"code": "too_long", "message": _("Use at most 100 characters.")}]
    if not slug or slug != slugify(slug, allow_unicode=True) or len(slug) > NAME_MAX_LENGTH:
        fields["slug"] = [
            {"code": "invalid", "message": _("Use letters, digits, hyphens and underscores.")}
        ]
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)


def _slug_taken() -> ValidationFailed:
    return ValidationFailed(
        _("Some fields are not valid."),
        fields={"slug": [{"code": "taken", "message": _("Another category uses this slug.")}]},
    )


def category_slug_suggest(*, name: str) -> str:
    """A free slug for a name (Chinese names keep their characters)."""
    base = slugify(name, allow_unicode=True)[:90] or "category"
    taken = set(Category.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, counter = base, 2
    while slug in taken:
        slug, counter = f"{base}-{counter}", counter + 1
    return slug


@transaction.atomic
def category_create(
    *,
    name: str,
    slug: str = "",
    parent: Category | None = None,
    position: int = 0,
    is_active: bool = True,
) -> Category:
    """A new category under `parent` (None: at the top)."""
    catalog_changed()
    name = name.strip()
    slug = slug.strip() or category_slug_suggest(name=name)
    _validate(name=name, slug=slug)
    try:
        with transaction.atomic():
            category = Category.objects.create(
                name=name, slug=slug, parent=parent, position=position, is_active=is_active
            )
    except IntegrityError as error:
        raise _slug_taken() from error
    category.path = f"{parent.path if parent else ''}{category.pk}/"
    Category.objects.filter(pk=category.pk).update(path=category.path)
    return category


@transaction.atomic
def category_update(
    *,
    category: Category,
    name: str | None = None,
    slug: str | None = None,
    position: int | None = None,
    is_active: bool | None = None,
) -> Category:
    """Rename, re-slug, reorder among siblings or (de)activate a category.

    A deactivated category hides its whole subtree from the storefront.
    """
    catalog_changed()
    renamed = name is not None and name.strip() != category.name
    if name is not None:
        category.name = name.strip()
    if slug is not None:
        category.slug = slug.strip()
    _validate(name=category.name, slug=category.slug)
    if position is not None:
        category.position = position
    if is_active is not None:
        category.is_active = is_active
    try:
        with transaction.atomic():
            category.save(update_fields=["name", "slug", "position", "is_active", "updated_at"])
    except IntegrityError as error:
        raise _slug_taken() from error
    if renamed:
        # The category's name is part of its products' search text.
        products_search_index_update(products=Product.objects.filter(category=category))
    return category


@transaction.atomic
def category_move(*, category: Category, parent: Category | None, position: int = 0) -> Category:
    """Put `category` (with its subtree) under `parent`; refuses to create a cycle."""
    catalog_changed()
    category_tree_lock()
    # Paths read after the lock: another move may have changed them meanwhile.
    current = Category.objects.get(pk=category.pk)
    new_parent = Category.objects.get(pk=parent.pk) if parent is not None else None
    if new_parent is not None and new_parent.path.startswith(current.path):
        raise CategoryCycleError(
            _("A category cannot move under itself or under one of its descendants.")
        )
    old_path = current.path
    new_path = f"{new_parent.path if new_parent else ''}{current.pk}/"
    Category.objects.filter(pk=current.pk).update(parent=new_parent, position=position)
    if new_path != old_path:
        Category.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
        )
    category.parent = new_parent
    category.position = position
    category.path = new_path
    return category


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Delete an empty category (no subcategories, no products, even deleted ones)."""
    catalog_changed()
    category_tree_lock()
    if (
        Category.objects.filter(parent=category).exists()
        or Product.objects.filter(category=category).exists()
    ):
        raise CategoryNotEmptyError(
            _("Move or delete the category's products and subcategories first.")
        )
    category.delete()


@transaction.atomic
def categories_reorder(*, parent: Category | None, category_ids: Sequence[int]) -> list[Category]:
    """Order the children of `parent` (None: the top level) as listed, the first first.

    The ids must be exactly those children, each once: a list read before another change of the
    tree is refused rather than applied to a different set of siblings.
    """
    catalog_changed()
    category_tree_lock()
    children = {category.pk: category for category in Category.objects.filter(parent=parent)}
    if len(category_ids) != len(set(category_ids)) or set(category_ids) != set(children):
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={
                "category_ids": [
                    {
                        "code": "stale",
                        "message": _("The categories changed meanwhile: reload and try again."),
                    }
                ]
            },
        )
    changed = []
    for position, category_id in enumerate(category_ids):
        category = children[category_id]
        if category.position != position:
            category.position = position
            changed.append(category)
    Category.objects.bulk_update(changed, ["position"])
    return [children[category_id] for category_id in category_ids]
