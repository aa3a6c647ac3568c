"""Orders: an index for the risk rules that look up who else ordered from a device."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_device_indexes"),
        ("orders", "0003_order_order_type"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("device_id", ""), _negated=True),
                fields=["device_id", "created_at"],
                name="orders_order_device_idx",
            ),
        ),
    ]
