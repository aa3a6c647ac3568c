"""Reads of the category tree."""

from __future__ import annotations

from dataclasses import dataclass, field

from shop.catalog.errors import CategoryNotFoundError
from shop.catalog.models import Category


@dataclass
class CategoryNode:
    """A category with its children, in display order."""

    category: Category
    children: list[CategoryNode] = field(default_factory=list)


def category_tree(*, active_only: bool = True) -> list[CategoryNode]:
    """The whole tree from one query; with active_only, an inactive category hides its subtree."""
    categories = list(Category.objects.order_by("position", "id"))
    nodes = {category.pk: CategoryNode(category) for category in categories}
    roots: list[CategoryNode] = []
    for category in categories:
        node = nodes[category.pk]
        if category.parent_id is None:
            roots.append(node)
        else:
            nodes[category.parent_id].children.append(node)
    if not active_only:
        return roots

    def _active(children: list[CategoryNode]) -> list[CategoryNode]:
        kept = [node for node in children if node.category.is_active]
        for node in kept:
            node.children = _active(node.children)
        return kept

    return _active(roots)


def category_get(*, category_id: int) -> Category:
    """One category, or CategoryNotFoundError."""
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise CategoryNotFoundError()
    return category


def category_paths() -> dict[int, str]:
    """Every category's path of names ("服装/女装"), by id, from one query."""
    categories = {category.pk: category for category in Category.objects.all()}
    return {
        pk: "/".join(categories[int(part)].name for part in category.path.split("/") if part)
        for pk, category in categories.items()
    }
