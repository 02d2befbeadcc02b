"""The interlock guarding this web process's simulated devices.

One :class:`LiveRuntime` per process and journal directory: the interlock runs in a daemon
thread with the embedded transport (no broker), and a driver thread steps the simulated
devices in real time. Each zone of a clinic session is one interlock session
(``c<session pk>-<zone>``). The simulated device's virtual face is the planner's case for
that zone (:class:`cryoderm.interlock.face.EngineFace`): the thermal engine under what the
device does, lingering included.

The clinic reads what happened from the journal (:mod:`.forward`), never from the runtime:
another process (``cryoderm interlock``) writing the same journal is read the same way.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from cryoderm.clinic.live.forward import LiveId, forward
from cryoderm.clinic.records.errors import InvalidRecord
from cryoderm.clinic.records.models import TreatmentSession
from cryoderm.clinic.records.services import planning
from cryoderm.clinic.records.services import sessions as session_service
from cryoderm.interlock import (
    EmbeddedTransport,
    Interlock,
    Journal,
    PlannedCurve,
    SessionSpec,
)
from cryoderm.interlock.clock import SystemClock
from cryoderm.interlock.device import SimulatedDevice
from cryoderm.interlock.face import EngineFace
from cryoderm.interlock.faults import FAULT_KINDS, Fault
from cryoderm.interlock.limits import technical_parameters

logger = logging.getLogger(__name__)

#: The simulated device samples the skin at 10 Hz (the rate of the interlock benchmark).
SAMPLE_EVERY_S = 0.1
#: Faults offered on the live page start after this much exposure (the session is seen
#: running normally first).
FAULT_START_S = 3.0
#: A stopped device keeps reporting the rewarming skin this long, then is let go.
OBSERVE_AFTER_STOP_S = 5.0
#: Reasons a zone ends as planned; any other stop aborts the session (with the reason).
PLANNED_ENDS = ("plan-complete", "timer")


def journal_dir() -> Path:
    """CRYODERM_INTERLOCK_DIR, or ``interlock`` under the clinic's data directory."""
    return Path(getattr(settings, "CRYODERM_INTERLOCK_DIR", Path(settings.DATA_DIR) / "interlock"))


class _LinkedDevice:
    """A simulated device behind a link: what the interlock sends is queued and applied by
    the device's own thread before its next step.

    A command can make the virtual face re-run the engine (the cold goes off), which takes
    time; the interlock's thread only hands the command over and goes on (as over MQTT).
    Heartbeats and acknowledgements only note a time or a number, so they are noted at once."""

    def __init__(self, device: SimulatedDevice) -> None:
        self.device = device
        self.device_id = device.device_id
        self.inbox: queue.SimpleQueue[tuple[Any, dict[str, Any]]] = queue.SimpleQueue()

    def step(self) -> None:
        while True:
            try:
                command, detail = self.inbox.get_nowait()
            except queue.Empty:
                break
            self.device.on_command(command, detail)
        self.device.step()

    def on_command(self, command: Any, detail: dict[str, Any]) -> None:
        self.inbox.put((command, dict(detail)))

    def on_heartbeat(self, wall_time_s: float) -> None:
        self.device.on_heartbeat(wall_time_s)

    def on_ack(self, device_seq: int, journal_seq: int) -> None:
        self.device.on_ack(device_seq, journal_seq)


class _PreparedFace:
    """The engine face with a linger fault scheduled before the start.

    The face re-runs the engine at each change; on a busy machine a run can outlast the
    interlock's no-valid-reading limit (1 s), which then (rightly) fails the session safe.
    A simulated practitioner's lingering is known in advance, so it is applied before the
    device powers on and the device's own call at the fault's onset changes nothing."""

    def __init__(self, face: EngineFace, linger_at_s: float | None) -> None:
        self.face = face
        self.linger_at_s = linger_at_s
        if linger_at_s is not None:
            face.linger(linger_at_s)

    def temp_c(self, t_s: float) -> float:
        return self.face.temp_c(t_s)

    def cold_off(self, t_s: float) -> None:
        self.face.cold_off(t_s)

    def cold_on(self, t_s: float) -> None:
        self.face.cold_on(t_s)

    def linger(self, t_s: float) -> None:
        if self.linger_at_s is None or t_s < self.linger_at_s:
            self.face.linger(t_s)


