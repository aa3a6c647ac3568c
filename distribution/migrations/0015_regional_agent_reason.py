"""Distribution: a decision records why a regional agent earned (the explanation shows it)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("distribution", "0014_settings_knobs"),
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
                    ("excluded_order_type", "Excluded Order Type"),
                    ("invite_reward", "Invite Reward"),
                    ("invite_cap_reached", "Invite Cap Reached"),
                    ("regional_agent", "Regional Agent"),
                ],
                max_length=24,
            ),
        ),
    ]
