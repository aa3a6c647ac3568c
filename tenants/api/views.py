"""The platform API (/api/platform/v1/): signup, login, the account, agencies' client shops."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from infra.api.throttling import SignupRateThrottle
from infra.errors import NotFound
from tenants.models import Account, Agency, Tenant
from tenants.selectors.accounts import tenant_list_for_account
from tenants.selectors.tenancy import shop_host_for
from tenants.services.accounts import (
    account_verification_confirm,
    account_verification_send,
    password_reset_confirm,
    password_reset_request,
)
from tenants.services.agencies import agency_client_shop_create
from tenants.services.audit import AuditContext
from tenants.services.login import login_attempt
from tenants.services.signup import tenant_signup

AUTH_BACKEND = "tenants.auth_backends.EmailOrPhoneBackend"


def shop_url(tenant: Tenant) -> str:
    """The storefront's address on the platform subdomain."""
    port = f":{settings.PLATFORM_PORT}" if settings.PLATFORM_PORT else ""
    return f"{settings.PLATFORM_SCHEME}://{shop_host_for(tenant.slug)}{port}/"


class TenantOutputSerializer(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    language = serializers.CharField()
    time_zone = serializers.CharField()
    console_url = serializers.SerializerMethodField()
    shop_url = serializers.SerializerMethodField()

    def get_console_url(self, tenant: Tenant) -> str:
        return f"/console/{tenant.slug}/"

    def get_shop_url(self, tenant: Tenant) -> str:
        return shop_url(tenant)


class AccountOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    email = serializers.EmailField(allow_null=True)
    phone = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    email_verified = serializers.SerializerMethodField()
    phone_verified = serializers.SerializerMethodField()

    def get_email_verified(self, account: Account) -> bool:
        return account.email_verified_at is not None

    def get_phone_verified(self, account: Account) -> bool:
        return account.phone_verified_at is not None


class ShopFieldsSerializer(serializers.Serializer[Any]):
    # Lengths and choices are checked by the service, which gives the stable error codes.
    shop_name = serializers.CharField(allow_blank=True, trim_whitespace=True)
    slug = serializers.CharField(allow_blank=True)
    currency = serializers.CharField(default="CNY")
    language = serializers.CharField(default="zh-hans")
    time_zone = serializers.CharField(default="Asia/Shanghai")


class SignupApi(APIView):
    """Create an account and its shop; the new owner is logged in."""

    authentication_classes: list[type] = []
    throttle_classes = [SignupRateThrottle]

    class InputSerializer(ShopFieldsSerializer):
        email = serializers.CharField(allow_blank=True, allow_null=True, default=None)
        phone = serializers.CharField(allow_blank=True, allow_null=True, default=None)
        password = serializers.CharField(allow_blank=True, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer[Any]):
        account = AccountOutputSerializer()
        tenant = TenantOutputSerializer()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer}, operation_id="signup"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = tenant_signup(**data.validated_data, context=AuditContext.from_request(request))
        login(request._request, result.account, backend=AUTH_BACKEND)
        body = self.OutputSerializer({"account": result.account, "tenant": result.tenant}).data
        return Response(body, status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    """Log in with an e-mail address or phone number and a password."""

    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer[Any]):
        identifier = serializers.CharField()
        password = serializers.CharField(trim_whitespace=False)

    @extend_schema(
        request=InputSerializer, responses={200: AccountOutputSerializer}, operation_id="login"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = login_attempt(request=request._request, **data.validated_data)
        login(request._request, account, backend=AUTH_BACKEND)
        return Response(AccountOutputSerializer(account).data)


class LogoutApi(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="logout")
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """The logged-in account and the shops it may open."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer[Any]):
        account = AccountOutputSerializer()
        tenants = TenantOutputSerializer(many=True)

    @extend_schema(responses=OutputSerializer, operation_id="me")
    def get(self, request: Request) -> Response:
        account = request.user
        assert isinstance(account, Account)
        tenants = list(tenant_list_for_account(account=account))
        return Response(self.OutputSerializer({"account": account, "tenants": tenants}).data)


class ShopListApi(ListAPIView[Tenant]):
    """The shops the logged-in account may open, by name, a page at a time."""

    permission_classes = [IsAuthenticated]
    serializer_class = TenantOutputSerializer

    def get_queryset(self) -> QuerySet[Tenant]:
        account = self.request.user
        assert isinstance(account, Account)  # IsAuthenticated
        return tenant_list_for_account(account=account)


class ChannelSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(choices=["email", "phone"])


class VerificationSendApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ChannelSerializer, responses={204: None}, operation_id="verify_send")
    def post(self, request: Request) -> Response:
        data = ChannelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account_verification_send(
            account=request.user,  # type: ignore[arg-type]
            channel=data.validated_data["channel"],
            context=AuditContext.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerificationConfirmApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(ChannelSerializer):
        code = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={200: AccountOutputSerializer},
        operation_id="verify_confirm",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = account_verification_confirm(
            account=request.user,  # type: ignore[arg-type]
            channel=data.validated_data["channel"],
            code=data.validated_data["code"],
            context=AuditContext.from_request(request),
        )
        return Response(AccountOutputSerializer(account).data)


class PasswordResetRequestApi(APIView):
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer[Any]):
        identifier = serializers.CharField()

    @extend_schema(
        request=InputSerializer, responses={204: None}, operation_id="password_reset_request"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_request(
            identifier=data.validated_data["identifier"],
            context=AuditContext.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetConfirmApi(APIView):
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer[Any]):
        identifier = serializers.CharField()
        code = serializers.CharField()
        new_password = serializers.CharField(trim_whitespace=False)

    @extend_schema(
        request=InputSerializer, responses={204: None}, operation_id="password_reset_confirm"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_confirm(**data.validated_data, context=AuditContext.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AgencyShopCreateApi(APIView):
    """An agency creates a shop for a client."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ShopFieldsSerializer,
        responses={201: TenantOutputSerializer},
        operation_id="agency_shop_create",
    )
    def post(self, request: Request, agency_id: int) -> Response:
        account = request.user
        assert isinstance(account, Account)  # IsAuthenticated
        agency = Agency.objects.filter(pk=agency_id, memberships__account=account).first()
        if agency is None:
            raise NotFound()
        data = ShopFieldsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = agency_client_shop_create(
            agency=agency,
            actor=request.user,  # type: ignore[arg-type]
            shop=data.validated_data,
            context=AuditContext.from_request(request),
        )
        return Response(TenantOutputSerializer(tenant).data, status=status.HTTP_201_CREATED)