class LiveRuntime:
    def __init__(self, directory: Path) -> None:
        tech = technical_parameters()
        self.directory = directory
        self.journal = Journal(directory)
        self.transport = EmbeddedTransport()
        self.interlock = Interlock(
            self.journal,
            [self.transport],
            tick_s=float(tech["loop"]["tick_s"]),
            heartbeat_s=float(tech["heartbeat"]["interval_s"]),
        )
        self.device_timeout_s = float(tech["heartbeat"]["device_timeout_s"])
        self.devices: dict[str, _LinkedDevice] = {}
        self._halt = threading.Event()
        self.interlock.start()
        self._driver = threading.Thread(target=self._drive, name="simulated-devices", daemon=True)
        self._driver.start()

    def _drive(self) -> None:
        while not self._halt.is_set():
            for device_id, device in list(self.devices.items()):
                try:
                    device.step()
                except Exception:
                    # A device that fails stops sending; the interlock's no-valid-reading rule
                    # then stops its session (fail-safe), and the failure is in the log.
                    logger.exception("simulated device %s failed; it is switched off", device_id)
                    del self.devices[device_id]
                    continue
                stopped_at = device.device.log.stopped_at_s
                if (
                    stopped_at is not None
                    and device.device.t_s() - stopped_at > OBSERVE_AFTER_STOP_S
                ):
                    del self.devices[device_id]
            time.sleep(0.01)

    def idle(self) -> bool:
        """True when no simulated device is running or observing its rewarming."""
        return not self.devices

    def shutdown(self) -> None:
        self._halt.set()
        self._driver.join(timeout=2.0)
        self.interlock.shutdown()
        self.journal.close()

    def start_zone(self, session: TreatmentSession, zone: str, fault_kind: str) -> LiveId:
        """Guard ``zone`` of ``session`` and power on its simulated device (with ``fault_kind``).

        The limits and the planned curve come from the records' planning service, which
        checks that the stored plan is the session's own (its zones, its device's modality)."""
        guard = planning.zone_guard(session, zone)
        step = guard.step
        if fault_kind not in FAULT_KINDS:
            raise InvalidRecord("fault", f"{fault_kind!r} is not one of {', '.join(FAULT_KINDS)}")
        live_id = LiveId(session.pk, zone)
        device_id = f"dev{session.device_id}"
        duration_s = step.duration_s
        fault = Fault(fault_kind, start_s=FAULT_START_S if fault_kind != "none" else 0.0)
        face = _PreparedFace(
            EngineFace(step.case),
            fault.start_s if fault_kind == "linger" else None,
        )
        # The first engine run (and, in a fresh process, its compilation) happens here, not
        # between two readings: a device that cannot sample in time is failed by the interlock.
        face.temp_c(0.0)
        device = SimulatedDevice(
            device_id,
            face,
            SystemClock(),
            self.transport.publish_reading,
            fault=fault,
            sample_every_s=SAMPLE_EVERY_S,
            heartbeat_timeout_s=self.device_timeout_s,
            planned_duration_s=duration_s,
        )
        pairs = [
            (t, c)
            for t, c in zip(step.prediction.time_s, step.prediction.surface_c, strict=False)
            if math.isfinite(c) and t <= duration_s + 1e-9
        ]
        linked = _LinkedDevice(device)
        self.transport.attach(linked)
        self.interlock.start_session(
            SessionSpec(
                str(live_id),
                device_id,
                zone,
                guard.modality,
                guard.limits,
                planned_duration_s=duration_s,
                planned_curve=PlannedCurve(tuple(t for t, _ in pairs), tuple(c for _, c in pairs))
                if len(pairs) >= 2
                else None,
            )
        )
        device.power_on()
        self.devices[device_id] = linked
        return live_id

    def operate(self, live_id: LiveId, action: str, user: str, alarm_id: str = "") -> None:
        """stop / pause / resume / acknowledge, as ``user`` (the interlock records who)."""
        actions: dict[str, Callable[[], None]] = {
            "stop": lambda: self.interlock.stop(str(live_id), by_user=user),
            "pause": lambda: self.interlock.pause(str(live_id), by_user=user),
            "resume": lambda: self.interlock.resume(str(live_id), by_user=user),
            "acknowledge": lambda: self.interlock.acknowledge(str(live_id), alarm_id, by_user=user),
        }
        actions[action]()


