"""SKUs as checkout sees them: what is for sale now, with what an order line copies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shop.catalog.models import ShippingTemplate, Sku, SkuOptionValue
from shop.catalog.selectors.products import categories_hidden


@dataclass(frozen=True)
class SaleSku:
    id: int
    code: str
    product_id: int
    title: str
    options: list[dict[str, str]]  # [{"name": "颜色", "value": "红"}]
    image: str  # the product's first thumbnail (storage name), "" when none
    price_minor: int
    weight_grams: int
    stock: int
    shipping_template_id: int | None  # None: the shop's default template
    for_sale: bool  # active SKU of a product on the shelf, not deleted, in a visible category


def skus_for_sale(*, sku_ids: Iterable[int]) -> dict[int, SaleSku]:
    """The SKUs among `sku_ids` that exist (for sale or not), by id; three queries."""
    ids = sorted(set(sku_ids))
    if not ids:
        return {}
    hidden = set(categories_hidden())
    rows = list(
        Sku.objects.filter(pk__in=ids)
        .select_related("product")
        .prefetch_related("product__images")
        .order_by("id")
    )
    options: dict[int, list[dict[str, str]]] = {}
    for sku_id, name, value in (
        SkuOptionValue.objects.filter(sku_id__in=ids)
        .order_by("value__option__position", "value__option_id")
        .values_list("sku_id", "value__option__name", "value__value")
    ):
        options.setdefault(sku_id, []).append({"name": name, "value": value})
    found: dict[int, SaleSku] = {}
    for sku in rows:
        product = sku.product
        images = list(product.images.all())
        found[sku.pk] = SaleSku(
            id=sku.pk,
            code=sku.code,
            product_id=product.pk,
            title=product.title,
            options=options.get(sku.pk, []),
            image=str(images[0].thumbnail.name) if images else "",
            price_minor=sku.price_minor,
            weight_grams=sku.weight_grams,
            stock=sku.stock,
            shipping_template_id=product.shipping_template_id,
            for_sale=(
                sku.is_active
                and product.on_shelf
                and product.deleted_at is None
                and product.category_id not in hidden
            ),
        )
    return found


def shipping_templates_for(
    *, template_ids: Iterable[int | None]
) -> dict[int | None, ShippingTemplate | None]:
    """The templates named, rules prefetched; under None the default one (None if none)."""
    wanted = set(template_ids)
    named = {template_id for template_id in wanted if template_id is not None}
    query = ShippingTemplate.objects.prefetch_related("rules")
    templates = list(query.filter(pk__in=named)) if named else []
    result: dict[int | None, ShippingTemplate | None] = {t.pk: t for t in templates}
    if None in wanted:
        result[None] = query.filter(is_default=True).first()
    return result


def catalog_file_url(name: str) -> str | None:
    """The URL of a stored catalog file (a thumbnail an order line copied), None for none."""
    if not name:
        return None
    from shop.catalog.selectors.products import _storage

    return _storage().url(name)
