"""Template filters of the consoles: amounts in the console's language, labels of codes."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from frontend.order_labels import LABELS
from infra.money import Money

register = template.Library()


@register.filter
def money(minor: int | str | None, currency: str) -> str:
    """Minor units of `currency` for people, in the active language ("CN¥12.50", "¥12.50")."""
    if minor is None or minor == "":
        return ""
    return Money(int(minor), str(currency)).format(get_language() or settings.LANGUAGE_CODE)


@register.filter
def label(code: str, group: str) -> str:
    """The translated name of a stored code ("paid" in "order_status": "To ship")."""
    return str(LABELS.get(group, {}).get(code, code))


@register.filter
def actor(code: str, names: dict[str, str] | None) -> str:
    """Who did something, from its stored code ("account:3", "member:12", "system")."""
    if names and code in names:
        return names[code]
    kind, _colon, ident = str(code).partition(":")
    if kind == "account":
        return _("Staff #%(id)s") % {"id": ident}
    if kind == "member":
        return _("The member")
    if kind == "refund":
        return _("The refund")
    if kind == "system":
        return _("Automatic")
    return str(code)
