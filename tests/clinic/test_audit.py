"""The audit log: every read and write of client data is an entry; the database refuses
UPDATE and DELETE; the hash chain detects an edit and a deletion (the newest entry too);
the export is JSON lines."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from cryoderm.clinic import audit
from cryoderm.clinic.audit.models import AuditEntry, ChainHead
from cryoderm.clinic.records.services import clients

from . import factories, personas


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path) -> Path:
    """Each test's own checkpoint file (the key directory's would collect every test's)."""
    settings.CRYODERM_AUDIT_CHECKPOINTS = str(tmp_path / "checkpoints.jsonl")
    return tmp_path / "checkpoints.jsonl"


def tamper(sql: str, params: list[object]) -> None:
    """Change the table as someone with database access would, lifting the guard first."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'test')")
        cursor.execute(sql, params)
        cursor.execute("DELETE FROM audit_guardsuspension")


def three_entries(actor) -> list[AuditEntry]:
    return [audit.record(actor, "client.read", f"records.client:{n}", {"n": n}) for n in (1, 2, 3)]


def test_each_read_and_write_of_a_client_is_recorded(alice) -> None:
    # The newest number so far (not the count: on PostgreSQL numbers come from a sequence,
    # which a rolled-back test does not wind back).
    before = max(AuditEntry.objects.values_list("seq", flat=True), default=0)
    client = factories.make_client(alice)
    clients.get(alice, client.pk)
    clients.update(alice, client.pk, phone="+44 20 7946 0000", reason="new number")
    clients.search(alice, "Doe")
    actions = list(AuditEntry.objects.filter(seq__gt=before).values_list("action", flat=True))
    assert actions == ["client.create", "client.read", "client.update", "client.search"]
    read = AuditEntry.objects.get(action="client.read")
    assert read.actor == f"user:{alice.pk}:alice"
    assert read.target == f"records.client:{client.pk}"


def test_an_intact_chain_verifies(alice) -> None:
    three_entries(alice)
    result = audit.verify()
    assert result.ok and result.entries == AuditEntry.objects.count()


def test_the_database_refuses_update_and_delete(alice) -> None:
    entry = three_entries(alice)[1]
    for statement in (
        "UPDATE audit_auditentry SET action = 'x' WHERE seq = %s",
        "DELETE FROM audit_auditentry WHERE seq = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.seq])
    assert audit.verify().ok


def test_the_database_refuses_to_roll_back_or_delete_the_head(alice) -> None:
    three_entries(alice)
    for statement in (
        "UPDATE audit_chainhead SET seq = seq - 1",
        "UPDATE audit_chainhead SET seq = seq + 5",
        "DELETE FROM audit_chainhead",
    ):
        with (
            pytest.raises(DatabaseError, match="audit head"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert audit.verify().ok


def test_an_edit_is_detected_at_the_edited_entry(alice) -> None:
    entry = three_entries(alice)[1]
    tamper("UPDATE audit_auditentry SET detail = %s WHERE seq = %s", ['{"n":99}', entry.seq])
    result = audit.verify()
    assert not result.ok
    assert result.broken_seq == entry.seq
    assert "edited" in result.reason


def sha256_seal(entry: AuditEntry, key_id: str) -> str:
    """What someone with the database but without the audit key can compute: a plain SHA-256
    of the entry's content and link, as the unkeyed chain used to be."""
    content = [
        entry.seq,
        audit.chain.canonical_time(entry.created_at),
        entry.actor,
        entry.action,
        entry.target,
        entry.detail,
        entry.prev_hash,
        key_id,
    ]
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


def row_of(entry: AuditEntry, key_id: str) -> Any:
    return audit.chain.Row(
        seq=entry.seq,
        created_at=audit.chain.canonical_time(entry.created_at),
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
        entry_hash="",
        key_id=key_id,
    )


