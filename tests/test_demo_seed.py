"""`make dev`'s demo data: everything the README promises, and a second run changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command
from django.test import Client

from billing.models import Subscription
from tenants.models import Account, AgencyMembership, AuditLog, Membership, Tenant


def _counts() -> dict[str, int]:
    return {
        "tenants": Tenant.objects.count(),
        "accounts": Account.objects.count(),
        "memberships": Membership.objects.count(),
        "agency_memberships": AgencyMembership.objects.count(),
        "subscriptions": Subscription.objects.count(),
        "audit": AuditLog.objects.count(),
    }


def _demo_counts() -> dict[str, int]:
    """What the demo shop's distribution holds (a second run must add none of it)."""
    from distribution.models import (
        Commission,
        DistributorApplication,
        Grade,
        GradeChange,
        LedgerTransaction,
        RiskFlag,
        SettlementRun,
        Statement,
        Withdrawal,
    )
    from infra.db import tenant_schema
    from shop.orders.models import Order
    from themes.storefront.models import StorefrontVersion

    with tenant_schema(Tenant.objects.get(slug="demo")):
        return {
            name: model._default_manager.count()
            for name, model in {
                "orders": Order,
                "commissions": Commission,
                "ledger": LedgerTransaction,
                "grades": Grade,
                "grade_changes": GradeChange,
                "withdrawals": Withdrawal,
                "risk_flags": RiskFlag,
                "applications": DistributorApplication,
                "settlement_runs": SettlementRun,
                "statements": Statement,
                "storefront_versions": StorefrontVersion,
            }.items()
        }


