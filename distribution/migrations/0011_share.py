"""Distribution: share links and posters (scenes of mini-program codes, the poster template,
share images cached by content hash), and the typed referral code's decision reason."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_product_card"),
        ("distribution", "0010_risk_team_region"),
    ]

    operations = [
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
                    ("code_priority", "Code Priority"),
                    ("code_over_link", "Code Over Link"),
                    ("held", "Held"),
                ],
                max_length=24,
            ),
        ),
        migrations.CreateModel(
            name="PosterTemplate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=60)),
                ("is_default", models.BooleanField(default=False)),
                (
                    "layout",
                    models.CharField(
                        choices=[
                            ("classic", "Picture on top, code at the bottom"),
                            ("card", "Full picture with a card at the bottom"),
                        ],
                        default="classic",
                        max_length=16,
                    ),
                ),
                ("background_color", models.CharField(default="#FFFFFF", max_length=7)),
                ("text_color", models.CharField(default="#222222", max_length=7)),
                ("accent_color", models.CharField(default="#E4393C", max_length=7)),
                ("background_image", models.CharField(blank=True, default="", max_length=500)),
                ("headline", models.CharField(blank=True, default="", max_length=40)),
                ("footer", models.CharField(blank=True, default="", max_length=60)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("is_default", True)),
                        fields=("is_default",),
                        name="distribution_poster_template_one_default",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ShareImage",
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
                            ("qr", "Qr"),
                            ("wxacode", "Miniprogram Code"),
                            ("poster", "Poster"),
                        ],
                        max_length=8,
                    ),
                ),
                ("content_hash", models.CharField(max_length=64)),
                ("file", models.CharField(max_length=500)),
                ("width", models.PositiveIntegerField()),
                ("height", models.PositiveIntegerField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "content_hash"), name="distribution_share_image_once"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ShareScene",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scene", models.CharField(max_length=32, unique=True)),
                ("page", models.CharField(max_length=100)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "distributor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="share_scenes",
                        to="distribution.distributor",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalog.product",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("distributor", "product", "page"),
                        name="distribution_share_scene_once",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
    ]
