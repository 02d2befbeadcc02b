"""Run a design: one case, parameter values row by row, chosen quantities out.

:class:`CaseModel` turns a matrix of parameter values (one row per run) into a matrix of
quantities (one column per quantity), building each run's case with its value objects'
own checks (:mod:`.keys`) and running them in batches of ``simulate_many``: in this process, or on the
workers of a ``distributed.Client`` for large designs (one task per block of rows; the base
case travels once). Runs that are invalid or fail are kept as data: NaN in the matrix,
their status and message in :class:`Runs`; the caller decides what a gap means.

Quantities (:func:`quantity`) are the result's metrics and safety figures by name
(docs/physics.md section 7), plus ``basal_min_temp_c``, the coldest temperature at the bottom
of the epidermis (a probe added at that depth), and ``freeze_risk_time_s`` read as the
run's duration when the model predicts no freezing risk (censored: "not within the run").
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from cryoderm.physics.case import Case, Probe
from cryoderm.physics.engine import simulate_many
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.results import SimulationResult
from cryoderm.research.errors import InvalidStudy
from cryoderm.research.keys import KeyPath, Mode, apply

STATUSES = ("ok", "failed", "invalid")
BASAL_LAYER = "epidermis"
BASAL_PROBE = "basal layer (added)"
#: Runs per simulate_many call in this process (a progress step: about 0.1-1 s each).
CHUNK = 256
#: Runs per Dask task.
DEFAULT_BLOCK = 1000

Progress = Callable[[int, int], None]


class Input(Protocol):
    """What a design varies: a key path and how a value applies (a Parameter, a sweep axis);
    a Parameter of a sourced spread has no path and a ``spread`` that applies the value."""

    @property
    def path(self) -> KeyPath | None: ...

    @property
    def mode(self) -> Mode: ...


@dataclass(frozen=True)
class Quantity:
    """A number read from each run. name: its key (unit in the name); label: for tables."""

    name: str
    label: str
    needs_basal_probe: bool = False

    def read(self, result: SimulationResult, case: Case) -> float:
        if self.name == "basal_min_temp_c":
            series = result.probes.get(BASAL_PROBE)
            return float(np.min(series)) if series is not None and len(series) else np.nan
        if self.name == "freeze_risk_time_s":
            value = result.safety.get("freeze_risk_time_s")
            return case.duration_s if value is None else float(value)
        value = result.metrics.get(self.name, result.safety.get(self.name))
        return np.nan if value is None else float(value)


#: The default quantities of a sensitivity study (issue: the practitioner's safety figures).
DEFAULT_QUANTITIES = (
    "min_surface_temp_c",
    "surface_time_below_10c_s",
    "freeze_risk_time_s",
    "basal_min_temp_c",
)
_LABELS = {
    "min_surface_temp_c": "coldest skin surface (°C)",
    "surface_time_below_10c_s": "time below 10 °C at the surface (s)",
    "freeze_risk_time_s": "time to freezing risk (s; run length if none)",
    "basal_min_temp_c": "coldest basal layer (°C)",
}


def quantity(name: str, known: Sequence[str] = ()) -> Quantity:
    """The quantity ``name``: one of the defaults, or a metric/safety key of a result.

    ``known`` (the metric and safety keys of a result) is used to check the name when given."""
    if name in _LABELS:
        return Quantity(name, _LABELS[name], needs_basal_probe=name == "basal_min_temp_c")
    if known and name not in known:
        raise InvalidStudy(
            "output", name, "a metric or safety key of the result: " + ", ".join(known)
        )
    return Quantity(name, name)


def with_basal_probe(case: Case) -> Case:
    """``case`` with a probe at the bottom of its epidermis (unchanged without one)."""
    names = [layer.name.lower() for layer in case.tissue.layers]
    if BASAL_LAYER not in names or len(names) < 2:
        return case
    depth = sum(layer.thickness_mm for layer in case.tissue.layers[: names.index(BASAL_LAYER) + 1])
    probes = (*case.output.probes, Probe(BASAL_PROBE, depth))
    return dataclasses.replace(case, output=dataclasses.replace(case.output, probes=probes))


@dataclass(frozen=True, eq=False)
class Runs:
    """What a design gave: values[run, quantity] (NaN where a run has no number), the status
    of each run (index into STATUSES) and the first message of each non-ok status."""

    values: np.ndarray
    status: np.ndarray
    messages: Mapping[str, str]

    @property
    def ok(self) -> np.ndarray:
        return self.status == 0

    def counts(self) -> dict[str, int]:
        return {name: int((self.status == k).sum()) for k, name in enumerate(STATUSES)}


def run_rows(
    base: Case,
    parameters: Sequence[Input],
    quantities: Sequence[Quantity],
    rows: np.ndarray,
    *,
    threads: int | None = None,
) -> Runs:
    """Build and simulate one case per row of parameter values; read the quantities."""
    n = len(rows)
    values = np.full((n, len(quantities)), np.nan)
    status = np.zeros(n, dtype=np.int8)
    messages: dict[str, str] = {}
    basal = any(q.needs_basal_probe for q in quantities)
    cases: list[Case] = []
    built: list[int] = []
    for k, row in enumerate(rows):
        pairs = list(zip(parameters, row, strict=True))
        changes = [(p.path, p.mode, float(v)) for p, v in pairs if p.path is not None]
        try:
            case = apply(base, changes)
            for p, v in pairs:
                spread = getattr(p, "spread", None)
                if spread is not None:
                    case = spread.apply(case, float(v))
        except (InvalidInput, InvalidStudy) as error:
            status[k] = STATUSES.index("invalid")
            messages.setdefault("invalid", f"{error} (run {k + 1})")
            continue
        cases.append(with_basal_probe(case) if basal else case)
        built.append(k)
    for k, case, result in zip(built, cases, simulate_many(cases, threads=threads), strict=True):
        if not result.ok:
            status[k] = STATUSES.index(result.status)
            messages.setdefault(result.status, f"{result.message} (run {k + 1})")
            continue
        values[k] = [q.read(result, case) for q in quantities]
    return Runs(values, status, messages)


def merge(parts: Sequence[Runs]) -> Runs:
    messages: dict[str, str] = {}
    for part in parts:
        for key, message in part.messages.items():
            messages.setdefault(key, message)
    return Runs(
        np.concatenate([p.values for p in parts]),
        np.concatenate([p.status for p in parts]),
        messages,
    )


class CaseModel:
    """``model(values) -> Runs``: the case run at every row of parameter values.

    client: a ``distributed.Client`` (cryoderm.cohort.cluster.client_for) to run blocks of
    ``block_size`` rows on its workers; None runs them here, ``CHUNK`` rows per batch.
    progress(done, total) is called after every chunk or block."""

    def __init__(
        self,
        case: Case,
        parameters: Sequence[Input],
        quantities: Sequence[Quantity],
        *,
        client: Any = None,
        block_size: int = DEFAULT_BLOCK,
        progress: Progress | None = None,
    ) -> None:
        self.case = case
        self.parameters = tuple(parameters)
        self.quantities = tuple(quantities)
        self.client = client
        self.block_size = block_size
        self.progress = progress
        self.seconds = 0.0

    def __call__(self, values: np.ndarray) -> Runs:
        values = np.atleast_2d(np.asarray(values, dtype=float))
        start = time.perf_counter()
        try:
            if self.client is None:
                return self._here(values)
            return self._distributed(values)
        finally:
            self.seconds += time.perf_counter() - start

    def _here(self, values: np.ndarray) -> Runs:
        parts = []
        for first in range(0, len(values), CHUNK):
            rows = values[first : first + CHUNK]
            parts.append(run_rows(self.case, self.parameters, self.quantities, rows))
            if self.progress is not None:
                self.progress(first + len(rows), len(values))
        return merge(parts)

    def _distributed(self, values: np.ndarray) -> Runs:
        from distributed import as_completed

        client = self.client
        base = client.scatter(self.case, broadcast=True)
        blocks = [values[i : i + self.block_size] for i in range(0, len(values), self.block_size)]
        futures = [
            client.submit(
                run_rows, base, self.parameters, self.quantities, block, threads=1, pure=False
            )
            for block in blocks
        ]
        done = 0
        for future in as_completed(futures):
            done += len(blocks[futures.index(future)])
            if self.progress is not None:
                self.progress(done, len(values))
        # Blocks are merged in row order, whatever order they finished in.
        return merge(client.gather(futures))


def quantities_for(case: Case, names: Sequence[str]) -> list[Quantity]:
    """The quantities ``names`` of ``case``'s runs, checked against what its result reports
    (one run of the case itself); InvalidStudy names an unknown one and lists the known."""
    from cryoderm.physics.engine import simulate

    result = simulate(case)
    known = [*DEFAULT_QUANTITIES, *result.metrics, *result.safety]
    return [quantity(name, known) for name in names]
