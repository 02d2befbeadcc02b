"""The broker as an attacker or a careless operator leaves it (a second pass on the MQTT
channel, with the shipped configuration on a private Mosquitto and the real interlock):

- a provisioned device that connects under the interlock's client id, as MQTT lets any
  client take over a connection by reusing its id, must not knock the interlock off the
  broker (which would publish its ``offline`` will and stop every device);
- a broker killed and restarted mid-session: the device stops on the missing heartbeats,
  the interlock stops the session (no valid reading), both reconnect by themselves, the
  device link hears the interlock again and the next session's floor reading stops it;
- a message replayed from the broker's retained store is not a live message;
- a device whose credentials are revoked is cut off at once, its open connection included.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import threading
import time
import uuid

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cryoderm.interlock.broker_config import CONFIG_FILE, MOSQUITTO, LocalBroker
from cryoderm.interlock.control import ControlClient
from cryoderm.interlock.credentials import INTERLOCK_USER
from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.model import DeviceCommand, Reading
from cryoderm.interlock.mqtt import BrokerLogin, MqttDeviceLink, MqttTransport
from cryoderm.interlock.runtime import Interlock
from cryoderm.interlock.service import spec_from_body
from cryoderm.interlock.signing import Signer

from .helpers import Recorder
from .process import read_ready, start_interlock, start_session, stop_process, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]


class Device(Recorder):
    """A device endpoint that also remembers when each verified heartbeat came."""

    def __init__(self, device_id: str) -> None:
        super().__init__(device_id)
        self.heartbeat_times: list[float] = []

    def on_heartbeat(self, wall_time_s):
        super().on_heartbeat(wall_time_s)
        self.heartbeat_times.append(time.monotonic())

    def largest_gap_s(self, since: float) -> float:
        times = [since] + [t for t in self.heartbeat_times if t >= since] + [time.monotonic()]
        return max(b - a for a, b in itertools.pairwise(times))


def _interlock(tmp_path, secure_broker):
    ready = tmp_path / "ready.json"
    process = start_interlock(
        tmp_path / "journal",
        *("--source", "mqtt", "--broker", secure_broker.broker.address),
        *("--credentials", str(secure_broker.store.directory), "--ready-file", str(ready)),
    )
    read_ready(ready)
    return process


def _link(secure_broker, device_id: str, token: str) -> tuple[MqttDeviceLink, Device]:
    broker = secure_broker.broker
    link = MqttDeviceLink(
        broker.host,
        broker.port,
        interlock_key=secure_broker.store.public_key(),
        login=BrokerLogin(device_id, token),
    )
    device = Device(device_id)
    link.attach(device)
    return link, device


def _restart(broker: LocalBroker, down_s: float) -> None:
    """The same broker (configuration, port, persistence) killed, down for ``down_s``, and
    started again."""
    broker.process.send_signal(signal.SIGKILL)
    broker.process.wait(10)
    time.sleep(down_s)
    log = (broker.directory / "mosquitto.log").open("ab")
    broker.process = subprocess.Popen(
        [MOSQUITTO, "-c", str(broker.directory / CONFIG_FILE)], stdout=log, stderr=log
    )


def test_a_device_cannot_take_over_the_interlocks_connection(tmp_path, secure_broker):
    store = secure_broker.store
    one, rogue_id = store.add("dev-1"), store.add("dev-2")
    secure_broker.broker.reload()
    process = _interlock(tmp_path, secure_broker)
    link, device = _link(secure_broker, "dev-1", one.token)
    rogues: list[paho.Client] = []
    try:
        start_session(tmp_path / "journal", "s-1", "dev-1", planned_duration_s=60.0)
        for seq in range(1, 6):
            link.publish_reading(Reading("dev-1", seq, 30.0, time.time()))
            time.sleep(0.1)
        attacked_at = time.monotonic()
        # dev-2, with its own valid credentials, connects again and again under the
        # interlock's client id (and asks for its persistent session, to inherit what the
        # broker queues for the interlock).
        for _ in range(5):
            rogue = paho.Client(
                CallbackAPIVersion.VERSION2, client_id=INTERLOCK_USER, protocol=paho.MQTTv5
            )
            rogue.username_pw_set("dev-2", rogue_id.token)
            rogue.connect(secure_broker.broker.host, secure_broker.broker.port, clean_start=False)
            rogue.loop_start()
            rogues.append(rogue)
            for seq in range(6 + 5 * len(rogues), 11 + 5 * len(rogues)):
                link.publish_reading(Reading("dev-1", seq, 30.0, time.time()))
                time.sleep(0.1)
        assert not link.interlock_offline.is_set()
        assert device.largest_gap_s(attacked_at) < 1.0
        assert not device.stopped.is_set()
        # The interlock still guards: the next reading at the floor stops the device.
        link.publish_reading(Reading("dev-1", 40, 1.0, time.time()))
        assert device.stopped.wait(5.0)
    finally:
        for rogue in rogues:
            rogue.loop_stop()
            rogue.disconnect()
        link.close()
        stop_process(process)
    log = (secure_broker.broker.directory / "mosquitto.log").read_text()
    # The rogue's connections took over one another (each is "dev-2"), never the interlock's.
    assert f"Client {INTERLOCK_USER} already connected" not in log
    assert "Client dev-2 already connected" in log


def test_after_a_broker_restart_the_interlock_and_the_device_hear_each_other_again(
    tmp_path, secure_broker
):
    one = secure_broker.store.add("dev-1")
    secure_broker.broker.reload()
    journal_dir = tmp_path / "journal"
    process = _interlock(tmp_path, secure_broker)
    link, device = _link(secure_broker, "dev-1", one.token)
    halt = threading.Event()
    seq = [0]

    def sensor() -> None:  # the real sensor, warm, at 10 Hz whatever the broker does
        while not halt.wait(0.1):
            seq[0] += 1
            link.publish_reading(Reading("dev-1", seq[0], 30.0, time.time()))

    thread = threading.Thread(target=sensor, daemon=True)
    try:
        start_session(journal_dir, "s-1", "dev-1", planned_duration_s=60.0)
        thread.start()
        wait_for(lambda: len(device.acked) >= 5)
        killed_at = time.monotonic()
        # Down for longer than the no-valid-reading timeout (1 s): the interlock stops the
        # session it can no longer read, and the device hears no heartbeat for more than
        # the 1 s after which it stops itself.
        _restart(secure_broker.broker, down_s=1.5)
        with Journal(journal_dir) as journal:
            (stop,) = wait_for(lambda: entries_of(journal, "s-1", ["stop"]), 30)
        assert stop.payload["reason"] == "no-valid-reading"
        assert device.largest_gap_s(killed_at) > 1.0
        # Both reconnect by themselves: the same device link hears the interlock again.
        heard = len(device.heartbeat_times)
        wait_for(lambda: len(device.heartbeat_times) > heard + 4, 30)
        # And the interlock judges what it reads: the next session, at the floor, stops.
        halt.set()
        thread.join(5)
        device.stopped.clear()
        device.commands.clear()
        with ControlClient(journal_dir) as control:
            control.end("s-1", "alice", "the broker restarted")
        start_session(journal_dir, "s-2", "dev-1", planned_duration_s=60.0)
        link.publish_reading(Reading("dev-1", seq[0] + 1, 1.0, time.time()))
        assert device.stopped.wait(10.0)
        assert device.commands[0][0] is DeviceCommand.STOP
        assert device.commands[0][1]["session_id"] == "s-2"
    finally:
        halt.set()
        link.close()
        stop_process(process)


def test_a_message_replayed_from_the_retained_store_is_not_a_live_one(
    ram_dir, anonymous_broker, credentials
):
    broker = anonymous_broker
    prefix = f"test-{uuid.uuid4().hex[:8]}/cryoderm/v1"
    # Before the interlock subscribes, a device left a "running" status retained (it would
    # announce a session at every subscription of every later interlock) and a reading.
    stale = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"stale-{uuid.uuid4().hex[:8]}")
    stale.connect(broker.host, broker.port)
    stale.loop_start()
    status = {"state": "running", "session_id": "s-stale", "zone": "cheek", "modality": "cold-air"}
    reading = Reading("dev-r", 1, 30.0, time.time()).to_json()
    for topic, body in (("status", status), ("readings", reading)):
        info = stale.publish(f"{prefix}/devices/dev-r/{topic}", orjson.dumps(body), 1, retain=True)
        info.wait_for_publish(5)
    journal = Journal(ram_dir / "journal")
    interlock = Interlock(
        journal,
        [
            MqttTransport(
                broker.host,
                broker.port,
                signer=Signer(credentials.private_key(), "il-retained"),
                prefix=prefix,
                client_id=f"il-{uuid.uuid4().hex[:8]}",
                session_expiry_s=5,
            )
        ],
        session_factory=lambda d, s: spec_from_body({**s, "device_id": d}),
    )
    interlock.start()
    try:
        rejected = wait_for(
            lambda: [
                e
                for e in journal.read_after(0, 1000, kinds=["messages-rejected"])
                if "retained" in str(e.payload["counts"])
            ]
        )
        assert rejected
        assert interlock.session_ids() == []
        assert not journal.read_after(0, 1000, kinds=["session-started", "reading"])
        # A live status of the same device is believed as before.
        stale.publish(f"{prefix}/devices/dev-r/status", orjson.dumps(status), 1).wait_for_publish(5)
        wait_for(lambda: interlock.session_ids() == ["s-stale"])
    finally:
        for topic in ("status", "readings"):
            stale.publish(f"{prefix}/devices/dev-r/{topic}", b"", 1, retain=True).wait_for_publish(
                5
            )
        stale.loop_stop()
        stale.disconnect()
        interlock.shutdown()
        journal.close()


def test_a_revoked_device_is_cut_off_at_once_its_open_connection_included(secure_broker):
    store, broker = secure_broker.store, secure_broker.broker
    issued = store.add("dev-r")
    broker.reload()
    events: list[str] = []
    device = paho.Client(CallbackAPIVersion.VERSION2, client_id="dev-r", protocol=paho.MQTTv5)
    device.username_pw_set("dev-r", issued.token)
    device.on_connect = lambda _c, _u, _f, reason, _p: events.append(f"connect {reason}")
    device.on_disconnect = lambda _c, _u, _f, reason, _p: events.append("disconnect")
    device.connect(broker.host, broker.port)
    device.loop_start()
    try:
        wait_for(lambda: events == ["connect Success"])
        store.revoke("dev-r")
        broker.reload()
        wait_for(lambda: "disconnect" in events)
        # paho tries again by itself, and is refused.
        wait_for(lambda: any("Not authorized" in event for event in events), 10)
    finally:
        device.loop_stop()
        device.disconnect()
