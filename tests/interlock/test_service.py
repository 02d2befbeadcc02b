"""The interlock service with its embedded source: a session started through the control
channel gets a simulated device on the planner's case, and operator commands reach it."""

from __future__ import annotations

import time

from cryoderm.interlock.control import ControlClient
from cryoderm.interlock.journal import entries_of
from cryoderm.interlock.service import InterlockService, ServiceConfig


def wait_for(predicate, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_session_started_through_the_journal_runs_on_a_simulated_device_and_obeys_the_operator(
    ram_dir,
):
    service = InterlockService(ServiceConfig(journal_dir=ram_dir / "journal", source="embedded"))
    service.start()
    control = ControlClient(ram_dir / "journal")
    try:
        control.start("s-e", "dev-e", "cheek", "cold-air")
        journal = service.journal
        (started,) = wait_for(lambda: entries_of(journal, "s-e", ["session-started"]))
        assert started.payload["planned_duration_s"] > 0  # from the planner
        wait_for(lambda: len(entries_of(journal, "s-e", ["reading"])) >= 5)
        control.pause("s-e", "alice")
        control.stop("s-e", "alice")
        control.acknowledge("s-e", "s-e/42", "alice")
        (stop,) = wait_for(lambda: entries_of(journal, "s-e", ["stop"]))
        assert stop.payload == {**stop.payload, "reason": "operator", "by_user": "alice"}
        (rejected,) = wait_for(lambda: entries_of(journal, "s-e", ["command-rejected"]))
        assert "s-e/42" in rejected.payload["error"]
        assert wait_for(lambda: service.fleet.devices["dev-e"].state == "stopped")
        assert [e.kind for e in entries_of(journal, "s-e", ["pause", "stop"])] == ["pause", "stop"]
    finally:
        control.close()
        service.stop()


def test_a_start_command_carries_the_plan_curve_and_bad_starts_are_rejected_on_record(ram_dir):
    from cryoderm.interlock.clock import ManualClock
    from cryoderm.interlock.control import journal_command_poll
    from cryoderm.interlock.embedded import EmbeddedTransport
    from cryoderm.interlock.journal import Journal
    from cryoderm.interlock.model import PlannedCurve
    from cryoderm.interlock.runtime import Interlock
    from cryoderm.interlock.service import spec_from_body

    journal = Journal(ram_dir / "journal")
    interlock = Interlock(journal, [EmbeddedTransport()], clock=ManualClock())
    interlock.set_command_poll(journal_command_poll(interlock, spec_from_body))
    interlock.open()
    control = ControlClient(ram_dir / "journal")
    curve = PlannedCurve((0.0, 30.0, 60.0), (34.0, 12.0, 8.0))
    control.start("s-c", "dev-c", "cheek", "cold-air", planned_duration_s=60.0, planned_curve=curve)
    control.start("s-bad", "dev-b", "elbow", "cold-air")
    interlock.clock.advance(0.1)
    interlock.pump()
    assert interlock.guard("s-c").spec.planned_curve == curve
    (rejected,) = [e for e in journal.read_after(0, 100) if e.kind == "command-rejected"]
    assert "zone = 'elbow'" in rejected.payload["error"]
    control.close()
    journal.close()


def test_an_embedded_start_that_cannot_be_planned_is_rejected_on_record(ram_dir):
    service = InterlockService(ServiceConfig(journal_dir=ram_dir / "journal", source="embedded"))
    service.start()
    control = ControlClient(ram_dir / "journal")
    try:
        control.start("s-x", "dev-x", "elbow", "cold-air")
        (rejected,) = wait_for(lambda: entries_of(service.journal, "s-x", ["command-rejected"]))
        assert "elbow" in rejected.payload["error"]
        assert "s-x" not in service.interlock.session_ids()
    finally:
        control.close()
        service.stop()