def test_demo_seed_makes_the_demo_and_is_idempotent(
    shops: dict[str, Tenant], public: None, tmp_path: Path
) -> None:
    # given
    credentials_file = tmp_path / "demo-credentials.json"
    # when
    call_command("demo_seed", f"--credentials-file={credentials_file}")
    first = _counts()
    first_demo = _demo_counts()
    call_command("demo_seed", f"--credentials-file={credentials_file}")
    # then
    assert _counts() == first
    assert _demo_counts() == first_demo
    credentials = json.loads(credentials_file.read_text())
    assert set(credentials) == {"admin", "owner", "agency"}
    demo = Tenant.objects.get(slug="demo")
    assert demo.onboarding == {"shop_profile": True}
    assert Subscription.objects.get(tenant=demo).status == "trialing"
    home = Client(HTTP_HOST="demo.localhost").get("/").content.decode()
    assert "<title>Demo Shop</title>" in home
    assert "欢迎光临演示商店" in home
    # and the storefront's home page is the designed one (published after the theme's default)
    assert "春茶上新 明前龙井" in home
    assert "成为分销员，分享赚佣金" in home
    assert first_demo["storefront_versions"] == 2
    products = Client(HTTP_HOST="demo.localhost").get("/api/v1/products?page_size=50").json()
    assert products["count"] == 8
    search = Client(HTTP_HOST="demo.localhost").get("/api/v1/products?q=衬衫").json()
    assert [item["title"] for item in search["results"]] == ["蓝色衬衫 Blue shirt"]
    assert Client(HTTP_HOST="demo-closed.localhost").get("/").status_code == 503
    owner = Client()
    assert (
        owner.post(
            "/login/",
            {"identifier": "owner@example.com", "password": credentials["owner"]["password"]},
        ).status_code
        == 302
    )
    assert owner.get("/console/demo/").status_code == 200
    assert owner.get("/console/demo-closed/").status_code == 200
    agency = Client()
    agency.force_login(Account.objects.get(email="agency@example.com"))
    assert agency.get("/console/demo-client/").status_code == 200
    assert agency.get("/console/demo/").status_code == 404
    admin = Account.objects.get(email="admin@example.com")
    assert (admin.is_platform_staff, admin.is_superuser) == (True, True)
    # and the demo shop has members and an order in every state
    from infra.db import tenant_schema
    from shop.orders.models import AfterSale, Order

    with tenant_schema(demo):
        statuses = set(Order.objects.values_list("status", flat=True))
        open_after_sales = AfterSale.objects.filter(status="requested").count()
    assert statuses == {
        "pending_payment",
        "paid",
        "shipped",
        "received",
        "completed",
        "cancelled",
        "closed",
    }
    assert open_after_sales == 1
    # and a distribution chain: three levels earn, the fourth is beyond the cap, a refund reversed
    from distribution.models import Commission, CommissionDecision

    with tenant_schema(demo):
        levels = sorted(
            set(Commission.objects.filter(kind="level").values_list("level", flat=True))
        )
        capped = CommissionDecision.objects.filter(reason="depth_limit").exists()
        reversed_ = Commission.objects.filter(reversed_minor__gt=0).exists()
    assert (levels, capped, reversed_) == ([1, 2, 3], True, True)

    # and the whole distribution engine: grades with an automatic upgrade and a manual override
    from distribution.models import (
        DistributionSettings,
        DistributorApplication,
        Grade,
        GradeChange,
        LedgerTransaction,
        PosterTemplate,
        RegionalAgent,
        RiskFlag,
        SettlementRun,
        Statement,
        Withdrawal,
    )
    from shop.customers.models import Member
    from shop.customers.phones import phone_index

    with tenant_schema(demo):
        settings = DistributionSettings.objects.get()
        grades = list(Grade.objects.order_by("rank").values_list("name", "is_default"))
        changes = set(
            GradeChange.objects.values_list("member__nickname", "to_grade_name", "reason")
        )
        states = set(Commission.objects.values_list("state", flat=True))
        region_share = Commission.objects.filter(kind="region").exists()
        released = SettlementRun.objects.filter(kind="unfreeze", released_minor__gt=0).exists()
        clawback = LedgerTransaction.objects.filter(purpose__startswith="clawback:").exists()
        clawback_statements = Statement.objects.filter(clawback_minor__gt=0).count()
        withdrawals = set(Withdrawal.objects.values_list("member__nickname", "channel", "state"))
        card_reference = Withdrawal.objects.get(channel="bank_card", state="paid").offline_reference
        to_balance = Withdrawal.objects.get(channel="store_balance", state="paid")
        lead_balance = Member.objects.get(phone_index=phone_index("+8613900139003"))
        flags = list(RiskFlag.objects.values_list("status", "rules", "member__nickname"))
        agents = list(RegionalAgent.objects.values_list("province", "city", "member__nickname"))
        applications = list(DistributorApplication.objects.values_list("status", flat=True))
        poster = PosterTemplate.objects.filter(is_default=True).exists()
    assert (settings.rate_source, settings.qualification) == ("grade", "apply_review")
    assert grades == [("普通", True), ("VIP", False), ("区域经理", False)]
    assert changes == {
        ("分享 Sharer", "VIP", "auto_upgrade"),
        ("区域 Region", "区域经理", "manual"),
    }
    # and commissions in every state, a regional agent's share, a settlement and a clawback
    assert states == {"pending", "frozen", "available", "withdrawn", "reversed", "held"}
    assert (region_share, released, clawback) == (True, True, True)
    assert clawback_statements == 2
    # and withdrawals paid by card (with its reference) and to the store balance, one rejected,
    # one awaiting review
    assert withdrawals == {
        ("分享 Sharer", "bank_card", "paid"),
        ("店长 Lead", "store_balance", "paid"),
        ("区域 Region", "bank_card", "rejected"),
        ("区域 Region", "store_balance", "requested"),
    }
    assert card_reference == "CMB-DEMO-0001"
    assert lead_balance.store_balance_minor == to_balance.net_minor > 0
    # and a risk hold, a regional agent, an application waiting, the poster template
    assert flags == [("open", ["shared_device"], "分享 Sharer")]
    assert agents == [("广东省", "深圳市", "区域 Region")]
    assert applications == ["submitted"]
    assert poster is True
    # and the console's distribution pages show them
    pages = {
        "": "合规报告",
        "grades/": "区域经理",
        "distributors/": "申请 Applicant",
        "applications/": "陈申请",
        "commissions/": "新客 A",
        "withdrawals/": "区域 Region",
        "risk/": "demo-shared-phone",
        "regions/": "深圳市",
        "team-bonus/": "",
        "statements/": "分享 Sharer",
        "posters/": "",
        "leaderboard/": "分享 Sharer",
    }
    for page, text in pages.items():
        response = owner.get(f"/console/demo/distribution/{page}")
        assert response.status_code == 200, page
        assert text in response.content.decode(), page
