"""The merchant console's distribution section: the shop's distribution settings and their
compliance report.

The form checks the shape of input (percentages typed as "10.00", amounts in major units of the
shop's currency) and turns it into the service's units (basis points, minor units);
distribution.services.settings checks the rules: depth 1 to 3 only (a tampered form asking for 4
gets the service's refusal and changes nothing), and risky settings (cash per recruit, paid entry,
team bonus) only with the merchant's "I understand". Every member of the shop may look; the owner
and admins change the settings.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from distribution.errors import RiskAcknowledgementRequiredError
from distribution.services.settings import (
    CHOICES,
    compliance_report,
    distribution_settings_get,
    distribution_settings_update,
)
from frontend.catalog_forms import MoneyField, amount_major, catalog_errors_apply, disable_all
from frontend.console_access import console_role_in, console_tenant
from frontend.views import _console_context
from infra.errors import DomainError
from tenants.models import Role

# Roles that may change the distribution settings (they carry legal risk); others only look.
DISTRIBUTION_EDITOR_ROLES = frozenset({Role.OWNER, Role.ADMIN})
LEVELS = (1, 2, 3)

CHOICE_LABELS: dict[str, dict[str, Promise]] = {
    "qualification": {
        "everyone": gettext_lazy("Every member"),
        "apply_review": gettext_lazy("Members who apply, after your review"),
        "appointed": gettext_lazy("Only members you appoint"),
        "spend_threshold": gettext_lazy("Members who spent at least an amount"),
        "bought_product": gettext_lazy("Members who bought chosen products"),
    },
    "binding_trigger": {
        "first_visit": gettext_lazy("First visit through a share link"),
        "register": gettext_lazy("Registration"),
        "first_order": gettext_lazy("First order"),
        "first_payment": gettext_lazy("First payment"),
    },
    "binding_scope": {
        "new_users": gettext_lazy("New members only"),
        "without_upline": gettext_lazy("Any member without an upline"),
    },
    "overwrite": {
        "never": gettext_lazy("Never"),
        "after_expiry": gettext_lazy("After the binding expires"),
        "always": gettext_lazy("Always (the latest link wins)"),
    },
    "rate_source": {
        "global": gettext_lazy("The rates below, for everyone"),
        "grade": gettext_lazy("The earner's grade (its rates; these below when it has none)"),
        "product": gettext_lazy("The product's rates (these below when it has none)"),
        "sku": gettext_lazy("The SKU's, else the product's rates (else these below)"),
    },
    "rate_kind": {
        "percentage": gettext_lazy("A percentage of the sale"),
        "fixed": gettext_lazy("A fixed amount per unit"),
    },
    "commission_base": {
        "list_price": gettext_lazy("List price"),
        "paid_excl_shipping": gettext_lazy("Amount paid, without shipping"),
        "paid_incl_shipping": gettext_lazy("Amount paid, with shipping"),
    },
    "clawback": {
        "reverse_pending": gettext_lazy("Reverse commissions not yet paid out"),
        "offset_future": gettext_lazy("Deduct from future earnings"),
        "negative_balance": gettext_lazy("Let the balance go negative"),
    },
}
# The order types (shop.orders.models.OrderType) a merchant may exclude from commissions.
ORDER_TYPE_LABELS: dict[str, Promise] = {
    "normal": gettext_lazy("Normal orders"),
    "group_buy": gettext_lazy("Group buying"),
    "bargain": gettext_lazy("Bargaining"),
    "flash_sale": gettext_lazy("Flash sales"),
    "points_exchange": gettext_lazy("Points mall exchanges"),
}
CHANNEL_LABELS: dict[str, Promise] = {
    "wechat_balance": gettext_lazy("WeChat balance"),
    "bank_card": gettext_lazy("Bank card (paid by you)"),
    "store_balance": gettext_lazy("Store balance"),
}
# What a commission decision's reason means, for an order's page.
COMMISSION_REASONS: dict[str, Promise] = {
    "earns": gettext_lazy("Earns"),
    "distribution_off": gettext_lazy("Distribution was off when the order was paid"),
    "no_upline": gettext_lazy("The buyer has no upline"),
    "binding_expired": gettext_lazy("The buyer's binding had expired"),
    "not_a_distributor": gettext_lazy("Not an active distributor"),
    "self_purchase_off": gettext_lazy("Buyer's own purchase: self-purchase commission is off"),
    "depth_limit": gettext_lazy("Beyond the levels your settings pay"),
    "link_priority": gettext_lazy(
        "Bound upline, but the order came through another distributor's share link"
    ),
    "code_priority": gettext_lazy(
        "Bound upline, but the buyer typed another distributor's referral code"
    ),
    "code_over_link": gettext_lazy(
        "The order came through this share link, but the buyer typed another distributor's "
        "referral code"
    ),
    "held": gettext_lazy("Held for your review: a risk rule fired"),
    "excluded_order_type": gettext_lazy(
        "Your settings exclude this type of order from commissions"
    ),
    "invite_reward": gettext_lazy("Invite reward: the buyer's first paid order"),
    "invite_cap_reached": gettext_lazy(
        "No invite reward: the upline had reached the day's rewards"
    ),
    "regional_agent": gettext_lazy("Regional agent of the region the order ships to"),
}
# Reasons that come with an amount earned.
EARNING_REASONS = frozenset({"earns", "invite_reward", "regional_agent"})
# Which part a decision's member played in the order (its first column), by reason; the
# others are the buyer (level 0) or an upline at their level.
COMMISSION_ROLES: dict[str, Promise] = {
    "link_priority": gettext_lazy("Bound upline"),
    "code_priority": gettext_lazy("Bound upline"),
    "code_over_link": gettext_lazy("Share link"),
    "invite_reward": gettext_lazy("Invite reward"),
    "invite_cap_reached": gettext_lazy("Invite reward"),
    "regional_agent": gettext_lazy("Regional agent"),
    "excluded_order_type": gettext_lazy("Order"),
    "distribution_off": gettext_lazy("Order"),
}


def commission_role(reason: str, level: int) -> str:
    """The first column of an explanation row: the member's part in the order."""
    if reason in COMMISSION_ROLES:
        return str(COMMISSION_ROLES[reason])
    if level == 0:
        return _("Buyer")
    return _("Level %(level)s") % {"level": level}


