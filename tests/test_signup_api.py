"""Self-service signup through the platform API."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from billing.models import Subscription
from tenants.models import Account, AuditLog, Domain, Membership, SpareSchema, Tenant
from tenants.selectors.provisioning import schema_name_for


def _payload(**overrides: Any) -> dict[str, Any]:
    payload = {
        "shop_name": "Tea House 茶舍",
        "slug": "tea-house",
        "email": "Owner@Example.com",
        "password": "a-long-enough-passphrase",
        "currency": "CNY",
        "language": "zh-hans",
        "time_zone": "Asia/Shanghai",
    }
    payload.update(overrides)
    return payload


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def test_signup_creates_account_shop_membership_trial_and_logs_in(
    shops: dict[str, Tenant], public: None
) -> None:
    # given
    client = Client()
    # when
    response = client.post("/api/platform/v1/signup", _payload(), content_type="application/json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tenant"]["slug"] == "tea-house"
    assert body["tenant"]["console_url"] == "/console/tea-house/"
    assert body["account"]["email"] == "owner@example.com"
    tenant = Tenant.objects.get(slug="tea-house")
    assert tenant.schema_name == "shop_tea_house"
    assert _schema_exists("shop_tea_house")
    assert Domain.objects.get(tenant=tenant).domain == "tea-house.localhost"
    account = Account.objects.get(email="owner@example.com")
    assert Membership.objects.get(tenant=tenant).account == account
    assert Membership.objects.get(tenant=tenant).role == "owner"
    subscription = Subscription.objects.get(tenant=tenant)
    assert (subscription.plan_code, subscription.status) == ("trial", "trialing")
    assert subscription.trial_ends_at is not None
    actions = set(AuditLog.objects.filter(tenant=tenant).values_list("action", flat=True))
    assert {"tenant.provisioned", "tenant.created", "tenant.signed_up"} <= actions
    me = client.get("/api/platform/v1/me")
    assert me.status_code == 200
    assert [shop["slug"] for shop in me.json()["tenants"]] == ["tea-house"]


def test_signup_shop_is_served_on_its_subdomain(shops: dict[str, Tenant], public: None) -> None:
    # given
    Client().post("/api/platform/v1/signup", _payload(), content_type="application/json")
    # when
    response = Client(HTTP_HOST="tea-house.localhost").get("/")
    # then
    assert response.status_code == 200
    assert "<title>Tea House 茶舍</title>" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"slug": "ab"}, "slug", "slug_invalid"),
        ({"slug": "Bad_Slug"}, "slug", "slug_invalid"),
        ({"slug": "ends-"}, "slug", "slug_invalid"),
        ({"slug": "admin"}, "slug", "slug_reserved"),
        ({"slug": "www"}, "slug", "slug_reserved"),
        ({"slug": "alpha"}, "slug", "slug_taken"),
        ({"shop_name": ""}, "shop_name", "required"),
        ({"email": "", "phone": ""}, "email", "email_or_phone_required"),
        ({"email": "not-an-email"}, "email", "invalid"),
        ({"email": None, "phone": "12"}, "phone", "invalid"),
        ({"password": "123"}, "password", "password_too_short"),
        ({"currency": "XXX"}, "currency", "invalid_choice"),
        ({"language": "klingon"}, "language", "invalid_choice"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "invalid_choice"),
    ],
)
def test_signup_bad_input_gets_field_errors_with_stable_codes_and_creates_nothing(
    shops: dict[str, Tenant], public: None, overrides: dict[str, Any], field: str, code: str
) -> None:
    # given
    tenants_before = Tenant.objects.count()
    accounts_before = Account.objects.count()
    spares_before = SpareSchema.objects.count()
    # when
    response = Client().post(
        "/api/platform/v1/signup", _payload(**overrides), content_type="application/json"
    )
    # then
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert code in [item["code"] for item in error["fields"][field]]
    assert Tenant.objects.count() == tenants_before
    assert Account.objects.count() == accounts_before
    assert SpareSchema.objects.count() == spares_before


def test_signup_with_a_taken_email_is_refused(shops: dict[str, Tenant], public: None) -> None:
    # given
    Client().post("/api/platform/v1/signup", _payload(), content_type="application/json")
    # when
    response = Client().post(
        "/api/platform/v1/signup",
        _payload(slug="another-shop", email="OWNER@example.com"),
        content_type="application/json",
    )
    # then
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["email"][0]["code"] == "email_taken"
    assert not Tenant.objects.filter(slug="another-shop").exists()


def test_signup_by_phone_normalises_the_number(shops: dict[str, Tenant], public: None) -> None:
    # when
    response = Client().post(
        "/api/platform/v1/signup",
        _payload(email=None, phone="138 0013 8000"),
        content_type="application/json",
    )
    # then
    assert response.status_code == 201, response.content
    assert response.json()["account"]["phone"] == "+8613800138000"


def test_a_failure_during_signup_leaves_nothing_half_made(
    shops: dict[str, Tenant], public: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the last step of the transaction (the trial) fails
    import tenants.services.signup as signup_module

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("billing is down")

    monkeypatch.setattr(signup_module, "subscription_start_trial", broken)
    spares = set(SpareSchema.objects.values_list("schema_name", flat=True))
    # when
    with pytest.raises(RuntimeError):
        Client().post("/api/platform/v1/signup", _payload(), content_type="application/json")
    # then
    assert not Tenant.objects.filter(slug="tea-house").exists()
    assert not Account.objects.filter(email="owner@example.com").exists()
    assert not _schema_exists(schema_name_for("tea-house"))
    assert set(SpareSchema.objects.values_list("schema_name", flat=True)) == spares
    assert all(_schema_exists(name) for name in spares)


def test_signups_are_throttled_per_client_address(
    shops: dict[str, Tenant], public: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: two signups an hour per address
    from infra.api.throttling import SignupRateThrottle

    monkeypatch.setattr(SignupRateThrottle, "THROTTLE_RATES", {"signup": "2/hour"})
    client = Client(REMOTE_ADDR="198.51.100.7")
    for index in range(2):
        response = client.post(
            "/api/platform/v1/signup",
            _payload(slug=f"shop-{index}", email=f"o{index}@example.com"),
            content_type="application/json",
        )
        assert response.status_code == 201
    # when
    third = client.post(
        "/api/platform/v1/signup",
        _payload(slug="shop-three", email="o3@example.com"),
        content_type="application/json",
    )
    other_address = Client(REMOTE_ADDR="198.51.100.8").post(
        "/api/platform/v1/signup",
        _payload(slug="shop-four", email="o4@example.com"),
        content_type="application/json",
    )
    # then
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "throttled"
    assert "Retry-After" in third
    assert not Tenant.objects.filter(slug="shop-three").exists()
    assert other_address.status_code == 201
