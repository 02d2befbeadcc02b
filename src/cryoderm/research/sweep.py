"""Sweeps: a grid or a random design over any case key, one run per point, a tidy table out.

A sweep file (TOML, ``format = "cryoderm-sweep/1"``) names a case file, a design and its
axes::

    format = "cryoderm-sweep/1"
    case = "cheek-cold-air.toml"      # relative to the sweep file
    design = "grid"                   # every combination; or "random" / "sobol": `runs` points
    outputs = ["min_surface_temp_c", "surface_time_below_10c_s"]

    [[axis]]
    key = "phase[1].gas_temp_c"
    values = [-40.0, -30.0, -20.0]    # or low, high and steps (grid) / low, high (random)

    [[axis]]
    key = "tissue.layer[*].perfusion_per_s"
    mode = "scale"                    # a factor on the case's own values
    low = 0.5
    high = 2.0
    steps = 4
    spacing = "log"                   # "linear" (default) or "log"

:func:`run_sweep` runs every point through ``simulate_many`` (or Dask) and returns a
:class:`SweepResult` whose ``to_dataframe()`` has one row per run: the axes' values, the
run's status and message, and the outputs (NaN where a run gave none, with its status).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from cryoderm.physics.case import Case
from cryoderm.research.errors import InvalidStudy
from cryoderm.research.evaluate import (
    DEFAULT_QUANTITIES,
    STATUSES,
    CaseModel,
    Progress,
    Runs,
    quantities_for,
    quantity,
)
from cryoderm.research.keys import MODES, KeyPath, Mode, parse_key
from cryoderm.research.parameters import number_in

FORMAT = "cryoderm-sweep/1"
DESIGNS = ("grid", "random", "sobol")
SPACINGS = ("linear", "log")
SWEEP_KEYS = ("format", "case", "design", "runs", "seed", "outputs", "axis")
AXIS_KEYS = ("key", "mode", "values", "low", "high", "steps", "spacing", "label")
#: The most runs one sweep may ask for (a grid grows as the product of its axes).
MAX_RUNS = 1_000_000

Design = Literal["grid", "random", "sobol"]


@dataclass(frozen=True)
class Axis:
    """One swept input: explicit values, or a range (low, high) with a spacing and, for a
    grid, a number of steps."""

    key: str
    mode: Mode = "set"
    values: tuple[float, ...] = ()
    low: float | None = None
    high: float | None = None
    steps: int | None = None
    spacing: Literal["linear", "log"] = "linear"
    label: str = ""
    path: KeyPath = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", parse_key(self.key))

    @property
    def name(self) -> str:
        return self.label or self.key

    def grid(self) -> np.ndarray:
        if self.values:
            return np.asarray(self.values, dtype=float)
        assert self.low is not None and self.high is not None and self.steps is not None
        if self.spacing == "log":
            return np.geomspace(self.low, self.high, self.steps)
        return np.linspace(self.low, self.high, self.steps)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        if self.values:
            # A random draw among the listed values, each equally likely.
            picks = np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)
            return np.asarray(self.values, dtype=float)[picks]
        assert self.low is not None and self.high is not None
        if self.spacing == "log":
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep: the case, the design, its axes and the outputs to read."""

    case: Case
    axes: tuple[Axis, ...]
    design: Design = "grid"
    runs: int | None = None
    seed: int = 0
    outputs: tuple[str, ...] = DEFAULT_QUANTITIES[:3]

    def points(self) -> np.ndarray:
        """The design's points: rows of axis values."""
        if self.design == "grid":
            return np.array(list(itertools.product(*(axis.grid() for axis in self.axes))))
        assert self.runs is not None
        if self.design == "sobol":
            from scipy.stats import qmc

            unit = qmc.Sobol(len(self.axes), seed=self.seed).random(self.runs)
        else:
            unit = np.random.default_rng(self.seed).random((self.runs, len(self.axes)))
        return np.column_stack([axis.from_unit(unit[:, j]) for j, axis in enumerate(self.axes)])


@dataclass(frozen=True, eq=False)
class SweepResult:
    """One row per run: ``points[run, axis]`` and ``runs`` (the quantities, statuses and
    messages of :class:`~cryoderm.research.evaluate.Runs`)."""

    sweep: Sweep
    points: np.ndarray
    runs: Runs
    seconds: float
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def to_dataframe(self) -> Any:
        import pandas as pd

        columns: dict[str, Any] = {"run": np.arange(1, len(self.points) + 1)}
        for j, axis in enumerate(self.sweep.axes):
            columns[axis.name] = self.points[:, j]
        columns["status"] = [STATUSES[k] for k in self.runs.status]
        for k, name in enumerate(self.sweep.outputs):
            columns[name] = self.runs.values[:, k]
        frame = pd.DataFrame(columns).set_index("run")
        frame.attrs.update(
            {
                "format": FORMAT,
                "design": self.sweep.design,
                "seed": self.sweep.seed,
                "axes": [{"key": a.key, "mode": a.mode, "label": a.name} for a in self.sweep.axes],
                "status_counts": self.runs.counts(),
                "messages": dict(self.runs.messages),
                **self.provenance,
            }
        )
        return frame


