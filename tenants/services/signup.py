"""Self-service signup: an account, a shop (from a spare schema), its owner membership, a trial.

Everything is created in one transaction, so a failure leaves nothing half-made: the claimed
spare schema is renamed back by the rollback and returns to the pool.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _

from billing.services import subscription_start_trial
from infra.errors import ValidationFailed, validation_error_items
from tenants.identifiers import identifier_normalize
from tenants.models import Account, Agency, Membership, Role, Tenant
from tenants.selectors.provisioning import schema_name_for
from tenants.services.audit import AuditContext, audit_record, audited, orchestrator, unaudited
from tenants.services.provisioning import tenant_provision, with_spare_schema

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
# Names that must never become shops: they are, or may become, platform hosts and paths.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "administrator",
        "api",
        "app",
        "apps",
        "assets",
        "auth",
        "billing",
        "blog",
        "cdn",
        "console",
        "dashboard",
        "dev",
        "docs",
        "download",
        "help",
        "home",
        "img",
        "images",
        "login",
        "logout",
        "mail",
        "media",
        "mp",
        "news",
        "oauth",
        "open",
        "pay",
        "payment",
        "payments",
        "platform",
        "portal",
        "public",
        "root",
        "sandbox",
        "secure",
        "shop",
        "shops",
        "signup",
        "sms",
        "static",
        "status",
        "stage",
        "staging",
        "store",
        "stores",
        "support",
        "system",
        "test",
        "tests",
        "wechat",
        "weixin",
        "wx",
        "www",
        "www1",
        "www2",
    }
)
# Schema names that PostgreSQL or the platform keeps for itself.
RESERVED_SCHEMA_PREFIXES = ("pg_", "spare_", "information_schema")


@dataclass(frozen=True)
class SignupResult:
    account: Account
    tenant: Tenant


@dataclass(frozen=True)
class ShopInput:
    shop_name: str
    slug: str
    currency: str
    language: str
    time_zone: str


FieldErrors = dict[str, list[dict[str, str]]]


def _add(errors: FieldErrors, field: str, code: str, message: str) -> None:
    errors.setdefault(field, []).append({"code": code, "message": message})


@unaudited("validates input; writes nothing")
def shop_input_validate(
    *, shop_name: str, slug: str, currency: str, language: str, time_zone: str
) -> tuple[ShopInput, FieldErrors]:
    """Clean a new shop's fields; the field errors carry stable codes."""
    errors: FieldErrors = {}
    shop_name = (shop_name or "").strip()
    slug = (slug or "").strip().lower()
    if not shop_name:
        _add(errors, "shop_name", "required", _("Enter the name of your shop."))
    elif len(shop_name) > 120:
        _add(errors, "shop_name", "too_long", _("Use at most 120 characters."))
    if not slug:
        _add(errors, "slug", "required", _("Choose the address of your shop."))
    elif not SLUG_PATTERN.match(slug) or "--" in slug:
        _add(
            errors,
            "slug",
            "slug_invalid",
            _(
                "Use 3 to 40 lower-case letters, digits and single hyphens, starting with a "
                "letter and not ending with a hyphen."
            ),
        )
    elif slug in RESERVED_SLUGS or schema_name_for(slug).startswith(RESERVED_SCHEMA_PREFIXES):
        _add(errors, "slug", "slug_reserved", _("This address is reserved. Choose another."))
    elif Tenant.objects.filter(slug=slug).exists():
        _add(errors, "slug", "slug_taken", _("This address is taken. Choose another."))
    if currency not in settings.SHOP_CURRENCIES:
        _add(errors, "currency", "invalid_choice", _("Choose a supported currency."))
    if language not in settings.SHOP_LANGUAGES:
        _add(errors, "language", "invalid_choice", _("Choose a supported language."))
    if time_zone not in zoneinfo.available_timezones():
        _add(errors, "time_zone", "invalid_choice", _("Choose a valid time zone."))
    cleaned = ShopInput(
        shop_name=shop_name, slug=slug, currency=currency, language=language, time_zone=time_zone
    )
    return cleaned, errors


