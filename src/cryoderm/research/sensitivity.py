"""Which inputs matter: Morris screening and Sobol indices (SALib) over sourced spreads.

Both methods sample the unit hypercube (one quantile per parameter) and map it through each
parameter's distribution (:mod:`.parameters`), so the indices are over the stated spreads,
whatever their shape. :func:`morris` gives, per quantity and parameter, mu* (the mean
absolute elementary effect over a move of one level, in the quantity's unit) with its
bootstrap confidence and sigma (interaction or non-linearity); :func:`sobol` gives the
first-order (S1) and total (ST) variance fractions with bootstrap confidence (Saltelli's
design, Jansen's estimators as SALib implements them).

The model is any ``f(values[N, D]) -> Runs`` (:class:`~cryoderm.research.evaluate.CaseModel`
runs a case; tests use the Ishigami function). Every run of the design must succeed: a gap
would bias the indices, so a failed or invalid run stops the study with its message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from cryoderm.research.errors import InvalidStudy, ResearchError
from cryoderm.research.evaluate import Runs
from cryoderm.research.parameters import Parameter, check_unique, unit_to_values

Method = Literal["morris", "sobol"]
METHODS: tuple[Method, ...] = ("morris", "sobol")
#: Bootstrap resamples of the confidence intervals (SALib's default).
RESAMPLES = 100
CONFIDENCE = 0.95
#: Levels of the Morris grid (the usual choice, Saltelli et al. 2008): moves of 2/3 of a range.
MORRIS_LEVELS = 4

Model = Callable[[np.ndarray], Runs]


class StudyFailed(ResearchError):
    """A run of the design failed or was refused, so no index can be computed (exit 1)."""


@dataclass(frozen=True)
class SensitivityResult:
    """Indices of one method for every (quantity, parameter).

    rows: one dict per (quantity, parameter) with ``quantity``, ``parameter`` and, for
    Morris, ``mu_star``, ``mu_star_conf``, ``mu``, ``sigma`` (the quantity's unit per move of
    2/3 of the parameter's quantile range); for Sobol, ``S1``, ``S1_conf``, ``ST``,
    ``ST_conf`` (fractions of the variance). runs: model runs used; seconds: their time."""

    method: Method
    parameters: tuple[str, ...]
    sources: tuple[str, ...]
    distributions: tuple[str, ...]
    quantities: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    runs: int
    seed: int
    seconds: float = 0.0

    @property
    def measure(self) -> str:
        """The column that ranks importance: mu_star (Morris) or ST (Sobol)."""
        return "mu_star" if self.method == "morris" else "ST"

    def ranking(self, quantity: str) -> list[str]:
        """Parameters by decreasing importance for ``quantity``."""
        rows = [r for r in self.rows if r["quantity"] == quantity]
        if not rows:
            raise InvalidStudy("quantity", quantity, "one of: " + ", ".join(self.quantities))
        return [r["parameter"] for r in sorted(rows, key=lambda r: -r[self.measure])]

    def to_dataframe(self) -> Any:
        """A tidy pandas DataFrame: one row per (quantity, parameter); provenance in attrs."""
        import pandas as pd

        frame = pd.DataFrame(list(self.rows))
        frame.attrs.update(self.metadata())
        return frame

    def metadata(self) -> dict[str, Any]:
        return {
            "format": "cryoderm-sensitivity/1",
            "method": self.method,
            "runs": self.runs,
            "seed": self.seed,
            "parameters": list(self.parameters),
            "distributions": list(self.distributions),
            "sources": list(self.sources),
        }

    def to_json_dict(self) -> dict[str, Any]:
        return {
            **self.metadata(),
            "quantities": list(self.quantities),
            "seconds": self.seconds,
            "rows": [{k: _plain(v) for k, v in row.items()} for row in self.rows],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if np.isfinite(number) else None
    return value


def _problem(parameters: Sequence[Parameter]) -> dict[str, Any]:
    check_unique(parameters)
    return {
        "num_vars": len(parameters),
        "names": [p.name for p in parameters],
        "bounds": [[0.0, 1.0]] * len(parameters),
    }


def _evaluate(model: Model, parameters: Sequence[Parameter], unit: np.ndarray) -> np.ndarray:
    runs = model(unit_to_values(parameters, unit))
    if not runs.ok.all():
        counts = ", ".join(f"{k} {v}" for k, v in runs.counts().items() if v)
        first = next(iter(runs.messages.values()), "no message")
        raise StudyFailed(f"{counts} of {len(runs.status)} runs; first: {first}")
    gaps = ~np.isfinite(runs.values)
    if gaps.any():
        column = int(np.argwhere(gaps)[0][1])
        raise StudyFailed(f"quantity {column + 1} has no value in {int(gaps.sum())} run(s)")
    return runs.values


def _check_count(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidStudy(name, value, f"a whole number from {low} to {high}")
    return value


def _describe(parameters: Sequence[Parameter]) -> dict[str, tuple[str, ...]]:
    return {
        "parameters": tuple(p.name for p in parameters),
        "sources": tuple(p.source for p in parameters),
        "distributions": tuple(
            ("factor " if p.mode == "scale" else "") + p.distribution.describe() for p in parameters
        ),
    }


def morris(
    model: Model,
    parameters: Sequence[Parameter],
    quantities: Sequence[str],
    *,
    trajectories: int = 20,
    seed: int = 0,
) -> SensitivityResult:
    """Morris elementary effects: ``trajectories`` x (D + 1) runs."""
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    _check_count("trajectories", trajectories, 2, 10_000)
    problem = _problem(parameters)
    unit = sample.sample(problem, trajectories, num_levels=MORRIS_LEVELS, seed=seed)
    values = _evaluate(model, parameters, unit)
    outs = [
        analyze.analyze(
            problem,
            unit,
            values[:, k],
            num_resamples=RESAMPLES,
            conf_level=CONFIDENCE,
            num_levels=MORRIS_LEVELS,
            seed=seed,
        )
        for k in range(len(quantities))
    ]
    columns = ("mu_star", "mu_star_conf", "mu", "sigma")
    return _result("morris", model, parameters, quantities, outs, columns, len(unit), seed)


def _result(
    method: Method,
    model: Model,
    parameters: Sequence[Parameter],
    quantities: Sequence[str],
    outs: Sequence[Any],
    columns: Sequence[str],
    runs: int,
    seed: int,
) -> SensitivityResult:
    """One row per (quantity, parameter) of SALib's outputs (one per quantity)."""
    rows = [
        {
            "quantity": name,
            "parameter": parameter.name,
            **{column: float(out[column][j]) for column in columns},
        }
        for name, out in zip(quantities, outs, strict=True)
        for j, parameter in enumerate(parameters)
    ]
    return SensitivityResult(
        method,
        quantities=tuple(quantities),
        rows=tuple(rows),
        runs=runs,
        seed=seed,
        seconds=float(getattr(model, "seconds", 0.0)),
        **_describe(parameters),
    )


def sobol(
    model: Model,
    parameters: Sequence[Parameter],
    quantities: Sequence[str],
    *,
    n: int = 256,
    seed: int = 0,
) -> SensitivityResult:
    """Sobol first-order and total indices: n x (D + 2) runs (n a power of 2)."""
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    _check_count("n", n, 8, 1 << 20)
    if n & (n - 1):
        raise InvalidStudy("n", n, "a power of 2 (a Sobol sequence's balance needs it)")
    problem = _problem(parameters)
    unit = sample.sample(problem, n, calc_second_order=False, seed=seed)
    values = _evaluate(model, parameters, unit)
    outs = []
    for k in range(len(quantities)):
        y = values[:, k]
        if np.ptp(y) == 0.0:
            # No variance to apportion (e.g. never below 10 C): every index is 0, not 0/0.
            zero = np.zeros(len(parameters))
            outs.append({"S1": zero, "S1_conf": zero, "ST": zero, "ST_conf": zero})
            continue
        outs.append(
            analyze.analyze(
                problem,
                y,
                calc_second_order=False,
                num_resamples=RESAMPLES,
                conf_level=CONFIDENCE,
                seed=seed,
            )
        )
    columns = ("S1", "S1_conf", "ST", "ST_conf")
    return _result("sobol", model, parameters, quantities, outs, columns, len(unit), seed)


def plot(results: Sequence[SensitivityResult], path: Any) -> None:
    """Bar charts (one panel per method and quantity) of mu* or ST with their confidence,
    written to ``path`` (PNG, SVG or PDF by its suffix; matplotlib without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(r, q) for r in results for q in r.quantities]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(7.0, 1.2 + 0.45 * len(results[0].parameters) * len(panels))
    )
    for ax, (result, name) in zip(np.atleast_1d(axes), panels, strict=True):
        rows = [r for r in result.rows if r["quantity"] == name]
        labels = [r["parameter"] for r in rows]
        measure = result.measure
        ax.barh(
            labels,
            [r[measure] for r in rows],
            xerr=[r[f"{measure}_conf"] for r in rows],
            color="#4477aa",
        )
        if result.method == "sobol":
            ax.barh(labels, [r["S1"] for r in rows], color="#88ccee", height=0.4, label="S1")
            ax.legend(loc="lower right", fontsize=7)
        ax.invert_yaxis()
        if not any(r[measure] for r in rows):
            ax.text(0.5, 0.5, "no variation over the design", ha="center", transform=ax.transAxes)
            ax.set_xlim(0.0, 1.0)
        ax.set_title(f"{result.method}: {name}", fontsize=9)
        ax.set_xlabel("mu* (unit of the quantity)" if measure == "mu_star" else "ST (and S1)")
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def study(
    case: Any,
    parameters: Sequence[Parameter] | None = None,
    *,
    methods: Sequence[Method] = METHODS,
    outputs: Sequence[str] | None = None,
    n: int = 256,
    trajectories: int = 20,
    seed: int = 0,
    client: Any = None,
    progress: Any = None,
) -> list[SensitivityResult]:
    """Morris and/or Sobol indices of ``case``'s outputs over ``parameters`` (default: the
    sourced spreads of research.spreads.case_spreads). outputs: quantity names (default
    evaluate.DEFAULT_QUANTITIES). client: a Dask client for large designs (None: here)."""
    from cryoderm.research.evaluate import DEFAULT_QUANTITIES, CaseModel, quantities_for
    from cryoderm.research.spreads import case_spreads

    chosen = list(case_spreads(case) if parameters is None else parameters)
    names = list(DEFAULT_QUANTITIES if outputs is None else outputs)
    quantities = quantities_for(case, names)
    for method in methods:
        if method not in METHODS:
            raise InvalidStudy("method", method, "one of: " + ", ".join(METHODS))
    results = []
    for method in methods:
        model = CaseModel(case, chosen, quantities, client=client, progress=progress)
        if method == "morris":
            results.append(morris(model, chosen, names, trajectories=trajectories, seed=seed))
        else:
            results.append(sobol(model, chosen, names, n=n, seed=seed))
    return results


def design_runs(methods: Sequence[Method], parameters: int, n: int, trajectories: int) -> int:
    """How many runs a study takes: Morris r (D + 1), Sobol n (D + 2)."""
    runs = {"morris": trajectories * (parameters + 1), "sobol": n * (parameters + 2)}
    return sum(runs[m] for m in methods)


def to_frame(results: Sequence[SensitivityResult], provenance: dict[str, Any]) -> Any:
    """One tidy table of several methods' indices (a ``method`` column; a method's columns
    are empty on the other's rows), with the methods' metadata and ``provenance``."""
    import pandas as pd

    frames = [r.to_dataframe().assign(method=r.method) for r in results]
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[["method", *[c for c in frame.columns if c != "method"]]]
    frame.attrs = {
        "format": "cryoderm-sensitivity/1",
        "studies": [r.metadata() for r in results],
        **provenance,
    }
    return frame
