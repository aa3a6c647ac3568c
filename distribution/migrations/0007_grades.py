"""Distribution: grades, the grade change audit (append-only in the database) and per-product
commission rates."""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

APPEND_ONLY = """
CREATE FUNCTION distribution_grade_change_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'grade changes are append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER distribution_gradechange_append_only
    BEFORE UPDATE OR DELETE ON distribution_gradechange
    FOR EACH ROW EXECUTE FUNCTION distribution_grade_change_append_only();
"""

APPEND_ONLY_REVERSE = """
DROP TRIGGER distribution_gradechange_append_only ON distribution_gradechange;
DROP FUNCTION distribution_grade_change_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("customers", "0001_initial"),
        ("distribution", "0006_link_priority"),
    ]

    operations = [
        migrations.AddField(
            model_name="distributor",
            name="grade_counts_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="distributor",
            name="grade_locked",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="distributor",
            name="grade_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="Grade",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=50, unique=True)),
                ("rank", models.PositiveSmallIntegerField(unique=True)),
                ("is_default", models.BooleanField(default=False)),
                (
                    "rate_kind",
                    models.CharField(
                        choices=[("percentage", "Percentage"), ("fixed", "Fixed")],
                        default="percentage",
                        max_length=12,
                    ),
                ),
                (
                    "level_rates",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), blank=True, default=list, size=None
                    ),
                ),
                (
                    "condition_mode",
                    models.CharField(
                        choices=[("any", "Any"), ("all", "All")], default="any", max_length=3
                    ),
                ),
                ("invites_min", models.PositiveIntegerField(blank=True, null=True)),
                ("own_spend_min_minor", models.BigIntegerField(blank=True, null=True)),
                ("own_orders_min", models.PositiveIntegerField(blank=True, null=True)),
                ("team_spend_min_minor", models.BigIntegerField(blank=True, null=True)),
                ("team_orders_min", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "product_ids",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), blank=True, default=list, size=None
                    ),
                ),
                ("retention_days", models.PositiveIntegerField(blank=True, null=True)),
                ("retention_own_spend_min_minor", models.BigIntegerField(blank=True, null=True)),
                ("retention_team_spend_min_minor", models.BigIntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["rank"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("level_rates__len__lte", 3)),
                        name="distribution_grade_rates_at_most_3_levels",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("is_default", True)),
                        fields=("is_default",),
                        name="distribution_grade_one_default",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("retention_days__isnull", True),
                            ("retention_days__gte", 1),
                            _connector="OR",
                        ),
                        name="distribution_grade_retention_days_gte_1",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("own_spend_min_minor__isnull", True),
                                ("own_spend_min_minor__gte", 0),
                                _connector="OR",
                            ),
                            models.Q(
                                ("team_spend_min_minor__isnull", True),
                                ("team_spend_min_minor__gte", 0),
                                _connector="OR",
                            ),
                            models.Q(
                                ("retention_own_spend_min_minor__isnull", True),
                                ("retention_own_spend_min_minor__gte", 0),
                                _connector="OR",
                            ),
                            models.Q(
                                ("retention_team_spend_min_minor__isnull", True),
                                ("retention_team_spend_min_minor__gte", 0),
                                _connector="OR",
                            ),
                        ),
                        name="distribution_grade_thresholds_gte_0",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="distributor",
            name="grade",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="distributors",
                to="distribution.grade",
            ),
        ),
        migrations.CreateModel(
            name="GradeChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("from_grade_id", models.BigIntegerField(blank=True, null=True)),
                ("from_grade_name", models.CharField(blank=True, default="", max_length=50)),
                ("to_grade_id", models.BigIntegerField(blank=True, null=True)),
                ("to_grade_name", models.CharField(blank=True, default="", max_length=50)),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("auto_upgrade", "Auto Upgrade"),
                            ("retention_downgrade", "Retention Downgrade"),
                            ("manual", "Manual"),
                        ],
                        max_length=24,
                    ),
                ),
                ("actor", models.CharField(max_length=254)),
                ("note", models.CharField(blank=True, default="", max_length=500)),
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
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["member", "-created_at"], name="dist_grade_change_idx")
                ],
            },
        ),
        migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_REVERSE),
        migrations.CreateModel(
            name="ProductCommissionRate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "rate_kind",
                    models.CharField(
                        choices=[("percentage", "Percentage"), ("fixed", "Fixed")],
                        default="percentage",
                        max_length=12,
                    ),
                ),
                (
                    "level_rates",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), blank=True, default=list, size=None
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="commission_rates",
                        to="catalog.product",
                    ),
                ),
                (
                    "sku",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="commission_rates",
                        to="catalog.sku",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("sku__isnull", True)),
                        fields=("product",),
                        name="distribution_product_rate_once",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("sku__isnull", False)),
                        fields=("sku",),
                        name="distribution_sku_rate_once",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("level_rates__len__lte", 3)),
                        name="distribution_product_rates_at_most_3_levels",
                    ),
                ],
            },
        ),
    ]
