"""Liveness, not existence: the watchdog judges the interlock by its progress, kills and
restarts a hung one, and the restart cannot be wedged by the input that hung it."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid

import pytest

from cryoderm.interlock.control import ControlClient
from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.mqtt import MqttDeviceLink

from .process import read_ready, start_interlock, start_session, stop_process, wait_for
from .test_hostile_input import HeartbeatWatch, WarmReadings, _publisher

pytestmark = pytest.mark.slow

# hung_after_s (3 s, seen twice a poll apart) plus the restart, with room for a busy machine.
RESTART_WITHIN_S = 30.0


def kinds(journal_dir) -> list[str]:
    with Journal(journal_dir) as journal:
        return [e.kind for e in journal.read_after(0, 100_000)]


def test_a_stopped_interlock_is_seen_hung_and_restarted_by_the_watchdog(tmp_path, credentials):
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    watchdog = start_interlock(
        journal_dir,
        *("--watchdog", "--source", "http", "--http-port", "0", "--ready-file", str(ready)),
        credentials=credentials,
    )
    first = None
    try:
        first = read_ready(ready)["pid"]
        start_session(journal_dir, "s-hung", "dev-h", modality="cold-air")
        with ControlClient(journal_dir) as control:
            assert control.health().alive
            os.kill(first, signal.SIGSTOP)  # alive as a process, deaf as an interlock
            health = wait_for(lambda: (h := control.health()) and not h.alive and h, 10.0)
            assert "no progress" in health.why and health.pid == first
            second = read_ready(ready, not_pid=first, timeout_s=RESTART_WITHIN_S)["pid"]
            wait_for(lambda: control.health().alive)
        with Journal(journal_dir) as journal:
            (restart,) = [e for e in journal.read_after(0, 10_000) if e.kind == "watchdog-restart"]
            (closed,) = wait_for(lambda: entries_of(journal, "s-hung", ["stop"]))
        assert restart.payload["pid"] == first and "no progress" in restart.payload["hung"]
        assert restart.payload["exit_status"] == -signal.SIGKILL
        assert second != first
        # The stopped session's stop is either the first interlock's (before it was stopped)
        # or the restarted one's closing of its orphan; never left open.
        assert closed.payload["reason"] == "no-valid-reading"
    finally:
        stop_process(watchdog)
        if first is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(first, signal.SIGKILL)


# Stands in for a parser bug that hangs on one message: the interlock's own code no longer
# hangs on any input we know of, so the test gives its child process one that does (loaded
# by Python at start-up from PYTHONPATH), to check the quarantine that makes the next
# interlock immune to whatever did.
HANGING_DECODE = """\
import time
import cryoderm.interlock.wire as wire

_decode = wire.decode


def decode(payload, limits):
    if "HANG-ME" in (payload if isinstance(payload, str) else bytes(payload).decode("latin-1")):
        time.sleep(3600)
    return _decode(payload, limits)


wire.decode = decode
"""


def test_the_message_that_hung_an_interlock_is_quarantined_and_cannot_wedge_its_restart(
    tmp_path, anonymous_broker, credentials
):
    broker = anonymous_broker
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HANGING_DECODE)
    env = {"PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])}
    prefix = f"test-{uuid.uuid4().hex[:8]}/cryoderm/v1"
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    watchdog = start_interlock(
        journal_dir,
        "--watchdog",
        "--source",
        "mqtt",
        "--broker",
        broker.address,
        "--topic-prefix",
        prefix,
        "--client-id",
        "il-quarantine",
        "--ready-file",
        str(ready),
        "--allow-anonymous-broker",  # so that the test may publish the poison
        credentials=credentials,
        env=env,
    )
    link = MqttDeviceLink(
        broker.host, broker.port, prefix=prefix, interlock_key=credentials.public_key()
    )
    attacker = _publisher(broker)
    watch = HeartbeatWatch(broker, prefix)
    feeder = None
    try:
        first = read_ready(ready)["pid"]
        start_session(journal_dir, "s-q", "dev-q", modality="cold-air")
        feeder = WarmReadings(link, "dev-q")
        poison = b'{"device_id": "dev-q", "HANG-ME": 1}'
        attacker.publish(f"{prefix}/devices/dev-q/readings", poison, qos=1).wait_for_publish(5)
        second = read_ready(ready, not_pid=first, timeout_s=RESTART_WITHIN_S)["pid"]
        feeder.halt()
        restarted_at = time.monotonic()
        time.sleep(8.0)  # more than twice the time the watchdog takes to see a hang
        assert kinds(journal_dir).count("watchdog-restart") == 1
        assert watch.largest_gap_s(restarted_at + 1.0) < 1.0
        with Journal(journal_dir) as journal:
            entries = journal.read_after(0, 100_000)
        (quarantined,) = [e for e in entries if e.kind == "message-quarantined"]
        assert quarantined.payload["pid"] == first
        assert quarantined.payload["source"] == f"{prefix}/devices/dev-q/readings"
        counts = [e.payload["counts"] for e in entries if e.kind == "messages-rejected"]
        assert sum(c.get("readings: quarantined", 0) for c in counts) == 1
        assert second != first
    finally:
        if feeder is not None:
            feeder.halt()
        attacker.loop_stop()
        attacker.disconnect()
        watch.close()
        link.close()
        stop_process(watchdog)
