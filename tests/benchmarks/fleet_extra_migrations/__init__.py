"""shop.core's migrations plus one additive migration, for fleet-migration tests and benchmarks.

Use with `MIGRATION_MODULES = {"shop_core": "tests.benchmarks.fleet_extra_migrations"}`: the
package's path covers this directory (the extra migration) and the real app's migrations.
"""

from __future__ import annotations

from pathlib import Path

import shop.core.migrations

__path__ = [str(Path(__file__).parent), *shop.core.migrations.__path__]

# What the extra migration adds, for the code that checks or reverts it.
EXTRA_MIGRATION = ("shop_core", "fleet_extra_field")
EXTRA_TABLE = "shop_core_shopprofile"
EXTRA_COLUMN = "fleet_extra_note"
