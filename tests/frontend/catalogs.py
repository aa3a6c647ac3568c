"""Compiled catalogs for the page tests, even when pytest runs without `make`.

`make` compiles locale/*.po before the suite (infra.i18n_compile); a direct
`pytest tests/frontend` run compiles stale ones here and makes Django forget catalogs it read
before.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils.translation import trans_real

from infra.i18n_compile import catalogs_compile as locale_dir_compile


def catalogs_compile() -> list[Path]:
    """Compile stale catalogs; the .mo files written."""
    written: list[Path] = []
    for locale_dir in settings.LOCALE_PATHS:
        written.extend(locale_dir_compile(locale_dir=Path(locale_dir)))
    if written:
        # Catalogs read before this compile are cached per process: forget them.
        state = vars(trans_real)
        state["_translations"].clear()
        state["_default"] = None
    return written
