"""shop_core's real migrations plus one more, as if a developer had just added it.

tests/test_provisioning.py points MIGRATION_MODULES["shop_core"] here: the loader finds the
real migrations (this package's path covers their folder) and `provisioning_probe`, which adds
a column and depends on whatever the real latest migration is.
"""

from __future__ import annotations

from pathlib import Path

import shop.core.migrations

__path__ = [str(Path(__file__).parent), *shop.core.migrations.__path__]