def run_sweep(sweep: Sweep, *, client: Any = None, progress: Progress | None = None) -> SweepResult:
    """Run every point of ``sweep``; runs the engine refuses or that fail are rows too."""
    from cryoderm.research.outputs import case_provenance

    quantities = [quantity(name) for name in sweep.outputs]
    model = CaseModel(sweep.case, sweep.axes, quantities, client=client, progress=progress)
    points = sweep.points()
    runs = model(points)
    return SweepResult(sweep, points, runs, model.seconds, case_provenance(sweep.case))


# ------------------------------------------------------------------ the sweep file
def _whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidStudy(where, value, f"a whole number from {low} to {high}")
    return value


def _axis(table: Any, where: str, design: str) -> Axis:
    if not isinstance(table, Mapping):
        raise InvalidStudy(where, table, "a table: write it as [[axis]]")
    for key in table:
        if key not in AXIS_KEYS:
            raise InvalidStudy(
                f"{where}.{key}", table[key], "unknown key; valid: " + ", ".join(AXIS_KEYS)
            )
    key = table.get("key")
    if not isinstance(key, str):
        raise InvalidStudy(f"{where}.key", key if "key" in table else "(missing)", "a key path")
    parse_key(key, f"{where}.key")
    mode = table.get("mode", "set")
    if mode not in MODES:
        raise InvalidStudy(f"{where}.mode", mode, "one of: " + ", ".join(MODES))
    spacing = table.get("spacing", "linear")
    if spacing not in SPACINGS:
        raise InvalidStudy(f"{where}.spacing", spacing, "one of: " + ", ".join(SPACINGS))
    label = table.get("label", "")
    if not isinstance(label, str):
        raise InvalidStudy(f"{where}.label", label, "a text string")
    common = {"mode": mode, "spacing": spacing, "label": label}
    if "values" in table:
        values = table["values"]
        if (
            not isinstance(values, list)
            or not values
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in values
            )
        ):
            raise InvalidStudy(f"{where}.values", values, "a non-empty list of numbers")
        return Axis(key, values=tuple(float(v) for v in values), **common)
    low, high = number_in(table, "low", where), number_in(table, "high", where)
    if not low < high:
        raise InvalidStudy(f"{where}.low", low, f"below high ({high:g})")
    if spacing == "log" and low <= 0:
        raise InvalidStudy(f"{where}.low", low, "a number > 0 for log spacing")
    steps = None
    if design == "grid":
        steps = _whole(table.get("steps", "(missing)"), f"{where}.steps", 2, 10_000)
    return Axis(key, low=low, high=high, steps=steps, **common)


def parse_sweep(doc: Mapping[str, Any], case: Case, where: str = "sweep") -> Sweep:
    """Validate a decoded sweep document against its (already loaded) case."""
    for key in doc:
        if key not in SWEEP_KEYS:
            raise InvalidStudy(key, doc[key], "unknown key; valid: " + ", ".join(SWEEP_KEYS))
    if doc.get("format") != FORMAT:
        raise InvalidStudy("format", doc.get("format", "(missing)"), f'"{FORMAT}"')
    design = doc.get("design", "grid")
    if design not in DESIGNS:
        raise InvalidStudy("design", design, "one of: " + ", ".join(DESIGNS))
    tables = doc.get("axis")
    if not isinstance(tables, list) or not tables:
        raise InvalidStudy(
            "axis", tables if "axis" in doc else "(missing)", "at least one [[axis]]"
        )
    axes = tuple(_axis(t, f"axis[{k}]", design) for k, t in enumerate(tables, 1))
    names = [axis.name for axis in axes]
    if len(set(names)) != len(names):
        raise InvalidStudy("axis", names, "each axis once (give a label to tell them apart)")
    runs = None
    if design == "grid":
        if "runs" in doc:
            raise InvalidStudy("runs", doc["runs"], "only for random and sobol designs")
        total = math.prod(len(axis.grid()) for axis in axes)
        if total > MAX_RUNS:
            raise InvalidStudy("axis", f"{total} grid points", f"at most {MAX_RUNS} runs")
    else:
        runs = _whole(doc.get("runs", "(missing)"), "runs", 1, MAX_RUNS)
    seed = _whole(doc.get("seed", 0), "seed", 0, 2**32 - 1)
    outputs = doc.get("outputs", list(DEFAULT_QUANTITIES[:3]))
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs):
        raise InvalidStudy("outputs", outputs, "a non-empty list of output names")
    quantities_for(case, outputs)
    return Sweep(case, axes, design, runs, seed, tuple(outputs))
