"""Distribution: settlement, clawback and statements."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("distribution", "0007_grades")]

    operations: list[migrations.operations.base.Operation] = []
