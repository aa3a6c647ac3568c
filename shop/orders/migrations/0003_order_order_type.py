"""Orders: the order's type (normal; group buy, bargain, flash sale, points exchange to come)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_order_referral_code")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="order_type",
            field=models.CharField(
                choices=[
                    ("normal", "Normal"),
                    ("group_buy", "Group Buy"),
                    ("bargain", "Bargain"),
                    ("flash_sale", "Flash Sale"),
                    ("points_exchange", "Points Exchange"),
                ],
                default="normal",
                max_length=16,
            ),
        ),
    ]
