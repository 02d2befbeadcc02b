"""The audit log: every read and write of client data is an entry; the database refuses
UPDATE and DELETE; the hash chain detects an edit and a deletion (the newest entry too);
the export is JSON lines."""

from __future__ import annotations

import io
import json

import pytest
from django.db import DatabaseError, connection, transaction

from cryoderm.clinic import audit
from cryoderm.clinic.audit.models import AuditEntry, ChainHead
from cryoderm.clinic.records.services import clients

from . import factories


def tamper(sql: str, params: list[object]) -> None:
    """Change the table as someone with database access would, lifting the guard first."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'test')")
        cursor.execute(sql, params)
        cursor.execute("DELETE FROM audit_guardsuspension")


def three_entries(actor) -> list[AuditEntry]:
    return [audit.record(actor, "client.read", f"records.client:{n}", {"n": n}) for n in (1, 2, 3)]


def test_each_read_and_write_of_a_client_is_recorded(alice) -> None:
    before = AuditEntry.objects.count()
    client = factories.make_client(alice)
    clients.get(alice, client.pk)
    clients.update(alice, client.pk, phone="+44 20 7946 0000")
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


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(alice) -> None:
    second = three_entries(alice)[1]
    forged = AuditEntry.objects.get(pk=second.pk)
    forged.detail = '{"n":99}'
    tamper(
        "UPDATE audit_auditentry SET detail = %s, entry_hash = %s WHERE seq = %s",
        [forged.detail, audit.log.digest(forged), second.seq],
    )
    result = audit.verify()
    assert result.broken_seq == second.seq + 1
    assert "does not link" in result.reason


def test_a_deletion_is_detected(alice) -> None:
    entry = three_entries(alice)[1]
    tamper("DELETE FROM audit_auditentry WHERE seq = %s", [entry.seq])
    result = audit.verify()
    assert result.broken_seq == entry.seq
    assert "missing" in result.reason


def test_deleting_the_newest_entry_is_detected_by_the_head(alice) -> None:
    newest = three_entries(alice)[-1]
    tamper("DELETE FROM audit_auditentry WHERE seq = %s", [newest.seq])
    result = audit.verify()
    assert not result.ok
    assert "newest entries were deleted" in result.reason
    assert ChainHead.objects.get().seq == newest.seq


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
    assert [line["seq"] for line in lines] == list(range(1, count + 1))
    assert lines[1]["prev_hash"] == lines[0]["entry_hash"]
    assert lines[0]["detail"] == {"n": 1}


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
