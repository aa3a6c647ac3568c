"""Write services of the shop profile (run in the shop's schema)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from infra.errors import ValidationFailed
from shop.catalog.cache import catalog_changed
from shop.core.models import ShopProfile

DESCRIPTION_MAX_LENGTH = 2000


def shop_profile_seed() -> None:
    """Create the profile row of a new shop (idempotent: one INSERT … ON CONFLICT DO NOTHING)."""
    ShopProfile.objects.bulk_create([ShopProfile(singleton=True)], ignore_conflicts=True)


def shop_profile_update(*, description: str, contact_email: str, contact_phone: str) -> ShopProfile:
    """Change what the shop says about itself and how shoppers reach it."""
    description = description.strip()
    contact_email = contact_email.strip().lower()
    contact_phone = contact_phone.strip()
    fields: dict[str, list[dict[str, str]]] = {}
    if len(description) > DESCRIPTION_MAX_LENGTH:
        fields["description"] = [{"code": "too_long", "message": _("Use at most 2000 characters.")}]
    if contact_email:
        try:
            validate_email(contact_email)
        except ValidationError:
            fields["contact_email"] = [
                {"code": "invalid", "message": _("Enter a valid e-mail address.")}
            ]
    if len(contact_phone) > 32:
        fields["contact_phone"] = [{"code": "too_long", "message": _("Use at most 32 characters.")}]
    if fields:
        raise ValidationFailed(_("Some fields are not valid."), fields=fields)
    profile = ShopProfile.objects.select_for_update().get_or_create(singleton=True)[0]
    profile.description = description
    profile.contact_email = contact_email
    profile.contact_phone = contact_phone
    profile.save(update_fields=["description", "contact_email", "contact_phone", "updated_at"])
    # The storefront's cached pages show the profile; they are keyed by the catalog's version.
    catalog_changed()
    return profile
