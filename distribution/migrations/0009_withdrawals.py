"""Distribution: withdrawals."""

import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("distribution", "0008_settlement"),
    ]

    operations = [
        migrations.CreateModel(
            name="WithdrawalNotification",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("event_id", models.CharField(max_length=64, unique=True)),
                ("event_type", models.CharField(max_length=64)),
                ("out_bill_no", models.CharField(max_length=32)),
                ("provider_state", models.CharField(max_length=32)),
                ("outcome", models.CharField(blank=True, default="", max_length=32)),
                ("received_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.CreateModel(
            name="Withdrawal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount_minor", models.BigIntegerField()),
                ("fee_minor", models.BigIntegerField()),
                ("net_minor", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("wechat_balance", "Wechat Balance"),
                            ("bank_card", "Bank Card"),
                            ("store_balance", "Store Balance"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("requested", "Requested"),
                            ("approved", "Approved"),
                            ("transferring", "Transferring"),
                            ("awaiting_confirmation", "Awaiting Confirmation"),
                            ("paid", "Paid"),
                            ("rejected", "Rejected"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                            ("expired", "Expired"),
                        ],
                        default="requested",
                        max_length=24,
                    ),
                ),
                ("local_day", models.DateField()),
                ("idempotency_key", models.CharField(blank=True, default="", max_length=255)),
                ("attempt", models.PositiveSmallIntegerField(default=1)),
                ("out_bill_no", models.CharField(max_length=32, unique=True)),
                ("provider_bill_no", models.CharField(blank=True, default="", max_length=64)),
                ("provider_state", models.CharField(blank=True, default="", max_length=32)),
                ("package_info", models.TextField(blank=True, default="")),
                ("payee_appid", models.CharField(blank=True, default="", max_length=64)),
                ("payee_openid", models.CharField(blank=True, default="", max_length=128)),
                ("payee_encrypted", models.TextField(blank=True, default="")),
                ("payee_hint", models.CharField(blank=True, default="", max_length=64)),
                ("offline_reference", models.CharField(blank=True, default="", max_length=128)),
                ("reviewer", models.CharField(blank=True, default="", max_length=64)),
                ("reject_reason", models.CharField(blank=True, default="", max_length=255)),
                ("failure_reason", models.CharField(blank=True, default="", max_length=255)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                ("transfer_started_at", models.DateTimeField(blank=True, null=True)),
                ("awaiting_since", models.DateTimeField(blank=True, null=True)),
                ("cancel_requested_at", models.DateTimeField(blank=True, null=True)),
                ("paid_at", models.DateTimeField(blank=True, null=True)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                ("state_changed_at", models.DateTimeField(auto_now_add=True)),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="withdrawals",
                        to="customers.member",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["member", "local_day"], name="dist_withdrawal_day_idx"),
                    models.Index(fields=["state", "created_at"], name="dist_withdrawal_state_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("amount_minor__gt", 0),
                            ("fee_minor__gte", 0),
                            ("net_minor__gt", 0),
                            (
                                "amount_minor",
                                django.db.models.expressions.CombinedExpression(
                                    models.F("fee_minor"), "+", models.F("net_minor")
                                ),
                            ),
                        ),
                        name="distribution_withdrawal_amounts",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("channel__in", ["wechat_balance", "bank_card", "store_balance"])
                        ),
                        name="distribution_withdrawal_channel",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("idempotency_key", ""), _negated=True),
                        fields=("member", "idempotency_key"),
                        name="distribution_withdrawal_key_unique",
                    ),
                ],
            },
        ),
    ]
