"""The audit log becomes a few chains side by side, its lanes, so that appends at the same
moment do not queue on one row.

Before, every audited request appended to one chain and locked its one head row until its
transaction committed. Sampled under the HTTP load test on PostgreSQL, the holder was most
often "idle in transaction" after its append, waiting for its web thread to get a core and
send COMMIT, while 10-20 other requests queued on the head's row lock: p99 latencies of
200-350 ms on a machine whose disk flushes in 0.12 ms. Now an append takes whichever lane
no other transaction holds (``FOR UPDATE SKIP LOCKED``) and waits only when every lane is
held.

- ``lane`` on each entry (existing entries are lane 1, whose genesis is the old one) and
  an index to walk each lane in order;
- heads for lanes 2 to :data:`chain.LANES`, each at its lane's genesis hash;
- the head's guard: it moves forward to an entry of its own lane that links to the entry
  it was at (before: to ``seq + 1``, which numbering across lanes no longer gives);
- PostgreSQL: entry numbers from a sequence (``audit_entry_seq``; an append draws one as it
  claims the lane), and ``audit_append`` takes the lane the appender has claimed.

Reversible only while lane 1 alone has entries.
"""

import importlib

from django.db import migrations, models

from cryoderm.clinic.audit import chain

_ENTRY_GUARD = importlib.import_module("cryoderm.clinic.audit.migrations.0002_append_only_guard")
_ONE_CHAIN_HEAD = importlib.import_module(
    "cryoderm.clinic.audit.migrations.0003_head_moves_forward_only"
)
_ONE_CHAIN_APPEND = importlib.import_module(
    "cryoderm.clinic.audit.migrations.0005_append_in_one_statement"
)

SQLITE_GUARD = [
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_chainhead
       WHEN NOT EXISTS (SELECT 1 FROM audit_guardsuspension)
        AND (NEW.id != OLD.id OR NEW.seq <= OLD.seq OR NOT EXISTS (
             SELECT 1 FROM audit_auditentry WHERE seq = NEW.seq AND entry_hash = NEW.entry_hash
              AND lane = NEW.id AND prev_hash = OLD.entry_hash))
       BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward to the newest entry'); END""",
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
         IF NEW.id <> OLD.id OR NEW.seq <= OLD.seq OR NOT EXISTS (
             SELECT 1 FROM audit_auditentry WHERE seq = NEW.seq AND entry_hash = NEW.entry_hash
               AND lane = NEW.id AND prev_hash = OLD.entry_hash)
         THEN
           RAISE EXCEPTION 'the audit head only moves forward to the newest entry';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    "CREATE SEQUENCE IF NOT EXISTS audit_entry_seq CACHE 1 OWNED BY audit_auditentry.seq",
    "SELECT setval('audit_entry_seq', GREATEST((SELECT MAX(seq) FROM audit_auditentry), 0) + 1,"
    " false)",
    "DROP FUNCTION IF EXISTS audit_append(integer, bigint, varchar, timestamptz, varchar, "
    "varchar, varchar, text, varchar, varchar)",
    # The caller has locked the lane (audit.log claims it with FOR UPDATE SKIP LOCKED in the
    # same transaction) and sealed the entry on the head it read; the lock below is then its
    # own and the check a guard. Returns the new entry's id, or 0 if the head is not the one
    # the entry was sealed on (nothing written).
    """CREATE OR REPLACE FUNCTION audit_append(
        p_lane integer, p_seq bigint, p_prev_hash varchar,
        p_created_at timestamptz, p_actor varchar, p_action varchar, p_target varchar,
        p_detail text, p_entry_hash varchar, p_key_id varchar
    ) RETURNS bigint AS $$
    DECLARE
        head_hash varchar;
        new_id bigint;
    BEGIN
        SELECT entry_hash INTO head_hash FROM audit_chainhead WHERE id = p_lane FOR UPDATE;
        IF NOT FOUND OR head_hash <> p_prev_hash THEN
            RETURN 0;
        END IF;
        INSERT INTO audit_auditentry
            (seq, created_at, actor, action, target, detail, prev_hash, entry_hash, key_id,
             lane)
            VALUES (p_seq, p_created_at, p_actor, p_action, p_target, p_detail, p_prev_hash,
                    p_entry_hash, p_key_id, p_lane)
            RETURNING id INTO new_id;
        UPDATE audit_chainhead SET seq = p_seq, entry_hash = p_entry_hash WHERE id = p_lane;
        RETURN new_id;
    END $$ LANGUAGE plpgsql SECURITY INVOKER""",
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def lift_sqlite_triggers(apps, schema_editor):
    """SQLite adds the column by rebuilding the table, which would drop the entry triggers and
    trip the head trigger (it names the table): both are lifted around the rebuild, and put
    back (the head's in its new form) by :func:`add_lanes`."""
    if schema_editor.connection.vendor == "sqlite":
        _run(schema_editor, ["DROP TRIGGER IF EXISTS audit_head_forward_only"])
        _run(schema_editor, _ENTRY_GUARD.SQLITE_UNGUARD)


def add_lanes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, _ENTRY_GUARD.SQLITE_GUARD + SQLITE_GUARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_GUARD)
    head = apps.get_model("audit", "ChainHead")
    head.objects.bulk_create(
        [
            head(id=lane, seq=0, entry_hash=chain.lane_genesis(lane))
            for lane in range(1, chain.LANES + 1)
        ],
        ignore_conflicts=True,
    )


def remove_lanes(apps, schema_editor):
    """Back to one chain, while only lane 1 has entries (else refused: the others' entries
    would be orphans)."""
    head = apps.get_model("audit", "ChainHead")
    if head.objects.filter(id__gt=1, seq__gt=0).exists():
        raise RuntimeError(
            "the audit log has entries in lanes other than 1; it cannot go back to one chain"
        )
    vendor = schema_editor.connection.vendor
    suspend = "INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'one chain')"
    _run(schema_editor, [suspend, "DELETE FROM audit_chainhead WHERE id > 1"])
    _run(schema_editor, ["DELETE FROM audit_guardsuspension"])
    if vendor == "sqlite":
        _run(schema_editor, ["DROP TRIGGER IF EXISTS audit_head_forward_only"])
        _run(schema_editor, _ENTRY_GUARD.SQLITE_UNGUARD)
    elif vendor == "postgresql":
        _run(
            schema_editor,
            [
                "DROP FUNCTION IF EXISTS audit_append(integer, bigint, varchar, timestamptz, "
                "varchar, varchar, varchar, text, varchar, varchar)",
                "DROP SEQUENCE IF EXISTS audit_entry_seq",
                _ONE_CHAIN_APPEND.POSTGRES_FUNCTION,
                _ONE_CHAIN_HEAD.POSTGRES_GUARD[0],
            ],
        )


def restore_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _run(schema_editor, [*_ENTRY_GUARD.SQLITE_GUARD, _ONE_CHAIN_HEAD.SQLITE_GUARD[0]])


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_append_in_one_statement")]

    operations = [
        migrations.RunPython(lift_sqlite_triggers, restore_sqlite_triggers),
        migrations.AddField(
            model_name="auditentry",
            name="lane",
            field=models.SmallIntegerField(
                default=1, help_text="which of the log's chains it links into (its head's id)"
            ),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["lane", "seq"], name="audit_lane_idx"),
        ),
        migrations.RunPython(add_lanes, remove_lanes),
    ]
