"""Distribution: withdrawals."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("distribution", "0008_settlement")]

    operations: list[migrations.operations.base.Operation] = []
