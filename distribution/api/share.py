"""Referral capture in the shop API: a distributor's share (link, scene, QR, mini-program code,
poster) and the scene lookup the mini-program makes when a code opens it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from distribution.services.share import (
    PAGE_MAX_LENGTH,
    share_create,
    share_scene_resolve,
)
from shop.customers.api.authentication import request_member
from shop.customers.api.views import MemberApi


class ShareCreateApi(MemberApi):
    """An active distributor's share of the shop or of a product: the H5 link with their code,
    the mini-program code's scene, a QR code, the mini-program code (when the shop has a
    mini-program) and a poster. The same share gives the same scene and stored images."""

    @extend_schema_serializer(component_name="ShareCreateInput")
    class InputSerializer(serializers.Serializer[Any]):
        product_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
        page = serializers.CharField(
            max_length=PAGE_MAX_LENGTH,
            required=False,
            allow_blank=True,
            help_text="The mini-program page the code opens (e.g. pages/index/index); the home "
            "page, or the product page when a product is shared, if left out.",
        )

    @extend_schema_serializer(component_name="ShareCreateOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        link = serializers.CharField(help_text="The H5 share link (with ?ref=<code>).")
        scene = serializers.CharField(help_text="The mini-program code's scene (≤ 32 characters).")
        qr_url = serializers.CharField(help_text="A PNG QR code of the link.")
        miniprogram_code_url = serializers.CharField(
            allow_null=True, help_text="The mini-program code; null when the shop has none."
        )
        poster_url = serializers.CharField(help_text="The poster (PNG, 750 x 1334).")

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="distribution_share"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        share = share_create(
            member=request_member(request),
            product_id=data.validated_data.get("product_id"),
            page=data.validated_data.get("page") or None,
        )
        return Response(self.OutputSerializer(share).data)


class ShareSceneApi(APIView):
    """What a mini-program code's scene stands for (the mini-program asks in onLoad, before
    the shopper has logged in): the distributor's code, the product and the page."""

    authentication_classes: list[type[Any]] = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="ShareSceneOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        code = serializers.CharField(help_text="The distributor's referral code.")
        product_id = serializers.IntegerField(allow_null=True)
        page = serializers.CharField()

    @extend_schema(responses=OutputSerializer, operation_id="distribution_scene")
    def get(self, request: Request, scene: str) -> Response:
        return Response(self.OutputSerializer(share_scene_resolve(scene=scene)).data)
