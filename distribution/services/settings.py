"""Changing a shop's distribution settings: validated, depth capped at 3, risky settings only
with an explicit acknowledgement; and the compliance report of what is risky."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from distribution.errors import RiskAcknowledgementRequiredError
from distribution.models import (
    MAX_DEPTH,
    BindingScope,
    BindingTrigger,
    Clawback,
    CommissionBase,
    DistributionSettings,
    Overwrite,
    Qualification,
    RateKind,
    RateSource,
    WithdrawalChannel,
)
from infra.errors import ValidationFailed
from shop.orders.models import OrderType

FieldErrors = dict[str, list[dict[str, str]]]

CHOICES: dict[str, list[str]] = {
    "qualification": list(Qualification.values),
    "binding_trigger": list(BindingTrigger.values),
    "binding_scope": list(BindingScope.values),
    "overwrite": list(Overwrite.values),
    "rate_source": list(RateSource.values),
    "rate_kind": list(RateKind.values),
    "commission_base": list(CommissionBase.values),
    "clawback": list(Clawback.values),
}
BOOLEANS = ("enabled", "self_purchase", "withdrawal_review", "withdrawal_auto_transfer")
NON_NEGATIVE = (
    "qualification_spend_minor",
    "snatch_protection_days",
    "freeze_days",
    "withdrawal_min_minor",
    "invite_reward_minor",
    "invite_reward_daily_cap",
    "paid_entry_minor",
    "team_bonus_bp",
    "risk_device_accounts_limit",
    "risk_buyer_orders_per_day",
    "risk_earner_orders_per_hour",
)
EDITABLE = (
    *CHOICES,
    *BOOLEANS,
    *NON_NEGATIVE,
    "qualification_product_ids",
    "binding_days",
    "depth",
    "level_rates",
    "excluded_order_types",
    "settlement_day",
    "withdrawal_fee_bp",
    "withdrawal_channels",
    "withdrawal_daily_limit_minor",
)
RISKY = ("invite_reward", "paid_entry", "team_bonus")


def distribution_settings_seed() -> None:
    """A new shop's settings row (distribution off until the merchant turns it on)."""
    DistributionSettings.objects.bulk_create(
        [DistributionSettings(singleton=True)], ignore_conflicts=True
    )


def distribution_settings_get() -> DistributionSettings:
    settings, _created = DistributionSettings.objects.get_or_create(singleton=True)
    return settings


def _error(fields: FieldErrors, name: str, code: str, message: str) -> None:
    fields.setdefault(name, []).append({"code": code, "message": message})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(values: dict[str, Any]) -> FieldErrors:
    fields: FieldErrors = {}
    for name, allowed in CHOICES.items():
        if values[name] not in allowed:
            _error(fields, name, "invalid_choice", _("Choose one of the offered values."))
    for name in BOOLEANS:
        if not isinstance(values[name], bool):
            _error(fields, name, "invalid", _("Use true or false."))
    for name in NON_NEGATIVE:
        if not _is_int(values[name]) or values[name] < 0:
            _error(fields, name, "min_value", _("Use a whole number of at least 0."))
    depth = values["depth"]
    if not _is_int(depth) or not 1 <= depth <= MAX_DEPTH:
        _error(
            fields,
            "depth",
            "depth_exceeds_limit",
            _("Commissions go 1 to 3 levels up, never more."),
        )
    rates = values["level_rates"]
    if not isinstance(rates, list) or not all(_is_int(rate) and rate >= 0 for rate in rates):
        _error(fields, "level_rates", "invalid", _("Give one rate per level, each at least 0."))
    elif _is_int(depth) and len(rates) != depth:
        _error(fields, "level_rates", "levels_mismatch", _("Give exactly one rate per level."))
    elif values["rate_kind"] == RateKind.PERCENTAGE and sum(rates) > 10000:
        _error(
            fields,
            "level_rates",
            "rates_exceed_sale",
            _("All levels together cannot take more than the whole sale."),
        )
    days = values["binding_days"]
    if days is not None and (not _is_int(days) or days < 1):
        _error(fields, "binding_days", "min_value", _("Bind for at least 1 day, or for good."))
    if values["overwrite"] == Overwrite.AFTER_EXPIRY and days is None:
        _error(
            fields,
            "overwrite",
            "binding_permanent",
            _("A permanent binding never expires: choose never or always."),
        )
    day = values["settlement_day"]
    if day is not None and (not _is_int(day) or not 1 <= day <= 28):
        _error(fields, "settlement_day", "invalid", _("Settle on a day from 1 to 28."))
    fee = values["withdrawal_fee_bp"]
    if not _is_int(fee) or not 0 <= fee <= 10000:
        _error(fields, "withdrawal_fee_bp", "invalid", _("Use a fee from 0 to 100 percent."))
    limit = values["withdrawal_daily_limit_minor"]
    if limit is not None and (not _is_int(limit) or limit < 1):
        _error(fields, "withdrawal_daily_limit_minor", "min_value", _("Use a positive limit."))
    channels = values["withdrawal_channels"]
    if not isinstance(channels, list) or not set(channels) <= set(WithdrawalChannel.values):
        _error(fields, "withdrawal_channels", "invalid_choice", _("Choose offered channels."))
    ids = values["qualification_product_ids"]
    if not isinstance(ids, list) or not all(_is_int(i) and i > 0 for i in ids):
        _error(fields, "qualification_product_ids", "invalid", _("Give product ids."))
    elif values["qualification"] == Qualification.BOUGHT_PRODUCT and not ids:
        _error(
            fields,
            "qualification_product_ids",
            "required",
            _("Choose the products that qualify a buyer."),
        )
    types = values["excluded_order_types"]
    if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
        _error(fields, "excluded_order_types", "invalid", _("Give order types."))
    elif not set(types) <= set(OrderType.values):
        _error(fields, "excluded_order_types", "invalid_choice", _("Choose offered order types."))
    reward, cap = values["invite_reward_minor"], values["invite_reward_daily_cap"]
    if _is_int(reward) and reward > 0 and _is_int(cap) and cap < 1:
        _error(
            fields,
            "invite_reward_daily_cap",
            "required",
            _("Cap the invite rewards an upline can earn per day (at least 1)."),
        )
    return fields


