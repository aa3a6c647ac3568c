"""The members' API on the shop host: phone and WeChat login, logout, profile, addresses,
store balance history."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from infra.api.pagination import PagePagination, page_of, page_parameters
from shop.customers.api.authentication import IsMember, MemberTokenAuthentication, request_member
from shop.customers.models import Address, Channel, Member, MemberToken
from shop.customers.phones import phone_decrypt, phone_mask
from shop.customers.selectors.addresses import address_list
from shop.customers.selectors.members import member_tag_names
from shop.customers.selectors.store_balance import store_balance_entry_list
from shop.customers.services.addresses import (
    AddressFields,
    address_create,
    address_default_set,
    address_delete,
    address_update,
)
from shop.customers.services.login import member_login_code_send, member_phone_login
from shop.customers.services.members import member_profile_update
from shop.customers.services.tokens import member_token_revoke
from shop.customers.services.wechat_login import member_wechat_login


def client_ip(request: HttpRequest) -> str | None:
    """The client address; behind a proxy, the address the proxy saw first."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None


class MemberOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    phone = serializers.CharField(help_text="Masked, e.g. 138****8000.")
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()
    points_balance = serializers.IntegerField()
    store_balance_minor = serializers.IntegerField(
        help_text="Store balance in minor units of the shop's currency."
    )
    tags = serializers.ListField(child=serializers.CharField())


def member_data(member: Member) -> dict[str, Any]:
    return {
        "id": member.pk,
        "phone": phone_mask(phone_decrypt(member.phone_encrypted)),
        "nickname": member.nickname,
        "avatar_url": member.avatar_url,
        "points_balance": member.points_balance,
        "store_balance_minor": member.store_balance_minor,
        "tags": member_tag_names(member=member),
    }


class MemberApi(APIView):
    """Base of the endpoints that need a member's token."""

    authentication_classes = [MemberTokenAuthentication]
    permission_classes = [IsMember]


