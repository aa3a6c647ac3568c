"""Distribution: risk holds, team bonus and regional agents."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("distribution", "0009_withdrawals")]

    operations: list[migrations.operations.base.Operation] = []
