"""One interlock per journal: a second interlock (or watchdog) on the same directory refuses
to start with one line and exit code 2, and never records stops for the sessions the first
one guards."""

from __future__ import annotations

import subprocess

import pytest

from cryoderm.interlock.clock import ManualClock
from cryoderm.interlock.embedded import EmbeddedTransport
from cryoderm.interlock.errors import JournalInUse
from cryoderm.interlock.journal import Journal
from cryoderm.interlock.runtime import Interlock

from .process import interlock_command, read_ready, start_interlock, start_session, stop_process

pytestmark = pytest.mark.slow


def run_refused(journal_dir, credentials, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        interlock_command(
            journal_dir,
            *("--source", "http", "--http-port", "0"),
            *("--credentials", str(credentials.directory), *args),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_second_interlock_on_the_same_journal_refuses_to_start(tmp_path, credentials):
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    first = start_interlock(
        journal_dir,
        *("--source", "http", "--http-port", "0", "--ready-file", str(ready)),
        *("--credentials", str(credentials.directory)),
    )
    try:
        pid = read_ready(ready)["pid"]
        start_session(journal_dir, "s-guarded", "dev-g", modality="cold-air")
        second = run_refused(journal_dir, credentials)
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert "in use by another interlock" in lines[0] and f"pid {pid}" in lines[0]
        # So does a watchdog, which would otherwise restart a refused child for ever.
        watchdog = run_refused(journal_dir, credentials, "--watchdog")
        assert watchdog.returncode == 2
        assert "in use by another interlock" in watchdog.stderr
        assert first.poll() is None
    finally:
        stop_process(first)
    with Journal(journal_dir) as journal:
        entries = journal.read_after(0, 10_000)
    assert [e.kind for e in entries].count("interlock-started") == 1
    # No "closing of orphans" by the refused ones: every stop is the guarding interlock's.
    assert not [e for e in entries if e.kind == "stop" and "restarted" in str(e.payload)]


def test_a_second_watchdog_on_the_same_journal_refuses_to_start(tmp_path, credentials):
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    first = start_interlock(
        journal_dir,
        *("--watchdog", "--source", "http", "--http-port", "0", "--ready-file", str(ready)),
        *("--credentials", str(credentials.directory)),
    )
    try:
        read_ready(ready)
        second = run_refused(journal_dir, credentials, "--watchdog")
        assert second.returncode == 2
        assert "in use by another watchdog" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        stop_process(first)


def test_in_one_process_a_second_interlock_on_the_journal_is_refused_too(ram_dir):
    with Journal(ram_dir / "journal") as journal:
        first = Interlock(journal, [EmbeddedTransport()], clock=ManualClock())
        first.open()
        second = Interlock(journal, [EmbeddedTransport()], clock=ManualClock())
        with pytest.raises(JournalInUse, match="in use by another interlock"):
            second.open()
        first.shutdown()
        second.open()  # released by the first one's shutdown
        second.shutdown()
