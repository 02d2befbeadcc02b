"""Fitting a case to measured traces: least squares with intervals, and a posterior.

:func:`fit` estimates chosen inputs of one or more cases from measured traces (research.
traces): scipy's ``least_squares`` (trust-region reflective, within bounds) on the
residuals model - measured at the traces' times, with the Jacobian by central differences,
every evaluation one ``simulate_many`` batch. Positive inputs are fitted in their logarithm
(a factor is as easy to find as a shift). The 95 % interval of each estimate comes from the
covariance (J^T J)^-1 (times the residual variance when the traces give no measurement SD,
as curve_fit does), with Student's t, back-transformed. With ``posterior=True`` an emcee
ensemble samples the posterior (flat priors within the bounds, Gaussian errors of the
traces' SD or the fit's residual SD); all walkers of a step run as one batch.

Parameters are named by a shorthand or a case key path (:func:`fit_parameter`):

- ``h``: the heat transfer coefficient of every convective phase;
- ``contact``: the contact conductance of every contact phase;
- ``perfusion``: a factor on every layer's basal perfusion;
- ``deep``: the thickness of the deepest layer (where the deep boundary lies);
- a layer's name (``dermis``, ``fat``): that layer's thickness;
- any key path (``phase[2].gas_temp_c``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cryoderm.physics.case import Case, ContactPhase, Probe
from cryoderm.physics.engine import simulate_many
from cryoderm.physics.errors import InvalidInput
from cryoderm.research.errors import InvalidStudy, ResearchError
from cryoderm.research.keys import KeyPath, Mode, apply, current_values, parse_key
from cryoderm.research.traces import SURFACE, Trace

#: Default search range of a fitted input: its starting value divided / multiplied by this.
RANGE_FACTOR = 10.0
#: Central-difference step of the Jacobian, in the fitted (log or linear) coordinate.
#: assumption: 1e-2 steps over the grid's whole-cell jumps when a layer's thickness changes
#: (a 1e-4 step would see the jump, not the slope); the model is smooth at that scale.
JACOBIAN_STEP = 1e-2
CONFIDENCE = 0.95
SHORTHANDS = ("h", "contact", "perfusion", "deep")


class FitFailed(ResearchError):
    """The model could not be evaluated at a point the fit needed (a run failed; exit 1)."""


@dataclass(frozen=True)
class FitParameter:
    """One fitted input: key path, how it applies, start and bounds (in its own unit, or a
    factor for mode "scale"), and whether it is fitted in its logarithm."""

    name: str
    key: str
    start: float
    low: float
    high: float
    mode: Mode = "set"
    log: bool = True
    path: KeyPath = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", parse_key(self.key))
        if not (self.low < self.high and self.low <= self.start <= self.high):
            raise InvalidStudy(
                f"{self.name}.start", self.start, f"within {self.low:g} to {self.high:g}"
            )
        if self.log and self.low <= 0:
            raise InvalidStudy(f"{self.name}.low", self.low, "> 0 for a positive input")

    def to_fit(self, value: float) -> float:
        return math.log(value) if self.log else value

    def from_fit(self, x: np.ndarray | float) -> Any:
        return np.exp(x) if self.log else x


def _phases_with(case: Case, name: str, kinds: tuple[str, ...], key: str) -> str:
    found = [k for k, p in enumerate(case.phases, 1) if p.modality in kinds]
    if not found:
        raise InvalidStudy(name, name, f"the case has no {' or '.join(kinds)} phase: name a key")
    if len(found) == 1:
        return f"phase[{found[0]}].{key}"
    return f"phase[*].{key}" if len(found) == len(case.phases) else ""


def _contact_start(case: Case) -> float:
    from cryoderm.data import load_table

    for phase in case.phases:
        if isinstance(phase, ContactPhase):
            if phase.contact_conductance_w_m2k is not None:
                return phase.contact_conductance_w_m2k
            row = load_table("exposures")["applicator"].get(phase.applicator, {})
            if "contact_conductance_w_m2k" in row:
                return float(row["contact_conductance_w_m2k"])
    raise InvalidStudy("contact", "contact", "give the contact phase a contact_conductance_w_m2k")


def fit_parameter(
    case: Case,
    name: str,
    *,
    start: float | None = None,
    low: float | None = None,
    high: float | None = None,
) -> FitParameter:
    """The fitted input ``name`` (a shorthand of the module docstring, a layer or a key path)
    of ``case``, starting at the case's value unless ``start`` is given; bounds default to
    the start divided / multiplied by RANGE_FACTOR."""
    layers = [layer.name for layer in case.tissue.layers]
    mode: Mode = "set"
    if name == "h":
        key = _phases_with(case, name, ("convective",), "heat_transfer_w_m2k")
    elif name == "contact":
        key = _phases_with(case, name, ("contact",), "contact_conductance_w_m2k")
        start = _contact_start(case) if start is None else start
    elif name == "perfusion":
        key, mode = "tissue.layer[*].perfusion_per_s", "scale"
        start = 1.0 if start is None else start
    elif name == "deep":
        key = f"tissue.layer[{len(layers)}].thickness_mm"
    elif name in layers:
        key = f"tissue.layer[{name}].thickness_mm"
    else:
        key = name
    if not key:
        raise InvalidStudy(name, name, "several phases qualify: name one by its key path")
    path = parse_key(key, name)
    if start is None:
        values = [v for v in current_values(case, path) if v is not None]
        if not values:
            raise InvalidStudy(name, key, "the case has no value here: give a start")
        start = values[0]
    positive = start > 0 and (low is None or low > 0)
    if low is None:
        low = start / RANGE_FACTOR if positive else start - abs(start) - 10.0
    if high is None:
        high = start * RANGE_FACTOR if positive else start + abs(start) + 10.0
    return FitParameter(name, key, float(start), float(low), float(high), mode, log=positive)


@dataclass(frozen=True, eq=False)
class Experiment:
    """One case and the traces measured under it."""

    case: Case
    traces: tuple[Trace, ...]


def _with_probes(case: Case, traces: Sequence[Trace]) -> Case:
    """``case`` with a surface probe added when a trace needs one; other probes must exist."""
    names = {p.name for p in case.output.probes}
    for trace in traces:
        if trace.probe not in names and trace.probe != SURFACE:
            raise InvalidStudy(
                f"trace {trace.name}",
                trace.probe,
                "a probe of the case: " + ", ".join(sorted(names)),
            )
        if trace.time_s[-1] > case.duration_s or trace.time_s[0] < 0:
            raise InvalidStudy(
                f"trace {trace.name}.time_s",
                f"{trace.time_s[0]:g} to {trace.time_s[-1]:g}",
                f"within the case's 0 to {case.duration_s:g} s",
                "s",
            )
    if SURFACE in names or all(t.probe != SURFACE for t in traces):
        return case
    probes = (*case.output.probes, Probe(SURFACE, 0.0))
    return dataclasses.replace(case, output=dataclasses.replace(case.output, probes=probes))


class _Model:
    """Residuals of every experiment at a batch of parameter points (fit coordinates)."""

    def __init__(self, experiments: Sequence[Experiment], parameters: Sequence[FitParameter]):
        self.experiments = [
            Experiment(_with_probes(e.case, e.traces), e.traces) for e in experiments
        ]
        self.parameters = tuple(parameters)
        traces = [t for e in self.experiments for t in e.traces]
        self.known_sd = all(t.sd_c is not None for t in traces)
        self.weights = np.concatenate(
            [
                np.full(len(t.time_s), 1.0 / t.sd_c if self.known_sd and t.sd_c else 1.0)
                for t in traces
            ]
        )
        self.measured = np.concatenate([t.temp_c for t in traces])
        self.evaluations = 0

    def cases(self, x: np.ndarray) -> list[Case]:
        changes = [
            (p.path, p.mode, float(p.from_fit(v))) for p, v in zip(self.parameters, x, strict=True)
        ]
        return [apply(e.case, changes) for e in self.experiments]

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Model values at the traces' samples, one row per point; NaN rows where it failed."""
        cases: list[Case] = []
        usable = []
        for k, x in enumerate(points):
            try:
                cases += self.cases(x)
                usable.append(k)
            except (InvalidInput, InvalidStudy):
                continue
        results = iter(simulate_many(cases))
        out = np.full((len(points), len(self.measured)), np.nan)
        for k in usable:
            row = []
            for experiment in self.experiments:
                result = next(results)
                for trace in experiment.traces:
                    if not result.ok:
                        row.append(np.full(len(trace.time_s), np.nan))
                        continue
                    series = np.asarray(result.probes[trace.probe])
                    if trace.change_from_start:
                        series = series - series[0]
                    row.append(np.interp(trace.time_s, result.time_s, series))
            out[k] = np.concatenate(row)
        self.evaluations += len(points)
        return out

    def residuals(self, points: np.ndarray) -> np.ndarray:
        return (self.predict(points) - self.measured) * self.weights


