"""The chain head only moves forward, one entry at a time, to an entry that exists with that
hash, and cannot be deleted (unless the guard is suspended, as by flush). Without this,
someone deleting the newest entries could also roll the head back and hide it."""

from django.db import migrations

SQLITE_GUARD = [
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_chainhead
       WHEN NOT EXISTS (SELECT 1 FROM audit_guardsuspension)
        AND (NEW.id != OLD.id OR NEW.seq != OLD.seq + 1 OR NOT EXISTS (
             SELECT 1 FROM audit_auditentry WHERE seq = NEW.seq AND entry_hash = NEW.entry_hash))
       BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward to the newest entry'); END""",
    """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_chainhead
       WHEN NOT EXISTS (SELECT 1 FROM audit_guardsuspension)
       BEGIN SELECT RAISE(ABORT, 'the audit head cannot be deleted'); END""",
]
SQLITE_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    "DROP TRIGGER IF EXISTS audit_head_no_delete",
]

POSTGRES_GUARD = [
    """CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM audit_guardsuspension) THEN
           IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
           RETURN NEW;
         END IF;
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'the audit head cannot be deleted';
         END IF;
         IF NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1 OR NOT EXISTS (
             SELECT 1 FROM audit_auditentry WHERE seq = NEW.seq AND entry_hash = NEW.entry_hash)
         THEN
           RAISE EXCEPTION 'the audit head only moves forward to the newest entry';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_chainhead
       FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only()""",
]
POSTGRES_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_chainhead",
    "DROP FUNCTION IF EXISTS audit_head_forward_only()",
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def guard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_GUARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_GUARD)


def unguard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_UNGUARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_UNGUARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_guard")]

    operations = [migrations.RunPython(guard, unguard)]
