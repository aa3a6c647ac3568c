"""Store balance (储值余额): the cached balance on Member and its append-only entries.

Entries are immutable in the database itself, whatever code writes to them: UPDATE and DELETE
raise (SQLSTATE 23001, restrict_violation, an IntegrityError in Django). Neither the cached
balance nor any entry's balance-after can go below zero (CHECK constraints).
"""

import django.db.models.deletion
from django.db import migrations, models

IMMUTABLE = """
CREATE FUNCTION customers_store_balance_entry_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'store balance entries are append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER customers_storebalanceentry_immutable
    BEFORE UPDATE OR DELETE ON customers_storebalanceentry
    FOR EACH ROW EXECUTE FUNCTION customers_store_balance_entry_immutable();
"""

IMMUTABLE_REVERSE = """
DROP TRIGGER customers_storebalanceentry_immutable ON customers_storebalanceentry;
DROP FUNCTION customers_store_balance_entry_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="StoreBalanceEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount_minor", models.BigIntegerField()),
                ("balance_after_minor", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("source", models.CharField(max_length=32)),
                ("source_id", models.CharField(max_length=64)),
                ("memo", models.CharField(blank=True, default="", max_length=255)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddField(
            model_name="member",
            name="store_balance_minor",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="member",
            constraint=models.CheckConstraint(
                condition=models.Q(("store_balance_minor__gte", 0)),
                name="member_store_balance_not_negative",
            ),
        ),
        migrations.AddField(
            model_name="storebalanceentry",
            name="member",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="store_balance_entries",
                to="customers.member",
            ),
        ),
        migrations.AddIndex(
            model_name="storebalanceentry",
            index=models.Index(fields=["member", "-id"], name="store_balance_entry_member_idx"),
        ),
        migrations.AddConstraint(
            model_name="storebalanceentry",
            constraint=models.UniqueConstraint(
                fields=("source", "source_id"), name="store_balance_entry_key_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="storebalanceentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_minor", 0), _negated=True),
                name="store_balance_entry_amount_not_zero",
            ),
        ),
        migrations.AddConstraint(
            model_name="storebalanceentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("balance_after_minor__gte", 0)),
                name="store_balance_entry_balance_not_negative",
            ),
        ),
        migrations.RunSQL(IMMUTABLE, reverse_sql=IMMUTABLE_REVERSE),
    ]
