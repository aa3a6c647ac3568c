"""The ledger's rules in the database itself (ARCHITECTURE §4), whatever code writes to it.

- Posted entries and transactions are immutable: UPDATE and DELETE raise (SQLSTATE 23001,
  restrict_violation, an IntegrityError in Django).
- Double entry: at commit, every transaction that received entries (or was created) must have
  at least two entries summing to zero per currency (SQLSTATE 23514, check_violation). The
  check is a deferred constraint trigger, so a transaction and its entries are written in any
  order inside one database transaction.

Table names are qualified with the trigger's own schema (TG_TABLE_SCHEMA): a deferred trigger
fires at commit, when the connection's search_path may already point at another shop.
"""

from django.db import migrations

IMMUTABLE = """
CREATE FUNCTION distribution_ledger_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER distribution_ledgerentry_immutable
    BEFORE UPDATE OR DELETE ON distribution_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION distribution_ledger_immutable();

CREATE TRIGGER distribution_ledgertransaction_immutable
    BEFORE UPDATE OR DELETE ON distribution_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION distribution_ledger_immutable();
"""

IMMUTABLE_REVERSE = """
DROP TRIGGER distribution_ledgertransaction_immutable ON distribution_ledgertransaction;
DROP TRIGGER distribution_ledgerentry_immutable ON distribution_ledgerentry;
DROP FUNCTION distribution_ledger_immutable();
"""

BALANCED = """
CREATE FUNCTION distribution_ledger_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    posting_id bigint;
    entry_count bigint;
    is_unbalanced boolean;
BEGIN
    IF TG_TABLE_NAME = 'distribution_ledgerentry' THEN
        posting_id := NEW.transaction_id;
    ELSE
        posting_id := NEW.id;
    END IF;
    EXECUTE format(
        'SELECT coalesce(sum(lines), 0), coalesce(bool_or(total <> 0), false) FROM ('
        ' SELECT count(*) AS lines, sum(amount_minor) AS total'
        ' FROM %I.distribution_ledgerentry WHERE transaction_id = $1 GROUP BY currency'
        ') AS per_currency',
        TG_TABLE_SCHEMA
    ) INTO entry_count, is_unbalanced USING posting_id;
    IF entry_count < 2 THEN
        RAISE EXCEPTION 'ledger transaction % has % entries; at least two are needed',
            posting_id, entry_count
            USING ERRCODE = 'check_violation';
    END IF;
    IF is_unbalanced THEN
        RAISE EXCEPTION 'ledger transaction % is unbalanced: its entries do not sum to zero',
            posting_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER distribution_ledgerentry_balanced
    AFTER INSERT ON distribution_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION distribution_ledger_balanced();

CREATE CONSTRAINT TRIGGER distribution_ledgertransaction_balanced
    AFTER INSERT ON distribution_ledgertransaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION distribution_ledger_balanced();
"""

BALANCED_REVERSE = """
DROP TRIGGER distribution_ledgertransaction_balanced ON distribution_ledgertransaction;
DROP TRIGGER distribution_ledgerentry_balanced ON distribution_ledgerentry;
DROP FUNCTION distribution_ledger_balanced();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("distribution", "0001_ledger"),
    ]

    operations = [
        migrations.RunSQL(IMMUTABLE, reverse_sql=IMMUTABLE_REVERSE),
        migrations.RunSQL(BALANCED, reverse_sql=BALANCED_REVERSE),
    ]
