"""Distribution: distributor applications and the history of distributors' statuses."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("distribution", "0011_share")]

    operations = [
        migrations.CreateModel(
            name="DistributorApplication",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=64)),
                ("phone_encrypted", models.TextField()),
                ("phone_index", models.CharField(db_index=True, max_length=64)),
                ("reason", models.CharField(blank=True, default="", max_length=500)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("submitted", "Submitted"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                        ],
                        default="submitted",
                        max_length=12,
                    ),
                ),
                ("note", models.CharField(blank=True, default="", max_length=500)),
                ("decided_by", models.CharField(blank=True, default="", max_length=64)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="distributor_applications",
                        to="customers.member",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["status", "-created_at"], name="dist_application_queue_idx"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "submitted")),
                        fields=("member",),
                        name="distribution_one_open_application",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="DistributorStatusChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("from_status", models.CharField(blank=True, default="", max_length=16)),
                ("to_status", models.CharField(max_length=16)),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("everyone", "Everyone"),
                            ("applied", "Applied"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                            ("appointed", "Appointed"),
                            ("spend_threshold", "Spend Threshold"),
                            ("bought_product", "Bought Product"),
                            ("spend_refunded", "Spend Refunded"),
                            ("disabled", "Disabled"),
                            ("enabled", "Enabled"),
                        ],
                        max_length=16,
                    ),
                ),
                ("note", models.CharField(blank=True, default="", max_length=500)),
                ("actor", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "distributor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="status_changes",
                        to="distribution.distributor",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
                "indexes": [
                    models.Index(
                        fields=["distributor", "-id"], name="dist_status_change_recent_idx"
                    )
                ],
            },
        ),
    ]
