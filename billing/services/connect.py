"""Shops' accounts at payment providers: Stripe Connect onboarding and WeChat Pay sub-merchants.

Stripe: the shop's owner or an admin connects the shop. The platform creates the shop's Express
account once (per shop; a second click, even a concurrent one, finds the same account) and
sends the merchant to Stripe's hosted onboarding through a single-use account link; Stripe
tells us the outcome with account.updated on the Connect webhook (and we look again when the
merchant comes back), and the account becomes active once Stripe enables its charges.

WeChat Pay: the shop is a sub-merchant of the platform's service-provider account. WeChat issues
the sub_mchid to the service provider after the onboarding application (进件) the platform
files, and the service provider binds the sub_appid; a wrong id would send shoppers' money, and
WeChat's notifications, to another merchant. So platform staff enter and activate them, after
checking them against WeChat's own records; merchants see the state.

`stripe_connect_event_receive` is the Connect webhook's work: it verifies the event, finds the
shop by the connected account and hands payment and refund events to the shop's payments
(shop.payments.services.notifications, in the shop's schema), the typed door across planes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing.gateways.stripe_connect import (
    ConnectedAccount,
    ConnectEventRejected,
    StripeConnectError,
    connect_account_create,
    connect_account_get,
    connect_event_verify,
    connect_onboarding_link_create,
)
from billing.models import MerchantPaymentAccount, PaymentProvider
from infra.db import tenant_schema
from infra.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from shop.payments.services.notifications import notification_receive
from tenants.models import Account, Role, Tenant
from tenants.services.audit import AuditContext, audit_record, audited, orchestrator, unaudited

logger = logging.getLogger(__name__)

Status = MerchantPaymentAccount.Status

# Who may connect the shop to Stripe: onboarding is the merchant's own KYC and agreement with
# Stripe (legal entity, bank account for payouts), so its owner or an admin, no one else.
STRIPE_CONNECT_ROLES = frozenset({Role.OWNER, Role.ADMIN})
# Where a merchant can open an Express account (Stripe has no accounts in mainland China: a
# merchant there onboards with its Hong Kong or Singapore company, for example).
STRIPE_COUNTRIES = (
    "HK", "SG", "MY", "TH", "JP", "AU", "NZ", "AE", "US", "CA", "GB", "IE", "FR", "DE", "NL",
    "ES", "IT", "CH",
)  # fmt: skip
SUB_MCHID_PATTERN = re.compile(r"^[0-9]{8,12}$")
SUB_APPID_PATTERN = re.compile(r"^wx[0-9a-f]{16}$")
ACCOUNT_ID_CONSTRAINT = "billing_payment_account_unique_id"


class PaymentSettingsDeniedError(PermissionDenied):
    code = "payment_settings_denied"
    default_message = "You cannot change this shop's payment accounts."


class PaymentAccountDisabledError(Conflict):
    code = "payment_account_disabled"
    default_message = "This payment account is disabled by the platform."


class StripeUnavailableError(DomainError):
    code = "stripe_unavailable"
    status_code = 503
    default_message = "Stripe cannot be reached right now. Try again in a moment."


class StripeRefusedError(DomainError):
    code = "stripe_refused"
    status_code = 502
    default_message = "Stripe refused the request."


class StripeEventRejectedError(DomainError):
    code = "notification_signature_invalid"
    status_code = 400
    default_message = "The notification could not be verified."


def _stripe_failure(error: StripeConnectError) -> DomainError:
    logger.warning("Stripe Connect call failed: %s (%s)", error, error.code)
    if error.retryable:
        return StripeUnavailableError(
            _("Stripe cannot be reached right now. Try again in a moment.")
        )
    return StripeRefusedError(_("Stripe refused the request."))


def _field_error(name: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        _("Some fields are not valid."), fields={name: [{"code": code, "message": message}]}
    )


def _onboarding_done(tenant: Tenant) -> None:
    """The onboarding checklist's "payments" step, in the caller's transaction."""
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if not (locked.onboarding or {}).get("payments"):
        locked.onboarding = {**(locked.onboarding or {}), "payments": True}
        Tenant.objects.filter(pk=tenant.pk).update(onboarding=locked.onboarding)
    tenant.onboarding = locked.onboarding


# --- Stripe Connect --------------------------------------------------------------------------


@audited
def stripe_account_open(
    *, tenant: Tenant, acting_role: str, country: str, context: AuditContext
) -> MerchantPaymentAccount:
    """Create the shop's Express account at Stripe and its record (pending), once per shop.

    Stripe's idempotency key (shop and country) makes a concurrent click the same account
    there, and the unique (tenant, provider) the same row here.
    """
    if acting_role not in STRIPE_CONNECT_ROLES:
        raise PaymentSettingsDeniedError(_("Only the shop's owner or an admin can connect Stripe."))
    country = country.strip().upper()
    if country not in STRIPE_COUNTRIES:
        raise _field_error(
            "country", "invalid_choice", _("Choose the country where your business is registered.")
        )
    try:
        remote = connect_account_create(tenant_id=tenant.pk, slug=tenant.slug, country=country)
    except StripeConnectError as error:
        raise _stripe_failure(error) from error
    created = False
    try:
        with transaction.atomic():
            account = MerchantPaymentAccount.objects.create(
                tenant=tenant,
                provider=PaymentProvider.STRIPE,
                account_id=remote.account_id,
                status=Status.PENDING,
                charges_enabled=False,
            )
            created = True
    except IntegrityError:
        # Another click of this shop was first: its account is the shop's.
        account = MerchantPaymentAccount.objects.get(tenant=tenant, provider=PaymentProvider.STRIPE)
    if account.account_id != remote.account_id:
        logger.warning(
            "tenant %s: Stripe account %s left unused, the shop has %s",
            tenant.pk,
            remote.account_id,
            account.account_id,
        )
    audit_record(
        context=context,
        action="payment_account.stripe_opened",
        tenant=tenant,
        target=account,
        data={"account_id": account.account_id, "country": country, "created": created},
    )
    return account


@audited
def stripe_onboarding_link_create(
    *,
    tenant: Tenant,
    acting_role: str,
    return_url: str,
    refresh_url: str,
    context: AuditContext,
) -> str:
    """A single-use link to Stripe's onboarding of the shop's account (whoever opens it can
    enter the payout bank account, so each link is recorded)."""
    if acting_role not in STRIPE_CONNECT_ROLES:
        raise PaymentSettingsDeniedError(_("Only the shop's owner or an admin can connect Stripe."))
    account = MerchantPaymentAccount.objects.filter(
        tenant=tenant, provider=PaymentProvider.STRIPE
    ).first()
    if account is None:
        raise Conflict(_("Connect the shop to Stripe first."))
    if account.status == Status.DISABLED:
        raise PaymentAccountDisabledError(_("This payment account is disabled by the platform."))
    try:
        url = connect_onboarding_link_create(
            account_id=account.account_id, refresh_url=refresh_url, return_url=return_url
        )
    except StripeConnectError as error:
        raise _stripe_failure(error) from error
    audit_record(
        context=context,
        action="payment_account.stripe_onboarding_link",
        tenant=tenant,
        target=account,
        data={"account_id": account.account_id},
    )
    return url


@orchestrator
def stripe_onboarding_start(
    *,
    tenant: Tenant,
    acting_role: str,
    country: str,
    return_url: str,
    refresh_url: str,
    context: AuditContext,
) -> str:
    """The "Connect Stripe" button: the shop's account (made once) and an onboarding link.

    Two steps, two transactions: an account made at Stripe is kept even when the link fails.
    """
    existing = MerchantPaymentAccount.objects.filter(
        tenant=tenant, provider=PaymentProvider.STRIPE
    ).first()
    if existing is None:
        stripe_account_open(
            tenant=tenant, acting_role=acting_role, country=country, context=context
        )
    return stripe_onboarding_link_create(
        tenant=tenant,
        acting_role=acting_role,
        return_url=return_url,
        refresh_url=refresh_url,
        context=context,
    )


def _stripe_status(account: MerchantPaymentAccount, remote: ConnectedAccount) -> str:
    if account.status == Status.DISABLED:
        return Status.DISABLED  # the platform's decision, not Stripe's
    return Status.ACTIVE if remote.charges_enabled else Status.PENDING


@audited
def stripe_account_state_apply(
    *, account_id: str, remote: ConnectedAccount, context: AuditContext
) -> MerchantPaymentAccount:
    """Mirror Stripe's state of the account (charges enabled → active); recorded."""
    account = (
        MerchantPaymentAccount.objects.select_for_update()
        .select_related("tenant")
        .get(provider=PaymentProvider.STRIPE, account_id=account_id)
    )
    before = {"status": account.status, "charges_enabled": account.charges_enabled}
    account.status = _stripe_status(account, remote)
    account.charges_enabled = remote.charges_enabled
    account.save(update_fields=["status", "charges_enabled", "updated_at"])
    if account.status == Status.ACTIVE:
        _onboarding_done(account.tenant)
    audit_record(
        context=context,
        action="payment_account.stripe_synced",
        tenant=account.tenant,
        target=account,
        data={
            "before": before,
            "after": {"status": account.status, "charges_enabled": account.charges_enabled},
            "details_submitted": remote.details_submitted,
            "payouts_enabled": remote.payouts_enabled,
        },
    )
    return account


