"""The store balance as a payment method (gateway "balance", method "store_balance"): choices
only, no schema change."""

from django.db import migrations, models

GATEWAYS = [
    ("wechatpay", "Wechatpay"),
    ("stripe", "Stripe"),
    ("offline", "Offline"),
    ("sandbox", "Sandbox"),
    ("balance", "Balance"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payment",
            name="gateway",
            field=models.CharField(choices=GATEWAYS, max_length=16),
        ),
        migrations.AlterField(
            model_name="payment",
            name="method",
            field=models.CharField(
                choices=[
                    ("wechat_miniprogram", "Wechat Miniprogram"),
                    ("wechat_jsapi", "Wechat Jsapi"),
                    ("wechat_h5", "Wechat H5"),
                    ("wechat_native", "Wechat Native"),
                    ("stripe_card", "Stripe Card"),
                    ("cash_on_pickup", "Cash On Pickup"),
                    ("bank_transfer", "Bank Transfer"),
                    ("sandbox", "Sandbox"),
                    ("store_balance", "Store Balance"),
                ],
                max_length=24,
            ),
        ),
        migrations.AlterField(
            model_name="paymentnotification",
            name="gateway",
            field=models.CharField(choices=GATEWAYS, max_length=16),
        ),
        migrations.AlterField(
            model_name="reconciliationrun",
            name="gateway",
            field=models.CharField(choices=GATEWAYS, max_length=16),
        ),
    ]
