"""Distribution: grades."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("distribution", "0006_link_priority")]

    operations: list[migrations.operations.base.Operation] = []
