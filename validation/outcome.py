"""What one comparison of model and data produced: checks, notes and a plot description."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from cryoderm.physics.case import Case
from cryoderm.physics.results import SimulationResult


@dataclass(frozen=True)
class Check:
    """One model-versus-data figure.

    tolerance None: shown, not claimed (passed is then None). For ordering checks model and
    measured are None and passed says whether the model reproduces the reported ranking."""

    label: str
    model: float | None
    measured: float | None
    unit: str
    tolerance: float | None = None
    passed: bool | None = None

    @property
    def error(self) -> float | None:
        if self.model is None or self.measured is None:
            return None
        return self.model - self.measured


def within(label: str, model: float, measured: float, tolerance: float, unit: str) -> Check:
    """A claimed figure: the model must be within ``tolerance`` of the measurement."""
    return Check(label, model, measured, unit, tolerance, abs(model - measured) <= tolerance)


def shown(label: str, model: float | None, measured: float | None, unit: str) -> Check:
    """A figure shown for comparison, not claimed."""
    return Check(label, model, measured, unit)


def ordering(label: str, holds: bool) -> Check:
    """A claimed ranking or trend."""
    return Check(label, None, None, "", None, bool(holds))


@dataclass(frozen=True)
class Line:
    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True)
class Point:
    """A measured value with its spread (x_err/y_err: half-widths; 0 for none)."""

    label: str
    x: float
    y: float
    x_err: float = 0.0
    y_err: float = 0.0


@dataclass(frozen=True)
class Plot:
    xlabel: str
    ylabel: str
    lines: tuple[Line, ...] = ()
    points: tuple[Point, ...] = ()
    hlines: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Outcome:
    target_id: str
    title: str
    claim: Literal["quantitative", "ordering", "documented"]
    checks: tuple[Check, ...]
    notes: tuple[str, ...] = ()
    plot: Plot | None = None
    failures: tuple[str, ...] = field(default=())

    @property
    def claimed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.passed is not None)

    @property
    def passed(self) -> bool:
        return not self.failures and all(check.passed for check in self.claimed)


Evaluate = Callable[[Sequence[SimulationResult]], Outcome]


@dataclass(frozen=True)
class Plan:
    """One comparison: the cases to simulate and what turns their results into an outcome."""

    target_id: str
    cases: tuple[Case, ...]
    evaluate: Evaluate


def outcome_for(
    t: dict[str, Any], checks: Sequence[Check], notes: Sequence[str] = (), plot: Plot | None = None
) -> Outcome:
    """The outcome of target ``t`` (a row of data/measurements.toml)."""
    return Outcome(t["id"], t["title"], t["claim"], tuple(checks), tuple(notes), plot)


def line(label: str, x: np.ndarray, y: np.ndarray) -> Line:
    return Line(label, tuple(float(v) for v in x), tuple(float(v) for v in y))


def within_factor(label: str, model: float, measured: float, factor: float, unit: str) -> Check:
    """A claimed figure within a factor of the measurement (model/measured in [1/f, f])."""
    ratio = model / measured
    return Check(label, model, measured, unit, factor, 1.0 / factor <= ratio <= factor)
