"""The merchant console's sections, in the order of the side navigation.

Sections whose pages arrive with later issues show an empty state that says what will be there;
a later issue replaces the section's view under the same URL name.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ConsoleSection:
    key: str
    title: Promise
    icon: str
    url_name: str
    # What the section will hold, for its empty state (None: the section has a page).
    coming: Promise | None = None


CONSOLE_SECTIONS: tuple[ConsoleSection, ...] = (
    ConsoleSection("dashboard", _("Dashboard"), "◉", "console-dashboard"),
    ConsoleSection("products", _("Products"), "▦", "console-products"),
    ConsoleSection("orders", _("Orders"), "▤", "console-orders"),
    ConsoleSection(
        "members",
        _("Members"),
        "☺",
        "console-members",
        _("Shoppers who join your shop will appear here, with their orders, points and levels."),
    ),
    ConsoleSection("distribution", _("Distribution"), "⇄", "console-distribution"),
    ConsoleSection("theme", _("Theme"), "◐", "console-theme"),
    ConsoleSection(
        "settings",
        _("Settings"),
        "⚙",
        "console-settings",
    ),
)

SECTIONS_BY_KEY = {section.key: section for section in CONSOLE_SECTIONS}
