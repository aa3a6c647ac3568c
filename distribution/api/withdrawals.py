"""Withdrawals in the distributor center (under /api/v1/ on the shop host), and WeChat Pay's
transfer notifications.

POST distribution/withdrawals honours `Idempotency-Key` (shop.core.idempotency): a repeat gets
the first answer, the same key with another body gets 422 idempotency_key_reused. While WeChat
waits for the payee, a withdrawal carries `confirmation`: what wx.requestMerchantTransfer takes
({mchId, appId, package}).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from distribution.models import Withdrawal, WithdrawalChannel
from distribution.services.withdrawals import (
    Payee,
    withdrawal_cancel,
    withdrawal_client_confirmation,
    withdrawal_notification_receive,
    withdrawal_of_member,
    withdrawal_request,
    withdrawals_of_member,
)
from infra.api.pagination import PagePagination, page_of, page_parameters
from shop.core.idempotency import idempotent
from shop.customers.api.authentication import request_member
from shop.customers.api.views import MemberApi
from shop.payments.errors import NotificationInvalidError

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Repeat a request safely: the first result is returned for the same key.",
)


class ConfirmationSerializer(serializers.Serializer[Any]):
    """The arguments of wx.requestMerchantTransfer."""

    class Meta:
        ref_name = "WithdrawalConfirmation"

    mchId = serializers.CharField()  # noqa: N815 (WeChat's name)
    appId = serializers.CharField()  # noqa: N815 (WeChat's name)
    package = serializers.CharField()


class WithdrawalSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "Withdrawal"

    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Withdrawal.State.choices)
    channel = serializers.ChoiceField(choices=WithdrawalChannel.choices)
    currency = serializers.CharField()
    amount_minor = serializers.IntegerField()
    fee_minor = serializers.IntegerField()
    net_minor = serializers.IntegerField()
    payee_hint = serializers.CharField()
    reject_reason = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    confirmation = ConfirmationSerializer(
        allow_null=True,
        help_text="Set while the withdrawal is awaiting_confirmation: pass it to "
        "wx.requestMerchantTransfer so that the payee confirms the transfer.",
    )


def withdrawal_data(withdrawal: Withdrawal) -> dict[str, Any]:
    return {
        "id": withdrawal.pk,
        "state": withdrawal.state,
        "channel": withdrawal.channel,
        "currency": withdrawal.currency,
        "amount_minor": withdrawal.amount_minor,
        "fee_minor": withdrawal.fee_minor,
        "net_minor": withdrawal.net_minor,
        "payee_hint": withdrawal.payee_hint,
        "reject_reason": withdrawal.reject_reason,
        # WeChat's codes are for the merchant; the member sees that it failed.
        "failure_reason": "failed" if withdrawal.state == Withdrawal.State.FAILED else "",
        "created_at": withdrawal.created_at,
        "paid_at": withdrawal.paid_at,
        "closed_at": withdrawal.closed_at,
        "confirmation": withdrawal_client_confirmation(withdrawal),
    }


def _respond(withdrawal: Withdrawal, code: int = status.HTTP_200_OK) -> Response:
    return Response(WithdrawalSerializer(withdrawal_data(withdrawal)).data, status=code)


class WithdrawalListCreateApi(MemberApi):
    @extend_schema_serializer(component_name="WithdrawalRequestInput")
    class InputSerializer(serializers.Serializer[Any]):
        amount_minor = serializers.IntegerField(min_value=1)
        channel = serializers.ChoiceField(choices=WithdrawalChannel.choices)
        account_name = serializers.CharField(
            max_length=64, required=False, default="", allow_blank=True
        )
        bank_name = serializers.CharField(
            max_length=64, required=False, default="", allow_blank=True
        )
        account_number = serializers.CharField(
            max_length=40, required=False, default="", allow_blank=True
        )
        branch = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
        real_name = serializers.CharField(
            max_length=64,
            required=False,
            default="",
            allow_blank=True,
            help_text="WeChat needs the payee's real name from 2,000 CNY on.",
        )

    @extend_schema(
        parameters=[
            *page_parameters(),
        ],
        responses=page_of(WithdrawalSerializer, "WithdrawalPage"),
        operation_id="withdrawal_list",
    )
    def get(self, request: Request) -> Response:
        member = request_member(request)
        paginator = PagePagination()
        page = (
            paginator.paginate_queryset(withdrawals_of_member(member_id=member.pk), request, self)
            or []
        )
        return paginator.get_paginated_response(
            [WithdrawalSerializer(withdrawal_data(item)).data for item in page]
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: WithdrawalSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        operation_id="withdrawal_request",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        member = request_member(request)
        key = request.headers.get("Idempotency-Key")

        def run() -> tuple[int, Any]:
            withdrawal = withdrawal_request(
                member=member,
                amount_minor=values["amount_minor"],
                channel=values["channel"],
                payee=Payee(
                    account_name=values["account_name"],
                    bank_name=values["bank_name"],
                    account_number=values["account_number"],
                    branch=values["branch"],
                    real_name=values["real_name"],
                ),
                idempotency_key=key or "",
            )
            return status.HTTP_201_CREATED, {"id": withdrawal.pk}

        code, body = idempotent(
            scope="withdrawal",
            owner=f"member:{member.pk}",
            key=key,
            request=dict(values),
            run=run,
        )
        # The stored answer is the withdrawal's id: a replay shows its state now.
        withdrawal = withdrawal_of_member(member_id=member.pk, withdrawal_id=int(body["id"]))
        return _respond(withdrawal, code)


class WithdrawalDetailApi(MemberApi):
    @extend_schema(responses=WithdrawalSerializer, operation_id="withdrawal_get")
    def get(self, request: Request, withdrawal_id: int) -> Response:
        member = request_member(request)
        return _respond(withdrawal_of_member(member_id=member.pk, withdrawal_id=withdrawal_id))


class WithdrawalCancelApi(MemberApi):
    @extend_schema(request=None, responses=WithdrawalSerializer, operation_id="withdrawal_cancel")
    def post(self, request: Request, withdrawal_id: int) -> Response:
        member = request_member(request)
        return _respond(withdrawal_cancel(member_id=member.pk, withdrawal_id=withdrawal_id))


class WithdrawalNotifyApi(APIView):
    """WeChat Pay's transfer notifications (MCHTRANSFER.BILL.FINISHED), unauthenticated: the
    signature on the raw body is the proof (as for payments). 204 when applied or a duplicate;
    400 with WeChat's {"code": "FAIL"} when refused (WeChat retries)."""

    authentication_classes: list[type[Any]] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type[Any]] = []
    parser_classes: list[type[Any]] = []  # never parsed: the signature is over the raw bytes

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        body: bytes = request._request.body
        try:
            withdrawal_notification_receive(headers=dict(request.headers), body=body)
        except NotificationInvalidError as error:
            return Response(
                {"code": "FAIL", "message": f"{error.code}: {error.message}"},
                status=error.status_code,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)
