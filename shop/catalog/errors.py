"""Catalog errors with stable codes (the API answers them in the error envelope)."""

from __future__ import annotations

from infra.errors import Conflict, DomainError, NotFound


class CategoryCycleError(DomainError):
    code = "category_cycle"
    status_code = 400
    default_message = "A category cannot move under itself or under one of its descendants."


class CategoryNotEmptyError(Conflict):
    code = "category_not_empty"
    default_message = "Move or delete the category's products and subcategories first."


class CategoryNotFoundError(NotFound):
    code = "category_not_found"
    default_message = "This category does not exist."


class ProductNotFoundError(NotFound):
    code = "product_not_found"
    default_message = "This product does not exist or is not for sale."


class SkuNotFoundError(NotFound):
    code = "sku_not_found"
    default_message = "This SKU does not exist."


class OutOfStockError(Conflict):
    code = "out_of_stock"
    default_message = "Sold out: not enough stock left."


class ImageInvalidError(DomainError):
    code = "image_invalid"
    status_code = 400
    default_message = "Upload a JPEG, PNG, WebP or GIF image of at most 10 MB."


class ShippingTemplateNotFoundError(NotFound):
    code = "shipping_template_not_found"
    default_message = "This shipping template does not exist."
