"""Webhooks of the platform host for billing's providers: Stripe Connect (shops' accounts)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.services.connect import stripe_connect_event_receive


class StripeConnectWebhookApi(APIView):
    """Events of the shops' connected accounts: verified on the raw body, routed to the shop,
    answered at once (payment and refund events are stored there and processed by a task).

    Signed by Stripe, so no session, CSRF or throttle: a burst of retries must all get in.
    """

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []
    parser_classes: list[type] = []  # never parsed: the signature is over the raw bytes

    class OutputSerializer(serializers.Serializer[Any]):
        event_id = serializers.CharField()
        event_type = serializers.CharField()
        outcome = serializers.CharField()
        detail = serializers.CharField()

    @extend_schema(exclude=True)  # Stripe's endpoint, not part of our API
    def post(self, request: Request) -> Response:
        # The raw body, never request.data: the signature is over the bytes as sent.
        outcome = stripe_connect_event_receive(
            body=request._request.body,
            headers={"Stripe-Signature": request.headers.get("Stripe-Signature", "")},
        )
        return Response(self.OutputSerializer(outcome).data)
