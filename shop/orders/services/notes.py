"""The merchant's own note on an order (never shown to the member)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.errors import ValidationFailed
from shop.orders.errors import OrderNotFoundError
from shop.orders.models import Order

MERCHANT_NOTE_MAX_LENGTH = 500


@transaction.atomic
def order_merchant_note_set(*, order: Order, note: str) -> Order:
    """Replace the merchant's note on the order ("" clears it)."""
    note = note.strip()
    if len(note) > MERCHANT_NOTE_MAX_LENGTH:
        raise ValidationFailed(
            _("Some fields are not valid."),
            fields={
                "merchant_note": [{"code": "too_long", "message": _("Use at most 500 characters.")}]
            },
        )
    if not Order.objects.filter(pk=order.pk).update(merchant_note=note, updated_at=timezone.now()):
        raise OrderNotFoundError()
    order.merchant_note = note
    return order
