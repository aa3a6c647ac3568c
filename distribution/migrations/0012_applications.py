"""Distribution: distributor applications."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("distribution", "0011_share")]

    operations: list[migrations.operations.base.Operation] = []