# Service field names → the form's, for showing the service's errors next to their fields.
ALIASES = {
    "qualification_spend_minor": "qualification_spend",
    "level_rates": "rate_1",
    "withdrawal_min_minor": "withdrawal_min",
    "withdrawal_fee_bp": "withdrawal_fee",
    "withdrawal_daily_limit_minor": "withdrawal_daily_limit",
    "invite_reward_minor": "invite_reward",
    "paid_entry_minor": "paid_entry",
    "team_bonus_bp": "team_bonus",
}


def _choices(name: str) -> list[tuple[str, Promise | str]]:
    labels = CHOICE_LABELS[name]
    return [(value, labels.get(value, value)) for value in CHOICES[name]]


def percent_to_bp(text: str) -> int:
    """A percentage typed as "10.00" (at most two decimals, 0 to 100) in basis points (1000)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise forms.ValidationError(_("Enter a percentage like 10.00."), code="invalid")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise forms.ValidationError(_("Use at most 2 decimal places."), code="decimal_places")
    if not Decimal(0) <= value <= Decimal(100):
        raise forms.ValidationError(_("Enter a percentage from 0 to 100."), code="invalid")
    return int(value * 100)


def bp_to_percent(bp: int) -> str:
    return str((Decimal(bp) / 100).quantize(Decimal("0.01")))


class PercentField(forms.CharField):
    """A percentage typed as "10.00", cleaned to basis points (None when left empty)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:
        text = str(super().clean(value) or "").strip()
        return percent_to_bp(text) if text else None


