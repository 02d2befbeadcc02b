"""Entries are sealed with HMAC-SHA256 under an audit key kept outside the database.

Entries written before this migration carry a plain SHA-256 chain, which anyone with write
access to the database could recompute after an edit. The migration first verifies that
chain (and refuses to go on if it is broken: a broken log must be looked at, not re-sealed),
then re-seals every entry with the current audit key, in order, with the guard lifted for
this transaction only, and writes a signed checkpoint of the re-sealed head."""

import hashlib
import importlib
import json

from django.db import migrations, models, transaction

GENESIS_HASH = "0" * 64
_ENTRY_GUARD = importlib.import_module("cryoderm.clinic.audit.migrations.0002_append_only_guard")
_HEAD_GUARD = importlib.import_module(
    "cryoderm.clinic.audit.migrations.0003_head_moves_forward_only"
)


def _sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


# SQLite adds the column by rebuilding the table, which would drop the entry triggers and
# trip the head trigger (it names the table): both are lifted around the rebuild and put back.
_LIFT = _sqlite(_HEAD_GUARD.SQLITE_UNGUARD + _ENTRY_GUARD.SQLITE_UNGUARD)
_RESTORE = _sqlite(_ENTRY_GUARD.SQLITE_GUARD + _HEAD_GUARD.SQLITE_GUARD)


def _legacy_digest(entry, created_at):
    content = [
        entry.seq,
        created_at,
        entry.actor,
        entry.action,
        entry.target,
        entry.detail,
        entry.prev_hash,
    ]
    payload = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def reseal(apps, schema_editor):
    from cryoderm.clinic.audit import chain, checkpoints, keys

    entry_model = apps.get_model("audit", "AuditEntry")
    head_model = apps.get_model("audit", "ChainHead")
    entries = list(entry_model.objects.order_by("seq"))
    if not entries:
        return
    expected_prev = GENESIS_HASH
    for number, entry in enumerate(entries, start=1):
        created_at = chain.canonical_time(entry.created_at)
        if (
            entry.seq != number
            or entry.prev_hash != expected_prev
            or _legacy_digest(entry, created_at) != entry.entry_hash
        ):
            raise RuntimeError(
                f"the audit chain is broken at entry #{number}; it is not re-sealed. Export "
                "it (cryoderm audit export) with the previous cryoderm version and investigate "
                "before upgrading"
            )
        expected_prev = entry.entry_hash
    ring = keys.keyring()
    cursor = schema_editor.connection.cursor()
    cursor.execute("INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'reseal')")
    prev = GENESIS_HASH
    for entry in entries:
        entry.prev_hash = prev
        entry.key_id = ring.current
        entry.entry_hash = chain.seal(
            ring.current_key,
            chain.Row(
                seq=entry.seq,
                created_at=chain.canonical_time(entry.created_at),
                actor=entry.actor,
                action=entry.action,
                target=entry.target,
                detail=entry.detail,
                prev_hash=prev,
                entry_hash="",
                key_id=ring.current,
            ),
        )
        entry.save(update_fields=["prev_hash", "key_id", "entry_hash"])
        prev = entry.entry_hash
    head_model.objects.update_or_create(pk=1, defaults={"seq": entries[-1].seq, "entry_hash": prev})
    cursor.execute("DELETE FROM audit_guardsuspension")
    last = entries[-1].seq
    transaction.on_commit(
        lambda: checkpoints.append({1: (last, prev)}), using=schema_editor.connection.alias
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_head_moves_forward_only")]

    operations = [
        migrations.RunPython(_LIFT, _RESTORE),
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(
                default="", help_text="which audit key sealed this entry", max_length=32
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="entry_hash",
            field=models.CharField(help_text="HMAC-SHA256 seal under key_id", max_length=64),
        ),
        migrations.RunPython(_RESTORE, _LIFT),
        migrations.RunPython(reseal, migrations.RunPython.noop),
    ]
