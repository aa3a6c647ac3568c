"""The distributor side of the shop API (under /api/v1/ on the shop host)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from distribution.models import BindingTrigger
from distribution.services.bindings import referral_bind
from shop.customers.api.authentication import request_member
from shop.customers.api.views import MemberApi


class ReferralVisitApi(MemberApi):
    """A member arrived through a share link or code (on their first visit, or when they
    registered): bind them to its distributor if the shop's rules allow it now."""

    @extend_schema_serializer(component_name="ReferralVisitInput")
    class InputSerializer(serializers.Serializer[Any]):
        code = serializers.CharField(max_length=16)
        trigger = serializers.ChoiceField(
            choices=[BindingTrigger.FIRST_VISIT, BindingTrigger.REGISTER]
        )

    @extend_schema_serializer(component_name="ReferralVisitOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        bound = serializers.BooleanField()
        reason = serializers.CharField(
            help_text="bound, rebound, or why not: distribution_off, not_the_trigger, "
            "unknown_code, self_referral, already_bound, already_bound_here, snatch_protected, "
            "not_a_new_user, cycle."
        )

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, operation_id="referral_visit"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = referral_bind(
            member=request_member(request),
            code=data.validated_data["code"],
            trigger=data.validated_data["trigger"],
        )
        return Response(
            self.OutputSerializer({"bound": result.bound, "reason": result.reason}).data
        )
