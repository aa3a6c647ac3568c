"""The distributor center of the shop API (under /api/v1/distribution/ on the shop host): the
member's distributor profile, applying, earnings by state, team by level, the orders that earned
them commissions, and the leaderboard.

Every endpoint needs the member's token. Earnings, team and orders are for distributors (active,
or disabled: they still see their money); anyone else gets 403 `not_a_distributor`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from distribution.models import Distributor, DistributorApplication, Qualification
from distribution.selectors import member_order_explanation
from distribution.services.center import (
    RANKING_PERIODS,
    RANKING_SIZE,
    TEAM_LEVELS,
    commission_orders,
    commission_row_state,
    distributor_center_require,
    distributor_of,
    earnings_summary,
    grade_name_of,
    latest_application_of,
    ranking_board,
    ranking_of,
    team_counts,
    team_list,
    upline_of,
)
from distribution.services.qualification import (
    distributor_apply,
    entry_fee_due,
    qualification_progress,
)
from distribution.services.settings import distribution_settings_get
from infra.api.pagination import PagePagination, page_of, page_parameters
from infra.errors import ValidationFailed
from shop.core.selectors import shop_context
from shop.customers.api.authentication import request_member
from shop.customers.api.views import MemberApi

NO_DISTRIBUTOR = "none"


@extend_schema_serializer(component_name="DistributorUpline")
class UplineSerializer(serializers.Serializer[Any]):
    member_id = serializers.IntegerField()
    nickname = serializers.CharField()
    bound_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    binding_source = serializers.CharField(help_text="link, code, coupon or manual.")


@extend_schema_serializer(component_name="DistributorQualification")
class QualificationSerializer(serializers.Serializer[Any]):
    mode = serializers.ChoiceField(choices=Qualification.values)
    qualified = serializers.BooleanField(
        help_text="Whether the member meets the automatic condition now (spend or product)."
    )
    spend_minor = serializers.IntegerField(help_text="Paid spend net of refunds.")
    threshold_minor = serializers.IntegerField()
    product_ids = serializers.ListField(child=serializers.IntegerField())


@extend_schema_serializer(component_name="DistributorApplicationState")
class ApplicationSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=DistributorApplication.Status.values)
    note = serializers.CharField(help_text="The shop's note with its decision.")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


@extend_schema_serializer(component_name="DistributorProfile")
class ProfileSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=[NO_DISTRIBUTOR, *Distributor.Status.values],
        help_text="none: not a distributor and never applied.",
    )
    code = serializers.CharField(
        allow_null=True, help_text="The share code (active or disabled distributors only)."
    )
    grade = serializers.CharField(
        allow_null=True, help_text="The grade's name (the shop's default grade when none)."
    )
    activated_at = serializers.DateTimeField(allow_null=True)
    upline = UplineSerializer(allow_null=True)
    distribution_enabled = serializers.BooleanField()
    qualification = QualificationSerializer()
    application = ApplicationSerializer(allow_null=True, help_text="The latest application.")
    entry_fee_minor = serializers.IntegerField(
        help_text="The entry fee the member pays from their store balance to become a "
        "distributor now (0: none, or already one or waiting for review)."
    )


def _application_data(application: DistributorApplication | None) -> dict[str, Any] | None:
    if application is None:
        return None
    return {
        "status": application.status,
        "note": application.note,
        "created_at": application.created_at,
        "decided_at": application.decided_at,
    }


def _profile(member_id: int) -> dict[str, Any]:
    settings = distribution_settings_get()
    distributor = distributor_of(member_id=member_id)
    shows_code = distributor is not None and distributor.status in (
        Distributor.Status.ACTIVE,
        Distributor.Status.DISABLED,
    )
    progress = qualification_progress(member_id=member_id, settings=settings)
    return {
        "status": distributor.status if distributor is not None else NO_DISTRIBUTOR,
        "code": distributor.code if distributor is not None and shows_code else None,
        "grade": grade_name_of(distributor) if distributor is not None and shows_code else None,
        "activated_at": distributor.activated_at if distributor is not None else None,
        "upline": upline_of(member_id=member_id),
        "distribution_enabled": settings.enabled,
        "qualification": {
            "mode": settings.qualification,
            "qualified": progress.qualified,
            "spend_minor": progress.spend_minor,
            "threshold_minor": settings.qualification_spend_minor,
            "product_ids": list(settings.qualification_product_ids),
        },
        "application": _application_data(latest_application_of(member_id=member_id)),
        "entry_fee_minor": entry_fee_due(
            settings=settings, status=distributor.status if distributor is not None else ""
        ),
    }


class DistributorMeApi(MemberApi):
    """The member's distributor profile: status, share code, grade, upline, and how they can
    become a distributor in this shop (also when they are not one)."""

    @extend_schema(responses=ProfileSerializer, operation_id="distribution_me")
    def get(self, request: Request) -> Response:
        member = request_member(request)
        return Response(ProfileSerializer(_profile(member.pk)).data)


class DistributorApplyApi(MemberApi):
    """Ask to become a distributor. By the shop's setting: at once (everyone, or a condition
    met), or an application for the merchant's review (name, phone and reason needed). Errors:
    distribution_off, already_a_distributor, application_pending, qualification_appointed_only,
    qualification_not_met, distributor_status_invalid (disabled), validation_failed,
    insufficient_store_balance (the shop charges an entry fee: nothing changed)."""

    @extend_schema_serializer(component_name="DistributorApplyInput")
    class InputSerializer(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
        phone = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)
        reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={200: ProfileSerializer, 201: ProfileSerializer},
        operation_id="distribution_apply",
    )
    def post(self, request: Request) -> Response:
        member = request_member(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = distributor_apply(
            member=member,
            name=data.validated_data["name"],
            phone=data.validated_data["phone"],
            reason=data.validated_data["reason"],
        )
        code = status.HTTP_201_CREATED if result.application is not None else status.HTTP_200_OK
        return Response(ProfileSerializer(_profile(member.pk)).data, status=code)


@extend_schema_serializer(component_name="DistributorEarnings")
class EarningsSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    pending_minor = serializers.IntegerField(help_text="Order paid, not yet received.")
    frozen_minor = serializers.IntegerField(help_text="Received, inside the after-sale window.")
    available_minor = serializers.IntegerField(help_text="Withdrawable.")
    held_minor = serializers.IntegerField(help_text="Held for the shop's review.")
    withdrawal_in_progress_minor = serializers.IntegerField()
    withdrawn_minor = serializers.IntegerField()
    clawback_owed_minor = serializers.IntegerField(
        help_text="Refunded after payout: owed back, offset against future earnings."
    )
    earned_minor = serializers.IntegerField(help_text="Every commission booked, in total.")
    reversed_minor = serializers.IntegerField(help_text="Reversed by refunds or reviews.")
    net_earned_minor = serializers.IntegerField()
    team = serializers.DictField(
        child=serializers.IntegerField(), help_text='Downlines per level: {"1": n, "2": n, "3": n}.'
    )


class DistributorEarningsApi(MemberApi):
    """The distributor's balances by state (from the ledger) and totals earned and reversed."""

    @extend_schema(responses=EarningsSerializer, operation_id="distribution_earnings")
    def get(self, request: Request) -> Response:
        member = request_member(request)
        distributor_center_require(member_id=member.pk)
        summary: dict[str, Any] = dict(earnings_summary(member_id=member.pk))
        summary["currency"] = shop_context().currency
        summary["team"] = {
            str(level): count for level, count in team_counts(member_id=member.pk).items()
        }
        return Response(EarningsSerializer(summary).data)