class LoginCodeSendApi(APIView):
    authentication_classes: list[type[Any]] = []

    @extend_schema_serializer(component_name="MemberLoginCodeInput")
    class InputSerializer(serializers.Serializer[Any]):
        phone = serializers.CharField(max_length=32)

    @extend_schema(
        request=InputSerializer, responses={204: None}, operation_id="member_login_code_send"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member_login_code_send(phone=data.validated_data["phone"], ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhoneLoginApi(APIView):
    authentication_classes: list[type[Any]] = []

    @extend_schema_serializer(component_name="MemberPhoneLoginInput")
    class InputSerializer(serializers.Serializer[Any]):
        phone = serializers.CharField(max_length=32)
        code = serializers.CharField(max_length=16)
        policy_version = serializers.CharField(max_length=32, required=False, allow_null=True)
        channel = serializers.ChoiceField(choices=Channel.choices)
        device_id = serializers.CharField(max_length=128, required=False, allow_blank=True)

    @extend_schema_serializer(component_name="MemberPhoneLoginOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        token = serializers.CharField()
        member = MemberOutputSerializer()

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="member_phone_login"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        member, token = member_phone_login(
            phone=values["phone"],
            code=values["code"],
            policy_version=values.get("policy_version"),
            channel=values["channel"],
            device_id=values.get("device_id", ""),
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        body = {"token": token, "member": member_data(member)}
        return Response(self.OutputSerializer(body).data)


class WeChatLoginApi(APIView):
    authentication_classes: list[type[Any]] = []

    @extend_schema_serializer(component_name="MemberWeChatLoginInput")
    class InputSerializer(serializers.Serializer[Any]):
        code = serializers.CharField(max_length=128, help_text="The code of wx.login().")
        policy_version = serializers.CharField(max_length=32, required=False, allow_null=True)
        channel = serializers.ChoiceField(choices=Channel.choices)
        device_id = serializers.CharField(max_length=128, required=False, allow_blank=True)

    @extend_schema_serializer(component_name="MemberWeChatLoginOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        token = serializers.CharField()
        member = MemberOutputSerializer()

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="member_wechat_login"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        member, token = member_wechat_login(
            code=values["code"],
            policy_version=values.get("policy_version"),
            channel=values["channel"],
            device_id=values.get("device_id", ""),
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        body = {"token": token, "member": member_data(member)}
        return Response(self.OutputSerializer(body).data)


class LogoutApi(MemberApi):
    @extend_schema(request=None, responses={204: None}, operation_id="member_logout")
    def post(self, request: Request) -> Response:
        assert isinstance(request.auth, MemberToken)
        member_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(MemberApi):
    @extend_schema_serializer(component_name="MemberProfileInput")
    class InputSerializer(serializers.Serializer[Any]):
        # Lengths and URL form are checked by the service, which gives the error codes.
        nickname = serializers.CharField(required=False, allow_blank=True)
        avatar_url = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(responses=MemberOutputSerializer, operation_id="member_me")
    def get(self, request: Request) -> Response:
        return Response(MemberOutputSerializer(member_data(request_member(request))).data)

    @extend_schema(
        request=InputSerializer, responses=MemberOutputSerializer, operation_id="member_me_update"
    )
    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = member_profile_update(
            member=request_member(request),
            nickname=data.validated_data.get("nickname"),
            avatar_url=data.validated_data.get("avatar_url"),
        )
        return Response(MemberOutputSerializer(member_data(member)).data)


class AddressOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    recipient_name = serializers.CharField()
    phone = serializers.SerializerMethodField()
    province = serializers.CharField()
    city = serializers.CharField()
    district = serializers.CharField()
    detail = serializers.CharField()
    postal_code = serializers.CharField()
    is_default = serializers.BooleanField()

    def get_phone(self, address: Address) -> str:
        # The member's own address: the full number, to fill in forms and check it.
        return phone_decrypt(address.phone_encrypted)


class AddressInputSerializer(serializers.Serializer[Any]):
    # Required fields, lengths and the phone's form are checked by the service.
    recipient_name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    phone = serializers.CharField(max_length=32)
    province = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)
    district = serializers.CharField(required=False, allow_blank=True, default="")
    detail = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField(required=False, allow_blank=True, default="")


class AddressesApi(MemberApi):
    @extend_schema_serializer(component_name="AddressCreateInput")
    class CreateSerializer(AddressInputSerializer):
        is_default = serializers.BooleanField(required=False, default=False)

    @extend_schema(responses=AddressOutputSerializer(many=True), operation_id="address_list")
    def get(self, request: Request) -> Response:
        addresses = address_list(member=request_member(request))
        return Response(AddressOutputSerializer(addresses, many=True).data)

    @extend_schema(
        request=CreateSerializer,
        responses={201: AddressOutputSerializer},
        operation_id="address_create",
    )
    def post(self, request: Request) -> Response:
        data = self.CreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        is_default = values.pop("is_default")
        address = address_create(
            member=request_member(request), fields=AddressFields(**values), is_default=is_default
        )
        return Response(AddressOutputSerializer(address).data, status=status.HTTP_201_CREATED)


class AddressDetailApi(MemberApi):
    @extend_schema(
        request=AddressInputSerializer(partial=True),
        responses=AddressOutputSerializer,
        operation_id="address_update",
    )
    def patch(self, request: Request, address_id: int) -> Response:
        data = AddressInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        address = address_update(
            member=request_member(request), address_id=address_id, changes=data.validated_data
        )
        return Response(AddressOutputSerializer(address).data)

    @extend_schema(responses={204: None}, operation_id="address_delete")
    def delete(self, request: Request, address_id: int) -> Response:
        address_delete(member=request_member(request), address_id=address_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AddressDefaultApi(MemberApi):
    @extend_schema(request=None, responses=AddressOutputSerializer, operation_id="address_default")
    def post(self, request: Request, address_id: int) -> Response:
        address = address_default_set(member=request_member(request), address_id=address_id)
        return Response(AddressOutputSerializer(address).data)


class StoreBalanceEntryOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    amount_minor = serializers.IntegerField(help_text="Signed: positive adds, negative spends.")
    balance_after_minor = serializers.IntegerField()
    currency = serializers.CharField()
    # The field's name shadows Field.source for the type checker only; DRF declares it fine.
    source = serializers.CharField(  # type: ignore[assignment]
        help_text="withdrawal, payment, refund, …"
    )
    source_id = serializers.CharField()
    memo = serializers.CharField()
    created_at = serializers.DateTimeField()


class StoreBalanceEntryListApi(MemberApi):
    @extend_schema(
        parameters=[
            *page_parameters(),
        ],
        responses=page_of(StoreBalanceEntryOutputSerializer, "StoreBalanceEntryPage"),
        operation_id="store_balance_entry_list",
    )
    def get(self, request: Request) -> Response:
        entries = store_balance_entry_list(member_id=request_member(request).pk)
        paginator = PagePagination()
        page = paginator.paginate_queryset(entries, request, view=self) or []
        return paginator.get_paginated_response(
            StoreBalanceEntryOutputSerializer(page, many=True).data
        )
