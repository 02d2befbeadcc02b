"""Appending to the audit chain holds the chain head's lock only inside the database.

The head orders every audited read and write of the clinic. It used to be locked by one
statement and moved by two more, each a round trip to the web process, so under load the
other audited requests queued on its lock while the holder waited for the CPU (the HTTP
load test saw two or three requests waiting on it at any moment). On PostgreSQL an append
is now a read of the head without a lock and one statement (``audit_append``) that locks,
checks, inserts and moves; outside a transaction that statement commits by itself. The
chain stays one unbroken chain under concurrent appends, inside transactions or not."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from cryoderm.clinic import audit

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

    original = log._try_append
    raced = {"n": 0}

    def racing(conn, entry, key, tries):  # type: ignore[no-untyped-def]
        if raced["n"] < 2:
            raced["n"] += 1
            # A concurrent writer on its own connection moves the head first.
            worker = threading.Thread(target=_append_elsewhere)
            worker.start()
            worker.join()
        return original(conn, entry, key, tries)

    def _append_elsewhere() -> None:
        try:
            audit.record("system", "test.elsewhere")
        finally:
            connections.close_all()

    audit.record("system", "test.first")
    log._try_append = racing  # type: ignore[assignment]
    try:
        audit.record("system", "test.autocommit")
        with transaction.atomic():
            audit.record("system", "test.in-transaction")
    finally:
        log._try_append = original  # type: ignore[assignment]
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
