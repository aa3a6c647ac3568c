"""The storefront's catalog API: category tree, product list with search, product detail."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse, QueryDict
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from infra.api.pagination import PagePagination, page_of
from infra.money import Money
from shop.catalog.api.caching import catalog_query, catalog_url
from shop.catalog.models import Product, ProductImage
from shop.catalog.selectors.categories import CategoryNode, category_tree
from shop.catalog.selectors.products import (
    product_detail_data,
    product_list_page,
    product_price_range,
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


class JsonOnlyNegotiation(BaseContentNegotiation):
    """JSON whatever the request asks for (Accept, `format`): for views whose body is JSON text."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def _page_links(url: str, number: int, pages: int) -> tuple[str | None, str | None]:
    """The next and previous links of page `number` of `pages`, as PageNumberPagination's."""
    following = replace_query_param(url, "page", number + 1) if number < pages else None
    if number == 1:
        return following, None
    if number == 2:
        return following, remove_query_param(url, "page")
    return following, replace_query_param(url, "page", number - 1)


class ProductListApi(APIView):
    # The shop's busiest read, kept lean (a comment, not a docstring: that would change the
    # OpenAPI description): the body is JSON text built from the products' cards
    # (product_list_page), and the view does no work that a public read does not need:
    # - no authentication (request.user is anonymous) and no permission to check: the list is
    #   public and the same for everyone;
    # - JSON whatever the client asks for: the body is JSON text already;
    # - no per-request throttle: see the note on throttling in shop.catalog.api.caching.
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = JsonOnlyNegotiation

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
        responses=page_of(OutputSerializer, "CatalogProductPage"),
        operation_id="product_list",
        # As documented before the view stopped reading sessions: a cookie may come, unused.
        # (drf-spectacular types `auth` as names, but takes security requirements, as here.)
        auth=[{"cookieAuth": []}, {}],  # type: ignore[list-item]
    )
    def get(self, request: Request) -> HttpResponse:
        # The items are JSON text from product_list_page: OutputSerializer documents them.
        data = _list_params(tuple(catalog_query(request._request, PRODUCT_LIST_PARAMS)))
        page_size = min(
            data.get("page_size") or PagePagination.page_size, PagePagination.max_page_size
        )
        number = data.get("page") or 1
        currency, language = _shop(request)
        page = product_list_page(
            query=data["q"],
            category_id=data.get("category"),
            min_price_minor=data.get("min_price"),
            max_price_minor=data.get("max_price"),
            in_stock=data["in_stock"],
            sort=data["sort"],
            offset=(number - 1) * page_size,
            limit=page_size,
            currency=currency,
            language=language,
        )
        pages = max(1, math.ceil(page.count / page_size))
        if number > pages:
            raise NotFound(PagePagination.invalid_page_message)
        # Built from the parameters the list reads (as its cache key is), sorted.
        following, previous = _page_links(
            catalog_url(request._request, PRODUCT_LIST_PARAMS), number, pages
        )
        body = (
            f'{{"count":{page.count},"next":{json.dumps(following)},'
            f'"previous":{json.dumps(previous)},"results":{page.results_json}}}'
        )
        return HttpResponse(body.encode(), content_type=JSONRenderer.media_type)


@functools.lru_cache(maxsize=1024)
def _list_params(pairs: tuple[tuple[str, str], ...]) -> Mapping[str, Any]:
    """The product list's InputSerializer's validated data for these (name, value) parameters.

    Validating costs the list more than building its page in Python, and shoppers send few
    different sets (most of all none: the first page), so the valid ones are kept (read-only).
    Invalid ones raise ValidationFailed each time, translated for the request at hand.
    """
    params = ProductListApi.InputSerializer(data=QueryDict(urlencode(pairs)))
    params.is_valid(raise_exception=True)
    return MappingProxyType(dict(params.validated_data))


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
