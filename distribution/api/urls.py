"""The distribution endpoints of the shop API (under /api/v1/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from distribution.api.center import (
    DistributorApplyApi,
    DistributorEarningsApi,
    DistributorMeApi,
    DistributorOrderExplanationApi,
    DistributorOrdersApi,
    DistributorRankingApi,
    DistributorTeamApi,
)
from distribution.api.share import ShareCreateApi, ShareSceneApi
from distribution.api.statements import StatementListApi
from distribution.api.views import ReferralVisitApi
from distribution.api.withdrawals import (
    WithdrawalCancelApi,
    WithdrawalDetailApi,
    WithdrawalListCreateApi,
    WithdrawalNotifyApi,
)

urlpatterns: list[URLPattern] = [
    path("distribution/visits", ReferralVisitApi.as_view(), name="distribution-visit"),
    path("distribution/share", ShareCreateApi.as_view(), name="distribution-share"),
    path("distribution/scenes/<str:scene>", ShareSceneApi.as_view(), name="distribution-scene"),
    path("distribution/me", DistributorMeApi.as_view(), name="distribution-me"),
    path("distribution/apply", DistributorApplyApi.as_view(), name="distribution-apply"),
    path("distribution/earnings", DistributorEarningsApi.as_view(), name="distribution-earnings"),
    path("distribution/team", DistributorTeamApi.as_view(), name="distribution-team"),
    path("distribution/orders", DistributorOrdersApi.as_view(), name="distribution-orders"),
    path(
        "distribution/orders/<str:number>/explanation",
        DistributorOrderExplanationApi.as_view(),
        name="distribution-order-explanation",
    ),
    path("distribution/ranking", DistributorRankingApi.as_view(), name="distribution-ranking"),
    path("distribution/statements", StatementListApi.as_view(), name="distribution-statements"),
    path(
        "distribution/withdrawals",
        WithdrawalListCreateApi.as_view(),
        name="distribution-withdrawals",
    ),
    path(
        "distribution/withdrawals/<int:withdrawal_id>",
        WithdrawalDetailApi.as_view(),
        name="distribution-withdrawal",
    ),
    path(
        "distribution/withdrawals/<int:withdrawal_id>/cancel",
        WithdrawalCancelApi.as_view(),
        name="distribution-withdrawal-cancel",
    ),
    # WeChat Pay's transfer notifications (the notify_url of every withdrawal's transfer).
    path(
        "distribution/withdrawals/notify/wechatpay",
        WithdrawalNotifyApi.as_view(),
        name="distribution-withdrawal-notify-wechatpay",
    ),
]
