"""Distribution: share links and posters."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("distribution", "0010_risk_team_region")]

    operations: list[migrations.operations.base.Operation] = []
