"""The virtual face of the simulated device: the thermal engine under what the device does.

The face starts from the planned case (the planner's step: tissue, perfusion law, freezing,
initial state, and the exposure programme). Each change the device makes (cold off at a stop
or pause, cold on at a resume, a practitioner lingering) rebuilds the phase list along the
session's time line and re-runs the engine from t = 0, so the temperature after a stop
comes from the physics with the cold removed. A run costs milliseconds; changes are few.

Composition along session time: while the cold is on, the programme advances (its phases
sliced at the point reached); while it is off, room air (AmbientPhase defaults); after the
programme's end, room air, unless the practitioner lingers, in which case the last exposure
phase goes on. Lingering turns an LN2 sweep into a stationary jet (dwell = sweep period).
A sliced LN2 sweep restarts its pulse train at the slice: a pause shifts the passes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cryoderm.interlock.errors import InterlockError
from cryoderm.physics.bounds import bound
from cryoderm.physics.case import AmbientPhase, Case, Ln2VapourPhase, Output, Phase, Probe
from cryoderm.physics.engine import simulate

# Room-air time simulated beyond the last change, so the rewarming after a stop is known.
_TAIL_S = 120.0
# Room air (AmbientPhase's defaults), as a template whose duration is set where it is used.
_AIR = AmbientPhase(duration_s=1.0)


class _Timeline:
    """Phases appended in order; the engine takes none shorter than its bound (a
    millisecond), which two changes that close (a pause, then a stop) would leave: such a
    sliver joins the phase before it (the one after it, if it comes first), so the cold
    stays as it was for under a millisecond more."""

    def __init__(self) -> None:
        self.shortest = bound("phase.duration_s").low or 0.0
        self.phases: list[Phase] = []
        self._carry = 0.0

    def add(self, template: Phase, duration_s: float) -> None:
        if duration_s < self.shortest:
            if self.phases:
                last = self.phases[-1]
                self.phases[-1] = replace(last, duration_s=last.duration_s + duration_s)
            else:
                self._carry += duration_s
            return
        self.phases.append(replace(template, duration_s=duration_s + self._carry))
        self._carry = 0.0


class FaceSimulationError(InterlockError):
    """The engine could not simulate the face (its message says why)."""


class EngineFace:
    """A :class:`~.device.Face` driven by :func:`cryoderm.physics.engine.simulate`.

    planned: the plan's case; its leading non-ambient phases are the device's programme.
    sample_every_s: the engine's output interval (readings are interpolated between).
    """

    def __init__(self, planned: Case, sample_every_s: float = 0.05) -> None:
        programme: list[Phase] = []
        for phase in planned.phases:
            if isinstance(phase, AmbientPhase) and programme:
                break
            programme.append(phase)
        self.programme = tuple(programme)
        self.programme_s = sum(p.duration_s for p in self.programme)
        self._base = planned
        self._sample_every_s = sample_every_s
        self._changes: list[tuple[float, str]] = []
        self._times: np.ndarray | None = None
        self._temps: np.ndarray | None = None
        self.runs = 0

    # -- Face -----------------------------------------------------------------------------
    def temp_c(self, t_s: float) -> float:
        if self._times is None or self._temps is None or t_s > self._times[-1]:
            self._run(max(t_s, self._last_change_s()) + _TAIL_S)
        assert self._times is not None and self._temps is not None
        return float(np.interp(t_s, self._times, self._temps))

    def cold_off(self, t_s: float) -> None:
        self._change(t_s, "off")

    def cold_on(self, t_s: float) -> None:
        self._change(t_s, "on")

    def linger(self, t_s: float) -> None:
        # Lingering changes an LN2 sweep from now on; other modalities are already modelled
        # as held on the spot, so for them it only matters past the programme's end, and
        # the programme is not split (a split would restart a contact applicator cold).
        sweeps = any(isinstance(p, Ln2VapourPhase) for p in self.programme)
        self._change(t_s if sweeps else 0.0, "linger")

    # -- internals ------------------------------------------------------------------------
    def _last_change_s(self) -> float:
        return self._changes[-1][0] if self._changes else self.programme_s

    def _change(self, t_s: float, kind: str) -> None:
        self._changes.append((t_s, kind))
        self._times = self._temps = None

    def phases(self, end_s: float) -> tuple[Phase, ...]:
        """The phase list along session time from 0 to ``end_s`` given the changes so far."""
        timeline = _Timeline()
        on, lingering, position, t = True, False, 0.0, 0.0
        for t_change, kind in [*sorted(self._changes), (end_s, "end")]:
            span = min(t_change, end_s) - t
            if span > 1e-9:
                if on:
                    self._slice(timeline, position, span, lingering)
                    position += span
                else:
                    timeline.add(_AIR, span)
                t += span
            if kind == "off":
                on = False
            elif kind == "on":
                on = True
            elif kind == "linger":
                lingering = True
        return tuple(timeline.phases)

    def _slice(self, timeline: _Timeline, start_s: float, span_s: float, lingering: bool) -> None:
        offset, remaining, position = 0.0, span_s, start_s
        for phase in self.programme:
            end = offset + phase.duration_s
            offset = end
            if remaining <= 1e-9 or position >= end:
                continue
            take = min(end - position, remaining)
            timeline.add(self._held(phase, lingering), take)
            position += take
            remaining -= take
        if remaining > 1e-9:
            if lingering and self.programme:
                timeline.add(self._held(self.programme[-1], True), remaining)
            else:
                timeline.add(_AIR, remaining)

    @staticmethod
    def _held(phase: Phase, lingering: bool) -> Phase:
        if lingering and isinstance(phase, Ln2VapourPhase):
            return replace(phase, dwell_s=phase.sweep_period_s)
        return phase

    def _run(self, end_s: float) -> None:
        case = replace(
            self._base,
            phases=self.phases(end_s),
            output=Output(sample_every_s=self._sample_every_s, probes=(Probe("surface", 0.0),)),
        )
        result = simulate(case)
        self.runs += 1
        if not result.ok:
            raise FaceSimulationError(
                f"virtual face: the engine says {result.status}: {result.message}"
            )
        self._times = np.asarray(result.time_s, dtype=float)
        self._temps = np.asarray(result.probes["surface"], dtype=float)