def _owner_validate(
    *, email: str | None, phone: str | None, password: str, errors: FieldErrors
) -> tuple[str | None, str | None]:
    clean_email: str | None = None
    clean_phone: str | None = None
    if not (email or "").strip() and not (phone or "").strip():
        _add(errors, "email", "email_or_phone_required", _("Enter an e-mail address or a phone."))
    if (email or "").strip():
        try:
            kind, clean_email = identifier_normalize(email or "")
            if kind != "email":
                raise ValidationError("not an e-mail address", code="invalid")
        except ValidationError:
            clean_email = None
            _add(errors, "email", "invalid", _("Enter a valid e-mail address."))
        else:
            if Account.objects.filter(email__iexact=clean_email).exists():
                _add(
                    errors,
                    "email",
                    "email_taken",
                    _("An account uses this e-mail. Log in to add a shop to it."),
                )
    if (phone or "").strip():
        try:
            kind, clean_phone = identifier_normalize(phone or "")
            if kind != "phone":
                raise ValidationError("not a phone number", code="invalid")
        except ValidationError:
            clean_phone = None
            _add(errors, "phone", "invalid", _("Enter a valid phone number."))
        else:
            if Account.objects.filter(phone=clean_phone).exists():
                _add(
                    errors,
                    "phone",
                    "phone_taken",
                    _("An account uses this phone number. Log in to add a shop to it."),
                )
    try:
        validate_password(password or "", Account(email=clean_email, phone=clean_phone))
    except ValidationError as error:
        errors["password"] = validation_error_items(error)
    return clean_email, clean_phone


def _raise_for_conflict(shop: ShopInput, email: str | None, phone: str | None) -> None:
    """After a unique violation (a concurrent signup won), name the field that lost."""
    errors: FieldErrors = {}
    if Tenant.objects.filter(slug=shop.slug).exists():
        _add(errors, "slug", "slug_taken", _("This address is taken. Choose another."))
    if email and Account.objects.filter(email__iexact=email).exists():
        _add(errors, "email", "email_taken", _("An account uses this e-mail."))
    if phone and Account.objects.filter(phone=phone).exists():
        _add(errors, "phone", "phone_taken", _("An account uses this phone number."))
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), fields=errors)


@orchestrator
def tenant_signup(
    *,
    shop_name: str,
    slug: str,
    email: str | None,
    phone: str | None,
    password: str,
    currency: str,
    language: str,
    time_zone: str,
    context: AuditContext,
) -> SignupResult:
    """Sign a merchant up: account, shop, owner membership and trial, all or nothing."""
    shop, errors = shop_input_validate(
        shop_name=shop_name, slug=slug, currency=currency, language=language, time_zone=time_zone
    )
    clean_email, clean_phone = _owner_validate(
        email=email, phone=phone, password=password, errors=errors
    )
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), fields=errors)
    # Hash before the transaction: it is slow on purpose and needs no lock.
    password_hash = make_password(password)
    try:
        return with_spare_schema(
            functools.partial(
                _signup_create,
                shop=shop,
                email=clean_email,
                phone=clean_phone,
                password_hash=password_hash,
                context=context,
            )
        )
    except IntegrityError:
        _raise_for_conflict(shop, clean_email, clean_phone)
        raise


@audited
def _signup_create(
    *,
    shop: ShopInput,
    email: str | None,
    phone: str | None,
    password_hash: str,
    context: AuditContext,
) -> SignupResult:
    account = Account.objects.create(
        email=email, phone=phone, password=password_hash, language=shop.language
    )
    acting = context.with_actor(account)
    tenant = tenant_create(shop=shop, agency=None, context=acting)
    Membership.objects.create(account=account, tenant=tenant, role=Role.OWNER)
    audit_record(
        context=acting,
        action="tenant.signed_up",
        tenant=tenant,
        target=account,
        data={"slug": shop.slug, "channel": "email" if email else "phone"},
    )
    return SignupResult(account=account, tenant=tenant)


@audited
def tenant_create(*, shop: ShopInput, agency: Agency | None, context: AuditContext) -> Tenant:
    """A shop from cleaned input, with its trial; must run inside `with_spare_schema`."""
    tenant = tenant_provision(
        slug=shop.slug,
        name=shop.shop_name,
        currency=shop.currency,
        language=shop.language,
        time_zone=shop.time_zone,
        agency=agency,
        context=context,
    )
    subscription_start_trial(tenant=tenant, context=context)
    audit_record(
        context=context,
        action="tenant.created",
        tenant=tenant,
        target=tenant,
        data={"agency_id": agency.pk if agency else None},
    )
    return tenant


@orchestrator
def tenant_create_for_account(
    *, account: Account, shop: dict[str, Any], context: AuditContext
) -> Tenant:
    """A further shop for a logged-in account, which becomes its owner."""
    cleaned, errors = shop_input_validate(**shop)
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), fields=errors)
    try:
        return with_spare_schema(
            functools.partial(_owned_shop_create, account=account, shop=cleaned, context=context)
        )
    except IntegrityError:
        _raise_for_conflict(cleaned, None, None)
        raise


@audited
def _owned_shop_create(*, account: Account, shop: ShopInput, context: AuditContext) -> Tenant:
    tenant = tenant_create(shop=shop, agency=None, context=context)
    membership = Membership.objects.create(account=account, tenant=tenant, role=Role.OWNER)
    audit_record(
        context=context,
        action="membership.created",
        tenant=tenant,
        target=membership,
        data={"role": Role.OWNER},
    )
    return tenant