def rewrite_from(seq: int, detail: str, reseal: Callable[[AuditEntry], tuple[str, str]]) -> None:
    """The reported attack: lift the guard, change entry ``seq``, recompute the seal of it and
    of every later entry so that each links to the one before, and move the head."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'attack')")
        prev = AuditEntry.objects.get(seq=seq - 1).entry_hash if seq > 1 else "0" * 64
        for entry in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
            if entry.seq == seq:
                entry.detail = detail
            entry.prev_hash = prev
            entry.key_id, entry.entry_hash = reseal(entry)
            cursor.execute(
                "UPDATE audit_auditentry SET detail = %s, prev_hash = %s, key_id = %s, "
                "entry_hash = %s WHERE seq = %s",
                [entry.detail, entry.prev_hash, entry.key_id, entry.entry_hash, entry.seq],
            )
            prev = entry.entry_hash
        cursor.execute("UPDATE audit_chainhead SET entry_hash = %s WHERE id = 1", [prev])
        cursor.execute("DELETE FROM audit_guardsuspension")


@pytest.mark.parametrize(
    "forgery",
    ["sha256-same-key-id", "hmac-guessed-key", "made-up-key-id"],
)
def test_a_rewrite_re_sealed_without_the_key_is_detected_at_the_edited_entry(
    alice, forgery
) -> None:
    second = three_entries(alice)[1]
    key_id = AuditEntry.objects.get(pk=second.pk).key_id

    def reseal(entry: AuditEntry) -> tuple[str, str]:
        if forgery == "sha256-same-key-id":
            return key_id, sha256_seal(entry, key_id)
        claimed = key_id if forgery == "hmac-guessed-key" else "20990101T000000000000Z-abcdef"
        return claimed, audit.chain.seal(b"\x00" * 32, row_of(entry, claimed))

    rewrite_from(second.seq, '{"n":99}', reseal)
    result = audit.verify()
    assert not result.ok
    assert result.broken_seq == second.seq
    if forgery == "made-up-key-id":
        assert "not in the key directory" in result.reason
    else:
        assert "does not match its seal" in result.reason


def test_a_deletion_is_detected(alice) -> None:
    _, deleted, after = three_entries(alice)
    tamper("DELETE FROM audit_auditentry WHERE seq = %s", [deleted.seq])
    result = audit.verify()
    # Numbers may skip (a rolled-back append burns one): the break is the entry whose link
    # no longer holds.
    assert result.broken_seq == after.seq
    assert "missing" in result.reason


def test_deleting_the_newest_entry_is_detected_by_the_head(alice) -> None:
    newest = three_entries(alice)[-1]
    tamper("DELETE FROM audit_auditentry WHERE seq = %s", [newest.seq])
    result = audit.verify()
    assert not result.ok
    assert "newest entries were deleted" in result.reason
    assert ChainHead.objects.get(pk=1).seq == newest.seq


def test_an_entry_rolls_back_with_the_change_it_records(alice) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.make_client(alice)
        raise RuntimeError("the request failed after the write")
    assert AuditEntry.objects.count() == before
    assert audit.verify().ok


def test_the_export_is_json_lines_and_is_itself_audited(alice) -> None:
    three_entries(alice)
    stream = io.StringIO()
    count = audit.export(stream, actor=alice)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == count == AuditEntry.objects.count()
    assert lines[-1]["action"] == "audit.export"
    # Oldest first (numbers may skip: PostgreSQL draws them from a sequence).
    seqs = [line["seq"] for line in lines]
    assert seqs == sorted(AuditEntry.objects.values_list("seq", flat=True))
    assert lines[1]["prev_hash"] == lines[0]["entry_hash"]
    reads = [line["detail"] for line in lines if line["action"] == "client.read"]
    assert reads[0] == {"n": 1}


@pytest.mark.django_db(transaction=True)
def test_flushing_the_whole_database_empties_the_log_and_restores_the_guard() -> None:
    from django.core.management import call_command

    audit.record(None, "system.start")
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEntry.objects.count() == 0
    audit.record(None, "system.start")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert audit.verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain() -> None:
    import threading

    from django.db import connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every writer (IMMEDIATE transactions); shown on PostgreSQL")

    def append(worker: int) -> None:
        try:
            for n in range(15):
                audit.record(f"device:SN{worker}", "reading.ingest", None, {"n": n})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = audit.verify()
    assert result.ok, str(result)
    assert result.entries == 45


def test_deleting_the_newest_entries_and_moving_the_head_back_is_caught_by_a_checkpoint(
    alice,
) -> None:
    entries = three_entries(alice)
    assert audit.checkpoints.write_now()
    second = entries[1]
    tamper("DELETE FROM audit_auditentry WHERE seq > %s", [second.seq])
    tamper(
        "UPDATE audit_chainhead SET seq = %s, entry_hash = %s WHERE id = 1",
        [second.seq, second.entry_hash],
    )
    result = audit.verify()
    assert not result.ok
    assert result.broken_seq == second.seq + 1
    assert f"records entry #{entries[-1].seq}" in result.reason
    assert "newest entries were deleted" in result.reason


def test_a_rewrite_by_someone_holding_the_key_is_caught_by_an_earlier_checkpoint(alice) -> None:
    entries = three_entries(alice)
    second = entries[1]
    assert audit.checkpoints.write_now()
    ring = audit.keys.keyring()

    def reseal_with_the_real_key(entry: AuditEntry) -> tuple[str, str]:
        return ring.current, audit.chain.seal(ring.current_key, row_of(entry, ring.current))

    rewrite_from(second.seq, '{"n":99}', reseal_with_the_real_key)
    result = audit.verify()
    # Every seal verifies (the key was used): the checkpointed newest entry gives it away.
    assert result.broken_seq == entries[-1].seq
    assert "differs from the signed checkpoint" in result.reason


def test_an_altered_checkpoint_is_reported(alice, checkpoint_file) -> None:
    three_entries(alice)
    audit.checkpoints.write_now()
    line = json.loads(checkpoint_file.read_text())
    line["seq"] -= 1
    checkpoint_file.write_text(json.dumps(line) + "\n")
    result = audit.verify()
    assert not result.ok
    assert "not a checkpoint signed with the clinic's key" in str(result)


def test_a_checkpoint_is_written_once_the_change_commits(
    settings, alice, checkpoint_file, django_capture_on_commit_callbacks
) -> None:
    settings.CRYODERM_AUDIT_CHECKPOINT_INTERVAL_S = 0
    with django_capture_on_commit_callbacks(execute=True):
        entry = factories.make_client(alice) and AuditEntry.objects.order_by("seq").last()
    (line,) = checkpoint_file.read_text().splitlines()
    assert json.loads(line)["seq"] == entry.seq
    assert json.loads(line)["entry_hash"] == entry.entry_hash
    assert checkpoint_file.stat().st_mode & 0o777 == 0o600
    assert "1 signed checkpoint agrees" in str(audit.verify())


def test_without_a_checkpoint_the_verdict_says_what_it_cannot_rule_out(alice) -> None:
    three_entries(alice)
    assert "no signed checkpoint yet" in str(audit.verify())


def test_a_rotated_key_seals_new_entries_and_the_old_one_still_verifies(
    settings, tmp_path, db
) -> None:
    settings.CRYODERM_KEY_DIR = str(tmp_path / "keys")
    (tmp_path / "keys").mkdir(mode=0o700)
    alice = personas.alice()  # her role, granted and audited under the first key
    before = three_entries(alice)
    new_id = audit.keys.generate()
    after = three_entries(alice)
    assert {e.key_id for e in before} != {e.key_id for e in after} == {new_id}
    assert audit.verify().ok
    for old in (tmp_path / "keys").glob(f"audit-hmac-{before[0].key_id}.key"):
        old.unlink()
    result = audit.verify()
    assert result.broken_seq == AuditEntry.objects.order_by("seq").first().seq
    assert "not in the key directory" in result.reason


def test_the_key_directory_is_private_and_the_start_up_check_says_when_it_is_not(
    settings, tmp_path
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from cryoderm.clinic import keys
    from cryoderm.clinic.audit.apps import key_directory_check

    folder = keys.key_dir(tmp_path / "data", env={})
    assert folder == tmp_path / "data-keys"
    assert folder.stat().st_mode & 0o777 == 0o700
    settings.CRYODERM_KEY_DIR = str(folder)
    audit.keys.keyring(folder)
    (key_file,) = folder.glob("audit-hmac-*.key")
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_directory_check() == []
    key_file.chmod(0o644)
    (error,) = key_directory_check()
    assert error.id == "cryoderm.audit.E001" and "other accounts may read it" in error.msg
    with pytest.raises(ImproperlyConfigured, match="inside the data directory"):
        keys.key_dir(tmp_path / "data", env={"CRYODERM_KEY_DIR": str(tmp_path / "data" / "k")})


@pytest.mark.django_db(transaction=True)
def test_upgrading_re_seals_an_unkeyed_chain_and_refuses_a_broken_one(checkpoint_file) -> None:
    from django.db.migrations.executor import MigrationExecutor

    before, after = ("audit", "0003_head_moves_forward_only"), ("audit", "0004_keyed_seals")

    def migrate(target: tuple[str, str]) -> None:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([target])

    def legacy_chain(details: list[str]) -> None:
        prev = "0" * 64
        with connection.cursor() as cursor:
            for seq, detail in enumerate(details, start=1):
                content = [
                    seq,
                    "2026-01-01T00:00:00.000000+00:00",
                    "system",
                    "x.y",
                    "",
                    detail,
                    prev,
                ]
                digest = hashlib.sha256(
                    json.dumps(content, separators=(",", ":")).encode()
                ).hexdigest()
                cursor.execute(
                    "INSERT INTO audit_auditentry (seq, created_at, actor, action, target, "
                    "detail, prev_hash, entry_hash) VALUES (%s, %s, 'system', 'x.y', '', %s, %s, %s)",
                    [seq, "2026-01-01 00:00:00+00:00", detail, prev, digest],
                )
                prev = digest
        tamper("DELETE FROM audit_chainhead", [])
        tamper(
            "INSERT INTO audit_chainhead (id, seq, entry_hash) VALUES (1, %s, %s)",
            [len(details), prev],
        )

    try:
        migrate(before)
        legacy_chain(['{"n":1}', '{"n":2}'])
        migrate(after)
        # Verified as this version reads it (later migrations add to the schema).
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("audit")[0])
        result = audit.verify()
        assert result.ok and result.entries == 2, str(result)
        assert "1 signed checkpoint agrees" in str(result)
        assert set(AuditEntry.objects.values_list("key_id", flat=True)) == {
            audit.keys.keyring().current
        }
        call_flush()
        migrate(before)
        legacy_chain(['{"n":1}', '{"n":2}'])
        tamper("UPDATE audit_auditentry SET detail = %s WHERE seq = 1", ['{"n":9}'])
        with pytest.raises(RuntimeError, match="broken at entry #1; it is not re-sealed"):
            migrate(after)
    finally:
        call_flush()
        # Back to the newest audit migration (later ones may follow 0004).
        executor = MigrationExecutor(connection)
        migrate(executor.loader.graph.leaf_nodes("audit")[0])


def call_flush() -> None:
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


def test_a_lane_deleted_with_its_head_is_reported(alice) -> None:
    """Deleting a lane's head with the guard lifted (and whatever entries that lane had)
    leaves no broken link: the missing head itself is reported."""
    three_entries(alice)
    tamper("DELETE FROM audit_chainhead WHERE id = %s", [2])
    result = audit.verify()
    assert not result.ok
    assert "head of lane 2 is missing" in result.reason
