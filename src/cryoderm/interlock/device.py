"""A simulated cryotherapy device: a virtual face, a skin sensor, a heartbeat watchdog.

The device applies the planned exposure to its :class:`Face` (the thermal engine), samples
the surface every ``sample_every_s`` through a :class:`~.faults.SensorModel` (the injected
fault), publishes readings through its link, and obeys the interlock's commands: ``stop``
takes the cold off (``resume`` after a stop puts it back on, when the practitioner resumes
the zone), ``pause``/``resume`` take it off and on. It keeps reporting the skin while
stopped. It stops itself when it has heard no interlock heartbeat for
``heartbeat_timeout_s`` (the interlock may be dead), and ends its programme once the cold
has been on for ``planned_duration_s`` in all (pauses and stops excluded).

It is driven by :meth:`SimulatedDevice.step` with the time of an injected clock, so a test
or session-sim can run it in simulated time, and device-sim in real time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryoderm.interlock.clock import Clock
from cryoderm.interlock.faults import Fault, SensorModel
from cryoderm.interlock.model import DeviceCommand, Reading


class Face(Protocol):
    """The skin under the device. Times are session times (s since the device started)."""

    def temp_c(self, t_s: float) -> float:
        """The true surface temperature (C) at ``t_s``, given every change made so far."""
        ...

    def cold_off(self, t_s: float) -> None: ...

    def cold_on(self, t_s: float) -> None: ...

    def linger(self, t_s: float) -> None:
        """The practitioner holds the cold on this spot from ``t_s``."""
        ...


@dataclass
class DeviceLog:
    """What the device saw: for tests and the session record."""

    sent: list[Reading] = field(default_factory=list)
    acked: dict[int, int] = field(default_factory=dict)
    commands: list[tuple[float, DeviceCommand, dict[str, Any]]] = field(default_factory=list)
    true_temps: list[tuple[float, float]] = field(default_factory=list)
    stopped_at_s: float | None = None
    stopped_by: str | None = None


class SimulatedDevice:
    """See the module docstring.

    publish: sends a reading (the link: embedded, MQTT or HTTP).
    planned_duration_s: when the device's own programme ends (the device then turns the
        cold off itself unless a linger fault keeps it on).
    """

    def __init__(
        self,
        device_id: str,
        face: Face,
        clock: Clock,
        publish: Callable[[Reading], None],
        *,
        fault: Fault | None = None,
        sample_every_s: float = 0.1,
        heartbeat_timeout_s: float = 1.0,
        planned_duration_s: float | None = None,
    ) -> None:
        self.device_id = device_id
        self.face = face
        self.clock = clock
        self.publish = publish
        self.fault = fault or Fault()
        self.sensor = SensorModel(self.fault)
        self.sample_every_s = sample_every_s
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.planned_duration_s = planned_duration_s
        self.log = DeviceLog()
        self.state = "idle"
        self._started_at_s = 0.0
        self._seq = 0
        self._next_sample_s = 0.0
        self._last_heartbeat_s: float | None = None
        self._lingering = False
        # Time the cold has been on before the current stretch, and since when it is on.
        self._cold_before_s = 0.0
        self._cold_since_s: float | None = None
        # step() runs in the device's thread, commands arrive from the link's thread.
        self._lock = threading.RLock()

    def t_s(self) -> float:
        return self.clock.now_s() - self._started_at_s

    def power_on(self) -> None:
        """Start the programme: cold on, first reading now, heartbeat watch armed."""
        self._started_at_s = self.clock.now_s()
        self._last_heartbeat_s = self._started_at_s
        self.state = "running"
        self._cold_since_s = 0.0
        self._next_sample_s = 0.0

    def step(self) -> Reading | None:
        """Do what is due at the clock's time: the heartbeat watch, the programme's end, a
        fault's onset, and one reading if a sample is due (returned, after publishing)."""
        with self._lock:
            reading = self._step()
        if reading is not None:
            self.publish(reading)
        return reading

    def _step(self) -> Reading | None:
        if self.state == "idle":
            return None
        now = self.clock.now_s()
        t = now - self._started_at_s
        if (
            self.state != "stopped"
            and self._last_heartbeat_s is not None
            and now - self._last_heartbeat_s > self.heartbeat_timeout_s
        ):
            self._stop(t, "heartbeat-lost")
        if self.fault.kind == "linger" and self.fault.active(t) and not self._lingering:
            self._lingering = True
            self.face.linger(t)
        if (
            self.state == "running"
            and not self._lingering
            and self.planned_duration_s is not None
            and self.cold_s(t) >= self.planned_duration_s
        ):
            self._stop(t - (self.cold_s(t) - self.planned_duration_s), "programme-end")
        if t + 1e-9 < self._next_sample_s:
            return None
        self._next_sample_s += self.sample_every_s
        true_temp = self.face.temp_c(t)
        self.log.true_temps.append((t, true_temp))
        value = self.sensor.report(t, true_temp)
        if value is None and self.fault.kind == "dropout":
            return None
        self._seq += 1
        reading = Reading(self.device_id, self._seq, value, self.clock.wall_time_s())
        self.log.sent.append(reading)
        return reading

    # -- what the interlock sends ---------------------------------------------------------
    def on_command(self, command: DeviceCommand, detail: dict[str, Any]) -> None:
        with self._lock:
            self._on_command(command, detail)

    def _on_command(self, command: DeviceCommand, detail: dict[str, Any]) -> None:
        t = self.t_s()
        self.log.commands.append((t, command, dict(detail)))
        if command is DeviceCommand.STOP:
            self._stop(t, "interlock")
        elif command is DeviceCommand.PAUSE and self.state == "running":
            self.state = "paused"
            self._cold_off(t)
        elif command is DeviceCommand.RESUME and self.state in ("paused", "stopped"):
            self.state = "running"
            self.log.stopped_at_s = self.log.stopped_by = None
            self._cold_since_s = t
            self.face.cold_on(t)

    def on_command_from_link_loss(self) -> None:
        """The interlock announced it is gone (MQTT last will): stop now, not a second later."""
        with self._lock:
            self._stop(self.t_s(), "interlock-offline")

    def on_heartbeat(self, wall_time_s: float) -> None:
        self._last_heartbeat_s = self.clock.now_s()

    def on_ack(self, device_seq: int, journal_seq: int) -> None:
        with self._lock:
            self.log.acked[device_seq] = journal_seq

    def cold_s(self, t_s: float) -> float:
        """How long the cold has been on by session time ``t_s``."""
        running = t_s - self._cold_since_s if self._cold_since_s is not None else 0.0
        return self._cold_before_s + running

    def _cold_off(self, t_s: float) -> None:
        self._cold_before_s = self.cold_s(t_s)
        self._cold_since_s = None
        self.face.cold_off(t_s)

    def _stop(self, t_s: float, by: str) -> None:
        if self.state == "stopped":
            return
        if self.state == "running":
            self._cold_off(t_s)
        self.state = "stopped"
        self.log.stopped_at_s = t_s
        self.log.stopped_by = by
