"""The catalog of one shop: a category tree, products with options, SKUs, images.

Money is in integer minor units of the shop's one currency (ARCHITECTURE §4); the currency itself
lives on the tenant in the control plane. Products are deleted softly and SKUs never: orders
will reference them.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q


class Category(models.Model):
    """A node of the shop's category tree.

    `path` is the materialized path of ids ("3/17/"), kept by the services: it gives the
    descendants with one prefix match and lets a move refuse cycles.
    """

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)
    position = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    path = models.CharField(max_length=1000, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            models.Index(
                fields=["path"], name="catalog_category_path_idx", opclasses=["varchar_pattern_ops"]
            ),
        ]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ShippingTemplate(models.Model):
    """A 运费模板: how shipping is charged for the products that use it.

    Charged by item count or by weight: the first `first_units` cost `first_fee_minor`, each
    further `additional_units` (or part of them) cost `additional_fee_minor`. Regions (provinces,
    as written in addresses) may have their own rule; some may be refused. An order's items of
    one template share one charge; the order pays the sum over its templates. Free shipping from
    `free_over_minor` (items of this template, after discounts).
    """

    class Basis(models.TextChoices):
        COUNT = "count"
        WEIGHT = "weight"  # units are grams

    name = models.CharField(max_length=64, unique=True)
    basis = models.CharField(max_length=8, choices=Basis.choices, default=Basis.COUNT)
    first_units = models.PositiveIntegerField(default=1)
    first_fee_minor = models.BigIntegerField(default=0)
    additional_units = models.PositiveIntegerField(default=1)
    additional_fee_minor = models.BigIntegerField(default=0)
    free_over_minor = models.BigIntegerField(null=True, blank=True)
    # Provinces this template does not deliver to.
    excluded_regions = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    # The template of products that name none (at most one).
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="catalog_shipping_one_default",
            ),
            models.CheckConstraint(
                condition=Q(first_units__gte=1, additional_units__gte=1),
                name="catalog_shipping_units_positive",
            ),
            models.CheckConstraint(
                condition=Q(first_fee_minor__gte=0, additional_fee_minor__gte=0),
                name="catalog_shipping_fees_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ShippingRegionRule(models.Model):
    """A template's rule for some provinces (the template's own fields are the rest's rule)."""

    template = models.ForeignKey(ShippingTemplate, on_delete=models.CASCADE, related_name="rules")
    regions = ArrayField(models.CharField(max_length=64))
    first_units = models.PositiveIntegerField(default=1)
    first_fee_minor = models.BigIntegerField(default=0)
    additional_units = models.PositiveIntegerField(default=1)
    additional_fee_minor = models.BigIntegerField(default=0)
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_units__gte=1, additional_units__gte=1),
                name="catalog_shipping_rule_units_positive",
            ),
            models.CheckConstraint(
                condition=Q(first_fee_minor__gte=0, additional_fee_minor__gte=0),
                name="catalog_shipping_rule_fees_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template_id}: {', '.join(self.regions)}"


class Product(models.Model):
    """Something the shop sells, in one or more SKUs."""

    title = models.CharField(max_length=200)
    subtitle = models.CharField(max_length=200, blank=True, default="")
    description = models.TextField(blank=True, default="")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    on_shelf = models.BooleanField(default=False)
    # None: the shop's default template (and free shipping when it has none).
    shipping_template = models.ForeignKey(
        ShippingTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    position = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by product_delete: the row stays, because orders will reference its SKUs.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Title, subtitle, option values and category name, as indexed (services keep both current).
    search_text = models.TextField(blank=True, default="", editable=False)
    # to_tsvector('simple', …) of search_text's tokens (CJK bigrams, Latin words): see search.py.
    search_vector = SearchVectorField(null=True, editable=False)
    # What the storefront list shows of the product except the live stock, kept by the services
    # in the transaction of every change (shop.catalog.services.cards): the list reads one row per
    # product instead of its SKUs, option values and images. Stock is merged in when read, so
    # orders taking stock never rewrite it.
    card = models.JSONField(default=dict, editable=False)

    class Meta:
        indexes = [
            GinIndex(fields=["search_vector"], name="catalog_product_search_idx"),
            models.Index(
                fields=["-created_at"],
                name="catalog_product_shelf_idx",
                condition=Q(on_shelf=True, deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ProductOption(models.Model):
    """A dimension of a product's SKUs (颜色 / Colour, 尺码 / Size)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="options")
    name = models.CharField(max_length=50)
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="catalog_option_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductOptionValue(models.Model):
    """One value of an option (红 / Red). Removed values are deactivated: SKUs keep them."""

    option = models.ForeignKey(ProductOption, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=50)
    position = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["option", "value"], name="catalog_value_unique"),
        ]

    def __str__(self) -> str:
        return self.value


class Sku(models.Model):
    """A sellable combination of option values, with its own price and stock."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    code = models.CharField(max_length=64, unique=True)
    option_values: models.ManyToManyField[ProductOptionValue, SkuOptionValue] = (
        models.ManyToManyField(ProductOptionValue, through="SkuOptionValue", related_name="skus")
    )
    # The sorted ids of option_values ("4-9"; "" for a product without options): one SKU per
    # combination, so that syncing the cartesian product is idempotent.
    option_key = models.CharField(max_length=255, default="", editable=False)
    price_minor = models.BigIntegerField()
    list_price_minor = models.BigIntegerField(null=True, blank=True)
    weight_grams = models.PositiveIntegerField(default=0)
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "option_key"], name="catalog_sku_unique_combination"
            ),
            models.CheckConstraint(condition=Q(price_minor__gte=0), name="catalog_sku_price_gte_0"),
            models.CheckConstraint(
                condition=Q(list_price_minor__isnull=True) | Q(list_price_minor__gte=0),
                name="catalog_sku_list_price_gte_0",
            ),
            models.CheckConstraint(condition=Q(stock__gte=0), name="catalog_sku_stock_gte_0"),
        ]
        indexes = [
            models.Index(fields=["product", "price_minor"], name="catalog_sku_price_idx"),
        ]

    def __str__(self) -> str:
        return self.code


class SkuOptionValue(models.Model):
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE)
    value = models.ForeignKey(ProductOptionValue, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sku", "value"], name="catalog_sku_value_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}:{self.value_id}"


def product_image_path(instance: ProductImage, filename: str) -> str:
    # The storage puts every shop's files under its schema (infra.storage).
    return f"catalog/products/{instance.product_id}/{filename}"


class ProductImage(models.Model):
    """A picture of a product, with the thumbnail made at upload."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=product_image_path)
    thumbnail = models.ImageField(upload_to=product_image_path)
    # Of the original, in pixels (read by the service with Pillow).
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    alt = models.CharField(max_length=200, blank=True, default="")
    position = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return str(self.image.name)