class DistributionSettingsForm(forms.Form):
    enabled = forms.BooleanField(label=gettext_lazy("Distribution is on"), required=False)
    qualification = forms.ChoiceField(label=gettext_lazy("Who may become a distributor"))
    qualification_spend = MoneyField(
        label=gettext_lazy("Spend that qualifies a member"),
        required=False,
        help_text=gettext_lazy("Only when members qualify by what they spent."),
    )
    binding_trigger = forms.ChoiceField(label=gettext_lazy("A member binds to an upline on"))
    binding_scope = forms.ChoiceField(label=gettext_lazy("Who can be bound"))
    binding_days = forms.IntegerField(
        label=gettext_lazy("Binding lasts (days)"),
        required=False,
        min_value=1,
        help_text=gettext_lazy("Leave empty for a permanent binding."),
    )
    overwrite = forms.ChoiceField(label=gettext_lazy("Another link may take a member over"))
    snatch_protection_days = forms.IntegerField(
        min_value=0,
        label=gettext_lazy("Protection against take-over (days)"),
        help_text=gettext_lazy("During these days after binding no other link takes the member."),
    )
    # A select of 1 to 3; the service refuses anything else (a tampered form included).
    depth = forms.IntegerField(
        label=gettext_lazy("Levels paid"),
        widget=forms.Select(choices=[(level, str(level)) for level in LEVELS]),
        help_text=gettext_lazy("The law allows at most 3 levels."),
    )
    rate_source = forms.ChoiceField(label=gettext_lazy("Rates come from"))
    rate_kind = forms.ChoiceField(label=gettext_lazy("Commission is"))
    rate_1 = forms.CharField(label=gettext_lazy("Level 1 (direct upline)"), required=False)
    rate_2 = forms.CharField(label=gettext_lazy("Level 2"), required=False)
    rate_3 = forms.CharField(label=gettext_lazy("Level 3"), required=False)
    commission_base = forms.ChoiceField(label=gettext_lazy("Percentages are taken of"))
    self_purchase = forms.BooleanField(
        label=gettext_lazy("Distributors earn on their own purchases"), required=False
    )
    freeze_days = forms.IntegerField(
        min_value=0,
        label=gettext_lazy("Frozen after receipt (days)"),
        help_text=gettext_lazy("The after-sale window: commissions can still be reversed."),
    )
    settlement_day = forms.IntegerField(
        label=gettext_lazy("Settlement day of the month"),
        required=False,
        min_value=1,
        max_value=28,
        help_text=gettext_lazy(
            "1 to 28: commissions past their frozen days become available on that day each "
            "month. Leave empty to make them available (hourly) as soon as their frozen days "
            "have passed."
        ),
    )
    clawback = forms.ChoiceField(label=gettext_lazy("A refund after payout"))
    excluded_order_types = forms.MultipleChoiceField(
        label=gettext_lazy("Orders that earn no commission"),
        required=False,
        choices=list(ORDER_TYPE_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Nobody earns on these orders: no commission, no invite reward."),
    )
    withdrawal_min = MoneyField(label=gettext_lazy("Minimum withdrawal"))
    withdrawal_fee = PercentField(label=gettext_lazy("Withdrawal fee (%)"))
    withdrawal_channels = forms.MultipleChoiceField(
        label=gettext_lazy("Withdrawal channels"),
        required=False,
        choices=list(CHANNEL_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    withdrawal_review = forms.BooleanField(
        label=gettext_lazy("Review each withdrawal"), required=False
    )
    withdrawal_auto_transfer = forms.BooleanField(
        label=gettext_lazy("Transfer approved withdrawals automatically"), required=False
    )
    withdrawal_daily_limit = MoneyField(
        label=gettext_lazy("Daily withdrawal limit per distributor"),
        required=False,
        help_text=gettext_lazy("Leave empty for no limit."),
    )
    invite_reward = MoneyField(
        label=gettext_lazy("Invite reward per new buyer"),
        help_text=gettext_lazy(
            "Paid to the upline when a member bound to them pays their first order, at most "
            "what that order paid without shipping."
        ),
    )
    invite_reward_daily_cap = forms.IntegerField(
        label=gettext_lazy("Invite rewards per upline per day at most"),
        min_value=0,
        help_text=gettext_lazy("Counted by your shop's day; at least 1 when a reward is set."),
    )
    paid_entry = MoneyField(
        label=gettext_lazy("Fee to become a distributor"),
        help_text=gettext_lazy("Paid from the member's store balance when they join."),
    )
    team_bonus = PercentField(label=gettext_lazy("Team performance bonus (%)"))
    risk_device_accounts_limit = forms.IntegerField(
        min_value=0,
        label=gettext_lazy("Hold when one device is used by more accounts than"),
        help_text=gettext_lazy("0 switches this rule off."),
    )
    risk_buyer_orders_per_day = forms.IntegerField(
        min_value=0,
        label=gettext_lazy("Hold when a buyer pays more orders in 24 hours than"),
        help_text=gettext_lazy("0 switches this rule off."),
    )
    risk_earner_orders_per_hour = forms.IntegerField(
        min_value=0,
        label=gettext_lazy("Hold when a distributor earns on more orders in an hour than"),
        help_text=gettext_lazy("0 switches this rule off."),
    )
    acknowledge_risks = forms.BooleanField(
        label=gettext_lazy(
            "I understand that these settings can break anti-pyramid rules, and I take the risk."
        ),
        required=False,
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        for name in CHOICE_LABELS:
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = _choices(name)
        for field in self.fields.values():
            if isinstance(field, MoneyField):
                field.currency = currency
        for level in LEVELS:
            self.fields[f"rate_{level}"].widget.attrs.update(
                {"inputmode": "decimal", "autocomplete": "off"}
            )

    def _rate(self, text: str, kind: str) -> int:
        if kind == "fixed":
            field = MoneyField(currency=self.currency)
            minor = field.clean(text)
            return 0 if minor is None else minor
        return percent_to_bp(text)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        depth = cleaned.get("depth")
        kind = cleaned.get("rate_kind")
        if isinstance(depth, int) and kind:
            rates: list[int] = []
            for level in LEVELS[: max(depth, 0)]:
                text = str(cleaned.get(f"rate_{level}") or "").strip()
                if not text:
                    self.add_error(
                        f"rate_{level}",
                        forms.ValidationError(_("Give this level's rate."), code="required"),
                    )
                    continue
                try:
                    rates.append(self._rate(text, kind))
                except forms.ValidationError as error:
                    self.add_error(f"rate_{level}", error)
            cleaned["level_rates"] = rates
        return cleaned

    def changes(self) -> dict[str, Any]:
        """The service's changes from the cleaned form (basis points and minor units)."""
        data = self.cleaned_data
        return {
            "enabled": data["enabled"],
            "qualification": data["qualification"],
            "qualification_spend_minor": data["qualification_spend"] or 0,
            "binding_trigger": data["binding_trigger"],
            "binding_scope": data["binding_scope"],
            "binding_days": data["binding_days"],
            "overwrite": data["overwrite"],
            "snatch_protection_days": data["snatch_protection_days"],
            "depth": data["depth"],
            "rate_source": data["rate_source"],
            "rate_kind": data["rate_kind"],
            "level_rates": data["level_rates"],
            "commission_base": data["commission_base"],
            "self_purchase": data["self_purchase"],
            "excluded_order_types": list(data["excluded_order_types"]),
            "freeze_days": data["freeze_days"],
            "settlement_day": data["settlement_day"],
            "clawback": data["clawback"],
            "withdrawal_min_minor": data["withdrawal_min"] or 0,
            "withdrawal_fee_bp": data["withdrawal_fee"] or 0,
            "withdrawal_channels": list(data["withdrawal_channels"]),
            "withdrawal_review": data["withdrawal_review"],
            "withdrawal_auto_transfer": data["withdrawal_auto_transfer"],
            "withdrawal_daily_limit_minor": data["withdrawal_daily_limit"],
            "invite_reward_minor": data["invite_reward"] or 0,
            "invite_reward_daily_cap": data["invite_reward_daily_cap"],
            "paid_entry_minor": data["paid_entry"] or 0,
            "team_bonus_bp": data["team_bonus"] or 0,
            "risk_device_accounts_limit": data["risk_device_accounts_limit"],
            "risk_buyer_orders_per_day": data["risk_buyer_orders_per_day"],
            "risk_earner_orders_per_hour": data["risk_earner_orders_per_hour"],
        }


def _rate_text(rate: int, kind: str, currency: str) -> str:
    return amount_major(rate, currency) if kind == "fixed" else bp_to_percent(rate)


def _initial(settings: Any, currency: str) -> dict[str, Any]:
    rates = list(settings.level_rates)
    return {
        "enabled": settings.enabled,
        "qualification": settings.qualification,
        "qualification_spend": (
            amount_major(settings.qualification_spend_minor, currency)
            if settings.qualification_spend_minor
            else ""
        ),
        "binding_trigger": settings.binding_trigger,
        "binding_scope": settings.binding_scope,
        "binding_days": settings.binding_days,
        "overwrite": settings.overwrite,
        "snatch_protection_days": settings.snatch_protection_days,
        "depth": settings.depth,
        "rate_source": settings.rate_source,
        "rate_kind": settings.rate_kind,
        **{
            f"rate_{index + 1}": _rate_text(rate, settings.rate_kind, currency)
            for index, rate in enumerate(rates[: len(LEVELS)])
        },
        "commission_base": settings.commission_base,
        "self_purchase": settings.self_purchase,
        "excluded_order_types": list(settings.excluded_order_types),
        "freeze_days": settings.freeze_days,
        "settlement_day": settings.settlement_day,
        "clawback": settings.clawback,
        "withdrawal_min": amount_major(settings.withdrawal_min_minor, currency),
        "withdrawal_fee": bp_to_percent(settings.withdrawal_fee_bp),
        "withdrawal_channels": list(settings.withdrawal_channels),
        "withdrawal_review": settings.withdrawal_review,
        "withdrawal_auto_transfer": settings.withdrawal_auto_transfer,
        "withdrawal_daily_limit": amount_major(settings.withdrawal_daily_limit_minor, currency),
        "invite_reward": amount_major(settings.invite_reward_minor, currency),
        "invite_reward_daily_cap": settings.invite_reward_daily_cap,
        "paid_entry": amount_major(settings.paid_entry_minor, currency),
        "team_bonus": bp_to_percent(settings.team_bonus_bp),
        "risk_device_accounts_limit": settings.risk_device_accounts_limit,
        "risk_buyer_orders_per_day": settings.risk_buyer_orders_per_day,
        "risk_earner_orders_per_hour": settings.risk_earner_orders_per_hour,
    }


def _page(
    request: HttpRequest, *, form: DistributionSettingsForm | None = None, status: int = 200
) -> HttpResponse:
    tenant = console_tenant(request)
    settings = distribution_settings_get()
    can_edit = console_role_in(request, DISTRIBUTION_EDITOR_ROLES)
    if form is None:
        form = DistributionSettingsForm(
            initial=_initial(settings, tenant.currency), currency=tenant.currency
        )
        if not can_edit:
            disable_all(form)
    context = _console_context(request, "distribution")
    context.update(
        form=form,
        can_edit=can_edit,
        settings=settings,
        report=compliance_report(settings),
        rate_fields=[form[f"rate_{level}"] for level in LEVELS],
        acknowledged_by=settings.risk_acknowledged_by,
        acknowledged=[str(label) for label in _risk_labels(settings.risk_acknowledged)],
    )
    return render(request, "frontend/distribution/settings.html", context, status=status)


def _risk_labels(keys: list[str]) -> list[Promise]:
    labels = {
        "invite_reward": gettext_lazy("cash per recruit"),
        "paid_entry": gettext_lazy("paid entry"),
        "team_bonus": gettext_lazy("team bonus"),
    }
    return [labels[key] for key in keys if key in labels]


@require_GET
def distribution_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The shop's distribution settings and its compliance report."""
    return _page(request)


@require_POST
def distribution_settings_save(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = console_tenant(request)
    if not console_role_in(request, DISTRIBUTION_EDITOR_ROLES):
        raise PermissionDenied
    form = DistributionSettingsForm(request.POST, currency=tenant.currency)
    if form.is_valid():
        try:
            distribution_settings_update(
                changes=form.changes(),
                actor=f"account:{request.user.pk}",
                acknowledge_risks=form.cleaned_data["acknowledge_risks"],
            )
        except DomainError as error:
            catalog_errors_apply(form, error, ALIASES)
            if isinstance(error, RiskAcknowledgementRequiredError):
                form.add_error(
                    "acknowledge_risks",
                    forms.ValidationError(error.message, code=error.code),
                )
        else:
            messages.success(request, _("Your distribution settings are saved."))
            return redirect("console-distribution", slug=tenant.slug)
    return _page(request, form=form, status=400)


def commission_rows(explanation: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    """An order's commission explanation for its page: level, member, net amount or why not."""
    rows = []
    for item in explanation:
        member = item.get("member")
        earned = item.get("amount_minor")
        net = None if earned is None else earned - int(item.get("reversed_minor") or 0)
        rows.append(
            {
                "level": item["level"],
                "member": member,
                "name": (member.nickname or _("Member #%(id)s") % {"id": member.pk})
                if member is not None
                else "",
                "reason": item["reason"],
                "role": commission_role(item["reason"], item["level"]),
                "earns": item["reason"] in EARNING_REASONS,
                "explanation": COMMISSION_REASONS.get(item["reason"], item["reason"]),
                "net_minor": net,
                "reversed_minor": int(item.get("reversed_minor") or 0),
                "currency": currency,
            }
        )
    return rows
