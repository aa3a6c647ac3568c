"""Distribution: the settings knobs at work: excluded order types (a decision reason), invite
rewards (a commission kind "invite", level 0, and its decision reasons) and paid entry (the fee
recorded on the application and the status change)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("distribution", "0013_risk_settings")]

    operations = [
        migrations.RemoveConstraint(
            model_name="commission",
            name="distribution_commission_kind_level",
        ),
        migrations.AddField(
            model_name="distributorapplication",
            name="entry_fee_minor",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="distributorstatuschange",
            name="entry_fee_minor",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="commission",
            name="kind",
            field=models.CharField(
                choices=[("level", "Level"), ("region", "Region"), ("invite", "Invite")],
                default="level",
                max_length=8,
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
                    ("code_priority", "Code Priority"),
                    ("code_over_link", "Code Over Link"),
                    ("held", "Held"),
                    ("excluded_order_type", "Excluded Order Type"),
                    ("invite_reward", "Invite Reward"),
                    ("invite_cap_reached", "Invite Cap Reached"),
                ],
                max_length=24,
            ),
        ),
        migrations.AddConstraint(
            model_name="commission",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "level"), ("level__gte", 1), ("level__lte", 3)),
                    models.Q(("kind__in", ["region", "invite"]), ("level", 0)),
                    _connector="OR",
                ),
                name="distribution_commission_kind_level",
            ),
        ),
    ]
