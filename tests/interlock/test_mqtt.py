"""The MQTT transport against the real Mosquitto broker (127.0.0.1:1883), unique topics per test."""

from __future__ import annotations

import json
import selectors
import socket
import time
import uuid

import pytest

from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.model import DeviceCommand, Reading, SessionSpec, StopReason
from cryoderm.interlock.mqtt import MqttDeviceLink, MqttTransport
from cryoderm.interlock.runtime import Interlock
from cryoderm.interlock.service import spec_from_body
from cryoderm.interlock.signing import Signer

from .helpers import Recorder, limits

pytestmark = pytest.mark.mqtt


def wait_for(predicate, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def mqtt_rig(mqtt_broker, ram_dir, credentials):
    host, port = mqtt_broker
    prefix = f"test-{uuid.uuid4().hex[:10]}/cryoderm/v1"
    journal = Journal(ram_dir / "journal")
    client_id = f"il-{uuid.uuid4().hex[:10]}"
    transport = MqttTransport(
        host,
        port,
        signer=Signer(credentials.private_key(), client_id),
        prefix=prefix,
        client_id=client_id,
        session_expiry_s=5,
    )
    interlock = Interlock(
        journal, [transport], session_factory=lambda d, s: spec_from_body({**s, "device_id": d})
    )
    interlock.start()
    link = MqttDeviceLink(host, port, prefix=prefix, interlock_key=credentials.public_key())
    yield interlock, link, journal, prefix
    interlock.shutdown()
    link.clear_retained()
    link.close()
    journal.close()


def test_a_floor_reading_over_mqtt_is_stopped_acknowledged_after_the_journal_and_recorded(mqtt_rig):
    interlock, link, journal, _ = mqtt_rig
    device = Recorder("dev-a")
    link.attach(device)
    interlock.start_session(
        SessionSpec("s-a", "dev-a", "cheek", "ln2-vapour", limits(), planned_duration_s=30.0)
    )
    for seq, temp in enumerate([30.0, 25.0, 1.5], start=1):
        link.publish_reading(Reading("dev-a", seq, temp, time.time()))
    assert device.stopped.wait(15.0)
    assert device.commands[0] == (DeviceCommand.STOP, {"session_id": "s-a", "reason": "floor"})
    assert wait_for(lambda: set(device.acked) == {1, 2, 3})
    recorded = {e.payload["seq"]: e.seq for e in entries_of(journal, "s-a", ["reading"])}
    assert recorded == device.acked
    assert interlock.guard("s-a").stop_reason is StopReason.FLOOR
    assert wait_for(lambda: device.heartbeats >= 1)


def test_a_device_may_announce_its_session_when_the_interlock_allows_it(mqtt_rig):
    interlock, link, _, _ = mqtt_rig
    device = Recorder("dev-b")
    link.attach(device)
    link.publish_status(
        "dev-b",
        {
            "state": "running",
            "session_id": "s-b",
            "zone": "forehead",
            "modality": "cold-air",
            "planned_duration_s": 0.5,
        },
    )
    assert wait_for(lambda: "s-b" in interlock.session_ids())
    for seq in range(1, 6):
        link.publish_reading(Reading("dev-b", seq, 30.0, time.time()))
        time.sleep(0.1)
    assert device.stopped.wait(15.0)
    assert interlock.guard("s-b").stop_reason is StopReason.PLAN_COMPLETE


def test_a_malformed_message_is_dropped_and_a_reading_for_another_device_stops(mqtt_rig):
    interlock, link, journal, prefix = mqtt_rig
    device = Recorder("dev-c")
    link.attach(device)
    interlock.start_session(SessionSpec("s-c", "dev-c", "cheek", "cold-air", limits()))
    link._client.publish(f"{prefix}/devices/dev-c/readings", b"{not json", qos=1)
    link._client.publish(
        f"{prefix}/devices/dev-c/readings",
        json.dumps(
            {"device_id": "dev-x", "seq": 1, "skin_temp_c": 1.0, "sampled_wall_time_s": time.time()}
        ),
        qos=1,
    )
    link.publish_reading(Reading("dev-c", 1, 1.0, time.time()))
    assert device.stopped.wait(15.0)
    # dev-c's topic speaking for dev-x: a wrong client, so dev-c's session stops.
    assert wait_for(lambda: interlock.guard("s-c").stop_reason is StopReason.TECHNICAL_FAULT)
    assert wait_for(lambda: len(entries_of(journal, "s-c", ["reading"])) == 1)
    (alarm,) = [a for a in interlock.guard("s-c").alarms if a.condition == "wrong-client"]
    assert "dev-x" in alarm.message


def test_a_device_without_a_session_is_told_to_stop(mqtt_rig):
    _, link, _, _ = mqtt_rig
    device = Recorder("dev-d")
    link.attach(device)
    link.publish_reading(Reading("dev-d", 1, 30.0, time.time()))
    assert device.stopped.wait(15.0)
    assert device.commands[0][1] == {"reason": "no-session"}


def test_device_sim_runs_a_session_against_the_interlock_and_obeys_its_stop(
    mqtt_rig, mqtt_broker, credentials
):
    import subprocess
    import sys

    interlock, _, journal, prefix = mqtt_rig
    host, port = mqtt_broker
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cryoderm.cli",
            "device-sim",
            "--zone",
            "cheek",
            "--modality",
            "cold-air",
            "--device-id",
            "dev-sim",
            "--session-id",
            "s-sim",
            "--fault",
            "nan",
            "--fault-start-s",
            "0.5",
            "--broker",
            f"{host}:{port}",
            "--topic-prefix",
            prefix,
            "--observe-s",
            "0.3",
            "--interlock-key",
            credentials.public_key(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["stopped_by"] == "interlock"
    assert report["readings_acknowledged"] > 0
    assert interlock.guard("s-sim").stop_reason is StopReason.NO_VALID_READING
    assert entries_of(journal, "s-sim", ["reading"])


def test_a_link_without_network_thread_is_served_by_its_caller_through_a_selector(
    mqtt_rig, mqtt_broker, credentials
):
    interlock, _, journal, prefix = mqtt_rig
    host, port = mqtt_broker
    link = MqttDeviceLink(
        host, port, prefix=prefix, network_thread=False, interlock_key=credentials.public_key()
    )
    selector = selectors.DefaultSelector()
    selector.register(link.fileno(), selectors.EVENT_READ, link)
    try:
        device = Recorder("dev-nt")
        link.attach(device)
        interlock.start_session(
            SessionSpec("s-nt", "dev-nt", "cheek", "ln2-vapour", limits(), planned_duration_s=30.0)
        )
        for seq, temp in enumerate([30.0, 1.0], start=1):
            link.publish_reading(Reading("dev-nt", seq, temp, time.time()))
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline and not (
            device.stopped.is_set() and len(device.acked) == 2
        ):
            for key, _ in selector.select(0.05):
                key.data.service()
        assert device.commands[0] == (DeviceCommand.STOP, {"session_id": "s-nt", "reason": "floor"})
        recorded = {e.payload["seq"]: e.seq for e in entries_of(journal, "s-nt", ["reading"])}
        assert recorded == device.acked == {1: recorded[1], 2: recorded[2]}
    finally:
        selector.close()
        link.close()


def test_an_operator_stop_from_another_thread_goes_out_through_the_network_thread(mqtt_rig):
    interlock, link, _, _ = mqtt_rig
    device = Recorder("dev-op")
    link.attach(device)
    interlock.start_session(
        SessionSpec("s-op", "dev-op", "cheek", "ln2-vapour", limits(), planned_duration_s=30.0)
    )
    link.publish_reading(Reading("dev-op", 1, 30.0, time.time()))
    assert wait_for(lambda: 1 in device.acked)
    interlock.stop("s-op", by_user="alice")  # this thread, not the transport's
    assert device.stopped.wait(15.0)
    assert device.commands[0] == (DeviceCommand.STOP, {"session_id": "s-op", "reason": "operator"})


def test_the_interlock_reconnects_when_its_broker_connection_drops(mqtt_rig):
    interlock, link, journal, _ = mqtt_rig
    transport = interlock.transports[0]
    device = Recorder("dev-rc")
    link.attach(device)
    interlock.start_session(
        SessionSpec("s-rc", "dev-rc", "cheek", "ln2-vapour", limits(), planned_duration_s=30.0)
    )
    link.publish_reading(Reading("dev-rc", 1, 30.0, time.time()))
    assert wait_for(lambda: 1 in device.acked)
    # The connection breaks under the interlock (as when the broker restarts).
    transport._client.socket().shutdown(socket.SHUT_RDWR)
    time.sleep(0.3)
    # Published while the interlock may still be away: the broker keeps its session.
    link.publish_reading(Reading("dev-rc", 2, 1.0, time.time()))
    assert device.stopped.wait(15.0)
    assert device.commands[0] == (DeviceCommand.STOP, {"session_id": "s-rc", "reason": "floor"})
    assert wait_for(lambda: set(device.acked) == {1, 2})
    recorded = {e.payload["seq"] for e in entries_of(journal, "s-rc", ["reading"])}
    assert recorded == {1, 2}
