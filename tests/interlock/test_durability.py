"""Independence and durability: a SIGKILLed interlock loses no acknowledged
reading and its device stops itself; the watchdog starts a new interlock, which closes the
orphaned session; the clinic's database being down changes nothing for the interlock.

These tests run the real ``cryoderm interlock`` process (HTTP ingest, no broker needed) with
its journal on a real disk, and a simulated device in the test process in real time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cryoderm.interlock.http_ingest import HttpDeviceLink
from cryoderm.interlock.journal import Journal, entries_of

from .helpers import LumpedFace, SteppedDevice
from .process import read_ready, start_interlock, start_session, wait_for

pytestmark = pytest.mark.slow


def start_http_interlock(journal_dir: Path, ready: Path, credentials, *extra: str, env=None):
    return start_interlock(
        journal_dir,
        *("--source", "http", "--http-port", "0", "--ready-file", str(ready)),
        *("--credentials", str(credentials.directory), "--priority", "auto", *extra),
        env=env,
    )


class RealTimeDevice(SteppedDevice):
    """A simulated device posting to the HTTP ingest at 10 Hz in a thread of the test, with
    the token its credentials were issued."""

    def __init__(self, port: int, device_id: str, face: LumpedFace, credentials) -> None:
        issued = credentials.add(device_id)
        link = HttpDeviceLink(
            f"http://127.0.0.1:{port}",
            token=issued.token,
            interlock_key=issued.interlock_public_key,
            timeout_s=0.3,
        )
        super().__init__(link, device_id, face)


def test_sigkill_loses_no_acknowledged_reading_and_the_device_stops_itself(tmp_path, credentials):
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    process = start_http_interlock(journal_dir, ready, credentials)
    try:
        port = read_ready(ready)["port"]
        start_session(journal_dir, "s-kill", "dev-k")
        rig = RealTimeDevice(port, "dev-k", LumpedFace(cold_temp_c=20.0, tau_s=60.0), credentials)
        rig.start()
        wait_for(lambda: len(rig.device.log.acked) >= 15)
        process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        process.wait(5)
        wait_for(lambda: rig.device.state == "stopped", timeout_s=3.0)
        stopped_after_s = time.monotonic() - killed_at
        rig.halt()
    finally:
        if process.poll() is None:
            process.kill()
    assert rig.device.log.stopped_by == "heartbeat-lost"
    # Heartbeat timeout 1 s after the last answer, plus scheduling on a busy machine.
    assert stopped_after_s < 2.0
    acked = dict(rig.device.log.acked)
    with Journal(journal_dir) as journal:
        recorded = {e.payload["seq"]: e.seq for e in entries_of(journal, "s-kill", ["reading"])}
    assert acked and all(recorded.get(seq) == journal_seq for seq, journal_seq in acked.items())


def test_the_watchdog_restarts_a_killed_interlock_which_closes_the_orphaned_session(
    tmp_path, credentials
):
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    watchdog = start_http_interlock(journal_dir, ready, credentials, "--watchdog")
    try:
        first = read_ready(ready)
        start_session(journal_dir, "s-orphan", "dev-w")
        os.kill(first["pid"], signal.SIGKILL)
        second = read_ready(ready, not_pid=first["pid"])
        assert second["pid"] != first["pid"]
        with Journal(journal_dir) as journal:
            stops = wait_for(lambda: entries_of(journal, "s-orphan", ["stop"]))
            kinds = [e.kind for e in journal.read_after(0, 1000)]
        assert stops[0].payload["reason"] == "no-valid-reading"
        assert "restarted" in stops[0].payload["detail"]
        assert "watchdog-restart" in kinds and kinds.count("interlock-started") == 2
    finally:
        watchdog.send_signal(signal.SIGTERM)
        assert watchdog.wait(10) == 0


def test_with_the_clinic_database_down_the_interlock_still_stops_and_journals(
    tmp_path, credentials
):
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    # The clinic's database points at a closed port: nothing in the interlock may need it.
    down = {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/test",
        "CRYODERM_TEST_DATABASE": "postgres",
    }
    process = start_http_interlock(journal_dir, ready, credentials, env=down)
    try:
        port = read_ready(ready)["port"]
        start_session(journal_dir, "s-db", "dev-db")
        rig = RealTimeDevice(port, "dev-db", LumpedFace(cold_temp_c=-20.0, tau_s=3.0), credentials)
        rig.start()
        wait_for(lambda: rig.device.state == "stopped", timeout_s=10.0)
        rig.halt()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
    assert rig.device.log.stopped_by == "interlock"
    with Journal(journal_dir) as journal:
        (stop,) = entries_of(journal, "s-db", ["stop"])
        readings = entries_of(journal, "s-db", ["reading"])
    assert stop.payload["reason"] in ("floor", "predicted-floor")
    assert len(readings) >= len(rig.device.log.acked) > 0


def test_the_interlock_process_loads_no_web_framework_or_database_driver():
    code = (
        "import sys; import cryoderm.interlock.service, cryoderm.interlock.mqtt, "
        "cryoderm.interlock.http_ingest, cryoderm.interlock.watchdog, cryoderm.commands.interlock; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'psycopg', 'ninja') "
        "or m == 'cryoderm.clinic' or m.startswith('cryoderm.clinic.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.mqtt
def test_readings_sent_while_the_interlock_is_dead_reach_the_journal_after_its_restart(
    tmp_path, mqtt_broker, credentials
):
    import uuid

    from cryoderm.interlock.model import Reading
    from cryoderm.interlock.mqtt import MqttDeviceLink

    host, port = mqtt_broker
    prefix = f"test-{uuid.uuid4().hex[:10]}/cryoderm/v1"
    journal_dir = tmp_path / "journal"
    args = [
        "--source",
        "mqtt",
        "--broker",
        f"{host}:{port}",
        "--topic-prefix",
        prefix,
        "--client-id",
        f"il-{uuid.uuid4().hex[:10]}",
        "--credentials",
        str(credentials.directory),
        "--allow-anonymous-broker",  # the machine's shared development broker
    ]

    def interlock(ready: Path) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cryoderm.cli",
                "interlock",
                "--journal",
                str(journal_dir),
                "--ready-file",
                str(ready),
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    first = interlock(tmp_path / "ready-1.json")
    link = MqttDeviceLink(host, port, prefix=prefix, interlock_key=credentials.public_key())
    second = None
    try:
        read_ready(tmp_path / "ready-1.json")
        start_session(journal_dir, "s-mq", "dev-mq")
        for seq in range(1, 6):
            link.publish_reading(Reading("dev-mq", seq, 30.0, time.time()))
        with Journal(journal_dir) as journal:
            wait_for(lambda: len(entries_of(journal, "s-mq", ["reading"])) == 5)
        first.send_signal(signal.SIGKILL)
        first.wait(5)
        for seq in range(6, 16):  # the broker keeps these for the interlock's session
            link.publish_reading(Reading("dev-mq", seq, 30.0, time.time()))
        time.sleep(0.3)
        second = interlock(tmp_path / "ready-2.json")
        read_ready(tmp_path / "ready-2.json")
        with Journal(journal_dir) as journal:
            seqs = wait_for(
                lambda: (s := journal.reading_seqs("dev-mq")) >= set(range(1, 16)) and s
            )
            (closed,) = entries_of(journal, "s-mq", ["stop"])
        assert seqs == set(range(1, 16))
        assert "restarted" in closed.payload["detail"]
    finally:
        link.clear_retained()
        link.close()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(10)
