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


def test_demo_seed_makes_the_demo_and_is_idempotent(
    shops: dict[str, Tenant], public: None, tmp_path: Path
) -> None:
    # given
    credentials_file = tmp_path / "demo-credentials.json"
    # when
    call_command("demo_seed", f"--credentials-file={credentials_file}")
    first = _counts()
    call_command("demo_seed", f"--credentials-file={credentials_file}")
    # then
    assert _counts() == first
    credentials = json.loads(credentials_file.read_text())
    assert set(credentials) == {"admin", "owner", "agency"}
    demo = Tenant.objects.get(slug="demo")
    assert demo.onboarding == {"shop_profile": True}
    assert Subscription.objects.get(tenant=demo).status == "trialing"
    home = Client(HTTP_HOST="demo.localhost").get("/").content.decode()
    assert "<title>Demo Shop</title>" in home
    assert "欢迎光临演示商店" in home
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
        levels = sorted(set(Commission.objects.values_list("level", flat=True)))
        capped = CommissionDecision.objects.filter(reason="depth_limit").exists()
        reversed_ = Commission.objects.filter(reversed_minor__gt=0).exists()
    assert (levels, capped, reversed_) == ([1, 2, 3], True, True)
