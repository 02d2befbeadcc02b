"""An authenticated device channel: the shipped broker configuration refuses anonymous
clients and spoofers; the interlock refuses an anonymous broker unless told; devices obey
only what the interlock signed; the HTTP ingest wants the device's token; and on an open
broker the reported attack (warm readings with seq from 10^9 while the real sensor is at
the floor) stops the session at once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cryoderm.interlock.credentials import INTERLOCK_USER
from cryoderm.interlock.journal import Journal, entries_of
from cryoderm.interlock.model import Reading
from cryoderm.interlock.mqtt import BrokerLogin, MqttDeviceLink
from cryoderm.interlock.signing import Signer, new_private_key, public_key_of

from .helpers import Recorder
from .process import (
    interlock_command,
    read_ready,
    start_interlock,
    start_session,
    stop_process,
    wait_for,
)

pytestmark = pytest.mark.slow
PREFIX = "cryoderm/v1"  # the shipped ACL's prefix


class Client:
    """A bare MQTT 5 client: what it was allowed to do, as the broker answered."""

    def __init__(self, broker, username=None, password=None) -> None:
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connack = None
        self.pubacks: dict[int, bool] = {}
        self.received: list[tuple[str, bytes]] = []
        self.client.on_connect = lambda _c, _u, _f, reason, _p: setattr(self, "connack", reason)
        self.client.on_publish = lambda _c, _u, mid, reason, _p: self.pubacks.__setitem__(
            mid, not reason.is_failure
        )
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, m.payload))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        wait_for(lambda: self.connack is not None, 10)

    @property
    def accepted(self) -> bool:
        return not self.connack.is_failure

    def publish(self, topic: str, payload: bytes) -> bool:
        """Whether the broker took the publication (its PUBACK)."""
        info = self.client.publish(topic, payload, qos=1)
        wait_for(lambda: info.mid in self.pubacks, 10)
        return self.pubacks[info.mid]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def credentials_cli(store, *args) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cryoderm.cli",
            "device-credentials",
            *args,
            "--credentials",
            str(store.directory),
            "--broker-group",
            store.broker_group or "",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def reading(device_id: str, seq: int, temp_c: float) -> bytes:
    return orjson.dumps(Reading(device_id, seq, temp_c, time.time()).to_json())


def test_the_shipped_broker_lets_each_device_speak_only_for_itself(secure_broker):
    broker, store = secure_broker.broker, secure_broker.store
    pid = str(broker.process.pid)
    one = credentials_cli(store, "add", "dev-1", "--reload-broker", pid)
    two = credentials_cli(store, "add", "dev-2", "--reload-broker", pid)
    assert one["token"] not in (store.directory / "devices.json").read_text()
    time.sleep(0.3)
    clients = []
    try:
        anonymous = Client(broker)
        wrong = Client(broker, "dev-1", "not-its-token")
        assert not anonymous.accepted and not wrong.accepted
        interlock = Client(broker, INTERLOCK_USER, store.interlock_password())
        interlock.client.subscribe(f"{PREFIX}/devices/+/readings", 1)
        device_1 = Client(broker, "dev-1", one["token"])
        spoofer = Client(broker, "dev-2", two["token"])
        device_1.client.subscribe(f"{PREFIX}/devices/dev-1/commands", 1)
        clients = [interlock, device_1, spoofer]
        time.sleep(0.3)
        # A device publishes its own readings, nobody else's, and no heartbeat or command.
        assert device_1.publish(f"{PREFIX}/devices/dev-1/readings", reading("dev-1", 1, 30.0))
        assert not spoofer.publish(
            f"{PREFIX}/devices/dev-1/readings", reading("dev-1", 10**9, 30.0)
        )
        assert not spoofer.publish(f"{PREFIX}/interlock/heartbeat", b"{}")
        assert not spoofer.publish(f"{PREFIX}/devices/dev-1/commands", b'{"command": "resume"}')
        assert interlock.publish(f"{PREFIX}/devices/dev-1/commands", b'{"command": "stop"}')
        wait_for(lambda: device_1.received)
        time.sleep(0.3)
        assert [t for t, _ in interlock.received] == [f"{PREFIX}/devices/dev-1/readings"]
        assert [t for t, _ in device_1.received] == [f"{PREFIX}/devices/dev-1/commands"]
        # Rotated: the old token no longer logs in; revoked: the device no longer does.
        rotated = credentials_cli(store, "rotate", "dev-1", "--reload-broker", pid)
        credentials_cli(store, "revoke", "dev-2", "--reload-broker", pid)
        time.sleep(0.3)
        old, new, gone = (
            Client(broker, "dev-1", one["token"]),
            Client(broker, "dev-1", rotated["token"]),
            Client(broker, "dev-2", two["token"]),
        )
        clients += [old, new, gone]
        assert (old.accepted, new.accepted, gone.accepted) == (False, True, False)
        assert sorted(credentials_cli(store, "list")["devices"]) == ["dev-1"]
    finally:
        for client in clients:
            client.close()


def test_the_interlock_refuses_an_anonymous_broker_unless_told(
    tmp_path, anonymous_broker, secure_broker, credentials
):
    refused = subprocess.run(
        interlock_command(
            tmp_path / "journal",
            "--source",
            "mqtt",
            "--broker",
            anonymous_broker.address,
            "--credentials",
            str(credentials.directory),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert "anonymous client" in line and "--allow-anonymous-broker" in line
    # The shipped configuration passes the probe, and the interlock logs in with its account.
    ready = tmp_path / "ready.json"
    process = start_interlock(
        tmp_path / "journal-2",
        "--source",
        "mqtt",
        "--broker",
        secure_broker.broker.address,
        "--credentials",
        str(secure_broker.store.directory),
        "--ready-file",
        str(ready),
    )
    try:
        read_ready(ready)
        assert process.poll() is None
    finally:
        stop_process(process)


def test_a_device_believes_only_what_the_interlock_signed(anonymous_broker):
    broker = anonymous_broker
    key = new_private_key()
    signer = Signer(key, "cryoderm-interlock")
    forger = Signer(new_private_key(), "cryoderm-interlock")
    link = MqttDeviceLink(broker.host, broker.port, interlock_key=public_key_of(key))
    device = Recorder("dev-1")
    link.attach(device)
    attacker = Client(broker)
    try:
        genuine = signer.seal_bytes("heartbeat", {})
        stale = Signer(key, "cryoderm-interlock")
        stale_payload = stale.seal("heartbeat", {})
        body = json.loads(stale_payload["signed"])
        body["wall_time_s"] -= 5.0  # re-signed below with the real key, but 5 s old
        text = json.dumps(body).encode()
        import base64

        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        sig = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key)).sign(text)
        old = json.dumps({"signed": text.decode(), "sig": base64.b64encode(sig).decode()})
        forged = [
            b'{"interlock_id": "cryoderm-interlock", "wall_time_s": 1.0}',  # unsigned
            forger.seal_bytes("heartbeat", {}),  # another key
            old.encode(),  # too old
            signer.seal_bytes("command", {"command": "resume", "device_id": "dev-1"}),  # wrong kind
        ]
        for payload in forged:
            attacker.publish(f"{PREFIX}/interlock/heartbeat", payload)
        for command in (
            b'{"command": "resume"}',
            forger.seal_bytes("command", {"command": "resume", "device_id": "dev-1"}),
            signer.seal_bytes("command", {"command": "resume", "device_id": "dev-2"}),
        ):
            attacker.publish(f"{PREFIX}/devices/dev-1/commands", command)
        time.sleep(0.5)
        assert device.heartbeats == 0 and device.commands == []
        attacker.publish(f"{PREFIX}/interlock/heartbeat", genuine)
        wait_for(lambda: device.heartbeats == 1)
        attacker.publish(f"{PREFIX}/interlock/heartbeat", genuine)  # a replay
        resume = signer.seal_bytes("command", {"command": "resume", "device_id": "dev-1"})
        attacker.publish(f"{PREFIX}/devices/dev-1/commands", resume)
        wait_for(lambda: len(device.commands) == 1)
        attacker.publish(f"{PREFIX}/devices/dev-1/commands", resume)  # a replay
        time.sleep(0.5)
        assert device.heartbeats == 1 and len(device.commands) == 1
        assert link.rejected == len(forged) + 3 + 2
    finally:
        attacker.close()
        link.close()


def start_on_open_broker(journal_dir, ready, broker, credentials):
    """The interlock on an open broker (told to accept it), once it is running."""
    process = start_interlock(
        journal_dir,
        *("--source", "mqtt", "--broker", broker.address, "--allow-anonymous-broker"),
        *("--ready-file", str(ready)),
        credentials=credentials,
    )
    read_ready(ready)
    return process


def test_the_reported_spoofing_attack_on_an_open_broker_stops_the_session_at_once(
    tmp_path, anonymous_broker, credentials
):
    broker = anonymous_broker
    journal_dir = tmp_path / "journal"
    process = start_on_open_broker(journal_dir, tmp_path / "ready.json", broker, credentials)
    link = MqttDeviceLink(broker.host, broker.port, interlock_key=credentials.public_key())
    spoofer = Client(broker)
    device = Recorder("dev-1")
    try:
        link.attach(device)
        start_session(journal_dir, "s-spoof", "dev-1", modality="cold-air", planned_duration_s=15.0)
        for seq in range(1, 11):  # the real sensor, warm, 1 s
            link.publish_reading(Reading("dev-1", seq, 30.0, time.time()))
            time.sleep(0.1)
        halt = threading.Event()

        def spoof() -> None:
            seq = 10**9
            while not halt.is_set():
                spoofer.client.publish(
                    f"{PREFIX}/devices/dev-1/readings", reading("dev-1", seq, 30.0), qos=1
                )
                seq += 1
                time.sleep(0.05)

        thread = threading.Thread(target=spoof, daemon=True)
        attacked_at = time.monotonic()
        thread.start()
        for seq in range(11, 40):  # the real sensor now reads at the 2 C floor
            if device.stopped.is_set():
                break
            link.publish_reading(Reading("dev-1", seq, 2.0, time.time()))
            time.sleep(0.1)
        assert device.stopped.wait(5.0)
        stopped_after_s = time.monotonic() - attacked_at
        halt.set()
        thread.join(5)
        time.sleep(0.5)
    finally:
        spoofer.close()
        link.close()
        stop_process(process)
    assert stopped_after_s < 1.0  # not the plan's 15 s
    with Journal(journal_dir) as journal:
        (stop,) = entries_of(journal, "s-spoof", ["stop"])
        readings = entries_of(journal, "s-spoof", ["reading"])
        alarms = [e.payload["condition"] for e in entries_of(journal, "s-spoof", ["alarm"])]
    assert stop.payload["reason"] in ("technical-fault", "floor")
    assert "sequence-jump" in alarms
    spoofed = [r for r in readings if r.payload["seq"] >= 10**9]
    assert spoofed and not [r for r in spoofed if r.payload["valid"]]


def _post(url, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_the_http_ingest_wants_the_devices_own_token(tmp_path, credentials):
    one, two = credentials.add("dev-1"), credentials.add("dev-2")
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    process = start_interlock(
        journal_dir,
        "--source",
        "http",
        "--http-port",
        "0",
        "--credentials",
        str(credentials.directory),
        "--ready-file",
        str(ready),
    )
    try:
        url = f"http://127.0.0.1:{read_ready(ready)['port']}/v1/readings"
        start_session(journal_dir, "s-1", "dev-1", modality="cold-air")
        start_session(journal_dir, "s-2", "dev-2", modality="cold-air")
        body = reading("dev-1", 1, 30.0)
        assert _post(url, body)[0] == 401
        assert _post(url, body, "not-a-token")[0] == 401
        status, answer = _post(url, body, one.token)
        assert status == 200 and answer["acked"]["seq"] == 1
        assert answer["heartbeat"]["sig"]  # signed by the interlock
        # dev-2's token speaking for dev-1: both sessions stop, with a technical alarm.
        status, answer = _post(url, reading("dev-1", 2, 30.0), two.token)
        assert status == 403 and "claims to come from" in answer["error"]
        with Journal(journal_dir) as journal:
            for session_id in ("s-1", "s-2"):
                (stop,) = wait_for(lambda s=session_id: entries_of(journal, s, ["stop"]))
                assert stop.payload["reason"] == "technical-fault"
                assert stop.payload["detail"] == "wrong-client"
        # Rotating a token applies without a restart.
        rotated = credentials.rotate("dev-1")
        assert _post(url, reading("dev-1", 3, 30.0), one.token)[0] == 401
        assert _post(url, reading("dev-1", 3, 30.0), rotated.token)[0] == 200
    finally:
        stop_process(process)


def test_a_reading_under_another_devices_topic_stops_both_sessions(
    tmp_path, anonymous_broker, credentials
):
    broker = anonymous_broker
    journal_dir = tmp_path / "journal"
    process = start_on_open_broker(journal_dir, tmp_path / "ready.json", broker, credentials)
    sender = Client(broker)
    try:
        start_session(journal_dir, "s-a", "dev-a", modality="cold-air")
        start_session(journal_dir, "s-b", "dev-b", modality="cold-air")
        sender.publish(f"{PREFIX}/devices/dev-b/readings", reading("dev-a", 1, 30.0))
        with Journal(journal_dir) as journal:
            for session_id in ("s-a", "s-b"):
                (alarm,) = wait_for(
                    lambda s=session_id: [
                        e
                        for e in entries_of(journal, s, ["alarm"])
                        if e.payload["condition"] == "wrong-client"
                    ]
                )
                assert alarm.payload["category"] == "technical"
    finally:
        sender.close()
        stop_process(process)


def test_device_links_log_in_with_their_token(secure_broker):
    broker, store = secure_broker.broker, secure_broker.store
    issued = store.add("dev-9")
    broker.reload()
    link = MqttDeviceLink(
        broker.host,
        broker.port,
        interlock_key=store.public_key(),
        login=BrokerLogin("dev-9", issued.token),
    )
    link.close()
