"""Shared pieces of the interlock tests: a lumped test face, a rig of device + interlock on a
controlled clock with the embedded transport."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryoderm.interlock.clock import ManualClock
from cryoderm.interlock.device import SimulatedDevice
from cryoderm.interlock.embedded import EmbeddedTransport
from cryoderm.interlock.faults import Fault
from cryoderm.interlock.journal import Journal
from cryoderm.interlock.limits import guard_limits
from cryoderm.interlock.model import DeviceCommand, GuardLimits, SessionSpec
from cryoderm.interlock.runtime import Interlock


class LumpedFace:
    """A test face whose surface relaxes exponentially: towards ``cold_temp_c`` with time
    constant ``tau_s`` while the cold is on, back towards ``warm_temp_c`` when it is off.
    Exact piecewise solution; lingering makes it relax faster (``linger_tau_s``)."""

    def __init__(
        self,
        start_temp_c: float = 33.0,
        cold_temp_c: float = 5.0,
        tau_s: float = 20.0,
        warm_temp_c: float = 33.0,
        warm_tau_s: float = 10.0,
        linger_tau_s: float = 3.0,
        linger_cold_temp_c: float = -20.0,
    ) -> None:
        self.segments: list[tuple[float, float, float, float]] = [
            (0.0, start_temp_c, cold_temp_c, tau_s)
        ]
        self.cold = (cold_temp_c, tau_s)
        self.warm = (warm_temp_c, warm_tau_s)
        self.linger_params = (linger_cold_temp_c, linger_tau_s)
        self.cold_is_on = True

    def temp_c(self, t_s: float) -> float:
        start, temp0, target, tau = next(s for s in reversed(self.segments) if s[0] <= t_s)
        return target + (temp0 - target) * math.exp(-(t_s - start) / tau)

    def _switch(self, t_s: float, target: float, tau: float) -> None:
        self.segments.append((t_s, self.temp_c(t_s), target, tau))

    def cold_off(self, t_s: float) -> None:
        self.cold_is_on = False
        self._switch(t_s, *self.warm)

    def cold_on(self, t_s: float) -> None:
        self.cold_is_on = True
        self._switch(t_s, *self.cold)

    def linger(self, t_s: float) -> None:
        self.cold = self.linger_params
        if self.cold_is_on:
            self._switch(t_s, *self.cold)


def limits(**overrides: float) -> GuardLimits:
    """Cheek, LN2 vapour from the registry (floor 2 C, warning 3 C, 60 s), with overrides."""
    return guard_limits("cheek", "ln2-vapour", **overrides)


@dataclass
class Rig:
    clock: ManualClock
    journal: Journal
    transport: EmbeddedTransport
    interlock: Interlock
    device: SimulatedDevice
    spec: SessionSpec

    def run_for(self, duration_s: float, step_s: float = 0.01) -> None:
        """Advance the controlled clock, letting the device and the interlock act each step."""
        steps = round(duration_s / step_s)
        for _ in range(steps):
            self.clock.advance(step_s)
            self.device.step()
            self.interlock.pump()

    def run_until_stopped(self, limit_s: float = 300.0, step_s: float = 0.01) -> None:
        elapsed = 0.0
        guard = self.interlock.guard(self.spec.session_id)
        while guard.stop_reason is None and elapsed < limit_s:
            self.run_for(step_s * 10, step_s)
            elapsed += step_s * 10


def make_rig(
    tmp_path: Path,
    *,
    face: LumpedFace | None = None,
    fault: Fault | None = None,
    session_limits: GuardLimits | None = None,
    planned_duration_s: float | None = None,
    sample_every_s: float = 0.1,
    planned_curve=None,
) -> Rig:
    clock = ManualClock()
    journal = Journal(tmp_path / "journal")
    transport = EmbeddedTransport()
    interlock = Interlock(journal, [transport], clock=clock)
    spec = SessionSpec(
        "s1",
        "dev-1",
        "cheek",
        "ln2-vapour",
        session_limits or limits(),
        planned_duration_s=planned_duration_s,
        planned_curve=planned_curve,
    )
    device = SimulatedDevice(
        "dev-1",
        face or LumpedFace(),
        clock,
        transport.publish_reading,
        fault=fault,
        sample_every_s=sample_every_s,
        planned_duration_s=planned_duration_s,
    )
    transport.attach(device)
    interlock.open()
    interlock.start_session(spec)
    device.power_on()
    return Rig(clock, journal, transport, interlock, device, spec)


class Recorder:
    """A device endpoint that remembers what the interlock sent it."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.commands: list[tuple[DeviceCommand, dict]] = []
        self.acked: dict[int, int] = {}
        self.heartbeats = 0
        self.stopped = threading.Event()

    def on_command(self, command, detail):
        self.commands.append((command, detail))
        if command is DeviceCommand.STOP:
            self.stopped.set()

    def on_heartbeat(self, wall_time_s):
        self.heartbeats += 1

    def on_ack(self, device_seq, journal_seq):
        self.acked[device_seq] = journal_seq


class SteppedDevice:
    """A simulated device stepped at 100 Hz on the wall clock in a thread of the test,
    sending through ``link`` (HTTP or MQTT; the subclass makes it): it stops itself after
    a second without a verified heartbeat."""

    def __init__(self, link: Any, device_id: str, face: LumpedFace) -> None:
        from cryoderm.interlock.clock import SystemClock

        self.link = link
        self.device = SimulatedDevice(device_id, face, SystemClock(), link.publish_reading)
        link.attach(self.device)
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.device.power_on()
        self._thread.start()

    def _run(self) -> None:
        while not self._halt.wait(0.01):
            self.device.step()

    def halt(self) -> None:
        self._halt.set()
        self._thread.join(5.0)
