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

import contextlib
import logging
import queue
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cryoderm.interlock.acks import open_ack, seal_ack
from cryoderm.interlock.credentials import ack_key
from cryoderm.interlock.embedded import DeviceEndpoint
from cryoderm.interlock.errors import BrokerRefused, BrokerUnavailable, InvalidInterlockInput
from cryoderm.interlock.liveness import NetworkWatch
from cryoderm.interlock.model import DeviceCommand, Reading, check_device_id, status_from_json
from cryoderm.interlock.signing import Signer, device_verifier
from cryoderm.interlock.transport import Deliver, InboundReading, InboundRejected, InboundStatus
from cryoderm.interlock.wire import (
    RejectedMessage,
    WrongClient,
    caps,
    clip,
    decode,
    rejection_reason,
    show,
)

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "cryoderm/v1"
# The broker keeps the interlock's session (subscriptions, unacknowledged readings) this long
# while it is disconnected (a restart by the watchdog takes about a second).
SESSION_EXPIRY_S = 3600
# Device ids already checked (topic segments), so that a reading costs a set look-up; bounded
# so that a client publishing under ever new ids cannot grow it without limit.
_CHECKED_IDS_MAX = 10_000
# After a lost connection the interlock reconnects after this long, doubling up to the max.
RECONNECT_MIN_S = 0.1
RECONNECT_MAX_S = 2.0


# A device link logs this many unreadable messages, then only counts them.
_DEVICE_LOG_REJECTS = 5


def _dumps(body: Any) -> bytes:
    return orjson.dumps(body)


@dataclass(frozen=True)
class BrokerLogin:
    """How a client logs in to the broker: user name and password (the broker's password
    file, :mod:`.credentials`), and the CA certificate that signs the broker's TLS
    certificate (None: plain TCP, for a broker on loopback only; docs/interlock.md)."""

    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None

    def apply(self, client: paho.Client) -> None:
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls_ca is not None:
            client.tls_set(ca_certs=str(self.tls_ca))


ANONYMOUS = BrokerLogin()


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


def _no_delay(_client: Any, _userdata: Any, sock: Any) -> None:
    """Send every MQTT packet at once (TCP_NODELAY), on each new connection.

    paho leaves Nagle's algorithm on: a small packet (a reading, a stop, an acknowledgement)
    written while an earlier one is still unacknowledged by TCP is then held back until that
    acknowledgement comes, and the receiver may delay it (Linux: up to 40 ms). Measured on
    the benchmark, this held back some stops by tens of milliseconds."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError) as error:  # not a TCP socket (e.g. a Unix socket)
        log.debug("TCP_NODELAY not set: %s", error)


def _pump(
    client: paho.Client, timeout_s: float, wake: socket.socket | None = None
) -> tuple[int, bool]:
    """One turn of paho's network loop, driven from outside paho (its documented external
    loop: ``socket()``, ``want_write()``, ``loop_read()``, ``loop_write()``, ``loop_misc()``):
    wait up to ``timeout_s`` for the socket (or ``wake``), read, write, keep alive.

    Returns (paho's error code, 0 when all is well; whether ``wake`` was readable). Not
    paho's own ``loop()``/``loop_start()``: they add a wake-up socket pair to which every
    later ``publish`` writes a byte, a system call per message and, with paho's thread, a
    wake-up of that thread for each message another thread sends."""
    sock = client.socket()
    if sock is None:
        return int(paho.MQTT_ERR_NO_CONN), False
    rlist: list[Any] = [sock] if wake is None else [sock, wake]
    wlist: list[Any] = [sock] if client.want_write() else []
    try:
        readable, _, _ = select.select(rlist, wlist, [], timeout_s)
    except (OSError, ValueError):
        return int(paho.MQTT_ERR_CONN_LOST), False
    rc = int(paho.MQTT_ERR_SUCCESS)
    if sock in readable:
        rc = int(client.loop_read())
    if not rc and client.want_write():
        rc = int(client.loop_write())
    if not rc:
        rc = int(client.loop_misc())
    return rc, wake is not None and wake in readable


def _connect(
    client: paho.Client,
    host: str,
    port: int,
    timeout_s: float,
    properties: Properties | None = None,
    *,
    threaded: bool,
) -> None:
    """Connect and wait for the broker's answer. threaded: then run paho's own network
    thread (``loop_start``); otherwise the caller drives the loop with :func:`_pump`."""
    connected = threading.Event()
    failure: list[str] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            failure.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    client.on_socket_open = _no_delay
    try:
        if properties is None:
            client.connect(host, port, keepalive=10)
        else:
            client.connect(host, port, keepalive=10, clean_start=False, properties=properties)
    except OSError as error:
        raise BrokerUnavailable(f"broker = {host}:{port}: cannot connect ({error})") from None
    if threaded:
        client.loop_start()
        connected.wait(timeout_s)
    else:
        deadline = time.monotonic() + timeout_s
        while not connected.is_set() and time.monotonic() < deadline:
            if _pump(client, 0.05)[0]:
                break
    if not connected.is_set() or failure:
        if threaded:
            client.loop_stop()
        if failure:
            raise BrokerRefused(f"broker = {host}:{port}: refused the login ({failure[0]})")
        raise BrokerUnavailable(f"broker = {host}:{port}: no connection within {timeout_s} s")


# The probe publishes as this device (ids beginning "cryoderm-" are never given to devices).
PROBE_DEVICE_ID = "cryoderm-anonymous-probe"


def probe_anonymous(
    host: str, port: int, prefix: str, *, tls_ca: Path | None = None, timeout_s: float = 5.0
) -> str | None:
    """Whether an anonymous client can connect to the broker and publish a reading (MQTT 5,
    whose PUBACK says whether the broker took it): a one-line finding, or None when the
    broker refuses the connection or the publication. Raises BrokerUnavailable when the
    broker cannot be reached at all."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{PROBE_DEVICE_ID}-{uuid.uuid4().hex[:8]}",
        protocol=paho.MQTTv5,
    )
    BrokerLogin(tls_ca=tls_ca).apply(client)
    answered = threading.Event()
    accepted: list[bool] = []

    def on_publish(_c: Any, _u: Any, _mid: int, reason: Any, _p: Any) -> None:
        accepted.append(not reason.is_failure)
        answered.set()

    client.on_publish = on_publish
    try:
        _connect(client, host, port, timeout_s, threaded=True)
    except BrokerRefused:
        return None
    try:
        body = {"probe": "can an anonymous client publish readings here?"}
        client.publish(
            f"{prefix.rstrip('/')}/devices/{PROBE_DEVICE_ID}/readings", _dumps(body), qos=1
        )
        answered.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
    if accepted and accepted[0]:
        return (
            f"the broker {host}:{port} lets an anonymous client connect and publish readings "
            "(anyone on it could mask a sensor)"
        )
    return None


