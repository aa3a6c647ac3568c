"""Members: indexes for the risk rules that look up who else used a device."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_store_balance"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="memberlogin",
            index=models.Index(
                condition=models.Q(("device_id", ""), _negated=True),
                fields=["device_id", "created_at"],
                name="member_login_device_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="membertoken",
            index=models.Index(
                condition=models.Q(("device_id", ""), _negated=True),
                fields=["device_id", "created_at"],
                name="member_token_device_idx",
            ),
        ),
    ]