@orchestrator
def stripe_account_sync(*, account_id: str) -> MerchantPaymentAccount | None:
    """Look at the account at Stripe (not at an event's copy: events come in any order) and
    mirror it; None for an account that is not a shop's. Changes go through
    stripe_account_state_apply."""
    account = MerchantPaymentAccount.objects.filter(
        provider=PaymentProvider.STRIPE, account_id=account_id
    ).first()
    if account is None:
        return None
    try:
        remote = connect_account_get(account_id=account_id)
    except StripeConnectError as error:
        raise _stripe_failure(error) from error
    if (_stripe_status(account, remote), remote.charges_enabled) == (
        account.status,
        account.charges_enabled,
    ):
        return account
    return stripe_account_state_apply(
        account_id=account_id, remote=remote, context=AuditContext.system()
    )


@audited
def stripe_account_deauthorize(*, account_id: str, context: AuditContext) -> MerchantPaymentAccount:
    """The merchant disconnected the platform from its Stripe account: no more charges."""
    account = (
        MerchantPaymentAccount.objects.select_for_update()
        .select_related("tenant")
        .get(provider=PaymentProvider.STRIPE, account_id=account_id)
    )
    account.status = Status.DISABLED
    account.charges_enabled = False
    account.save(update_fields=["status", "charges_enabled", "updated_at"])
    audit_record(
        context=context,
        action="payment_account.stripe_deauthorized",
        tenant=account.tenant,
        target=account,
        data={"account_id": account_id},
    )
    return account


