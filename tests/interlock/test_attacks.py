"""Attack variants against the real interlock process (third pass, docs/interlock.md
"Attack and fault variants"): each a fail-safe stop or a rejection, logged once, never a
silent drop, never a deaf loop."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cryoderm.interlock.mqtt import BrokerLogin, MqttDeviceLink

from .helpers import Recorder
from .process import read_ready, start_interlock, start_session, stop_process, wait_for
from .test_hostile_input import WarmReadings, _publisher

pytestmark = pytest.mark.slow


@dataclass
class OpenRig:
    """The interlock process on a private open broker (an attacker may publish anywhere)."""

    broker: object
    credentials: object
    prefix: str
    journal_dir: Path
    process: object

    def link(self, device_id: str | None = None) -> MqttDeviceLink:
        """A device link; logged in with the device's own token when device_id is given."""
        login = BrokerLogin()
        if device_id is not None:
            login = BrokerLogin(device_id, self.credentials.add(device_id).token)
        return MqttDeviceLink(
            self.broker.host,
            self.broker.port,
            prefix=self.prefix,
            interlock_key=self.credentials.public_key(),
            login=login,
        )


@contextlib.contextmanager
def open_rig(tmp_path, broker, credentials, *extra: str) -> Iterator[OpenRig]:
    prefix = f"test-{uuid.uuid4().hex[:8]}/cryoderm/v1"
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    process = start_interlock(
        journal_dir,
        *("--source", "mqtt", "--broker", broker.address, "--topic-prefix", prefix),
        *("--client-id", f"il-{uuid.uuid4().hex[:6]}", "--ready-file", str(ready)),
        "--allow-anonymous-broker",
        *extra,
        credentials=credentials,
    )
    try:
        read_ready(ready)
        yield OpenRig(broker, credentials, prefix, journal_dir, process)
    finally:
        stop_process(process)


class Capture:
    """Subscribes to a topic and keeps every payload."""

    def __init__(self, broker, topic: str) -> None:
        self.payloads: list[bytes] = []
        self.got = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"cap-{uuid.uuid4().hex}")

        def on_message(_c, _u, message):
            self.payloads.append(bytes(message.payload))
            self.got.set()

        self.client.on_message = on_message
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(topic, 1)
        self.client.loop_start()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_forged_and_replayed_acknowledgements_are_refused_by_the_device(
    tmp_path, anonymous_broker, credentials
):
    """Acks are trusted for one thing (the journal holds these readings: the device may
    forget them); a forged one would make a device drop a reading nobody kept."""
    broker = anonymous_broker
    with open_rig(tmp_path, broker, credentials) as rig:
        link_a, link_b = rig.link("dev-a"), rig.link("dev-b")
        attacker = _publisher(broker)
        capture = Capture(broker, f"{rig.prefix}/devices/dev-b/acks")
        feeders = []
        try:
            start_session(rig.journal_dir, "s-a", "dev-a")
            start_session(rig.journal_dir, "s-b", "dev-b")
            device_a, device_b = Recorder("dev-a"), Recorder("dev-b")
            link_a.attach(device_a)
            link_b.attach(device_b)
            feeders = [WarmReadings(link_a, "dev-a"), WarmReadings(link_b, "dev-b")]
            # The interlock's own acknowledgements verify.
            wait_for(lambda: len(device_a.acked) >= 3 and len(device_b.acked) >= 3, 10.0)
            assert capture.got.wait(5.0)
            genuine_b = capture.payloads[0]
            topic_a = f"{rig.prefix}/devices/dev-a/acks"
            forged = [
                b'{"seqs": [999], "journal_seqs": [1]}',  # bare, as before
                b'{"device_id": "dev-a", "seqs": [999], "journal_seqs": [1]}',
                b'{"acked": "{\\"device_id\\":\\"dev-a\\",\\"seqs\\":[999],'
                b'\\"journal_seqs\\":[1]}", "mac": "' + b"0" * 64 + b'"}',
                genuine_b,  # dev-b's genuine acknowledgement, replayed to dev-a
            ]
            before = link_a.rejected
            for payload in forged:
                attacker.publish(topic_a, payload, qos=1).wait_for_publish(5)
            wait_for(lambda: link_a.rejected - before >= len(forged), 5.0)
            assert 999 not in device_a.acked
            assert set(device_a.acked) <= set(range(1, feeders[0].seq + 1))
            acked = len(device_a.acked)
            wait_for(lambda: len(device_a.acked) > acked, 5.0)  # the real ones still verify
        finally:
            for feeder in feeders:
                feeder.halt()
            capture.close()
            attacker.loop_stop()
            attacker.disconnect()
            link_a.close()
            link_b.close()
