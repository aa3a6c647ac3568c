"""The storefront's catalog API: category tree, product list with search, product detail."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from infra.api.pagination import PagePagination
from infra.money import Money
from shop.catalog.api.caching import catalog_url
from shop.catalog.models import Product, ProductImage
from shop.catalog.selectors.categories import CategoryNode, category_tree
from shop.catalog.selectors.products import (
    product_detail_data,
    product_list_items,
    product_price_range,
    product_rows,
    product_sort_names,
    product_stock_total,
)


def _shop(request: Request) -> tuple[str, str]:
    """The shop's currency and language (request.tenant on shop hosts)."""
    tenant = request.tenant  # type: ignore[attr-defined]
    return str(tenant.currency), str(tenant.language)


class PriceRangeSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "CatalogPriceRange"

    currency = serializers.CharField()
    min_minor = serializers.IntegerField()
    max_minor = serializers.IntegerField()
    min_formatted = serializers.CharField()
    max_formatted = serializers.CharField()


class SkuOptionValueSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "CatalogSkuOptionValue"

    option = serializers.CharField(source="option.name")
    value = serializers.CharField()


class SkuSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "CatalogSku"

    id = serializers.IntegerField()
    option_values = SkuOptionValueSerializer(many=True, source="option_values.all")
    price_minor = serializers.IntegerField()
    stock = serializers.IntegerField()


def _price_range(product: Product, currency: str, language: str) -> dict[str, Any] | None:
    prices = product_price_range(product)
    if prices is None:
        return None
    low, high = Money(prices[0], currency), Money(prices[1], currency)
    return {
        "currency": currency,
        "min_minor": low.minor,
        "max_minor": high.minor,
        "min_formatted": low.format(language),
        "max_formatted": high.format(language),
    }


def _cover_thumbnail(product: Product) -> str | None:
    images: list[ProductImage] = list(product.images.all())
    return images[0].thumbnail.url if images else None


class CategoryListApi(APIView):
    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "CatalogCategoryNode"

        id = serializers.IntegerField(source="category.id")
        name = serializers.CharField(source="category.name")
        slug = serializers.CharField(source="category.slug")
        children = serializers.SerializerMethodField()

        def get_children(self, node: CategoryNode) -> list[dict[str, Any]]:
            return [dict(item) for item in type(self)(node.children, many=True).data]

    @extend_schema(
        responses=inline_serializer(
            "CatalogCategoryTreeNode",
            fields={
                "id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "slug": serializers.CharField(),
                "children": serializers.ListField(child=serializers.DictField()),
            },
            many=True,
        ),
        operation_id="category_list",
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(category_tree(), many=True).data)


class _Pagination(PagePagination):
    """Links built from the parameters the list reads (as its cache key is), sorted."""

    def get_next_link(self) -> str | None:
        self.request = _canonical(self.request)
        return super().get_next_link()

    def get_previous_link(self) -> str | None:
        self.request = _canonical(self.request)
        return super().get_previous_link()


class _CanonicalUrl:
    """What PageNumberPagination reads of the request, with the canonical URL."""

    def __init__(self, request: Request) -> None:
        self.query_params = request.query_params
        self.url = catalog_url(request._request, PRODUCT_LIST_PARAMS)

    def build_absolute_uri(self) -> str:
        return self.url


def _canonical(request: Any) -> Any:
    return request if isinstance(request, _CanonicalUrl) else _CanonicalUrl(request)


# The query parameters of the product list (its InputSerializer's fields): the cache key's.
PRODUCT_LIST_PARAMS = (
    "q",
    "category",
    "min_price",
    "max_price",
    "in_stock",
    "sort",
    "page",
    "page_size",
)


class ProductListApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        q = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
        category = serializers.IntegerField(required=False, min_value=1)
        min_price = serializers.IntegerField(required=False, min_value=0)
        max_price = serializers.IntegerField(required=False, min_value=0)
        in_stock = serializers.BooleanField(required=False, default=False)
        sort = serializers.ChoiceField(choices=[], required=False, allow_blank=True, default="")
        page = serializers.IntegerField(required=False, min_value=1)
        page_size = serializers.IntegerField(required=False, min_value=1)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Sorts registered by other apps (sales) count too.
            self.fields["sort"].choices = product_sort_names()  # type: ignore[attr-defined]

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "CatalogProductListItem"

        id = serializers.IntegerField()
        title = serializers.CharField()
        subtitle = serializers.CharField()
        price = serializers.SerializerMethodField()
        stock = serializers.SerializerMethodField()
        thumbnail_url = serializers.SerializerMethodField()
        skus = SkuSerializer(many=True, source="active_skus")

        @extend_schema_field(PriceRangeSerializer(allow_null=True))
        def get_price(self, product: Product) -> dict[str, Any] | None:
            return _price_range(product, *self.context["shop"])

        def get_stock(self, product: Product) -> int:
            return product_stock_total(product)

        def get_thumbnail_url(self, product: Product) -> str | None:
            return _cover_thumbnail(product)

    @extend_schema(
        parameters=[InputSerializer],
        responses=inline_serializer(
            "CatalogProductPage",
            fields={
                "count": serializers.IntegerField(),
                "next": serializers.CharField(allow_null=True),
                "previous": serializers.CharField(allow_null=True),
                "results": OutputSerializer(many=True),
            },
        ),
        operation_id="product_list",
    )
    def get(self, request: Request) -> Response:
        # The items are built as plain data (product_list_items): OutputSerializer documents them.
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        rows = product_rows(
            query=data["q"],
            category_id=data.get("category"),
            min_price_minor=data.get("min_price"),
            max_price_minor=data.get("max_price"),
            in_stock=data["in_stock"],
            sort=data["sort"],
        )
        paginator = _Pagination()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        currency, language = _shop(request)
        items = product_list_items(page, currency=currency, language=language)
        return paginator.get_paginated_response(items)


class ProductDetailApi(APIView):
    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "CatalogProductDetail"

        class CategorySerializer(serializers.Serializer[Any]):
            class Meta:
                ref_name = "CatalogProductCategory"

            id = serializers.IntegerField()
            name = serializers.CharField()
            slug = serializers.CharField()

        class ImageSerializer(serializers.Serializer[Any]):
            class Meta:
                ref_name = "CatalogProductImage"

            id = serializers.IntegerField()
            url = serializers.CharField(source="image.url")
            thumbnail_url = serializers.CharField(source="thumbnail.url")
            width = serializers.IntegerField()
            height = serializers.IntegerField()
            alt = serializers.CharField()

        class OptionSerializer(serializers.Serializer[Any]):
            class Meta:
                ref_name = "CatalogProductOption"

            class ValueSerializer(serializers.Serializer[Any]):
                class Meta:
                    ref_name = "CatalogProductOptionValue"

                id = serializers.IntegerField()
                value = serializers.CharField()

            id = serializers.IntegerField()
            name = serializers.CharField()
            values = ValueSerializer(many=True, source="values.all")

        class DetailSkuSerializer(SkuSerializer):
            class Meta:
                ref_name = "CatalogProductSku"

            code = serializers.CharField()
            list_price_minor = serializers.IntegerField(allow_null=True)
            weight_grams = serializers.IntegerField()

        id = serializers.IntegerField()
        title = serializers.CharField()
        subtitle = serializers.CharField()
        description = serializers.CharField()
        category = CategorySerializer(allow_null=True)
        price = serializers.SerializerMethodField()
        stock = serializers.SerializerMethodField()
        images = ImageSerializer(many=True, source="images.all")
        options = OptionSerializer(many=True, source="options.all")
        skus = DetailSkuSerializer(many=True, source="active_skus")

        @extend_schema_field(PriceRangeSerializer(allow_null=True))
        def get_price(self, product: Product) -> dict[str, Any] | None:
            return _price_range(product, *self.context["shop"])

        def get_stock(self, product: Product) -> int:
            return product_stock_total(product)

    @extend_schema(responses=OutputSerializer, operation_id="product_detail")
    def get(self, request: Request, product_id: int) -> Response:
        # Built as plain data (product_detail_data): OutputSerializer documents it.
        currency, language = _shop(request)
        return Response(
            product_detail_data(product_id=product_id, currency=currency, language=language)
        )
