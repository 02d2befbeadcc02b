"""The database refuses UPDATE and DELETE of audit entries (unless the guard is suspended,
which only the flush command does), creates the suspension table, and the chain head row."""

from django.db import migrations

SUSPENSION_TABLE = (
    "CREATE TABLE audit_guardsuspension (id integer PRIMARY KEY, reason varchar(200) NOT NULL)"
)

SQLITE_GUARD = [
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
       WHEN NOT EXISTS (SELECT 1 FROM audit_guardsuspension)
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_auditentry
       WHEN NOT EXISTS (SELECT 1 FROM audit_guardsuspension)
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END""",
]
SQLITE_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_entry_no_update",
    "DROP TRIGGER IF EXISTS audit_entry_no_delete",
]

POSTGRES_GUARD = [
    """CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM audit_guardsuspension) THEN
           IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
           RETURN NEW;
         END IF;
         RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
       FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()""",
]
POSTGRES_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry",
    "DROP FUNCTION IF EXISTS audit_refuse_change()",
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def guard(apps, schema_editor):
    _run(schema_editor, [SUSPENSION_TABLE])
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_GUARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_GUARD)
    apps.get_model("audit", "ChainHead").objects.get_or_create(pk=1)


def unguard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_UNGUARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_UNGUARD)
    _run(schema_editor, ["DROP TABLE audit_guardsuspension"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(guard, unguard)]
