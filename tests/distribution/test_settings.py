"""Distribution settings: validated, depth capped at 3 at every layer, risky ones acknowledged."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from distribution.errors import RiskAcknowledgementRequiredError
from distribution.models import DistributionSettings
from distribution.services.settings import (
    compliance_report,
    distribution_settings_get,
    distribution_settings_update,
)
from infra.errors import ValidationFailed
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_a_new_shop_has_settings_with_two_levels(shop: Tenant) -> None:
    # when
    settings = distribution_settings_get()
    # then
    assert (settings.enabled, settings.depth, settings.level_rates) == (False, 2, [1000, 500])


def test_three_levels_with_their_rates_are_saved(shop: Tenant) -> None:
    # when
    settings = distribution_settings_update(
        changes={"enabled": True, "depth": 3, "level_rates": [1000, 500, 200]}, actor="account:1"
    )
    # then
    settings.refresh_from_db()
    assert (settings.enabled, settings.depth, settings.level_rates) == (True, 3, [1000, 500, 200])


@pytest.mark.parametrize("depth", [0, 4, 10])
def test_a_depth_outside_1_to_3_is_refused_and_changes_nothing(shop: Tenant, depth: int) -> None:
    # given
    before = distribution_settings_get()
    # when
    with pytest.raises(ValidationFailed) as raised:
        distribution_settings_update(
            changes={"depth": depth, "level_rates": [100] * depth}, actor="account:1"
        )
    # then
    assert raised.value.fields["depth"][0]["code"] == "depth_exceeds_limit"
    assert DistributionSettings.objects.get().depth == before.depth


def test_the_database_refuses_a_fourth_level_whatever_the_code(shop: Tenant) -> None:
    # given
    distribution_settings_get()
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        DistributionSettings.objects.update(depth=4)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE distribution_distributionsettings SET level_rates = '{1,1,1,1}'")


def test_rates_must_match_the_depth_and_stay_within_the_sale(shop: Tenant) -> None:
    # when
    with pytest.raises(ValidationFailed) as mismatch:
        distribution_settings_update(changes={"depth": 3, "level_rates": [100]}, actor="a")
    with pytest.raises(ValidationFailed) as too_much:
        distribution_settings_update(changes={"depth": 2, "level_rates": [6000, 5000]}, actor="a")
    # then
    assert mismatch.value.fields["level_rates"][0]["code"] == "levels_mismatch"
    assert too_much.value.fields["level_rates"][0]["code"] == "rates_exceed_sale"


def test_unknown_and_invalid_fields_are_refused_with_their_codes(shop: Tenant) -> None:
    # when
    with pytest.raises(ValidationFailed) as unknown:
        distribution_settings_update(changes={"depth_max": 9}, actor="a")
    with pytest.raises(ValidationFailed) as invalid:
        distribution_settings_update(
            changes={
                "binding_trigger": "whenever",
                "settlement_day": 31,
                "overwrite": "after_expiry",
            },
            actor="a",
        )
    # then
    assert unknown.value.fields["depth_max"][0]["code"] == "unknown"
    assert {name: items[0]["code"] for name, items in invalid.value.fields.items()} == {
        "binding_trigger": "invalid_choice",
        "settlement_day": "invalid",
        "overwrite": "binding_permanent",
    }


def test_risky_settings_need_an_acknowledgement_and_show_in_the_report(shop: Tenant) -> None:
    # when: cash per recruit (capped per day) without, then with, the acknowledgement
    reward = {"invite_reward_minor": 500, "invite_reward_daily_cap": 3}
    with pytest.raises(RiskAcknowledgementRequiredError) as raised:
        distribution_settings_update(changes=reward, actor="account:1")
    assert DistributionSettings.objects.get().invite_reward_minor == 0
    settings = distribution_settings_update(
        changes=reward, actor="account:1", acknowledge_risks=True
    )
    # then
    assert raised.value.code == "risk_acknowledgement_required"
    assert set(raised.value.fields) == {"invite_reward"}
    assert (settings.risk_acknowledged, settings.risk_acknowledged_by) == (
        ["invite_reward"],
        "account:1",
    )
    report = compliance_report()
    assert [(item.key, item.level) for item in report] == [
        ("invite_reward", "risk"),
        ("depth", "info"),
    ]
