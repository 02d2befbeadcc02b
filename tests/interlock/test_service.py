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
