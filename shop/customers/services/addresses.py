"""Members' shipping addresses; one default per member (a partial unique index backs it).

Every change locks the member's row first, so concurrent writes to one member's addresses run
one after the other (the default moves atomically; the count limit holds).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from infra.errors import ValidationFailed
from shop.customers.errors import AddressLimitReachedError
from shop.customers.lock_objects import member_lock
from shop.customers.models import Address, Member
from shop.customers.phones import phone_encrypt, phone_normalize
from shop.customers.selectors.addresses import address_get

ADDRESSES_PER_MEMBER = 20

_MAX_LENGTHS = {
    "recipient_name": 64,
    "province": 64,
    "city": 64,
    "district": 64,
    "detail": 255,
    "postal_code": 16,
}
_REQUIRED = ("recipient_name", "province", "city", "detail")


@dataclass(frozen=True)
class AddressFields:
    recipient_name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str


def _fields_clean(values: dict[str, str]) -> dict[str, str]:
    """Trimmed values; the phone normalised to E.164. Raises with every field's error at once."""
    cleaned = {name: value.strip() for name, value in values.items()}
    errors: dict[str, list[dict[str, str]]] = {}
    for name, value in cleaned.items():
        if name in _REQUIRED and not value:
            errors[name] = [{"code": "required", "message": _("This field is required.")}]
        elif name in _MAX_LENGTHS and len(value) > _MAX_LENGTHS[name]:
            errors[name] = [{"code": "too_long", "message": _("This value is too long.")}]
    if "phone" in cleaned:
        try:
            cleaned["phone"] = phone_normalize(cleaned["phone"])
        except ValidationFailed as error:
            errors.update(error.fields)
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), fields=errors)
    return cleaned


def _columns(cleaned: dict[str, str]) -> dict[str, str]:
    columns = {name: value for name, value in cleaned.items() if name != "phone"}
    if "phone" in cleaned:
        columns["phone_encrypted"] = phone_encrypt(cleaned["phone"])
    return columns


@transaction.atomic
def address_create(*, member: Member, fields: AddressFields, is_default: bool) -> Address:
    """Add an address (at most 20); the first one, or one marked default, becomes the default."""
    cleaned = _fields_clean(vars(fields).copy())
    member_lock(member_id=member.pk).get()
    count = Address.objects.filter(member=member).count()
    if count >= ADDRESSES_PER_MEMBER:
        raise AddressLimitReachedError(_("You have too many addresses. Delete one first."))
    is_default = is_default or count == 0
    if is_default:
        Address.objects.filter(member=member, is_default=True).update(is_default=False)
    return Address.objects.create(member=member, is_default=is_default, **_columns(cleaned))


@transaction.atomic
def address_update(*, member: Member, address_id: int, changes: dict[str, str]) -> Address:
    """Change some fields of one of the member's addresses (names as in AddressFields)."""
    unknown = set(changes) - set(AddressFields.__dataclass_fields__)
    if unknown:
        raise ValueError(f"not address fields: {sorted(unknown)}")
    cleaned = _fields_clean(changes)
    member_lock(member_id=member.pk).get()
    address = address_get(member=member, address_id=address_id)
    for name, value in _columns(cleaned).items():
        setattr(address, name, value)
    address.save()
    return address


@transaction.atomic
def address_delete(*, member: Member, address_id: int) -> None:
    """Delete one of the member's addresses; when it was the default, the newest left is."""
    member_lock(member_id=member.pk).get()
    address = address_get(member=member, address_id=address_id)
    address.delete()
    if address.is_default:
        newest = Address.objects.filter(member=member).order_by("-created_at", "-pk").first()
        if newest is not None:
            Address.objects.filter(pk=newest.pk).update(is_default=True)


@transaction.atomic
def address_default_set(*, member: Member, address_id: int) -> Address:
    """Make one of the member's addresses the default (the previous default stops being it)."""
    member_lock(member_id=member.pk).get()
    address = address_get(member=member, address_id=address_id)
    if not address.is_default:
        Address.objects.filter(member=member, is_default=True).update(is_default=False)
        Address.objects.filter(pk=address.pk).update(is_default=True)
        address.is_default = True
    return address
