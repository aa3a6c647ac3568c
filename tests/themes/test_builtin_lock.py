"""A built-in theme that changed must get a new version: shops and caches know a version by
its number, and production refuses to store other content under a number it has."""

from __future__ import annotations

import json
from pathlib import Path

from themes.manifest import package_files_from_directory, package_validate
from themes.packages.services import BUILTIN_ROOT

LOCK = BUILTIN_ROOT.parent / "builtin.lock.json"


def test_every_builtin_theme_version_is_locked_to_its_content() -> None:
    # given the lock: every shipped version of every built-in theme and its checksum
    lock = json.loads(LOCK.read_text())
    # when the themes in the source tree are read
    shipped = {}
    for directory in sorted(path for path in Path(BUILTIN_ROOT).iterdir() if path.is_dir()):
        bundle = package_validate(package_files_from_directory(directory))
        shipped[bundle.handle] = (bundle.version, bundle.checksum)
    # then each one's version is in the lock with exactly this content: a changed theme needs
    # a new version in its manifest and a new line in the lock (old lines stay)
    for handle, (version, checksum) in shipped.items():
        assert lock.get(handle, {}).get(version) == checksum, (
            f"{handle} {version} is not locked with this content ({checksum}): a change needs "
            f"a new version in its manifest.json, locked in {LOCK.name} (keep the old lines)"
        )
