"""Compile every locale/*/LC_MESSAGES/*.po into its .mo with Babel (no GNU gettext needed).

`make dev` and `make test` run it first; the .mo files are build output and are not committed.
Usage: python -m infra.i18n_compile [locale_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

BASE_DIR = Path(__file__).resolve().parent.parent


def catalogs_compile(*, locale_dir: Path) -> list[Path]:
    """Write a .mo beside every .po that is newer than it; the .mo files written."""
    written: list[Path] = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        # Fuzzy entries are drafts: like msgfmt, leave them out.
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


def main(argv: list[str]) -> int:
    locale_dir = Path(argv[0]) if argv else BASE_DIR / "locale"
    written = catalogs_compile(locale_dir=locale_dir)
    for path in written:
        sys.stdout.write(f"compiled {path.relative_to(locale_dir)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
