"""Distribution: settlement, clawback and statements."""

import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("distribution", "0007_grades"),
    ]

    operations = [
        migrations.CreateModel(
            name="SettlementRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("unfreeze", "Unfreeze"),
                            ("periodic", "Periodic"),
                            ("statements", "Statements"),
                        ],
                        max_length=12,
                    ),
                ),
                ("period", models.CharField(max_length=16)),
                ("cutoff", models.DateTimeField()),
                ("freeze_days", models.PositiveIntegerField(default=0)),
                ("commissions", models.PositiveIntegerField(default=0)),
                ("distributors", models.PositiveIntegerField(default=0)),
                ("released_minor", models.BigIntegerField(default=0)),
                ("offset_minor", models.BigIntegerField(default=0)),
                ("started_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-started_at"],
            },
        ),
        migrations.CreateModel(
            name="Statement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                ("currency", models.CharField(max_length=3)),
                ("opening_minor", models.BigIntegerField()),
                ("earned_minor", models.BigIntegerField()),
                ("reversed_minor", models.BigIntegerField()),
                ("released_minor", models.BigIntegerField()),
                ("withdrawn_minor", models.BigIntegerField()),
                ("fees_minor", models.BigIntegerField()),
                ("clawback_minor", models.BigIntegerField()),
                ("closing_minor", models.BigIntegerField()),
                ("closing_available_minor", models.BigIntegerField(default=0)),
                ("generated_at", models.DateTimeField()),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="distribution_statements",
                        to="customers.member",
                    ),
                ),
            ],
            options={
                "ordering": ["-month", "member_id"],
            },
        ),
        migrations.AddField(
            model_name="commission",
            name="clawed_minor",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="commission",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("clawed_minor__gte", 0),
                    (
                        "clawed_minor__lte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("amount_minor"), "-", models.F("reversed_minor")
                        ),
                    ),
                ),
                name="distribution_commission_clawed",
            ),
        ),
        migrations.AddIndex(
            model_name="commission",
            index=models.Index(
                condition=models.Q(("state", "frozen")),
                fields=["state_changed_at"],
                name="dist_commission_frozen_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementrun",
            constraint=models.UniqueConstraint(
                fields=("kind", "period"), name="distribution_settlement_run_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementrun",
            constraint=models.CheckConstraint(
                condition=models.Q(("offset_minor__gte", 0), ("released_minor__gte", 0)),
                name="distribution_settlement_run_amounts",
            ),
        ),
        migrations.AddIndex(
            model_name="statement",
            index=models.Index(fields=["month"], name="dist_statement_month_idx"),
        ),
        migrations.AddConstraint(
            model_name="statement",
            constraint=models.UniqueConstraint(
                fields=("member", "month"), name="distribution_statement_once_per_month"
            ),
        ),
        migrations.AddConstraint(
            model_name="statement",
            constraint=models.CheckConstraint(
                condition=models.Q(("month__day", 1)), name="distribution_statement_month_start"
            ),
        ),
    ]
