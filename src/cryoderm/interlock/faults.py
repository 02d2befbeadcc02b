"""Faults a simulated device can inject into its sensor stream or its operator's hands.

Sensor faults change what the device *reports* (the virtual face is unchanged):
- ``drift``: the reading drifts warm at ``magnitude`` C/s from ``start_s`` (a warm drift hides
  cold skin; only the exposure timer and the plan's end protect against it).
- ``dropout``: no reading is sent from ``start_s`` for ``duration_s`` (None: for good).
- ``stuck``: the reading freezes at the value it had at ``start_s``.
- ``noise``: Gaussian noise of standard deviation ``magnitude`` C (seeded, reproducible).
- ``nan``: the sensor sends NaN from ``start_s``.
- ``out-of-range``: the sensor sends ``magnitude`` C (default -80 C, outside any plausible
  skin reading) from ``start_s``.
Operator fault:
- ``linger``: from ``start_s`` the practitioner holds the cold on one spot: an LN2 wand stops
  sweeping (a stationary jet), and no modality ends at the plan unless the interlock stops it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from cryoderm.interlock.errors import InvalidInterlockInput

FAULT_KINDS = ("none", "drift", "dropout", "stuck", "noise", "nan", "out-of-range", "linger")

# Defaults when a fault is named without a magnitude; demonstration values, not measurements.
_DEFAULT_MAGNITUDE = {"drift": 0.5, "noise": 0.3, "out-of-range": -80.0}


@dataclass(frozen=True)
class Fault:
    """One injected fault. start_s: session time it begins; duration_s: None = to the end;
    magnitude: C/s for drift, C for noise (sigma) and out-of-range (the value sent)."""

    kind: str = "none"
    start_s: float = 0.0
    duration_s: float | None = None
    magnitude: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise InvalidInterlockInput(f"fault = {self.kind!r}: one of {', '.join(FAULT_KINDS)}")
        if not (math.isfinite(self.start_s) and self.start_s >= 0):
            raise InvalidInterlockInput(f"fault start_s = {self.start_s!r} s: >= 0 is required")
        if self.duration_s is not None and not self.duration_s > 0:
            raise InvalidInterlockInput(f"fault duration_s = {self.duration_s!r} s: > 0 or None")

    def active(self, t_s: float) -> bool:
        if self.kind == "none" or t_s < self.start_s:
            return False
        return self.duration_s is None or t_s < self.start_s + self.duration_s

    @property
    def size(self) -> float:
        if self.magnitude is not None:
            return self.magnitude
        return _DEFAULT_MAGNITUDE.get(self.kind, 0.0)


class SensorModel:
    """Turns the true surface temperature into what the device reports, under a fault.

    ``report`` returns the value to send (float, possibly NaN), or None to send nothing."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self._rng = random.Random(fault.seed)
        self._frozen: float | None = None

    def report(self, t_s: float, true_temp_c: float) -> float | None:
        fault = self.fault
        if not fault.active(t_s):
            return true_temp_c
        kind = fault.kind
        if kind == "drift":
            return true_temp_c + fault.size * (t_s - fault.start_s)
        if kind == "dropout":
            return None
        if kind == "stuck":
            if self._frozen is None:
                self._frozen = true_temp_c
            return self._frozen
        if kind == "noise":
            return true_temp_c + self._rng.gauss(0.0, fault.size)
        if kind == "nan":
            return math.nan
        if kind == "out-of-range":
            return fault.size
        return true_temp_c
