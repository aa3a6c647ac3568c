"""The shop's public profile for storefront clients."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.core.selectors import shop_profile_get


class ShopDetailApi(APIView):
    class OutputSerializer(serializers.Serializer[Any]):
        slug = serializers.CharField()
        name = serializers.CharField()
        currency = serializers.CharField()
        language = serializers.CharField()
        time_zone = serializers.CharField()
        description = serializers.CharField()

    @extend_schema(responses=OutputSerializer, operation_id="shop_detail")
    def get(self, request: Request) -> Response:
        tenant = request.tenant  # type: ignore[attr-defined]
        profile = shop_profile_get()
        data = {
            "slug": tenant.slug,
            "name": tenant.name,
            "currency": tenant.currency,
            "language": tenant.language,
            "time_zone": tenant.time_zone,
            "description": profile.description,
        }
        return Response(self.OutputSerializer(data).data)