@extend_schema_serializer(component_name="DistributorTeamMember")
class TeamMemberSerializer(serializers.Serializer[Any]):
    member_id = serializers.IntegerField()
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()
    bound_at = serializers.DateTimeField()
    is_distributor = serializers.BooleanField()
    order_count = serializers.IntegerField(help_text="Paid orders.")
    spend_minor = serializers.IntegerField(help_text="Paid, net of refunds.")
    earned_minor = serializers.IntegerField(
        help_text="What you earned on their orders, net of reversals."
    )


class DistributorTeamApi(MemberApi):
    """The distributor's downlines at one level (1 to 3), newest first, paginated."""

    @extend_schema(
        parameters=[
            OpenApiParameter("level", int, enum=list(TEAM_LEVELS), required=False),
            *page_parameters(),
        ],
        responses=page_of(TeamMemberSerializer, "DistributorTeamPage"),
        operation_id="distribution_team",
    )
    def get(self, request: Request) -> Response:
        member = request_member(request)
        distributor_center_require(member_id=member.pk)
        raw = request.query_params.get("level") or "1"
        if raw not in {str(level) for level in TEAM_LEVELS}:
            raise ValidationFailed(
                _("Some fields are not valid."),
                fields={
                    "level": [{"code": "invalid_choice", "message": _("Use level 1, 2 or 3.")}]
                },
            )
        paginator = PagePagination()
        page = paginator.paginate_queryset(
            team_list(member_id=member.pk, level=int(raw)), request, view=self
        )
        rows = [
            {
                "member_id": downline.pk,
                "nickname": downline.nickname,
                "avatar_url": downline.avatar_url,
                "bound_at": downline.bound_at,  # type: ignore[attr-defined]
                "is_distributor": downline.is_distributor,  # type: ignore[attr-defined]
                "order_count": downline.order_count,  # type: ignore[attr-defined]
                "spend_minor": downline.spend_minor,  # type: ignore[attr-defined]
                "earned_minor": downline.earned_minor,  # type: ignore[attr-defined]
            }
            for downline in page or []
        ]
        return paginator.get_paginated_response(TeamMemberSerializer(rows, many=True).data)


