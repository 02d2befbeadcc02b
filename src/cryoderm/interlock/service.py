"""The interlock as a service: configuration, wiring of source and journal, the run loop.

``cryoderm interlock`` builds an :class:`InterlockService` from a :class:`ServiceConfig` and
runs it until SIGTERM/SIGINT. Sources:

- ``embedded``: devices live in this process; a session started through the control channel
  (``ControlClient.start``) gets a simulated device on a virtual face driven by the planner's
  case for its zone and modality, in real time (the demo and ``make run`` set-up).
- ``mqtt``: devices on an MQTT broker (:mod:`.mqtt`).
- ``http``: devices POST readings to the built-in HTTP ingest (:mod:`.http_ingest`).

Sessions start through the control channel (the clinic, after its gates) or, with
``allow_device_sessions``, when a device announces one in a status message.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryoderm.interlock.clock import SystemClock
from cryoderm.interlock.control import journal_command_poll, reject_command
from cryoderm.interlock.credentials import INTERLOCK_USER, CredentialStore, TokenCheck
from cryoderm.interlock.errors import AnonymousBroker, InvalidInterlockInput
from cryoderm.interlock.journal import Journal
from cryoderm.interlock.limits import guard_limits, technical_parameters
from cryoderm.interlock.model import PlannedCurve, SessionSpec
from cryoderm.interlock.runtime import Interlock
from cryoderm.interlock.signing import Signer
from cryoderm.interlock.transport import Transport
from cryoderm.interlock.wire import show

log = logging.getLogger(__name__)

SOURCES = ("embedded", "mqtt", "http")


@dataclass(frozen=True)
class ServiceConfig:
    """journal_dir: the journal directory. source: embedded | mqtt | http.
    broker: host:port for mqtt; topic_prefix; client_id: the interlock's MQTT client id (keep
    it across restarts: the broker keeps its queued readings). http_port: for http (0: any).
    credentials_dir: the interlock's key, broker password and the devices' token digests
    (:mod:`.credentials`; mqtt and http). mqtt_username: the interlock's broker account.
    broker_ca: CA certificate of the broker's TLS listener (None: plain TCP, loopback).
    allow_anonymous_broker: run even though the broker lets anonymous clients publish
    readings (development only; refused otherwise).
    allow_device_sessions: accept sessions announced by devices (demos, benchmarks).
    scheduling: the process's scheduling as obtained (:func:`.priority.elevate`), recorded
    in the journal's ``interlock-started`` entry."""

    journal_dir: Path
    source: str = "embedded"
    broker: str = "127.0.0.1:1883"
    topic_prefix: str = "cryoderm/v1"
    client_id: str = "cryoderm-interlock"
    http_host: str = "127.0.0.1"
    http_port: int = 8765
    credentials_dir: Path | None = None
    mqtt_username: str = INTERLOCK_USER
    broker_ca: Path | None = None
    allow_anonymous_broker: bool = False
    allow_device_sessions: bool = False
    scheduling: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise InvalidInterlockInput(f"source = {self.source!r}: one of {', '.join(SOURCES)}")