@dataclass(frozen=True)
class Estimate:
    """One fitted input: value, standard error (in the fit coordinate: log for positive
    inputs, so a relative error) and the 95 % interval (in the input's unit)."""

    name: str
    key: str
    value: float
    low_95: float
    high_95: float
    standard_error: float
    log: bool
    posterior_median: float | None = None
    posterior_low_95: float | None = None
    posterior_high_95: float | None = None


@dataclass(frozen=True, eq=False)
class FitResult:
    """What a fit found. rms_c: root-mean-square residual (C); residual_sd_c: the SD used
    for the intervals (the traces' own when all give one); evaluations: model runs."""

    estimates: tuple[Estimate, ...]
    rms_c: float
    residual_sd_c: float
    samples: int
    evaluations: int
    message: str
    covariance: np.ndarray
    chain: np.ndarray | None = None
    acceptance: float | None = None
    fitted: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Estimate:
        for estimate in self.estimates:
            if estimate.name == name:
                return estimate
        raise KeyError(name)

    def to_dataframe(self) -> Any:
        import pandas as pd

        frame = pd.DataFrame([dataclasses.asdict(e) for e in self.estimates]).set_index("name")
        # Without a posterior its columns are empty numbers (NaN), not objects holding None.
        for column in ("posterior_median", "posterior_low_95", "posterior_high_95"):
            frame[column] = frame[column].astype(float)
        frame.attrs.update(
            {
                "format": "cryoderm-fit/1",
                "rms_c": self.rms_c,
                "residual_sd_c": self.residual_sd_c,
                "samples": self.samples,
                "evaluations": self.evaluations,
                "message": self.message,
                "acceptance": self.acceptance,
                **self.fitted,
            }
        )
        return frame

    def to_json_dict(self) -> dict[str, Any]:
        frame = self.to_dataframe()
        return {**frame.attrs, "estimates": [dataclasses.asdict(e) for e in self.estimates]}