_runtime: LiveRuntime | None = None
_runtime_lock = threading.Lock()


def get() -> LiveRuntime:
    """This process's runtime for the configured journal directory (started on first use)."""
    global _runtime
    with _runtime_lock:
        directory = journal_dir()
        if _runtime is not None and _runtime.directory != directory:
            _runtime.shutdown()
            _runtime = None
        if _runtime is None:
            directory.mkdir(parents=True, exist_ok=True)
            _runtime = LiveRuntime(directory)
        return _runtime


def zone_states(session: TreatmentSession, journal: Journal) -> dict[str, dict[str, Any]]:
    """Per zone: started?, stopped (reason, exposure), from the journal."""
    states: dict[str, dict[str, Any]] = {}
    for zone in session.zones:
        live_id = str(LiveId(session.pk, zone))
        state: dict[str, Any] = {"started": False, "stop_reason": None, "exposure_s": 0.0}
        for entry in journal.read_after(0, limit=100_000, session_id=live_id):
            if entry.kind == "session-started":
                state["started"] = True
            elif entry.kind == "stop":
                state["stop_reason"] = entry.payload.get("reason")
                state["exposure_s"] = float(entry.payload.get("exposure_s") or 0.0)
        states[zone] = state
    return states


def end_early(session: TreatmentSession, actor: Any) -> None:
    """The practitioner ends the session before every zone was treated: zones still running
    are stopped first (by the interlock); the session ends aborted, naming what was not done."""
    live = get()
    states = zone_states(session, live.journal)
    for zone, state in states.items():
        if state["started"] and not state["stop_reason"]:
            live.operate(LiveId(session.pk, zone), "stop", actor.get_username())
    forward(live.journal, session)
    states = zone_states(session, live.journal)
    untreated = [zone for zone, state in states.items() if not state["started"]]
    done = [
        f"{zone}: {s['stop_reason'] or 'stopped'}" for zone, s in states.items() if s["started"]
    ]
    reason = f"ended by {actor.get_username()}; not treated: {', '.join(untreated) or 'none'}"
    session_service.finish(
        actor,
        session.pk,
        exposure_s=sum(s["exposure_s"] for s in states.values()),
        aborted=True,
        reason="; ".join([*done, reason]),
    )


def sync(session: TreatmentSession, actor: Any = None) -> None:
    """Copy the journal into the records; end the session once every zone has stopped."""
    directory = journal_dir()
    if not (directory / "journal.sqlite3").exists():
        return
    journal = get().journal
    forward(journal, session)
    if session.status != TreatmentSession.Status.IN_PROGRESS:
        return
    states = zone_states(session, journal)
    if all(s["stop_reason"] for s in states.values()):
        reasons = [f"{zone}: {s['stop_reason']}" for zone, s in states.items()]
        aborted = any(s["stop_reason"] not in PLANNED_ENDS for s in states.values())
        session_service.finish(
            actor or f"interlock:{session.device.serial_number}",
            session.pk,
            exposure_s=sum(s["exposure_s"] for s in states.values()),
            aborted=aborted,
            reason="; ".join(reasons) if aborted else "",
        )
        session.refresh_from_db()
