"""Appending to the audit log: no append waits for another transaction's.

The log's head orders every audited read and write of the clinic. With one chain, every
append locked its one head row until its transaction committed, and under the HTTP load test
the holder sat waiting for its web thread to send COMMIT while 10-20 audited requests queued
behind it. The log now has lanes (chains side by side): an append locks the lowest lane no
other transaction holds (``SKIP LOCKED``) and reads its head under that lock, so a head
cannot move between its read and the append. Every lane stays an unbroken chain under
concurrent appends, inside transactions or not, and tampering with lanes is caught."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from cryoderm.clinic import audit
from cryoderm.clinic.audit.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path) -> None:
    settings.CRYODERM_AUDIT_CHECKPOINTS = str(tmp_path / "checkpoints.jsonl")


@pytest.fixture(autouse=True)
def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's writing transaction holds the whole database; shown on PostgreSQL")


def test_an_append_claims_a_lane_no_one_else_holds_and_appends_in_one_statement() -> None:
    first = audit.record("system", "test.first")
    with CaptureQueriesContext(connection) as captured:
        entry = audit.record("device:SN1", "reading.ingest", None, {"n": 1})
    sent = [query["sql"] for query in captured.captured_queries]
    # In a transaction of its own: BEGIN, claim, append, COMMIT.
    assert len(sent) == 4 and (sent[0], sent[3]) == ("BEGIN", "COMMIT"), sent
    assert "FOR UPDATE SKIP LOCKED" in sent[1].upper() and sent[2].startswith(
        "SELECT audit_append("
    )
    assert (entry.seq, entry.lane) == (first.seq + 1, 1)
    assert audit.verify().ok


def test_concurrent_appends_in_and_out_of_transactions_keep_one_unbroken_chain() -> None:
    def append(worker: int) -> None:
        try:
            for n in range(12):
                if (worker + n) % 2:
                    audit.record(f"device:SN{worker}", "reading.ingest", None, {"n": n})
                else:
                    with transaction.atomic():
                        audit.record(f"user:{worker}:x", "client.search", None, {"n": n})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = audit.verify()
    assert result.ok, str(result)
    assert result.entries == 48


def test_a_client_search_appends_in_a_transaction_of_its_own(alice) -> None:  # type: ignore[no-untyped-def]
    """The busiest audited read (the load test's client search) holds its lane only for its
    own append: the search itself runs in no transaction."""
    from cryoderm.clinic.records.services import clients

    clients.search(alice, "ada")
    with CaptureQueriesContext(connection) as captured:
        clients.search(alice, "ada")
    sent = [query["sql"].upper() for query in captured.captured_queries]
    assert not any(s.startswith("SAVEPOINT") for s in sent), sent
    assert sent[-4:-2] == ["BEGIN"] + [s for s in sent if "SKIP LOCKED" in s], sent
    assert sent[-2].startswith("SELECT AUDIT_APPEND(") and sent[-1] == "COMMIT", sent
    assert "BEGIN" not in sent[:-4], sent


def _hold_an_append_open(holding: threading.Event, release: threading.Event) -> None:
    """A transaction that has appended and not yet committed: a web thread that appended
    its entry and waits for a core before it sends COMMIT."""
    try:
        with transaction.atomic():
            audit.record("device:SN-slow", "reading.ingest", None, {"count": 10})
            holding.set()
            release.wait(10)
    finally:
        connections.close_all()


def test_an_append_does_not_wait_for_another_transaction_that_has_appended() -> None:
    """The load test's queue: one transaction between its append and its commit held the
    chain's only head, and every other audited request waited on it."""
    audit.record("system", "test.first")
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_an_append_open, args=(holding, release))
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        audit.record("user:1:x", "client.search", None, {"results": 50})
        with transaction.atomic():
            audit.record("device:SN2", "reading.ingest", None, {"count": 10})
            audit.record("device:SN2", "reading.ingest", None, {"count": 10})
        waited_s = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert waited_s < 2.0, f"appends waited {waited_s:.1f} s for another transaction"
    result = audit.verify()
    assert result.ok and result.entries == 5, str(result)
    lanes = set(AuditEntry.objects.values_list("lane", flat=True))
    assert len(lanes) >= 2


def test_when_every_lane_is_held_an_append_waits_for_one_and_then_goes_in() -> None:
    audit.record("system", "test.first")
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM audit_chainhead FOR UPDATE")
            done = threading.Event()

            def append() -> None:
                try:
                    audit.record("user:1:x", "client.search")
                    done.set()
                finally:
                    connections.close_all()

            worker = threading.Thread(target=append)
            worker.start()
            assert not done.wait(0.5), "an append went in while every lane was held"
            cursor.execute("COMMIT")
            worker.join(10)
        assert done.is_set()
    finally:
        other.close()
    assert audit.verify().ok


def _three_entries_beside_an_open_append() -> None:
    """Three entries appended while another transaction holds lane 1: they go to lane 2."""
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_an_append_open, args=(holding, release))
    holder.start()
    try:
        assert holding.wait(10)
        for n in range(3):
            audit.record("system", "test.other-lane", None, {"n": n})
    finally:
        release.set()
        holder.join()


def test_entries_moved_between_lanes_are_caught() -> None:
    _three_entries_beside_an_open_append()
    assert audit.verify().ok
    moved = AuditEntry.objects.exclude(lane=1).order_by("seq").first()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'test')")
        cursor.execute("UPDATE audit_auditentry SET lane = 1 WHERE id = %s", [moved.pk])
        cursor.execute("DELETE FROM audit_guardsuspension")
    result = audit.verify()
    assert not result.ok


def test_deleting_the_newest_entries_of_a_second_lane_is_caught_by_a_checkpoint() -> None:
    _three_entries_beside_an_open_append()
    assert audit.checkpoints.write_now()
    newest = AuditEntry.objects.exclude(lane=1).order_by("seq").last()
    kept = AuditEntry.objects.filter(lane=newest.lane, seq__lt=newest.seq).order_by("seq").last()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'test')")
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [newest.pk])
        cursor.execute(
            "UPDATE audit_chainhead SET seq = %s, entry_hash = %s WHERE id = %s",
            [kept.seq, kept.entry_hash, newest.lane],
        )
        cursor.execute("DELETE FROM audit_guardsuspension")
    result = audit.verify()
    assert not result.ok
    assert "newest entries were deleted" in result.reason, result.reason
