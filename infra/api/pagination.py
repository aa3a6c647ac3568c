"""Page-number pagination with a bounded page size, and its OpenAPI description."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def page_parameters() -> list[OpenApiParameter]:
    """The query parameters of a paginated list (for extend_schema)."""
    return [
        OpenApiParameter("page", int, required=False),
        OpenApiParameter("page_size", int, required=False),
    ]


def page_of(item: Any, name: str) -> Any:
    """The schema of one page of `item` (a serializer class or instance) as PagePagination
    answers it, named `name` in the OpenAPI document."""
    results = item if isinstance(item, serializers.BaseSerializer) else item(many=True)
    return inline_serializer(
        name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": results,
        },
    )
