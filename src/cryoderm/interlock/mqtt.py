"""MQTT transport (paho-mqtt) for the interlock, and the device side for simulated devices.

Topics (prefix default ``cryoderm/v1``; docs/interlock.md has the payloads):

- ``{prefix}/devices/{device_id}/readings``  device -> interlock, QoS 1
- ``{prefix}/devices/{device_id}/status``    device -> interlock, QoS 1
- ``{prefix}/devices/{device_id}/commands``  interlock -> device, QoS 1
- ``{prefix}/devices/{device_id}/acks``      interlock -> device, QoS 0 (after fsync)
- ``{prefix}/interlock/heartbeat``           interlock -> devices, QoS 0
- ``{prefix}/interlock/status``              retained; ``offline`` is the interlock's will

The interlock connects with MQTT 5, a persistent session (kept SESSION_EXPIRY_S) and a
Receive Maximum of 65535, and acknowledges each reading to the broker (PUBACK, manual) only
after the journal has it, so a reading the interlock never recorded is redelivered by the
broker when a restarted interlock reconnects (up to the broker's queue limit: Mosquitto's
max_queued_messages, 1000 by default). Devices talk MQTT 3.1.1 or 5.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cryoderm.interlock.embedded import DeviceEndpoint
from cryoderm.interlock.errors import InvalidInterlockInput
from cryoderm.interlock.model import DeviceCommand, Reading, check_device_id
from cryoderm.interlock.transport import Deliver, InboundReading, InboundStatus

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "cryoderm/v1"
# The broker keeps the interlock's session (subscriptions, unacknowledged readings) this long
# while it is disconnected (a restart by the watchdog takes about a second).
SESSION_EXPIRY_S = 3600
# Device ids already checked (topic segments), so that a reading costs a set look-up; bounded
# so that a client publishing under ever new ids cannot grow it without limit.
_CHECKED_IDS_MAX = 10_000


def _loads(payload: bytes | bytearray) -> Any:
    """JSON from a message: orjson (every reading goes through here), or the json module
    for what orjson refuses but the json module reads (a bare NaN, as Python writes it)."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)


def _dumps(body: Any) -> bytes:
    return orjson.dumps(body)


def _finite_or_none(value: float | None) -> bool:
    return value is None or math.isfinite(value)


def parse_broker(address: str) -> tuple[str, int]:
    """``host:port`` (port default 1883) -> (host, port)."""
    host, _, port = address.partition(":")
    try:
        number = int(port) if port else 1883
    except ValueError:
        number = -1
    if not host or not 0 < number < 65536:
        raise InvalidInterlockInput(
            f"broker = {address!r}: host:port is required, e.g. 127.0.0.1:1883"
        )
    return host, number


def _connect(
    client: paho.Client,
    host: str,
    port: int,
    timeout_s: float,
    properties: Properties | None = None,
) -> None:
    connected = threading.Event()
    failure: list[str] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            failure.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    try:
        if properties is None:
            client.connect(host, port, keepalive=10)
        else:
            client.connect(host, port, keepalive=10, clean_start=False, properties=properties)
    except OSError as error:
        raise InvalidInterlockInput(f"broker = {host}:{port}: cannot connect ({error})") from None
    client.loop_start()
    if not connected.wait(timeout_s) or failure:
        client.loop_stop()
        raise InvalidInterlockInput(
            f"broker = {host}:{port}: no connection within {timeout_s} s {failure or ''}".strip()
        )


