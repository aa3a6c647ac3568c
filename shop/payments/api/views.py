"""Paying an order from the storefront: start a payment, poll it, confirm a sandbox payment."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from shop.core.idempotency import idempotent
from shop.customers.api.authentication import request_member
from shop.customers.api.views import MemberApi, client_ip
from shop.customers.models import MemberIdentity
from shop.customers.selectors.members import member_openid
from shop.orders.api.views import IDEMPOTENCY_HEADER
from shop.orders.selectors import member_order_get
from shop.payments.errors import WeChatIdentityMissingError
from shop.payments.models import Gateway, Payment
from shop.payments.selectors import member_payment_get, notify_url_for
from shop.payments.services.payments import (
    METHOD_GATEWAY,
    payment_sandbox_confirm,
    payment_start,
)

OPENID_PROVIDER = {
    Payment.Method.WECHAT_MINIPROGRAM: MemberIdentity.Provider.WECHAT_MINIPROGRAM,
    Payment.Method.WECHAT_JSAPI: MemberIdentity.Provider.WECHAT_OFFICIAL_ACCOUNT,
}


def payment_data(payment: Payment) -> dict[str, Any]:
    return {
        "out_trade_no": payment.out_trade_no,
        "gateway": payment.gateway,
        "method": payment.method,
        "status": payment.status,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
    }


class PaymentSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "Payment"

    out_trade_no = serializers.CharField()
    gateway = serializers.ChoiceField(choices=Gateway.choices)
    method = serializers.ChoiceField(choices=Payment.Method.choices)
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()


class OrderPayApi(MemberApi):
    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "OrderPayInput"

        method = serializers.ChoiceField(choices=sorted(METHOD_GATEWAY))
        return_url = serializers.URLField(required=False, default="")

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "OrderPayOutput"

        payment = PaymentSerializer()
        client_params = serializers.DictField(
            help_text="What the client needs to pay: JSAPI parameters for wx.requestPayment, "
            "an h5_url, a code_url for a QR code, a Stripe client_secret, offline "
            "instructions, or the sandbox's confirm_path."
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        operation_id="order_pay",
    )
    def post(self, request: Request, number: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        member = request_member(request)
        order = member_order_get(member=member, number=number)
        method = values["method"]
        payer_ref = ""
        if method in OPENID_PROVIDER:
            payer_ref = member_openid(member=member, provider=OPENID_PROVIDER[method])
            if not payer_ref:
                raise WeChatIdentityMissingError()

        def run() -> tuple[int, Any]:
            started = payment_start(
                order=order,
                method=method,
                notify_url=notify_url_for(gateway=METHOD_GATEWAY[method]),
                client_ip=client_ip(request) or "",
                payer_ref=payer_ref,
                return_url=values["return_url"],
            )
            body = {
                "payment": payment_data(started.payment),
                "client_params": started.client_params,
            }
            return status.HTTP_201_CREATED, body

        code, body = idempotent(
            scope="pay",
            owner=f"member:{member.pk}",
            key=request.headers.get("Idempotency-Key"),
            request={"order": number, **values},
            run=run,
        )
        return Response(body, status=code)


class PaymentDetailApi(MemberApi):
    @extend_schema(responses=PaymentSerializer, operation_id="payment_detail")
    def get(self, request: Request, out_trade_no: str) -> Response:
        return Response(
            payment_data(
                member_payment_get(member=request_member(request), out_trade_no=out_trade_no)
            )
        )


class SandboxConfirmApi(MemberApi):
    @extend_schema(
        request=None, responses=PaymentSerializer, operation_id="payment_sandbox_confirm"
    )
    def post(self, request: Request, out_trade_no: str) -> Response:
        payment = member_payment_get(member=request_member(request), out_trade_no=out_trade_no)
        payment_sandbox_confirm(order=payment.order, out_trade_no=out_trade_no)
        payment.refresh_from_db()
        return Response(payment_data(payment))