def risky_settings(settings: DistributionSettings) -> list[str]:
    """The settings in risky territory (anti-pyramid rules) that are switched on."""
    active = []
    if settings.invite_reward_minor > 0:
        active.append("invite_reward")
    if settings.paid_entry_minor > 0:
        active.append("paid_entry")
    if settings.team_bonus_bp > 0:
        active.append("team_bonus")
    return active


@transaction.atomic
def distribution_settings_update(
    *, changes: dict[str, Any], actor: str, acknowledge_risks: bool = False
) -> DistributionSettings:
    """Apply `changes` (only the fields named) after validating the whole result.

    Risky settings newly switched on need `acknowledge_risks`; the acknowledgement is recorded
    (who, when, which). Unknown field names are refused.
    """
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={
                name: [{"code": "unknown", "message": _("Unknown setting.")}] for name in unknown
            },
        )
    settings = DistributionSettings.objects.select_for_update().get_or_create(singleton=True)[0]
    values = {name: getattr(settings, name) for name in EDITABLE}
    values.update(changes)
    fields = _validate(values)
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)
    for name, value in values.items():
        setattr(settings, name, value)
    risky = risky_settings(settings)
    unacknowledged = [key for key in risky if key not in settings.risk_acknowledged]
    if unacknowledged and not acknowledge_risks:
        raise RiskAcknowledgementRequiredError(
            fields={
                key: [
                    {
                        "code": "risk_acknowledgement_required",
                        "message": _(
                            "This setting can break anti-pyramid rules: confirm that you "
                            "understand the risk."
                        ),
                    }
                ]
                for key in unacknowledged
            }
        )
    if unacknowledged:
        settings.risk_acknowledged = sorted(set(settings.risk_acknowledged) | set(unacknowledged))
        settings.risk_acknowledged_at = timezone.now()
        settings.risk_acknowledged_by = actor[:64]
    settings.save()
    return settings


@dataclass(frozen=True)
class ComplianceItem:
    key: str
    level: str  # "risk" or "info"
    message: str


def compliance_report(settings: DistributionSettings | None = None) -> list[ComplianceItem]:
    """What a reviewer should look at in this shop's distribution settings."""
    settings = settings or distribution_settings_get()
    items: list[ComplianceItem] = []
    messages = {
        "invite_reward": _(
            "Cash per recruit is paid (禁止传销条例 Art. 7 forbids paying for recruiting)."
        ),
        "paid_entry": _("Distributors pay to join (paid entry is a mark of a pyramid scheme)."),
        "team_bonus": _(
            "Uplines earn on their team's sales (a team bonus must come from real sales only)."
        ),
    }
    for key in risky_settings(settings):
        items.append(ComplianceItem(key=key, level="risk", message=messages[key]))
    items.append(
        ComplianceItem(
            key="depth",
            level="info",
            message=_("Commissions go %(depth)s level(s) up (the law allows at most 3).")
            % {"depth": settings.depth},
        )
    )
    return items
