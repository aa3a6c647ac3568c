"""A new tenant migration: one column with a database default, after the real latest one."""

from __future__ import annotations

import importlib
from pathlib import Path

from django.db import migrations, models

import shop.core.migrations

APP_LABEL = "shop_core"


def real_latest_migration() -> str:
    """The leaf of shop_core's real migrations: the one no other real migration depends on."""
    names = {
        path.stem
        for folder in shop.core.migrations.__path__
        for path in Path(folder).glob("*.py")
        if not path.name.startswith(("_", "~"))
    }
    depended_on: set[str] = set()
    for name in names:
        migration = importlib.import_module(f"shop.core.migrations.{name}").Migration
        depended_on.update(dep for app, dep in migration.dependencies if app == APP_LABEL)
        if {old for app, old in migration.replaces if app == APP_LABEL} & names:
            # A squash whose replaced migrations are still there: depending on the last of
            # those is depending on the squash (Django remaps it), so it is no leaf itself.
            depended_on.add(name)
    leaves = sorted(names - depended_on)
    if len(leaves) != 1:
        raise RuntimeError(f"shop_core has {len(leaves)} latest migrations: {leaves}")
    return leaves[0]


class Migration(migrations.Migration):
    dependencies = [(APP_LABEL, real_latest_migration())]

    operations = [
        migrations.AddField(
            model_name="shopprofile",
            name="provisioning_probe",
            field=models.IntegerField(db_default=7),
        ),
    ]