@dataclass(frozen=True)
class ConnectEventOutcome:
    """What the Connect webhook did with one event (for its answer and the logs)."""

    event_id: str
    event_type: str
    outcome: str  # "stored", "duplicate", "account_synced", "ignored"
    detail: str = ""


@unaudited("Stripe's push, verified by its signature; account changes it causes are audited")
def stripe_connect_event_receive(*, body: bytes, headers: dict[str, str]) -> ConnectEventOutcome:
    """Verify a Connect webhook and route it: account events here, payment and refund events
    to the shop of the connected account (stored there once; processed by a task).

    StripeEventRejectedError (400) when the signature is wrong or the event too old; an event
    of an account that is no shop's is acknowledged and ignored (Stripe would retry it for
    days otherwise).
    """
    signature = next(
        (value for name, value in headers.items() if name.lower() == "stripe-signature"), ""
    )
    try:
        event = connect_event_verify(
            body=body, signature=signature, max_age_s=settings.PAYMENT_NOTIFICATION_MAX_AGE_S
        )
    except ConnectEventRejected as error:
        logger.warning("Stripe Connect webhook rejected: %s (%s)", error.code, error)
        raise StripeEventRejectedError(
            _("The notification could not be verified."), code=error.code
        ) from error
    event_id, event_type = str(event["id"]), str(event["type"])
    account_id = event.get("account")
    if not isinstance(account_id, str) or not account_id:
        logger.info("Stripe event %s (%s) has no connected account: ignored", event_id, event_type)
        return ConnectEventOutcome(event_id, event_type, "ignored", "no_account")
    account = (
        MerchantPaymentAccount.objects.select_related("tenant")
        .filter(provider=PaymentProvider.STRIPE, account_id=account_id)
        .first()
    )
    if account is None:
        logger.warning(
            "Stripe event %s (%s) of unknown account %s: ignored", event_id, event_type, account_id
        )
        return ConnectEventOutcome(event_id, event_type, "ignored", "unknown_account")
    if event_type == "account.updated":
        stripe_account_sync(account_id=account_id)
        return ConnectEventOutcome(event_id, event_type, "account_synced")
    if event_type == "account.application.deauthorized":
        stripe_account_deauthorize(account_id=account_id, context=AuditContext.system())
        return ConnectEventOutcome(event_id, event_type, "account_synced")
    with tenant_schema(account.tenant):
        stored = notification_receive(gateway="stripe", headers=headers, body=body)
    return ConnectEventOutcome(event_id, event_type, "stored" if stored else "duplicate")