class MqttTransport:
    """The interlock's side. ``client_id`` must stay the same across restarts so that the
    broker keeps the persistent session (and its undelivered readings)."""

    name = "mqtt"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        prefix: str = DEFAULT_PREFIX,
        client_id: str = "cryoderm-interlock",
        connect_timeout_s: float = 5.0,
        session_expiry_s: int = SESSION_EXPIRY_S,
    ) -> None:
        self.host, self.port, self.prefix = host, port, prefix.rstrip("/")
        self.session_expiry_s = session_expiry_s
        self.interlock_id = client_id
        self.connect_timeout_s = connect_timeout_s
        self._deliver: Deliver | None = None
        self._checked_ids: set[str] = set()
        # MQTT 5: with manual acknowledgements the broker may only have "Receive Maximum"
        # readings in flight to us; MQTT 3.1.1 leaves that to the broker (Mosquitto: 20),
        # which would cap the interlock at 20 readings per fsync.
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5, manual_ack=True
        )
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        status = f"{self.prefix}/interlock/status"
        self._client.will_set(
            status, json.dumps({"state": "offline", "interlock_id": client_id}), qos=1, retain=True
        )

    def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)
        properties.ReceiveMaximum = 65535
        properties.SessionExpiryInterval = self.session_expiry_s
        _connect(self._client, self.host, self.port, self.connect_timeout_s, properties)
        self._client.on_connect = self._on_reconnect
        self._subscribe()

    def _subscribe(self) -> None:
        self._client.subscribe(
            [
                (f"{self.prefix}/devices/+/readings", 1),
                (f"{self.prefix}/devices/+/status", 1),
            ]
        )
        self._client.publish(
            f"{self.prefix}/interlock/status",
            json.dumps({"state": "online", "interlock_id": self.interlock_id}),
            qos=1,
            retain=True,
        )

    def _on_reconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            self._subscribe()

    def _on_message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        parts = message.topic.split("/")
        kind, device_id = parts[-1], parts[-2]
        try:
            if device_id not in self._checked_ids:
                check_device_id(device_id)
                if len(self._checked_ids) >= _CHECKED_IDS_MAX:
                    self._checked_ids.clear()
                self._checked_ids.add(device_id)
            data = _loads(message.payload)
            if kind == "readings":
                reading = Reading.from_json(data)
                if reading.device_id != device_id:
                    raise InvalidInterlockInput(
                        f"reading.device_id = {reading.device_id!r}: the topic names {device_id!r}"
                    )
                if self._deliver is not None:
                    self._deliver(InboundReading(reading, self, (message.mid, message.qos)))
                    return
            elif kind == "status" and isinstance(data, dict) and self._deliver is not None:
                self._deliver(InboundStatus(device_id, data, self))
        except (InvalidInterlockInput, ValueError) as error:
            log.warning("dropped a malformed message on %s: %s", message.topic, error)
        self._client.ack(message.mid, message.qos)

    def send_command(self, device_id: str, command: DeviceCommand, detail: dict[str, Any]) -> None:
        body = {"command": command.value, **detail}
        self._client.publish(f"{self.prefix}/devices/{device_id}/commands", _dumps(body), qos=1)

    def heartbeat(self, wall_time_s: float) -> None:
        body = {"interlock_id": self.interlock_id, "wall_time_s": wall_time_s}
        self._client.publish(f"{self.prefix}/interlock/heartbeat", json.dumps(body), qos=0)

    def acknowledge(self, receipts: Sequence[tuple[InboundReading, int]]) -> None:
        by_device: dict[str, tuple[list[int], list[int]]] = {}
        for receipt, journal_seq in receipts:
            seqs, journal_seqs = by_device.setdefault(receipt.reading.device_id, ([], []))
            seqs.append(receipt.reading.seq)
            journal_seqs.append(journal_seq)
        for device_id, (seqs, journal_seqs) in by_device.items():
            # QoS 0: a lost acknowledgement only makes the device send the reading again,
            # which the journal records once; QoS 1 would double the interlock's messages.
            self._client.publish(
                f"{self.prefix}/devices/{device_id}/acks",
                _dumps({"seqs": seqs, "journal_seqs": journal_seqs}),
                qos=0,
            )
        for receipt, _ in receipts:
            mid, qos = receipt.token
            self._client.ack(mid, qos)

    def close(self) -> None:
        self._client.publish(
            f"{self.prefix}/interlock/status",
            json.dumps({"state": "offline", "interlock_id": self.interlock_id}),
            qos=1,
            retain=True,
        ).wait_for_publish(2.0)
        self._client.disconnect()
        self._client.loop_stop()


