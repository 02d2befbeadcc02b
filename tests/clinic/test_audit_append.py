"""Appending to the audit log: no append waits for another transaction's.

The head orders every audited read and write of the clinic. It used to be locked by one
statement and moved by two more, each a round trip to the web process, so under load the
other audited requests queued on its lock while the holder waited for the CPU (the HTTP
load test saw two or three requests waiting on it at any moment). On PostgreSQL an append
is now a read of the head without a lock and one statement (``audit_append``) that locks,
checks, inserts and moves; outside a transaction that statement commits by itself.

That still left each append's head locked until its transaction's commit, and the load test
found the holder waiting for its web thread to send COMMIT while the other requests queued
behind it. The log now has lanes (chains side by side): an append takes a lane no other
transaction holds. Every lane stays an unbroken chain under concurrent appends, inside
transactions or not, and tampering with lanes is caught."""

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


def test_an_append_outside_a_transaction_is_one_self_committing_locking_statement() -> None:
    audit.record("system", "test.first")
    with CaptureQueriesContext(connection) as captured:
        entry = audit.record("device:SN1", "reading.ingest", None, {"n": 1})
    sent = [query["sql"] for query in captured.captured_queries]
    assert len(sent) == 2, sent
    assert "FOR UPDATE" not in sent[0].upper() and sent[1].startswith("SELECT audit_append(")
    assert not any(s.upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT")) for s in sent)
    assert entry.seq == 2
    assert audit.verify().ok


def test_a_stale_head_is_sealed_again_not_forked() -> None:
    """Another append lands between the read of the head and the append: the entry is
    sealed again on the new head, in a transaction and out of one."""
    from cryoderm.clinic.audit import log

    original = log._attempt
    raced = {"n": 0}

    def racing(conn, entry, key, lane, *, wait):  # type: ignore[no-untyped-def]
        if raced["n"] < 2:
            raced["n"] += 1
            # A concurrent writer on its own connection moves the head first.
            worker = threading.Thread(target=_append_elsewhere)
            worker.start()
            worker.join()
        return original(conn, entry, key, lane, wait=wait)

    def _append_elsewhere() -> None:
        try:
            audit.record("system", "test.elsewhere")
        finally:
            connections.close_all()

    audit.record("system", "test.first")
    log._attempt = racing  # type: ignore[assignment]
    try:
        audit.record("system", "test.autocommit")
        with transaction.atomic():
            audit.record("system", "test.in-transaction")
    finally:
        log._attempt = original  # type: ignore[assignment]
    result = audit.verify()
    assert result.ok, str(result)
    assert result.entries == 5


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


def test_a_client_search_holds_the_chain_head_in_no_transaction(alice) -> None:  # type: ignore[no-untyped-def]
    """The busiest audited read (the load test's client search) runs no transaction: its
    audit entry's statement commits by itself."""
    from cryoderm.clinic.records.services import clients

    clients.search(alice, "ada")
    with CaptureQueriesContext(connection) as captured:
        clients.search(alice, "ada")
    sent = [query["sql"].upper() for query in captured.captured_queries]
    assert not any(s.startswith(("BEGIN", "COMMIT", "SAVEPOINT")) for s in sent), sent
    assert any(s.startswith("SELECT AUDIT_APPEND(") for s in sent), sent


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


def test_entries_moved_between_lanes_are_caught() -> None:
    from cryoderm.clinic.audit.models import AuditEntry as Entry

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
    assert audit.verify().ok
    moved = Entry.objects.exclude(lane=1).order_by("seq").first()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'test')")
        cursor.execute("UPDATE audit_auditentry SET lane = 1 WHERE id = %s", [moved.pk])
        cursor.execute("DELETE FROM audit_guardsuspension")
    result = audit.verify()
    assert not result.ok


def test_deleting_the_newest_entries_of_a_second_lane_is_caught_by_a_checkpoint() -> None:
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
