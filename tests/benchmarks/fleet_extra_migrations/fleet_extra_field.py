"""An additive migration (one column) on top of shop.core's real migrations."""

from __future__ import annotations

import pkgutil

from django.db import migrations, models

import shop.core.migrations


def _real_leaf() -> str:
    """The latest real migration of shop.core, whatever it is when this runs."""
    names = sorted(
        module.name
        for module in pkgutil.iter_modules(shop.core.migrations.__path__)
        if module.name[:1].isdigit()
    )
    return names[-1]


class Migration(migrations.Migration):
    dependencies = [("shop_core", _real_leaf())]

    operations = [
        migrations.AddField(
            model_name="shopprofile",
            name="fleet_extra_note",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
    ]