class MqttDeviceLink:
    """A device's side: publishes readings and status; hands commands, heartbeats and acks
    to the attached :class:`~.embedded.DeviceEndpoint` (from paho's network thread).

    One link may carry several devices (a bench fleet): attach each. A link subscribes to
    the commands and acknowledgements of the devices attached to it only, as a device does.

    network_thread=False: no network thread; the caller runs the link's network loop by
    calling :meth:`service` when :meth:`fileno` is readable (and at least every second, for
    the keep-alive), and the callbacks run in that call. One thread can then drive many
    links with a selector, as the benchmark's fleet of simulated devices does."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        prefix: str = DEFAULT_PREFIX,
        client_id: str | None = None,
        connect_timeout_s: float = 5.0,
        network_thread: bool = True,
    ) -> None:
        self.prefix = prefix.rstrip("/")
        self.connect_timeout_s = connect_timeout_s
        self._devices: dict[str, DeviceEndpoint] = {}
        self.interlock_offline = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"cryoderm-device-{uuid.uuid4().hex[:12]}",
        )
        self._client.max_inflight_messages_set(1000)
        self._client.on_message = self._on_message
        self._subscribed: set[int] = set()
        self._subscribed_changed = threading.Condition()
        self._client.on_subscribe = self._on_subscribe
        _connect(self._client, host, port, connect_timeout_s)
        self._threaded = True
        self._subscribe(
            [(f"{self.prefix}/interlock/heartbeat", 0), (f"{self.prefix}/interlock/status", 1)]
        )
        if not network_thread:
            self._client.loop_stop()
            self._threaded = False

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, _codes: Any, _p: Any) -> None:
        with self._subscribed_changed:
            self._subscribed.add(mid)
            self._subscribed_changed.notify_all()

    def _subscribe(self, topics: list[tuple[str, int]]) -> None:
        """Subscribe and wait for the broker's answer, so that nothing sent to the device
        after this returns is missed."""
        _, mid = self._client.subscribe(topics)
        if mid is None:
            return
        deadline = time.monotonic() + self.connect_timeout_s
        while time.monotonic() < deadline:
            with self._subscribed_changed:
                if mid in self._subscribed:
                    self._subscribed.discard(mid)
                    return
                if self._threaded:
                    self._subscribed_changed.wait(deadline - time.monotonic())
                    continue
            self._client.loop(0.05)

    def attach(self, device: DeviceEndpoint) -> None:
        self._devices[device.device_id] = device
        self._subscribe(
            [
                (f"{self.prefix}/devices/{device.device_id}/commands", 1),
                (f"{self.prefix}/devices/{device.device_id}/acks", 0),
            ]
        )

    def fileno(self) -> int:
        """The link's socket (network_thread=False: to wait on with a selector)."""
        sock = self._client.socket()
        if sock is None:
            raise InvalidInterlockInput("the device link is not connected to the broker")
        return sock.fileno()

    def service(self) -> None:
        """Without a network thread: read what has arrived (the callbacks run here), send
        what is pending, keep the connection alive. Does not wait."""
        self._client.loop(0.0)

    def publish_reading(self, reading: Reading) -> None:
        self._client.publish(
            f"{self.prefix}/devices/{reading.device_id}/readings",
            _dumps(reading.to_json())
            if _finite_or_none(reading.skin_temp_c)
            # Infinity: the json module's spelling, as a device written in Python sends it.
            else json.dumps(reading.to_json()),
            qos=1,
        )

    def clear_retained(self) -> None:
        """Remove the interlock's retained status under this prefix (tests, benchmarks)."""
        info = self._client.publish(f"{self.prefix}/interlock/status", b"", qos=1, retain=True)
        if self._threaded:
            info.wait_for_publish(2.0)
            return
        deadline = time.monotonic() + 2.0
        while not info.is_published() and time.monotonic() < deadline:
            self._client.loop(0.05)

    def publish_status(self, device_id: str, status: dict[str, Any]) -> None:
        self._client.publish(f"{self.prefix}/devices/{device_id}/status", _dumps(status), qos=1)

    def _on_message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            data = _loads(message.payload)
        except ValueError:
            return
        parts = message.topic.split("/")
        if parts[-2] == "interlock":
            if parts[-1] == "heartbeat":
                for device in list(self._devices.values()):
                    device.on_heartbeat(float(data.get("wall_time_s", 0.0)))
            elif parts[-1] == "status" and data.get("state") == "offline":
                self.interlock_offline.set()
            return
        target = self._devices.get(parts[-2])
        if target is None:
            return
        if parts[-1] == "commands":
            try:
                command = DeviceCommand(data.get("command"))
            except ValueError:
                return
            target.on_command(command, {k: v for k, v in data.items() if k != "command"})
        elif parts[-1] == "acks":
            for seq, journal_seq in zip(
                data.get("seqs", []), data.get("journal_seqs", []), strict=False
            ):
                target.on_ack(int(seq), int(journal_seq))

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
