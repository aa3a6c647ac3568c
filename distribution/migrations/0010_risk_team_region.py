"""Distribution: risk holds, team bonus and regional agents."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("orders", "0001_initial"),
        ("distribution", "0009_withdrawals"),
    ]

    operations = [
        # Commission: kind (level / region), the held state and the hold's review fields.
        migrations.AddField(
            model_name="commission",
            name="kind",
            field=models.CharField(
                choices=[("level", "Level"), ("region", "Region")], default="level", max_length=8
            ),
        ),
        migrations.AddField(
            model_name="commission",
            name="hold_reason",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddField(
            model_name="commission",
            name="hold_detail",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="commission",
            name="reviewed_by",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="commission",
            name="reviewed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="commission",
            name="state",
            field=models.CharField(
                choices=[
                    ("held", "Held"),
                    ("pending", "Pending"),
                    ("frozen", "Frozen"),
                    ("available", "Available"),
                    ("withdrawn", "Withdrawn"),
                    ("reversed", "Reversed"),
                ],
                default="pending",
                max_length=12,
            ),
        ),
        migrations.AlterModelOptions(
            name="commission",
            options={"ordering": ["order_id", "order_line_id", "kind", "level"]},
        ),
        migrations.RemoveConstraint(
            model_name="commission",
            name="distribution_commission_once_per_level",
        ),
        migrations.RemoveConstraint(
            model_name="commission",
            name="distribution_commission_level_1_3",
        ),
        migrations.AddConstraint(
            model_name="commission",
            constraint=models.UniqueConstraint(
                fields=("order_line", "kind", "level"),
                name="distribution_commission_once_per_kind_level",
            ),
        ),
        migrations.AddConstraint(
            model_name="commission",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "level"), ("level__gte", 1), ("level__lte", 3)),
                    models.Q(("kind", "region"), ("level", 0)),
                    _connector="OR",
                ),
                name="distribution_commission_kind_level",
            ),
        ),
        migrations.AddIndex(
            model_name="commission",
            index=models.Index(
                condition=models.Q(("state", "held")),
                fields=["order", "beneficiary"],
                name="dist_commission_held_idx",
            ),
        ),
        migrations.AlterField(
            model_name="commissiondecision",
            name="reason",
            field=models.CharField(
                choices=[
                    ("earns", "Earns"),
                    ("distribution_off", "Distribution Off"),
                    ("no_upline", "No Upline"),
                    ("binding_expired", "Binding Expired"),
                    ("not_a_distributor", "Not A Distributor"),
                    ("self_purchase_off", "Self Purchase Off"),
                    ("depth_limit", "Depth Limit"),
                    ("link_priority", "Link Priority"),
                    ("held", "Held"),
                ],
                max_length=24,
            ),
        ),
        migrations.AddIndex(
            model_name="commissiondecision",
            index=models.Index(
                condition=models.Q(("reason", "earns")),
                fields=["member", "created_at"],
                name="dist_decision_earns_idx",
            ),
        ),
        # Risk flags: the review record of held commissions.
        migrations.CreateModel(
            name="RiskFlag",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(default="level", max_length=8)),
                ("rules", models.JSONField(default=list)),
                ("evidence", models.JSONField(default=dict)),
                ("held_minor", models.BigIntegerField(default=0)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Open"),
                            ("released", "Released"),
                            ("rejected", "Rejected"),
                        ],
                        default="open",
                        max_length=10,
                    ),
                ),
                ("reviewed_by", models.CharField(blank=True, default="", max_length=64)),
                ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                ("note", models.CharField(blank=True, default="", max_length=500)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "buyer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="customers.member",
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="customers.member",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="orders.order",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["status", "-created_at"], name="dist_risk_flag_status_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("order", "member", "kind"), name="distribution_risk_flag_once"
                    )
                ],
            },
        ),
        # Regional agents.
        migrations.CreateModel(
            name="RegionalAgent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("province", models.CharField(max_length=64)),
                ("city", models.CharField(blank=True, default="", max_length=64)),
                ("district", models.CharField(blank=True, default="", max_length=64)),
                ("rate_bp", models.PositiveIntegerField()),
                ("active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="regional_agencies",
                        to="customers.member",
                    ),
                ),
            ],
            options={
                "ordering": ["province", "city", "district", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("active", True)),
                        fields=("province", "city", "district"),
                        name="distribution_region_one_active_agent",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("rate_bp__gte", 1), ("rate_bp__lte", 10000)),
                        name="distribution_region_rate_1_10000",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("province", ""), _negated=True),
                            models.Q(
                                models.Q(
                                    models.Q(("district", ""), _negated=True),
                                    models.Q(("city", ""), _negated=True),
                                ),
                                ("district", ""),
                                _connector="OR",
                            ),
                        ),
                        name="distribution_region_shape",
                    ),
                ],
            },
        ),
        # Team performance bonus: monthly results and the run marker.
        migrations.CreateModel(
            name="TeamBonusRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField(unique=True)),
                ("rate_bp", models.PositiveIntegerField()),
                ("depth", models.PositiveSmallIntegerField()),
                ("paid_count", models.PositiveIntegerField(default=0)),
                ("paid_minor", models.BigIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["-month"]},
        ),
        migrations.CreateModel(
            name="TeamBonus",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                ("team_sales_minor", models.BigIntegerField()),
                ("rate_bp", models.PositiveIntegerField()),
                ("amount_minor", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("detail", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="customers.member",
                    ),
                ),
            ],
            options={
                "ordering": ["-month", "-amount_minor", "member_id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("member", "month"), name="distribution_team_bonus_once"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("amount_minor__gte", 0), ("team_sales_minor__gte", 0)),
                        name="distribution_team_bonus_amounts",
                    ),
                ],
            },
        ),
    ]