class MqttTransport:
    """The interlock's side. ``client_id`` must stay the same across restarts so that the
    broker keeps the persistent session (and its undelivered readings)."""

    name = "mqtt"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        signer: Signer,
        login: BrokerLogin = ANONYMOUS,
        prefix: str = DEFAULT_PREFIX,
        client_id: str = "cryoderm-interlock",
        connect_timeout_s: float = 5.0,
        session_expiry_s: int = SESSION_EXPIRY_S,
        ack_keys: Callable[[str], bytes | None] | None = None,
    ) -> None:
        self.host, self.port, self.prefix = host, port, prefix.rstrip("/")
        self.signer = signer
        # Each device's acknowledgement key (:mod:`.acks`; None: a device without
        # credentials, whose acknowledgements go out bare).
        self._ack_keys = ack_keys or (lambda _device_id: None)
        self.session_expiry_s = session_expiry_s
        self.interlock_id = client_id
        self.connect_timeout_s = connect_timeout_s
        self._deliver: Deliver | None = None
        self._watch = NetworkWatch(None)
        self._checked_ids: set[str] = set()
        self._caps = caps("device")
        # The transport's own network thread (see start); every paho call is made in it.
        self._thread: threading.Thread | None = None
        self._network_thread: int | None = None
        self._closing = False
        # Why the interlock says it is offline (its journal fails), None while it guards.
        self._offline_reason: str | None = None
        # Work handed to the network thread by other threads (acknowledgements, heartbeats,
        # timer and operator stops), and one byte on a socket pair to wake it.
        self._calls: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_pending = False
        # MQTT 5: with manual acknowledgements the broker may only have "Receive Maximum"
        # readings in flight to us; MQTT 3.1.1 leaves that to the broker (Mosquitto: 20),
        # which would cap the interlock at 20 readings per fsync.
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5, manual_ack=True
        )
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        login.apply(self._client)
        status = f"{self.prefix}/interlock/status"
        # Signed now, published by the broker when the connection is lost: a device obeys a
        # signed "offline" whenever it comes (stopping is safe).
        self._client.will_set(
            status, signer.seal_bytes("status", {"state": "offline"}), qos=1, retain=True
        )

    def start(self, deliver: Deliver, watch: NetworkWatch | None = None) -> None:
        self._deliver = deliver
        self._watch = watch or NetworkWatch(None)
        self._client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)
        properties.ReceiveMaximum = 65535
        properties.SessionExpiryInterval = self.session_expiry_s
        _connect(
            self._client, self.host, self.port, self.connect_timeout_s, properties, threaded=False
        )
        self._client.on_connect = self._on_reconnect
        self._subscribe()
        # Our own network thread rather than paho's (loop_start): readings are judged in it,
        # a stop is written from it at once, and other threads hand it their messages in
        # batches (one wake-up per journal commit for all its acknowledgements).
        self._thread = threading.Thread(
            target=self._network_loop, name="interlock-mqtt", daemon=True
        )
        self._thread.start()

    def _network_loop(self) -> None:
        self._network_thread = threading.get_ident()
        delay_s = RECONNECT_MIN_S
        while not self._closing:
            self._watch.stamp()
            try:
                rc, woken = _pump(self._client, 0.25, self._wake_r)
                if woken:
                    self._run_calls()
                if not rc:
                    delay_s = RECONNECT_MIN_S
                    continue
                # The connection is lost (broker restarted, network): what other threads
                # hand over still runs (paho keeps QoS 1 messages for the new connection),
                # and the broker redelivers the readings not yet acknowledged to it.
                self._run_calls()
                log.warning("interlock: MQTT connection lost (%s); reconnecting", rc)
                time.sleep(delay_s)
                delay_s = min(2 * delay_s, RECONNECT_MAX_S)
                if not self._closing:
                    self._client.reconnect()
            except OSError as error:
                log.warning("interlock: MQTT reconnect failed: %s", error)
            except Exception:
                # Never let the network thread die: it is how readings arrive and stops leave.
                log.exception("interlock: MQTT network loop fault; continuing")

    def _soon(self, call: Callable[[], object]) -> None:
        """Run ``call`` in the network thread (now, if this is it)."""
        if threading.get_ident() == self._network_thread:
            call()
            return
        self._calls.put(call)
        if not self._wake_pending:
            self._wake_pending = True
            # BlockingIOError: the socket pair is full of wake-ups already.
            with contextlib.suppress(BlockingIOError):
                self._wake_w.send(b"\0")

    def _run_calls(self) -> None:
        # One byte per wake-up at most (see _soon): a single read empties the pair.
        with contextlib.suppress(BlockingIOError):
            self._wake_r.recv(4096)
        # Cleared before the queue is drained: a call queued from now on wakes us again.
        self._wake_pending = False
        while True:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                return
            call()

    def _subscribe(self) -> None:
        self._client.subscribe(
            [
                (f"{self.prefix}/devices/+/readings", 1),
                (f"{self.prefix}/devices/+/status", 1),
            ]
        )
        self._publish_state()

    def _publish_state(self) -> None:
        """The interlock's retained status, as it is now: ``online``, or ``offline`` with
        why while its journal fails (a reconnection must not announce it online then)."""
        body: dict[str, Any] = {"state": "online" if self._offline_reason is None else "offline"}
        if self._offline_reason is not None:
            body["reason"] = self._offline_reason
        self._client.publish(
            f"{self.prefix}/interlock/status",
            self.signer.seal_bytes("status", body),
            qos=1,
            retain=True,
        )

    def _on_reconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            self._subscribe()

    def _on_message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        """Each message on its own (:meth:`NetworkWatch.handle`, the path HTTP shares):
        whatever reading or handling it raises (RecursionError included), it is rejected,
        counted, and acknowledged to the broker, so that it is never delivered again (not
        even to a restarted interlock); the network thread goes on. A reading handed to the
        interlock is acknowledged once the journal has it."""
        handed_over = False
        try:
            handed_over = bool(
                self._watch.handle(
                    message.topic,
                    message.payload,
                    lambda: self._receive(message),
                    lambda error: self._reject(message.topic, error),
                )
            )
        finally:
            if not handed_over:
                self._client.ack(message.mid, message.qos)

    def _receive(self, message: paho.MQTTMessage) -> bool:
        """Read one message and hand it to the interlock; True if the interlock now owns its
        acknowledgement (a reading)."""
        parts = message.topic.split("/")
        kind, device_id = parts[-1], parts[-2]
        if device_id == PROBE_DEVICE_ID:
            # The start-up probe's own publication (delivered if the broker let it through,
            # perhaps to a later interlock through the persistent session): not a device.
            return False
        if device_id not in self._checked_ids:
            check_device_id(device_id)
            if len(self._checked_ids) >= _CHECKED_IDS_MAX:
                self._checked_ids.clear()
            self._checked_ids.add(device_id)
        if message.retain:
            # Replayed from the broker's retained store at a subscription (every reconnection
            # of every later interlock), not sent now: a stale reading, or a "running" status
            # that would announce a session nobody started.
            raise RejectedMessage(
                "retained", "a retained message is not a live one: publish without retain"
            )
        data = decode(message.payload, self._caps)
        if self._deliver is None:
            return False
        if kind == "readings":
            reading = Reading.from_json(data)
            if reading.device_id != device_id:
                raise WrongClient(device_id, reading.device_id)
            self._deliver(InboundReading(reading, self, (message.mid, message.qos)))
            return True
        if kind == "status":
            self._deliver(InboundStatus(device_id, status_from_json(data), self))
        return False

    def _reject(self, topic: str, error: Exception) -> None:
        parts = topic.split("/")
        kind, device_id = parts[-1], parts[-2]
        rejected = InboundRejected(
            self,
            kind,
            device_id if device_id in self._checked_ids else None,
            rejection_reason(error, kind),
            clip(str(error)),
            error.claimed if isinstance(error, WrongClient) else None,
        )
        try:
            if self._deliver is not None:
                self._deliver(rejected)
                return
        except Exception:
            log.exception("interlock: counting a rejected message failed")
        log.warning("rejected a message on %s: %s", show(topic), rejected.detail)

    def send_command(self, device_id: str, command: DeviceCommand, detail: dict[str, Any]) -> None:
        topic = f"{self.prefix}/devices/{device_id}/commands"
        payload = self.signer.seal_bytes(
            "command", {**detail, "command": command.value, "device_id": device_id}
        )
        if threading.get_ident() != self._network_thread:
            # A timer or operator stop (another thread): the network thread sends it.
            self._soon(lambda: self._client.publish(topic, payload, qos=1))
            return
        # What other threads handed over earlier goes first (a RESUME the practitioner's
        # command decided before this STOP must not reach the device after it).
        self._run_calls()
        self._client.publish(topic, payload, qos=1)
        # A stop decided on a reading (inside on_message) goes onto the socket now, before
        # the loop reads and handles whatever else the socket holds (inside a callback paho
        # only queues it).
        self._client.loop_write()

    def heartbeat(self, wall_time_s: float) -> None:
        topic, payload = (
            f"{self.prefix}/interlock/heartbeat",
            self.signer.seal_bytes("heartbeat", {}),
        )
        self._soon(lambda: self._client.publish(topic, payload, qos=0))

    def acknowledge(self, receipts: Sequence[tuple[InboundReading, int]]) -> None:
        by_device: dict[str, tuple[list[int], list[int]]] = {}
        for receipt, journal_seq in receipts:
            seqs, journal_seqs = by_device.setdefault(receipt.reading.device_id, ([], []))
            seqs.append(receipt.reading.seq)
            journal_seqs.append(journal_seq)
        # Sealed here, in the journal's writer thread, off the stop path.
        acks = [
            (
                f"{self.prefix}/devices/{device_id}/acks",
                seal_ack(self._ack_keys(device_id), device_id, s, j),
            )
            for device_id, (s, j) in by_device.items()
        ]
        tokens = [receipt.token for receipt, _ in receipts]
        self._soon(lambda: self._send_acks(acks, tokens))

    def offline(self, reason: str) -> None:
        self._offline_reason = reason
        self._soon(self._publish_state)

    def online(self) -> None:
        self._offline_reason = None
        self._soon(self._publish_state)

    def dismiss(self, receipt: InboundReading) -> None:
        mid, qos = receipt.token
        self._soon(lambda: self._client.ack(mid, qos))

    def _send_acks(self, acks: list[tuple[str, bytes]], tokens: list[tuple[int, int]]) -> None:
        # QoS 0: a lost acknowledgement only makes the device send the reading again,
        # which the journal records once; QoS 1 would double the interlock's messages.
        for topic, payload in acks:
            self._client.publish(topic, payload, qos=0)
        # Then the broker may forget the readings (PUBACK): the journal has them.
        for mid, qos in tokens:
            self._client.ack(mid, qos)

    def close(self) -> None:
        self._closing = True
        if self._thread is not None:
            self._soon(lambda: None)
            self._thread.join(timeout=5.0)
        # No other thread drives paho now: send what was handed over, then say goodbye.
        self._network_thread = threading.get_ident()
        self._run_calls()
        info = self._client.publish(
            f"{self.prefix}/interlock/status",
            self.signer.seal_bytes("status", {"state": "offline"}),
            qos=1,
            retain=True,
        )
        deadline = time.monotonic() + 2.0
        while not info.is_published() and time.monotonic() < deadline:
            if _pump(self._client, 0.05)[0]:
                break
        self._client.disconnect()
        self._wake_r.close()
        self._wake_w.close()


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
        interlock_key: str,
        login: BrokerLogin = ANONYMOUS,
        prefix: str = DEFAULT_PREFIX,
        client_id: str | None = None,
        connect_timeout_s: float = 5.0,
        network_thread: bool = True,
    ) -> None:
        self.prefix = prefix.rstrip("/")
        self._verifier = device_verifier(interlock_key)
        # The acknowledgement key of the device logged in (its token's); a link without a
        # token (a development broker) takes bare acknowledgements.
        self._ack_key = None if login.password is None else ack_key(login.password)
        self.connect_timeout_s = connect_timeout_s
        self._devices: dict[str, DeviceEndpoint] = {}
        self.interlock_offline = threading.Event()
        # Messages this link could not read (counted; the first few are logged).
        self.rejected = 0
        self._caps = caps("interlock")
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"cryoderm-device-{uuid.uuid4().hex[:12]}",
        )
        self._client.max_inflight_messages_set(1000)
        login.apply(self._client)
        self._client.on_message = self._on_message
        self._subscribed: set[int] = set()
        self._subscribed_changed = threading.Condition()
        self._client.on_subscribe = self._on_subscribe
        # Every subscription made, made again after a reconnection: the link connects with a
        # clean session, so a broker that restarted (or dropped the connection) has
        # forgotten them, and a deaf link would never hear the interlock again.
        self._topics: list[tuple[str, int]] = []
        _connect(self._client, host, port, connect_timeout_s, threaded=network_thread)
        self._client.on_connect = self._on_reconnect
        self._threaded = network_thread
        self._subscribe(
            [(f"{self.prefix}/interlock/heartbeat", 0), (f"{self.prefix}/interlock/status", 1)]
        )

    def _on_reconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        # In the network thread: subscribe without waiting for the answer (it is read here).
        if not reason.is_failure and self._topics:
            self._client.subscribe(list(self._topics))

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, _codes: Any, _p: Any) -> None:
        with self._subscribed_changed:
            self._subscribed.add(mid)
            self._subscribed_changed.notify_all()

    def _subscribe(self, topics: list[tuple[str, int]]) -> None:
        """Subscribe and wait for the broker's answer, so that nothing sent to the device
        after this returns is missed."""
        self._topics += topics
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
            _pump(self._client, 0.05)

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
        _pump(self._client, 0.0)

    def publish_reading(self, reading: Reading) -> None:
        self._client.publish(
            f"{self.prefix}/devices/{reading.device_id}/readings",
            _dumps(reading.to_json()),
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
            _pump(self._client, 0.05)

    def publish_status(self, device_id: str, status: dict[str, Any]) -> None:
        self._client.publish(f"{self.prefix}/devices/{device_id}/status", _dumps(status), qos=1)

    def _on_message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        """Each message on its own: one the device cannot read is counted and dropped, and
        the link goes on (it must still hear the interlock's next heartbeat and stop)."""
        try:
            self._receive(message)
        except Exception as error:
            self.rejected += 1
            if self.rejected <= _DEVICE_LOG_REJECTS:
                log.warning(
                    "device link: rejected a message on %s: %s",
                    show(message.topic),
                    clip(str(error)),
                )

    def _receive(self, message: paho.MQTTMessage) -> None:
        data = decode(message.payload, self._caps)
        parts = message.topic.split("/")
        if parts[-2] == "interlock":
            if parts[-1] == "heartbeat":
                wall_time_s = self._verifier.heartbeat(data)
                for device in list(self._devices.values()):
                    device.on_heartbeat(wall_time_s)
            elif parts[-1] == "status" and self._verifier.status(data) == "offline":
                self.interlock_offline.set()
            return
        target = self._devices.get(parts[-2])
        if target is None:
            return
        if parts[-1] == "commands":
            command, detail = self._verifier.command(data, target.device_id)
            target.on_command(command, detail)
        elif parts[-1] == "acks":
            for seq, journal_seq in open_ack(data, self._ack_key, target.device_id, self._caps):
                target.on_ack(seq, journal_seq)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
