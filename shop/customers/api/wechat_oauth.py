"""Binding the member's WeChat identity in the shop's Official Account (H5 inside WeChat).

The H5 page asks for the authorize URL, sends the browser there, and posts the code and state
WeChat sends it back with; JSAPI payments in H5 then use the bound openid.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from shop.customers.api.authentication import request_member
from shop.customers.api.views import MemberApi
from shop.customers.services.wechat_oauth import (
    REDIRECT_URI_MAX_LENGTH,
    member_oauth_state_check,
    member_official_account_bind,
    member_official_account_oauth_url,
)


class WeChatOAuthUrlApi(MemberApi):
    """The authorize URL of the shop's Official Account (snsapi_base), for the member's browser
    inside WeChat; `redirect_uri` must be a page of this shop."""

    @extend_schema_serializer(component_name="MemberWeChatOAuthUrlInput")
    class InputSerializer(serializers.Serializer[Any]):
        # The service checks that it is a page of this shop (redirect_uri_invalid).
        redirect_uri = serializers.CharField(
            max_length=REDIRECT_URI_MAX_LENGTH,
            help_text="The page of this shop WeChat sends the browser back to, with code and "
            "state in its query.",
        )

    @extend_schema_serializer(component_name="MemberWeChatOAuthUrlOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        url = serializers.CharField(
            help_text="The Official Account's snsapi_base authorize URL; open it inside WeChat."
        )

    @extend_schema(
        parameters=[InputSerializer],
        responses=OutputSerializer,
        operation_id="member_wechat_oauth_url",
    )
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        url = member_official_account_oauth_url(
            member=request_member(request), redirect_uri=data.validated_data["redirect_uri"]
        )
        return Response(self.OutputSerializer({"url": url}).data)


class WeChatOAuthBindApi(MemberApi):
    """Bind the WeChat user of the code WeChat sent back to the member (its openid in the shop's
    Official Account, which JSAPI payments in H5 use); the state must be the member's."""

    @extend_schema_serializer(component_name="MemberWeChatOAuthBindInput")
    class InputSerializer(serializers.Serializer[Any]):
        code = serializers.CharField(max_length=128, help_text="The code WeChat sent back.")
        state = serializers.CharField(max_length=256, help_text="The state WeChat sent back.")

    @extend_schema_serializer(component_name="MemberWeChatOAuthBindOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        provider = serializers.CharField()
        appid = serializers.CharField(help_text="The shop's Official Account.")
        openid = serializers.CharField(help_text="The member's openid in that account.")

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        operation_id="member_wechat_oauth_bind",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = request_member(request)
        member_oauth_state_check(member=member, state=data.validated_data["state"])
        identity = member_official_account_bind(member=member, code=data.validated_data["code"])
        body = {"provider": identity.provider, "appid": identity.appid, "openid": identity.openid}
        return Response(self.OutputSerializer(body).data)
