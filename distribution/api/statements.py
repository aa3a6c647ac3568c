"""The distributor's monthly statements in the shop API (GET /api/v1/distribution/statements).

Member-authenticated: a member sees only their own statements (none unless they earned), newest
month first, at most STATEMENTS_LIMIT months. Amounts are integer minor units of `currency`;
closing = opening + earned - reversed - withdrawn - fees (distribution.services.statements).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from distribution.services.statements import statements_for_member
from shop.customers.api.authentication import request_member
from shop.customers.api.views import MemberApi

STATEMENTS_LIMIT = 36


@extend_schema_serializer(component_name="DistributionStatement")
class StatementSerializer(serializers.Serializer[Any]):
    month = serializers.DateField(format="%Y-%m")
    currency = serializers.CharField()
    opening_minor = serializers.IntegerField()
    earned_minor = serializers.IntegerField()
    reversed_minor = serializers.IntegerField()
    clawback_minor = serializers.IntegerField(
        help_text="Of reversed: taken back from money already released."
    )
    released_minor = serializers.IntegerField()
    withdrawn_minor = serializers.IntegerField()
    fees_minor = serializers.IntegerField()
    closing_minor = serializers.IntegerField()
    closing_available_minor = serializers.IntegerField()
    generated_at = serializers.DateTimeField()


class StatementListApi(MemberApi):
    """The member's monthly statements (shop time zone), newest first."""

    @extend_schema_serializer(component_name="DistributionStatementList")
    class OutputSerializer(serializers.Serializer[Any]):
        results = StatementSerializer(many=True)

    @extend_schema(responses=OutputSerializer, operation_id="distribution_statements")
    def get(self, request: Request) -> Response:
        member = request_member(request)
        statements = list(statements_for_member(member_id=member.pk)[:STATEMENTS_LIMIT])
        return Response(self.OutputSerializer({"results": statements}).data)
