"""The control channel under a flood and out of order (a second pass on operator commands):

- thousands of commands at once (a buggy or hostile client of the clinic's API) must not
  hold up a practitioner's STOP, nor the loop's heartbeat and timers (a loop stalled for
  seconds is judged hung and killed, which ends every session);
- a STOP or an end overtakes the commands queued before it, and a command that would turn
  the cold on (start, resume, resume after a stop) sent before it is not applied after it;
- many small resumes never add up to more than the zone's exposure limit.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from cryoderm.interlock.control import ControlClient, journal_command_poll
from cryoderm.interlock.embedded import EmbeddedTransport
from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.liveness import read_progress
from cryoderm.interlock.model import DeviceCommand, SessionSpec, SessionState, StopReason
from cryoderm.interlock.runtime import Interlock
from cryoderm.interlock.service import spec_from_body

from .helpers import LumpedFace, Recorder, limits, make_rig


class Beats(Recorder):
    def __init__(self, device_id: str) -> None:
        super().__init__(device_id)
        self.times: list[float] = []

    def on_heartbeat(self, wall_time_s):
        super().on_heartbeat(wall_time_s)
        self.times.append(time.monotonic())


@pytest.mark.slow
def test_a_command_flood_neither_holds_up_a_stop_nor_the_heartbeat(tmp_path):
    # On a real disk (each command the interlock records costs an fsync).
    journal = Journal(tmp_path / "journal")
    transport = EmbeddedTransport()
    device = Beats("dev-1")
    transport.attach(device)
    interlock = Interlock(journal, [transport])
    interlock.set_command_poll(journal_command_poll(interlock, spec_from_body))
    interlock.start()
    try:
        interlock.start_session(
            SessionSpec("s-1", "dev-1", "cheek", "cold-air", limits(first_reading_grace_s=60.0))
        )
        # 3,000 junk commands land at once (written in one transaction, as many clients
        # of the clinic would in a burst), then a practitioner presses STOP.
        junk = json.dumps(
            {"action": "acknowledge", "session_id": "nope", "alarm_id": "x", "user": "mallory"}
        )
        db = sqlite3.connect(journal.file, timeout=30)
        with db:
            db.executemany(
                "INSERT INTO command (created_wall_time_s, body) VALUES (?, ?)",
                [(time.time(), junk)] * 3000,
            )
        db.close()
        flood_at = time.monotonic()
        stamps: list[float] = []
        done = threading.Event()

        def watch() -> None:  # what the watchdog sees meanwhile: the loop's progress stamp
            while not done.wait(0.02):
                stamps.append(time.monotonic() - read_progress(journal.directory).loop_s)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        with ControlClient(journal.directory) as control:
            outcome = control.outcome(control.stop("s-1", "alice", "client flinched"), 30.0)
            stop_after_s = time.monotonic() - flood_at
            # Every junk command is still answered, in time.
            last = control.outcome(3000, 60.0)
        done.set()
        watcher.join()
    finally:
        interlock.shutdown()
        journal.close()
    assert outcome.status == "applied"
    assert stop_after_s < 0.5
    assert (DeviceCommand.STOP, {"session_id": "s-1", "reason": "operator"}) in device.commands
    assert last.status == "rejected"
    gaps = [b - a for a, b in zip(device.times, device.times[1:], strict=False) if b > flood_at]
    assert max(gaps) < 0.5  # a device stops itself after 1 s without a heartbeat
    assert max(stamps) < 0.5  # the watchdog kills a loop without progress for 3 s


def test_a_stop_overtakes_a_resume_sent_before_it_which_is_then_not_applied(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=25.0, tau_s=60.0))
    rig.interlock.set_command_poll(journal_command_poll(rig.interlock, spec_from_body))
    rig.run_for(2.0)
    rig.interlock.stop("s1", "alice", "client flinched")
    rig.run_for(1.0)
    # Queued one after the other, before the loop's next tick takes them.
    with ControlClient(rig.journal.directory) as control:
        resume = control.resume_after_stop("s1", "bob", "ready")
        stop = control.stop("s1", "alice", "not yet")
        rig.run_for(0.2)
        assert control.outcome(stop).status == "applied"
        refused = control.outcome(resume)
    assert refused.status == "rejected" and "superseded" in refused.error
    assert rig.interlock.guard("s1").state is SessionState.STOPPED
    assert rig.device.state == "stopped"
    assert not entries_of(rig.journal, "s1", ["resume-after-stop"])


def test_an_end_overtakes_a_start_sent_before_it(ram_dir):
    rig = make_rig(ram_dir)
    rig.interlock.set_command_poll(journal_command_poll(rig.interlock, spec_from_body))
    with ControlClient(rig.journal.directory) as control:
        start = control.start("s2", "dev-2", "cheek", "cold-air")
        end = control.end("s2", "alice", "skipped")
        rig.run_for(0.2)
        assert control.outcome(start).status == "rejected"
        assert "superseded" in control.outcome(start).error
        assert control.outcome(end).status == "rejected"  # s2 was never started
    assert "s2" not in rig.interlock.session_ids()


def test_many_small_resumes_never_add_up_to_more_than_the_exposure_limit(ram_dir):
    rig = make_rig(
        ram_dir,
        face=LumpedFace(cold_temp_c=20.0, tau_s=200.0, warm_tau_s=1.0),
        session_limits=limits(max_exposure_s=10.0),
    )
    guard = rig.interlock.guard("s1")
    resumes = 0
    for _ in range(40):
        rig.run_for(0.6)
        if guard.state is SessionState.RUNNING:
            rig.interlock.stop("s1", "alice")
        rig.run_for(0.3)
        try:
            rig.interlock.resume_after_stop("s1", "bob", "again")
            resumes += 1
        except Exception as refused:
            assert "exposure" in str(refused) or "acknowledge" in str(refused)
            for alarm in guard.alarms:
                if alarm.latching and alarm.active:
                    rig.interlock.acknowledge("s1", alarm.alarm_id, "alice")
    assert resumes >= 10
    assert guard.state is SessionState.STOPPED
    assert guard.stop_reason in (StopReason.TIMER, StopReason.OPERATOR)
    # The limit, plus at most one tick of the loop (the timer's resolution).
    assert guard.exposure_s(rig.clock.now_s()) <= 10.0 + rig.interlock.tick_s + 1e-6
    cold_s = rig.device.cold_s(rig.device.t_s())
    assert cold_s <= 10.0 + rig.interlock.tick_s + 0.02


def test_stop_and_resume_racing_from_two_threads_leave_device_and_guard_agreeing(ram_dir):
    rig = make_rig(ram_dir, face=LumpedFace(cold_temp_c=25.0, tau_s=600.0))
    rig.run_for(1.0)
    guard = rig.interlock.guard("s1")
    errors: list[Exception] = []

    def stopper() -> None:
        for _ in range(200):
            rig.interlock.stop("s1", "alice")

    def resumer() -> None:
        for _ in range(200):
            try:
                rig.interlock.resume_after_stop("s1", "bob", "again")
            except Exception as refused:  # refused while running: expected
                errors.append(refused)

    threads = [threading.Thread(target=stopper), threading.Thread(target=resumer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    last = rig.device.log.commands[-1][1]
    assert (last is DeviceCommand.STOP) == (guard.state is SessionState.STOPPED)
    assert rig.device.state == ("stopped" if guard.state is SessionState.STOPPED else "running")