def spec_from_body(body: dict[str, Any]) -> SessionSpec:
    """A session spec from a start command or a device's status message (see control.py)."""
    for key in ("session_id", "zone", "modality"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise InvalidInterlockInput(
                f"start.{key} = {show(body.get(key))}: a non-empty string is required"
            )
    duration = body.get("planned_duration_s")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int | float)
    ):
        raise InvalidInterlockInput(f"start.planned_duration_s = {show(duration)}: seconds or null")
    delivered = body.get("delivered_exposure_s") or 0.0
    if isinstance(delivered, bool) or not isinstance(delivered, int | float):
        raise InvalidInterlockInput(f"start.delivered_exposure_s = {show(delivered)}: seconds")
    curve = body.get("planned_curve")
    planned_curve = None
    if curve is not None:
        try:
            planned_curve = PlannedCurve(
                tuple(map(float, curve["times_s"])), tuple(map(float, curve["temps_c"]))
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidInterlockInput(
                'start.planned_curve: {"times_s": [...], "temps_c": [...]} is required'
            ) from None
    return SessionSpec(
        session_id=body["session_id"],
        device_id=body.get("device_id", ""),
        zone=body["zone"],
        modality=body["modality"],
        limits=guard_limits(body["zone"], body["modality"]),
        planned_duration_s=None if duration is None else float(duration),
        planned_curve=planned_curve,
        delivered_exposure_s=float(delivered),
    )


class InterlockService:
    """One interlock with its source, journal and control channel."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        tech = technical_parameters()
        self.journal = Journal(config.journal_dir)
        self.fleet: EmbeddedFleet | None = None
        transport = self._transport()
        self.transport = transport
        factory = (
            (lambda device_id, status: spec_from_body({**status, "device_id": device_id}))
            if config.allow_device_sessions
            else None
        )
        self.interlock = Interlock(
            self.journal,
            [transport],
            clock=SystemClock(),
            tick_s=float(tech["loop"]["tick_s"]),
            heartbeat_s=float(tech["heartbeat"]["interval_s"]),
            session_factory=factory,
            started_detail=None if config.scheduling is None else {"scheduling": config.scheduling},
        )
        poll = journal_command_poll(self.interlock, spec_from_body)
        if self.fleet is not None:
            poll = journal_command_poll(self.interlock, spec_from_body, start=self.fleet.request)
        self.interlock.set_command_poll(poll)

    def _transport(self) -> Transport:
        config = self.config
        if config.source in ("mqtt", "http"):
            if config.credentials_dir is None:
                raise InvalidInterlockInput(
                    f"source = {config.source}: the interlock's credentials directory is required"
                )
            store = CredentialStore(config.credentials_dir)
            signer = Signer(store.private_key(), config.client_id)
        if config.source == "mqtt":
            from cryoderm.interlock.mqtt import BrokerLogin, MqttTransport, parse_broker

            host, port = parse_broker(config.broker)
            login = BrokerLogin(config.mqtt_username, store.interlock_password(), config.broker_ca)
            return MqttTransport(
                host,
                port,
                signer=signer,
                login=login,
                prefix=config.topic_prefix,
                client_id=config.client_id,
                ack_keys=TokenCheck(store).ack_key,
            )
        if config.source == "http":
            from cryoderm.interlock.http_ingest import HttpTransport

            return HttpTransport(
                config.http_host, config.http_port, signer=signer, tokens=TokenCheck(store)
            )
        from cryoderm.interlock.embedded import EmbeddedTransport

        embedded = EmbeddedTransport()
        self.fleet = EmbeddedFleet(embedded)
        return embedded

    def start(self) -> None:
        if self.config.source == "mqtt":
            self._refuse_an_anonymous_broker()
        self.interlock.start()
        if self.fleet is not None:
            self.fleet.bind(self.interlock)
            self.fleet.start()

    def _refuse_an_anonymous_broker(self) -> None:
        from cryoderm.interlock.mqtt import parse_broker, probe_anonymous

        config = self.config
        host, port = parse_broker(config.broker)
        finding = probe_anonymous(host, port, config.topic_prefix, tls_ca=config.broker_ca)
        if finding is None:
            return
        if not config.allow_anonymous_broker:
            raise AnonymousBroker(
                f"{finding}: refusing to start (use the shipped broker configuration, "
                "deploy/mosquitto, or --allow-anonymous-broker for development)"
            )
        log.warning("%s: running anyway (--allow-anonymous-broker)", finding)

    def stop(self) -> None:
        if self.fleet is not None:
            self.fleet.halt()
        self.interlock.shutdown()
        self.journal.close()


class EmbeddedFleet:
    """Simulated devices inside the interlock's process, stepped in real time (10 ms).

    A start command is handed to the fleet (not applied in the interlock's loop, which must
    never wait for the planner): the fleet plans the zone, builds the virtual face, starts
    the session with the plan's duration and curve, then powers the device on."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.devices: dict[str, Any] = {}
        self._requests: queue.SimpleQueue[tuple[int, dict[str, Any]]] = queue.SimpleQueue()
        self._halt = threading.Event()
        self._interlock: Interlock | None = None
        self._thread: threading.Thread | None = None

    def bind(self, interlock: Interlock) -> None:
        self._interlock = interlock

    def request(self, command_id: int, body: dict[str, Any]) -> None:
        self._requests.put((command_id, body))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="embedded-fleet", daemon=True)
        self._thread.start()

    def halt(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        # Import the planner and the engine now (seconds on a busy machine), not when the
        # first session is asked for.
        from cryoderm.interlock import face, simulation  # noqa: F401

        while not self._halt.wait(0.01):
            while True:
                try:
                    command_id, body = self._requests.get_nowait()
                except queue.Empty:
                    break
                assert self._interlock is not None
                try:
                    self._spawn(body)
                    self._interlock.journal.record_outcome(command_id, "applied")
                except Exception as error:
                    # Any failure (planner, engine, a refused start) is recorded where the
                    # clinic looks, and the fleet goes on serving other sessions.
                    log.warning(
                        "embedded device for %s not started: %s",
                        show(body.get("session_id")),
                        error,
                    )
                    reject_command(self._interlock, command_id, body, error)
            for device_id, device in list(self.devices.items()):
                try:
                    device.step()
                except Exception:
                    # A device whose virtual face fails is let go (its session stops on the
                    # missing readings); the others go on.
                    log.exception("embedded device %s failed; it stops reporting", device_id)
                    del self.devices[device_id]

    def _spawn(self, body: dict[str, Any]) -> None:
        from cryoderm.interlock.device import SimulatedDevice
        from cryoderm.interlock.face import EngineFace
        from cryoderm.interlock.faults import Fault
        from cryoderm.interlock.simulation import planned_curve, planned_step

        assert self._interlock is not None
        zone, modality = str(body.get("zone")), str(body.get("modality"))
        _, step = planned_step(zone, modality, body.get("goal"))
        device_id = str(body.get("device_id") or f"embedded-{len(self.devices) + 1}")
        curve = planned_curve(step)
        spec = spec_from_body(
            {
                **body,
                "device_id": device_id,
                "planned_duration_s": body.get("planned_duration_s") or step.duration_s,
                "planned_curve": None
                if curve is None
                else {"times_s": curve.times_s, "temps_c": curve.temps_c},
            }
        )
        tech = technical_parameters()
        device = SimulatedDevice(
            device_id,
            EngineFace(step.case),
            self._interlock.clock,
            self.transport.publish_reading,
            fault=Fault(
                str(body.get("fault", "none")), start_s=float(body.get("fault_start_s", 5.0))
            ),
            heartbeat_timeout_s=float(tech["heartbeat"]["device_timeout_s"]),
            planned_duration_s=spec.planned_duration_s,
        )
        self.transport.attach(device)
        device.face.temp_c(0.0)  # run the engine once before the first-reading clock starts
        self._interlock.start_session(spec)
        device.power_on()
        self.devices[device_id] = device
