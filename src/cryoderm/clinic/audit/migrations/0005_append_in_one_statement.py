"""PostgreSQL: an audit entry is appended by one statement, ``audit_append(...)``, which locks
the chain head, checks that it is still where the appender read it, inserts the sealed
entry and moves the head, all inside the database.

Before, the head was locked by one statement (``SELECT ... FOR UPDATE``) and the entry
inserted and the head moved by two more, each a round trip to the web process: under load
every other audited request queued on the head's lock while the holder waited for its turn
on a busy CPU three times (measured under the HTTP load test: two or three requests waiting
on the head's row lock at any moment, and p99 latencies of seconds). Now the appender reads
the head without a lock, seals the entry (the key never reaches the database), and calls
the function; if the head moved meanwhile it gets NULL and seals again.

The function runs with the caller's rights (SECURITY INVOKER), so the append-only and
forward-only triggers apply to it as to any statement. SQLite needs nothing: its writing
transaction already holds the whole database, and its statements do not cross processes.
"""

from django.db import migrations

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_append(
    p_head_id integer, p_seq bigint, p_prev_hash varchar, p_created_at timestamptz,
    p_actor varchar, p_action varchar, p_target varchar, p_detail text,
    p_entry_hash varchar, p_key_id varchar
) RETURNS bigint AS $$
DECLARE
    head_seq bigint;
    head_hash varchar;
    new_id bigint;
BEGIN
    SELECT seq, entry_hash INTO head_seq, head_hash
      FROM audit_chainhead WHERE id = p_head_id FOR UPDATE;
    IF NOT FOUND OR head_seq <> p_seq - 1 OR head_hash <> p_prev_hash THEN
        -- The head moved since the caller read it (or is missing): nothing written.
        RETURN NULL;
    END IF;
    INSERT INTO audit_auditentry
        (seq, created_at, actor, action, target, detail, prev_hash, entry_hash, key_id)
        VALUES (p_seq, p_created_at, p_actor, p_action, p_target, p_detail, p_prev_hash,
                p_entry_hash, p_key_id)
        RETURNING id INTO new_id;
    UPDATE audit_chainhead SET seq = p_seq, entry_hash = p_entry_hash WHERE id = p_head_id;
    RETURN new_id;
END $$ LANGUAGE plpgsql SECURITY INVOKER
"""
POSTGRES_DROP = (
    "DROP FUNCTION IF EXISTS audit_append(integer, bigint, varchar, timestamptz, varchar, "
    "varchar, varchar, text, varchar, varchar)"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_keyed_seals")]

    operations = [migrations.RunPython(create, drop)]