@extend_schema_serializer(component_name="DistributorCommissionOrder")
class CommissionOrderSerializer(serializers.Serializer[Any]):
    order_number = serializers.CharField()
    paid_at = serializers.DateTimeField(allow_null=True)
    buyer_nickname = serializers.CharField()
    kind = serializers.CharField(help_text="level (an upline's share) or region.")
    level = serializers.IntegerField(help_text="1 to 3 (0 for a regional share).")
    currency = serializers.CharField()
    amount_minor = serializers.IntegerField(help_text="Booked on the order at this level.")
    reversed_minor = serializers.IntegerField()
    net_minor = serializers.IntegerField()
    state = serializers.CharField(
        help_text="held, pending, frozen, available, withdrawn, or reversed (all of it)."
    )


class DistributorOrdersApi(MemberApi):
    """The orders that earned the distributor commissions, newest first, one row per order and
    level, paginated."""

    @extend_schema(
        parameters=page_parameters(),
        responses=page_of(CommissionOrderSerializer, "DistributorCommissionOrderPage"),
        operation_id="distribution_orders",
    )
    def get(self, request: Request) -> Response:
        member = request_member(request)
        distributor_center_require(member_id=member.pk)
        paginator = PagePagination()
        page = paginator.paginate_queryset(
            commission_orders(member_id=member.pk), request, view=self
        )
        rows = [
            {
                "order_number": row["number"],
                "paid_at": row["paid_at"],
                "buyer_nickname": row["buyer_nickname"],
                "kind": row["kind"],
                "level": row["level"],
                "currency": row["currency"],
                "amount_minor": row["amount_minor"],
                "reversed_minor": row["reversed_minor"],
                "net_minor": row["amount_minor"] - row["reversed_minor"],
                "state": commission_row_state(list(row["states"])),
            }
            for row in page or []
        ]
        return paginator.get_paginated_response(CommissionOrderSerializer(rows, many=True).data)


@extend_schema_serializer(component_name="DistributorOrderExplanation")
class OrderExplanationSerializer(serializers.Serializer[Any]):
    level = serializers.IntegerField(
        help_text="1 to 3: your level above the buyer; 0: you bought it, or an invite reward "
        "or a regional agent's share."
    )
    reason = serializers.CharField(
        help_text="earns, invite_reward, regional_agent, or why you did not: binding_expired, "
        "not_a_distributor, self_purchase_off, depth_limit, link_priority, code_priority, "
        "code_over_link, held, excluded_order_type, invite_cap_reached, distribution_off."
    )
    amount_minor = serializers.IntegerField(allow_null=True)
    reversed_minor = serializers.IntegerField(allow_null=True)
    rate = serializers.IntegerField(
        allow_null=True, help_text="Basis points, or minor units per unit when rate_kind is fixed."
    )
    rate_kind = serializers.CharField(allow_null=True)


class DistributorOrderExplanationApi(MemberApi):
    """Why you earned (or did not) on an order: only the decisions about you."""

    @extend_schema(
        responses=OrderExplanationSerializer(many=True),
        operation_id="distribution_order_explanation",
    )
    def get(self, request: Request, number: str) -> Response:
        member = request_member(request)
        items = member_order_explanation(member_id=member.pk, order_number=number)
        rows = [
            {
                "level": item["level"],
                "reason": item["reason"],
                "amount_minor": item.get("amount_minor"),
                "reversed_minor": item.get("reversed_minor"),
                "rate": item.get("rate"),
                "rate_kind": item.get("rate_kind"),
            }
            for item in items
        ]
        return Response(OrderExplanationSerializer(rows, many=True).data)


@extend_schema_serializer(component_name="DistributorRankingEntry")
class RankingEntrySerializer(serializers.Serializer[Any]):
    rank = serializers.IntegerField()
    member_id = serializers.IntegerField()
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()
    amount_minor = serializers.IntegerField()


@extend_schema_serializer(component_name="DistributorRanking")
class RankingSerializer(serializers.Serializer[Any]):
    period = serializers.ChoiceField(choices=list(RANKING_PERIODS))
    currency = serializers.CharField()
    entries = RankingEntrySerializer(many=True)
    mine = inline_serializer(
        "DistributorRankingMine",
        fields={
            "rank": serializers.IntegerField(allow_null=True),
            "amount_minor": serializers.IntegerField(),
        },
    )


class DistributorRankingApi(MemberApi):
    """The leaderboard by net earnings, this month (shop time) or of all time, with the
    distributor's own rank; refreshed every minute."""

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, enum=list(RANKING_PERIODS), required=False),
        ],
        responses=RankingSerializer,
        operation_id="distribution_ranking",
    )
    def get(self, request: Request) -> Response:
        member = request_member(request)
        distributor_center_require(member_id=member.pk)
        period = request.query_params.get("period") or "month"
        if period not in RANKING_PERIODS:
            raise ValidationFailed(
                _("Some fields are not valid."),
                fields={"period": [{"code": "invalid_choice", "message": _("Use month or all.")}]},
            )
        body = {
            "period": period,
            "currency": shop_context().currency,
            "entries": [
                entry.__dict__ for entry in ranking_board(period=period, size=RANKING_SIZE)
            ],
            "mine": ranking_of(member_id=member.pk, period=period),
        }
        return Response(RankingSerializer(body).data)
