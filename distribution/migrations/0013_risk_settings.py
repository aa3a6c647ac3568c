"""Distribution: the risk rules' thresholds become shop settings."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("distribution", "0012_applications")]

    operations = [
        migrations.AddField(
            model_name="distributionsettings",
            name="risk_buyer_orders_per_day",
            field=models.PositiveIntegerField(default=20),
        ),
        migrations.AddField(
            model_name="distributionsettings",
            name="risk_device_accounts_limit",
            field=models.PositiveIntegerField(default=3),
        ),
        migrations.AddField(
            model_name="distributionsettings",
            name="risk_earner_orders_per_hour",
            field=models.PositiveIntegerField(default=200),
        ),
    ]
