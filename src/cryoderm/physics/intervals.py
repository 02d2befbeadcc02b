"""Prediction intervals: the sourced spreads of the inputs, propagated through the engine.

For each case, a Latin hypercube of ``samples`` points over the quantiles of the spreads that
act on it (physics/spreads.py, data/spreads.toml) gives as many varied cases; all of them, for
every case, run in one batched ``simulate_many`` call; the key metrics of the runs give each
metric's 5th, 50th and 95th percentiles. The design is deterministic for a seed, so a plan's
intervals are reproducible.

    from cryoderm.physics.intervals import prediction_intervals
    (pi,) = prediction_intervals([case])
    pi.metrics["min_surface_temp_c"].low       # the cold tail: 5th percentile, C
    pi.metrics["freeze_risk_time_s"].low       # earliest 5 % of freeze-risk times (None: never)

A Latin hypercube (McKay1979) puts one point in each of ``samples``
equal-probability strata of every input, so 16 points cover each input's range as well as
16 random draws would cover it only by chance; its percentiles are estimates whose error
shrinks with more samples (``samples``: 8 gives a rough tail, 32 a steadier one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from cryoderm.physics.case import Case
from cryoderm.physics.engine import simulate_many
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.results import SimulationResult
from cryoderm.physics.spreads import Spread, spreads_for, vary

#: The percentiles of every interval: the cold (or early) tail, the median, the other tail.
QUANTILES = (0.05, 0.5, 0.95)
#: Points of the design per case unless asked otherwise.
DEFAULT_SAMPLES = 16
#: The design's seed unless asked otherwise: any fixed number makes the intervals reproducible.
DEFAULT_SEED = 20131
#: Figures whose None means "never happens" (counted as later than any run).
NEVER_WHEN_NONE = ("freeze_risk_time_s",)
#: The metrics summarised unless asked otherwise (results' metrics or safety figures).
KEY_METRICS = (
    "min_surface_temp_c",
    "surface_time_below_10c_s",
    "surface_time_below_4c_s",
    "surface_time_below_0c_s",
    "min_skin_temp_c",
    "freeze_risk_time_s",
)
MAX_SAMPLES = 1024


@dataclass(frozen=True)
class Interval:
    """A metric's 5th, 50th and 95th percentiles over the varied cases (its unit).

    A time that never happens (a freeze-risk time of None) counts as later than any; a
    percentile that falls on such runs is None ("never")."""

    low: float | None
    median: float | None
    high: float | None

    def to_json_dict(self) -> dict[str, float | None]:
        return {"p05": self.low, "p50": self.median, "p95": self.high}


@dataclass(frozen=True)
class PredictionIntervals:
    """The intervals of one case: ``metrics`` maps a metric name to its :class:`Interval`.

    parameters: the spreads varied (names of data/spreads.toml); samples, seed: the design;
    failed: runs of the design that did not complete (their metrics are left out);
    results: the runs themselves, in design order."""

    parameters: tuple[str, ...]
    samples: int
    seed: int
    metrics: Mapping[str, Interval]
    failed: int
    results: tuple[SimulationResult, ...]

    def to_json_dict(self) -> dict[str, object]:
        return {
            "parameters": list(self.parameters),
            "samples": self.samples,
            "seed": self.seed,
            "failed": self.failed,
            "metrics": {name: interval.to_json_dict() for name, interval in self.metrics.items()},
        }


def design(dimensions: int, samples: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """A Latin hypercube of ``samples`` points in [0, 1]^dimensions (rows), deterministic."""
    if isinstance(samples, bool) or not isinstance(samples, int) or not 2 <= samples <= MAX_SAMPLES:
        raise InvalidInput("samples", samples, f"a whole number from 2 to {MAX_SAMPLES}")
    if dimensions == 0:
        return np.full((samples, 0), 0.5)
    return np.asarray(qmc.LatinHypercube(d=dimensions, rng=seed).random(samples))


def varied_cases(
    case: Case, samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED
) -> tuple[tuple[Spread, ...], tuple[Case, ...]]:
    """The spreads that act on ``case`` and the ``samples`` cases of its design."""
    chosen = spreads_for(case)
    points = design(len(chosen), samples, seed)
    cases = tuple(
        vary(case, {s.name: s.value(case, float(u)) for s, u in zip(chosen, row, strict=True)})
        for row in points
    )
    return chosen, cases


def _figure(result: SimulationResult, name: str) -> float | None:
    value = result.metrics.get(name, result.safety.get(name))
    return None if value is None else float(value)


def _percentile(values: np.ndarray, q: float) -> float | None:
    """Linear-interpolation percentile of ``values`` (may hold +inf for "never"); None
    where it falls on or next to a never-happening run."""
    ordered = np.sort(values)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    if not math.isfinite(ordered[high]):
        return None
    weight = position - low
    return float(ordered[low] + weight * (ordered[high] - ordered[low]))


def summarise(
    results: Sequence[SimulationResult], metrics: Sequence[str] = KEY_METRICS
) -> dict[str, Interval]:
    """Each metric's percentiles over the completed ``results``: a never-happening time
    (NEVER_WHEN_NONE) counts as +inf, other missing figures are left out."""
    done = [r for r in results if r.ok]
    out = {}
    for name in metrics:
        raw = [_figure(r, name) for r in done]
        if name in NEVER_WHEN_NONE:
            values = np.array([math.inf if v is None else v for v in raw])
        else:
            values = np.array([v for v in raw if v is not None])
        if values.size == 0:
            continue
        low, median, high = (_percentile(values, q) for q in QUANTILES)
        out[name] = Interval(low, median, high)
    return out


def prediction_intervals(
    cases: Sequence[Case],
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    metrics: Sequence[str] = KEY_METRICS,
    threads: int | None = None,
) -> list[PredictionIntervals]:
    """The prediction intervals of every case, from one batched engine call (``threads``:
    as for ``simulate_many``)."""
    designs = [varied_cases(case, samples, seed) for case in cases]
    flat = [varied for _, varied_list in designs for varied in varied_list]
    results = simulate_many(flat, threads=threads)
    out = []
    for index, (chosen, _) in enumerate(designs):
        mine = tuple(results[index * samples : (index + 1) * samples])
        out.append(
            PredictionIntervals(
                parameters=tuple(s.name for s in chosen),
                samples=samples,
                seed=seed,
                metrics=summarise(mine, metrics),
                failed=sum(1 for r in mine if not r.ok),
                results=mine,
            )
        )
    return out
