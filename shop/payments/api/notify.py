"""WeChat Pay's notifications to the shop host: POST /api/v1/payments/notify/wechatpay.

WeChat Pay posts them unauthenticated (the signature is the proof), so the endpoint has no
authentication, no CSRF and no throttle (WeChat's retries must never be refused for rate). The
raw body is handed over unparsed: the signature covers its exact bytes. Storing is all that
happens here (a task applies it), so the answer comes well within WeChat's 5 s.

Answers: 204 when stored, or stored before (a duplicate); 400 with WeChat's
{"code": "FAIL", "message": ...} when the notification is refused (then WeChat retries it).
It is a provider callback, not part of the shop API, so it is left out of the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.payments.errors import NotificationInvalidError
from shop.payments.models import Gateway
from shop.payments.services.notifications import notification_receive


class WeChatPayNotifyApi(APIView):
    authentication_classes: list[type[Any]] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type[Any]] = []
    parser_classes: list[type[Any]] = []  # never parsed: the signature is over the raw bytes

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        body: bytes = request._request.body
        try:
            notification_receive(
                gateway=Gateway.WECHATPAY, headers=dict(request.headers), body=body
            )
        except NotificationInvalidError as error:
            return Response(
                {"code": "FAIL", "message": f"{error.code}: {error.message}"},
                status=error.status_code,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)