# --- WeChat Pay sub-merchants ----------------------------------------------------------------


@audited
def wechatpay_sub_merchant_set(
    *,
    tenant: Tenant,
    actor: Account,
    sub_mchid: str,
    sub_appid: str,
    active: bool,
    context: AuditContext,
) -> MerchantPaymentAccount:
    """Record the shop's WeChat Pay sub-merchant (sub_mchid, bound sub_appid) and whether it
    takes payments; platform staff only (see the module's docstring)."""
    if not actor.is_platform_staff:
        raise PaymentSettingsDeniedError(
            _("Only platform staff can set a WeChat Pay sub-merchant.")
        )
    sub_mchid = sub_mchid.strip()
    sub_appid = sub_appid.strip().lower()
    if not SUB_MCHID_PATTERN.match(sub_mchid):
        raise _field_error(
            "sub_mchid", "invalid", _("A sub-merchant id (sub_mchid) is 8 to 12 digits.")
        )
    if sub_appid and not SUB_APPID_PATTERN.match(sub_appid):
        raise _field_error(
            "sub_appid", "invalid", _("An AppID is “wx” and 16 hexadecimal characters.")
        )
    existing = (
        MerchantPaymentAccount.objects.select_for_update()
        .filter(tenant=tenant, provider=PaymentProvider.WECHATPAY)
        .first()
    )
    before = (
        {
            "sub_mchid": existing.account_id,
            "sub_appid": existing.sub_appid,
            "status": existing.status,
        }
        if existing is not None
        else None
    )
    status = Status.ACTIVE if active else Status.DISABLED
    try:
        with transaction.atomic():
            if existing is None:
                account = MerchantPaymentAccount.objects.create(
                    tenant=tenant,
                    provider=PaymentProvider.WECHATPAY,
                    account_id=sub_mchid,
                    sub_appid=sub_appid,
                    status=status,
                    charges_enabled=active,
                )
            else:
                account = existing
                account.account_id = sub_mchid
                account.sub_appid = sub_appid
                account.status = status
                account.charges_enabled = active
                account.save()
    except IntegrityError as error:
        diag = getattr(error.__cause__, "diag", None)
        if getattr(diag, "constraint_name", "") == ACCOUNT_ID_CONSTRAINT:
            raise _field_error(
                "sub_mchid", "sub_mchid_taken", _("This sub-merchant id belongs to another shop.")
            ) from error
        raise Conflict(
            _("The payment settings changed at the same time. Look and try again.")
        ) from error
    if active:
        _onboarding_done(tenant)
    audit_record(
        context=context,
        action="payment_account.wechatpay_set",
        tenant=tenant,
        target=account,
        data={
            "before": before,
            "after": {"sub_mchid": sub_mchid, "sub_appid": sub_appid, "status": status},
        },
    )
    return account