def _jacobian(model: _Model, x: np.ndarray) -> np.ndarray:
    steps = np.eye(len(x)) * JACOBIAN_STEP
    points = np.vstack([x + steps, x - steps])
    values = model.residuals(points)
    if not np.all(np.isfinite(values)):
        raise FitFailed("a run near the estimate failed or was refused: narrow the bounds")
    half = len(x)
    return ((values[:half] - values[half:]) / (2 * JACOBIAN_STEP)).T


def fit(
    case: Case,
    traces: Sequence[Trace],
    parameters: Sequence[str | FitParameter],
    *,
    more: Sequence[Experiment] = (),
    posterior: bool = False,
    walkers: int = 16,
    steps: int = 300,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> FitResult:
    """Fit ``parameters`` of ``case`` (and of the ``more`` experiments, which share them) to
    the measured ``traces``. posterior: also sample with emcee (``walkers`` x ``steps``, the
    first half discarded as burn-in)."""
    from scipy.optimize import least_squares
    from scipy.stats import norm
    from scipy.stats import t as student

    chosen = [p if isinstance(p, FitParameter) else fit_parameter(case, p) for p in parameters]
    if not chosen:
        raise InvalidStudy("--fit", "", "at least one input to fit")
    if len({p.key for p in chosen}) != len(chosen):
        raise InvalidStudy("--fit", [p.name for p in chosen], "each input once")
    experiments = [Experiment(case, tuple(traces)), *more]
    if not any(e.traces for e in experiments):
        raise InvalidStudy("--measured", "(none)", "at least one measured trace")
    model = _Model(experiments, chosen)
    samples = len(model.measured)
    if samples <= len(chosen):
        raise InvalidStudy(
            "--measured", samples, f"more samples than fitted inputs ({len(chosen)})"
        )
    x0 = np.array([p.to_fit(p.start) for p in chosen])
    bounds = (
        np.array([p.to_fit(p.low) for p in chosen]),
        np.array([p.to_fit(p.high) for p in chosen]),
    )

    def residuals(x: np.ndarray) -> np.ndarray:
        values = model.residuals(x[None, :])[0]
        if not np.all(np.isfinite(values)):
            at = ", ".join(f"{p.name} {p.from_fit(v):.4g}" for p, v in zip(chosen, x, strict=True))
            raise FitFailed(f"the model failed at {at}")
        return values

    solution = least_squares(
        residuals, x0, jac=lambda x: _jacobian(model, x), bounds=bounds, method="trf"
    )
    jac = _jacobian(model, solution.x)
    dof = samples - len(chosen)
    raw = solution.fun / model.weights
    rms = float(np.sqrt(np.mean(raw**2)))
    scale = 1.0 if model.known_sd else float(np.sum(solution.fun**2) / max(dof, 1))
    covariance = np.linalg.pinv(jac.T @ jac) * scale
    # Known measurement SD: normal quantiles; estimated SD: Student's t with its dof.
    level = 0.5 + CONFIDENCE / 2
    quantile = float(norm.ppf(level) if model.known_sd else student.ppf(level, dof))
    errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    residual_sd = math.sqrt(scale) if not model.known_sd else float(1.0 / model.weights.mean())
    estimates = [
        Estimate(
            p.name,
            p.key,
            float(p.from_fit(x)),
            float(p.from_fit(x - quantile * e)),
            float(p.from_fit(x + quantile * e)),
            float(e),
            p.log,
        )
        for p, x, e in zip(chosen, solution.x, errors, strict=True)
    ]
    chain = acceptance = None
    if posterior:
        chain, acceptance = _posterior(
            model,
            solution.x,
            covariance,
            bounds,
            1.0 if model.known_sd else scale,
            walkers,
            steps,
            seed,
            progress,
        )
        estimates = [
            dataclasses.replace(
                est,
                posterior_median=float(p.from_fit(np.median(chain[:, j]))),
                posterior_low_95=float(p.from_fit(np.percentile(chain[:, j], 2.5))),
                posterior_high_95=float(p.from_fit(np.percentile(chain[:, j], 97.5))),
            )
            for j, (p, est) in enumerate(zip(chosen, estimates, strict=True))
        ]
    from cryoderm.research.outputs import case_provenance

    return FitResult(
        tuple(estimates),
        rms,
        residual_sd,
        samples,
        model.evaluations,
        str(solution.message),
        covariance,
        chain,
        acceptance,
        case_provenance(case),
    )


def _posterior(
    model: _Model,
    x: np.ndarray,
    covariance: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    variance: float,
    walkers: int,
    steps: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, float]:
    import emcee

    dims = len(x)
    if isinstance(walkers, bool) or not isinstance(walkers, int) or walkers < 2 * dims:
        raise InvalidStudy("walkers", walkers, f"a whole number >= {2 * dims} (2 per input)")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 10 <= steps <= 100_000:
        raise InvalidStudy("steps", steps, "a whole number from 10 to 100000")
    low, high = bounds

    def log_probability(points: np.ndarray) -> np.ndarray:
        inside = np.all((points >= low) & (points <= high), axis=1)
        out = np.full(len(points), -np.inf)
        if inside.any():
            r = model.residuals(points[inside])
            chi2 = np.sum(r**2, axis=1) / variance
            out[inside] = np.where(np.isfinite(chi2), -0.5 * chi2, -np.inf)
        return out

    rng = np.random.default_rng(seed)
    spread = np.sqrt(np.clip(np.diag(covariance), 1e-12, None))
    start = x + 0.1 * spread * rng.standard_normal((walkers, dims))
    start = np.clip(start, low, high)
    sampler = emcee.EnsembleSampler(walkers, dims, log_probability, vectorize=True)
    sampler.random_state = np.random.RandomState(seed).get_state()
    for step, _ in enumerate(sampler.sample(start, iterations=steps), 1):
        if progress is not None:
            progress(step, steps)
    chain = sampler.get_chain(discard=steps // 2, flat=True)
    return chain, float(np.mean(sampler.acceptance_fraction))
