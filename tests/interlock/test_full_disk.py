"""A journal that cannot be written (here: the interlock process may not grow a file past
160 kB, as on a full disk) stops every device with a clear alarm, acknowledges nothing it
did not keep, and refuses new sessions; the process stays up, failing safe, and says why."""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import time

import pytest

from cryoderm.interlock.control import ControlClient
from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.model import Reading, SessionSpec
from cryoderm.interlock.runtime import Interlock
from cryoderm.interlock.transport import InboundReading

from .helpers import LumpedFace, limits
from .process import interlock_command, read_ready, start_session, stop_process, wait_for
from .test_durability import RealTimeDevice

pytestmark = pytest.mark.slow

FILE_SIZE_LIMIT = 160 * 1024


def small_disk() -> None:
    # In the child, before it runs: no file it writes may pass the limit (EFBIG, the way a
    # full disk refuses a write with ENOSPC); Python ignores SIGXFSZ, so the write fails.
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def test_a_journal_that_cannot_be_written_stops_every_device_with_a_clear_alarm(
    tmp_path, credentials
):
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    process = subprocess.Popen(
        interlock_command(
            journal_dir,
            *("--source", "http", "--http-port", "0", "--ready-file", str(ready)),
            *("--credentials", str(credentials.directory)),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=small_disk,
    )
    device = None
    try:
        port = read_ready(ready)["port"]
        start_session(journal_dir, "s-full", "dev-f", modality="cold-air")
        device = RealTimeDevice(
            port, "dev-f", LumpedFace(cold_temp_c=25.0, tau_s=60.0), credentials
        )
        device.start()
        with ControlClient(journal_dir) as control:
            health = wait_for(lambda: (h := control.health()).state == "journal-failed" and h, 60)
            failed_at = time.monotonic()
            assert not health.alive and "journal cannot be written" in health.why
            wait_for(lambda: device.device.state == "stopped", timeout_s=5.0)
            assert time.monotonic() - failed_at < 3.0
            assert device.device.log.stopped_by in ("interlock", "heartbeat-lost")
            refused = control.outcome(
                control.start("s-next", "dev-g", "cheek", "cold-air"), timeout_s=2
            )
        assert refused.status in ("rejected", "pending")  # it cannot even record a refusal
        assert process.poll() is None  # alive, failing safe: not a crash for a watchdog
    finally:
        if device is not None:
            device.halt()
        stop_process(process)
    log = process.stderr.read().decode()
    assert "the journal cannot be written" in log and "every device was told to stop" in log
    # Nothing was acknowledged that the journal does not hold.
    acked = dict(device.device.log.acked)
    with Journal(journal_dir) as journal:
        recorded = {e.payload["seq"]: e.seq for e in entries_of(journal, "s-full", ["reading"])}
    assert acked and all(recorded.get(seq) == journal_seq for seq, journal_seq in acked.items())


def test_when_space_returns_the_interlock_guards_again_and_every_zone_stays_stopped(
    tmp_path, credentials
):
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    process = subprocess.Popen(
        interlock_command(
            journal_dir,
            *("--source", "http", "--http-port", "0", "--ready-file", str(ready)),
            *("--credentials", str(credentials.directory)),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    device = None
    try:
        info = read_ready(ready)
        start_session(journal_dir, "s-space", "dev-s", modality="cold-air")
        device = RealTimeDevice(
            info["port"], "dev-s", LumpedFace(cold_temp_c=25.0, tau_s=60.0), credentials
        )
        device.start()
        with ControlClient(journal_dir) as control:
            wait_for(lambda: len(device.device.log.acked) >= 3, 5.0)
            # The disk fills: no file of the process may grow at all (EFBIG, like ENOSPC).
            resource.prlimit(info["pid"], resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
            wait_for(lambda: control.health().state == "journal-failed", 10.0)
            wait_for(lambda: device.device.state == "stopped", 5.0)
            time.sleep(1.5)  # the retries fail meanwhile, logged once
            # Space returns: no restart, guarding resumes within the retry interval.
            resource.prlimit(info["pid"], resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
            wait_for(lambda: (h := control.health()).alive and h.state == "running", 5.0)
            acked = len(device.device.log.acked)
            wait_for(lambda: len(device.device.log.acked) > acked + 3, 5.0)  # kept again
            assert device.device.state == "stopped"  # the device did not turn the cold on
            # The zone stays stopped until the practitioner acknowledges and resumes it.
            refused = control.outcome(
                control.resume_after_stop("s-space", user="alice", reason="disk freed"), 5.0
            )
            assert refused.status == "rejected" and "acknowledg" in (refused.error or "")
            started = control.outcome(control.start("s-other", "dev-o", "cheek", "cold-air"), 5.0)
            assert started.status == "applied"
        assert process.poll() is None
    finally:
        if device is not None:
            device.halt()
        stop_process(process)
    with Journal(journal_dir) as journal:
        entries = journal.read_after(0, 100_000)
        (recovered,) = [e for e in entries if e.kind == "journal-recovered"]
        assert "journal cannot be written" in recovered.payload["error"]
        # What was decided while nothing could be written is in the record now.
        (stop,) = entries_of(journal, "s-space", ["stop"])
        assert stop.payload["reason"] == "technical-fault" and stop.seq > recovered.seq
        alarms = [e.payload["condition"] for e in entries_of(journal, "s-space", ["alarm"])]
        assert "journal-failure" in alarms
    log = process.stderr.read().decode()
    assert log.count("the journal cannot be written") == 1
    assert log.count("the journal can be written again") == 1


class FullDiskJournal(Journal):
    """The real journal on a disk that is full while ``full`` is set (SQLite's own error)."""

    full = False

    def append(self, events, wall_time_s):
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        return super().append(events, wall_time_s)


class Releases:
    """A transport that remembers which readings it was told to acknowledge or release."""

    name = "releases"

    def __init__(self) -> None:
        self.acknowledged: list[int] = []
        self.released: list[int] = []
        self.deliver = None

    def start(self, deliver, watch=None):
        self.deliver = deliver

    def send_command(self, device_id, command, detail):
        pass

    def heartbeat(self, wall_time_s):
        pass

    def acknowledge(self, receipts):
        self.acknowledged += [receipt.reading.seq for receipt, _ in receipts]

    def dismiss(self, receipt):
        self.released.append(receipt.reading.seq)

    def offline(self, reason):
        pass

    def online(self):
        pass

    def close(self):
        pass


def test_readings_the_full_journal_could_not_keep_are_released_not_held_for_ever(ram_dir):
    """MQTT: a reading the interlock never acknowledges to the broker (PUBACK) stays in
    flight to it; at 65,535 of them the broker sends it nothing more. So a reading the
    journal could not keep is released (PUBACK, no acknowledgement to the device, which
    still holds it): after a long failure the interlock still hears its devices."""
    journal = FullDiskJournal(ram_dir)
    transport = Releases()
    interlock = Interlock(journal, [transport])
    interlock.start()
    try:
        interlock.start_session(SessionSpec("s-r", "dev-r", "cheek", "cold-air", limits()))
        now = time.time()
        transport.deliver(InboundReading(Reading("dev-r", 1, 30.0, now), transport))
        wait_for(lambda: transport.acknowledged == [1], 5.0)
        journal.full = True
        for seq in range(2, 12):
            transport.deliver(InboundReading(Reading("dev-r", seq, 30.0, now), transport))
        wait_for(lambda: interlock.journal_failed, 5.0)
        wait_for(lambda: sorted(transport.released) == list(range(2, 12)), 5.0)
        assert transport.acknowledged == [1]  # nothing claimed kept that was not
    finally:
        interlock.shutdown()
        journal.close()
