"""Protocol risk over a virtual population: one case applied to every subject, on Dask.

:func:`protocol_risk` samples the population in this process, cuts the subjects into blocks
and runs each block as the lanes of batched kernel calls (:func:`evaluate_block`), on the workers of a
``distributed.Client`` or, without one, here in turn. Blocks come back in order, so a
distributed run and an in-process run give exactly the same :class:`CohortRisk`.

Per subject the model predicts (docs/physics.md section 7): the coldest skin-surface
temperature, whether a freezing (frostnip) risk is reached (``safety.freeze_risk_time_s``)
and the time the surface spends below 10, 4 and 0 C. Over the subjects whose run succeeded
the result gives fractions and percentiles; runs that failed or were invalid are counted by
status and reported, never dropped silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cryoderm.clinical.limits import load_safety_limits
from cryoderm.cohort.errors import InvalidCohort
from cryoderm.cohort.population import Subjects, VirtualPopulation
from cryoderm.data import load_table
from cryoderm.physics.case import Case
from cryoderm.physics.lanes import simulate_lanes

STATUSES = ("ok", "failed", "invalid")
PERCENTILES = (1, 5, 50, 95, 99)
#: Surface thresholds reported as time-below percentiles: result key -> engine metric.
TIME_BELOW = {
    "10c": "surface_time_below_10c_s",
    "4c": "surface_time_below_4c_s",
    "0c": "surface_time_below_0c_s",
}
#: Subjects per Dask task: each task is one evaluate_block call (brief: 1,000-10,000).
DEFAULT_BLOCK = 2_000
MAX_BLOCK = 10_000


@dataclass(frozen=True, eq=False)
class BlockOutcome:
    """One block's runs, as columns (internal; entries of a non-ok run are not read).

    status: index into STATUSES; min_surface_temp_c (C); freeze_risk: the model predicts a
    freezing risk; time_below_s: [subject, threshold] in the order of TIME_BELOW (s);
    messages: the first message of each non-ok status in the block; freeze_risk_time_s
    (s, NaN: never), min_skin_temp_c (C), max_frozen_depth_mm (NaN: none): NaN for a
    subject whose run is not ok."""

    status: np.ndarray
    min_surface_temp_c: np.ndarray
    freeze_risk: np.ndarray
    time_below_s: np.ndarray
    messages: Mapping[str, str]
    freeze_risk_time_s: np.ndarray
    min_skin_temp_c: np.ndarray
    max_frozen_depth_mm: np.ndarray


@dataclass(frozen=True)
class CohortRisk:
    """One protocol's predicted risk over ``n`` virtual subjects of ``zone``.

    status_counts: runs per status ("ok", "failed", "invalid"); messages: one example message
    per non-ok status. The fractions and percentiles are over the "ok" runs (None when there
    are none): freeze_risk_fraction: the model predicts a freezing risk at the skin;
    below_floor_fraction: the coldest surface is below floor_c (C, the interlock's floor for
    the modality, data/thresholds.toml); reaching_band_fraction: the coldest surface reaches
    the target band's upper edge (band_c, C; None without a band), as the planner's
    "reached" does. min_surface_temp_c: percentile name ("p05") -> coldest surface (C);
    surface_time_below_s: threshold ("10c", "4c", "0c") -> percentile name -> time (s).
    The model's limits apply to every number (docs/validation.md); risk here is a model
    prediction over assumed spreads (data/cohort.toml), not an observed incidence.
    protocol: the protocol run, in words (the planner's plan for a goal, or the case's
    phases). subjects: every subject's inputs and predictions (see :meth:`subjects_frame`;
    not part of the JSON form or of equality)."""

    zone: str
    modality: str | None
    n: int
    seed: int
    sex: str
    age_range_years: tuple[int, int]
    floor_c: float
    band_c: tuple[float, float] | None
    status_counts: Mapping[str, int]
    messages: Mapping[str, str]
    freeze_risk_fraction: float | None
    below_floor_fraction: float | None
    reaching_band_fraction: float | None
    min_surface_temp_c: Mapping[str, float]
    surface_time_below_s: Mapping[str, Mapping[str, float]]
    protocol: str = ""
    subjects: Mapping[str, np.ndarray] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def to_json_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(dataclasses.replace(self, subjects={}))
        out.pop("subjects")
        out["format"] = "cryoderm-cohort-risk/1"
        out["age_range_years"] = list(self.age_range_years)
        out["band_c"] = None if self.band_c is None else list(self.band_c)
        return out

    def to_dataframe(self) -> Any:
        """A tidy pandas DataFrame: one row per (quantity, statistic) with its value
        (fractions, percentiles of the coldest skin and of the time below each threshold);
        who, how many and the run counts in ``.attrs``."""
        import pandas as pd

        rows: list[tuple[str, str, float | None]] = [
            ("freeze_risk_fraction", "fraction", self.freeze_risk_fraction),
            ("below_floor_fraction", "fraction", self.below_floor_fraction),
            ("reaching_band_fraction", "fraction", self.reaching_band_fraction),
        ]
        rows += [("min_surface_temp_c", p, v) for p, v in self.min_surface_temp_c.items()]
        for threshold, points in self.surface_time_below_s.items():
            rows += [(f"surface_time_below_{threshold}_s", p, v) for p, v in points.items()]
        frame = pd.DataFrame(rows, columns=["quantity", "statistic", "value"])
        frame["value"] = frame["value"].astype(float)
        attrs = self.to_json_dict()
        for key in ("freeze_risk_fraction", "below_floor_fraction", "reaching_band_fraction"):
            attrs.pop(key)
        attrs.pop("min_surface_temp_c")
        attrs.pop("surface_time_below_s")
        frame.attrs.update(attrs)
        return frame

    def subjects_frame(self) -> Any:
        """One row per subject (pandas DataFrame): who (sex, age, dermis and fat thickness,
        dermal perfusion), the run's status and its predictions (coldest surface, time
        below 10/4/0 C, the freezing risk's time, the coldest skin, the deepest frozen
        tissue; empty where the run is not ok or nothing froze); the summary (this
        result's JSON form, the protocol named) in ``.attrs``."""
        import pandas as pd

        frame = pd.DataFrame(dict(self.subjects))
        frame.index.name = "subject"
        frame.attrs.update(self.to_json_dict())
        frame.attrs["format"] = "cryoderm-cohort-subjects/1"
        return frame


def protocol_modality(case: Case) -> str | None:
    """The case's first device modality (cold-air, ln2-vapour, contact), or None."""
    known = load_safety_limits().modalities
    return next((p.modality for p in case.phases if p.modality in known), None)


def modality_band_c(modality: str) -> tuple[float, float]:
    """The catalogue's target surface band (C) of a modality (data/protocols.toml)."""
    row = load_table("protocols")["modality"][modality]
    return float(row["band_low_c"]), float(row["band_high_c"])


def evaluate_block(case: Case, subjects: Subjects, *, threads: int | None = None) -> BlockOutcome:
    """Simulate ``case`` on every subject of the block, the subjects as the lanes of
    batched kernel calls (physics/lanes.py: the per-subject runs' results, tested).

    Runs on a Dask worker (or in process). Each subject's tissue replaces the case's; the
    case's core and arterial temperatures are kept. threads: the engine's; None: 1 on a
    Dask worker (the other cores are the other workers'), else the engine's default (the
    cores of the machine)."""
    if threads is None and _on_dask_worker():
        threads = 1
    base, lanes = subjects.lanes(
        core_temp_c=case.tissue.core_temp_c, arterial_temp_c=case.tissue.arterial_temp_c
    )
    outcome = simulate_lanes(case, lanes, base=base, threads=threads)
    ok = outcome.status == STATUSES.index("ok")
    below = np.stack([outcome.time_below(_threshold(key)) for key in TIME_BELOW], axis=1)
    return BlockOutcome(
        status=outcome.status.astype(np.int8),
        min_surface_temp_c=np.where(ok, outcome.min_surface_temp_c, 0.0),
        freeze_risk=ok & ~np.isnan(outcome.freeze_risk_time_s),
        time_below_s=np.where(ok[:, None], below, 0.0),
        messages=dict(outcome.messages),
        freeze_risk_time_s=outcome.freeze_risk_time_s,
        min_skin_temp_c=outcome.min_skin_temp_c,
        max_frozen_depth_mm=outcome.max_frozen_depth_mm,
    )


def _threshold(key: str) -> float:
    """The temperature (C) of a TIME_BELOW key ("10c" -> 10.0)."""
    return float(key.removesuffix("c"))


def _on_dask_worker() -> bool:
    """Whether this code runs in a task of a Dask worker."""
    try:
        from distributed import get_worker
    except ImportError:  # pragma: no cover - distributed is a dependency of cohorts
        return False
    try:
        get_worker()
    except ValueError:
        return False
    return True


def _blocks(subjects: Subjects, block_size: int) -> list[Subjects]:
    return [
        subjects.block(start, min(start + block_size, len(subjects)))
        for start in range(0, len(subjects), block_size)
    ]


def _run(
    case: Case,
    blocks: Sequence[Subjects],
    client: Any,
    progress: Callable[[int, int], None] | None = None,
) -> list[BlockOutcome]:
    total = sum(len(block) for block in blocks)
    if client is None:
        outcomes = []
        for block in blocks:
            outcomes.append(evaluate_block(case, block))
            if progress is not None:
                progress(sum(len(o.status) for o in outcomes), total)
        return outcomes
    from distributed import as_completed

    # The case travels once to every worker; then one task per block (pure=False: a re-run
    # is a new computation, never a cached one).
    shared = client.scatter(case, broadcast=True)
    futures = client.map(evaluate_block, [shared] * len(blocks), blocks, pure=False)
    sizes = {future.key: len(block) for future, block in zip(futures, blocks, strict=True)}
    done = 0
    for future in as_completed(futures):
        done += sizes[future.key]
        if progress is not None:
            progress(done, total)
    gathered: list[BlockOutcome] = client.gather(futures)
    return gathered


def protocol_risk(
    case: Case,
    population: VirtualPopulation,
    n: int,
    *,
    floor_c: float | None = None,
    band_c: tuple[float, float] | None = None,
    client: Any = None,
    block_size: int = DEFAULT_BLOCK,
    progress: Callable[[int, int], None] | None = None,
    protocol: str | None = None,
) -> CohortRisk:
    """Apply ``case`` to ``n`` subjects of ``population`` and summarise the predicted risk.

    floor_c: the skin floor (C); default the interlock floor of the case's modality.
    band_c: (low, high) target band (C); default the catalogue band of the case's modality.
    client: a ``distributed.Client`` (see cohort.cluster.client_for) to run the blocks on;
    None runs them in this process. block_size: subjects per task (1 to 10,000).
    progress(done, n): called as blocks finish (a progress bar). protocol: the protocol's
    name in the result (default: :func:`describe_protocol`, the case's phases in words).
    Raises InvalidCohort naming the field for a bad input."""
    zone = case.tissue.zone
    if zone is not None and zone != population.zone:
        raise InvalidCohort(
            "population.zone", population.zone, f"the case's zone ({zone}), or a case of layers"
        )
    if isinstance(block_size, bool) or not isinstance(block_size, int):
        raise InvalidCohort("block_size", block_size, f"a whole number from 1 to {MAX_BLOCK}")
    if not 1 <= block_size <= MAX_BLOCK:
        raise InvalidCohort("block_size", block_size, f"a whole number from 1 to {MAX_BLOCK}")
    modality = protocol_modality(case)
    if floor_c is None:
        if modality is None:
            raise InvalidCohort(
                "floor_c",
                None,
                "give a floor: the case has no cold-air, ln2-vapour or contact phase",
                "C",
            )
        floor_c = load_safety_limits().floor_temp_c(population.zone, modality)
    if not np.isfinite(floor_c) or not -50.0 <= floor_c <= 37.0:
        raise InvalidCohort("floor_c", floor_c, "a skin temperature from -50 to 37", "C")
    if band_c is None and modality is not None:
        band_c = modality_band_c(modality)
    if band_c is not None and not (
        np.all(np.isfinite(band_c)) and len(band_c) == 2 and band_c[0] < band_c[1]
    ):
        raise InvalidCohort("band_c", band_c, "(low, high) with low < high", "C")
    subjects = population.sample(n)
    outcomes = _run(case, _blocks(subjects, block_size), client, progress)
    risk = summarise(case, population, float(floor_c), band_c, outcomes)
    return dataclasses.replace(
        risk,
        protocol=describe_protocol(case) if protocol is None else protocol,
        subjects=subject_columns(subjects, outcomes),
    )


def describe_protocol(case: Case) -> str:
    """The case's protocol in words: its title, then each phase's modality, its cold
    source (signed C), the air speed or nozzle distance where given, and its duration."""
    from cryoderm.data.labels import celsius

    steps = []
    for phase in case.phases:
        text: str = phase.modality
        for name in ("gas_temp_c", "applicator_temp_c", "ambient_temp_c"):
            value = getattr(phase, name, None)
            if value is not None:
                text += f" {celsius(value, signed=True)}"
                break
        speed = getattr(phase, "air_speed_m_s", None)
        if speed is not None:
            text += f" at {speed:g} m/s"
        distance = getattr(phase, "distance_cm", None)
        if distance is not None:
            text += f" at {distance:g} cm"
        steps.append(f"{text} for {phase.duration_s:g} s")
    words = ", then ".join(steps)
    return f"{case.title}: {words}" if case.title else words


def subject_columns(subjects: Subjects, outcomes: Sequence[BlockOutcome]) -> dict[str, np.ndarray]:
    """Every subject's inputs and predictions as columns (CohortRisk.subjects), in subject
    order; predictions of a run that is not ok are NaN."""
    status = np.concatenate([o.status for o in outcomes])
    ok = status == STATUSES.index("ok")

    def joined(name: str) -> np.ndarray:
        values = np.concatenate([getattr(o, name) for o in outcomes]).astype(np.float64)
        return np.where(ok.reshape((-1,) + (1,) * (values.ndim - 1)), values, np.nan)

    below = joined("time_below_s")
    columns: dict[str, np.ndarray] = {
        "sex": np.where(subjects.female, "female", "male"),
        "age_years": subjects.age_years,
        "dermis_mm": subjects.dermis_mm,
        "fat_mm": subjects.fat_mm,
        "dermis_perfusion_per_s": subjects.dermis_perfusion_per_s,
        "status": np.asarray(STATUSES)[status],
        "min_surface_temp_c": joined("min_surface_temp_c"),
    }
    for k, key in enumerate(TIME_BELOW.values()):
        columns[key] = below[:, k]
    columns["freeze_risk_time_s"] = joined("freeze_risk_time_s")
    columns["min_skin_temp_c"] = joined("min_skin_temp_c")
    columns["max_frozen_depth_mm"] = joined("max_frozen_depth_mm")
    return columns


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {}
    points = np.percentile(values, PERCENTILES)
    return {f"p{p:02d}": float(v) for p, v in zip(PERCENTILES, points, strict=True)}


def summarise(
    case: Case,
    population: VirtualPopulation,
    floor_c: float,
    band_c: tuple[float, float] | None,
    outcomes: Sequence[BlockOutcome],
) -> CohortRisk:
    """Reduce the blocks' outcomes (in subject order) to one CohortRisk."""
    status = np.concatenate([o.status for o in outcomes])
    ok = status == STATUSES.index("ok")
    lowest = np.concatenate([o.min_surface_temp_c for o in outcomes])[ok]
    freeze = np.concatenate([o.freeze_risk for o in outcomes])[ok]
    below = np.concatenate([o.time_below_s for o in outcomes])[ok]
    messages: dict[str, str] = {}
    for outcome in outcomes:
        for name, message in outcome.messages.items():
            messages.setdefault(name, message)
    counted = int(ok.sum())

    def fraction(flags: np.ndarray) -> float | None:
        return float(flags.sum()) / counted if counted else None

    return CohortRisk(
        zone=population.zone,
        modality=protocol_modality(case),
        n=int(status.size),
        seed=population.seed,
        sex=population.sex,
        age_range_years=population.age_range_years,
        floor_c=floor_c,
        band_c=None if band_c is None else (float(band_c[0]), float(band_c[1])),
        status_counts={name: int((status == k).sum()) for k, name in enumerate(STATUSES)},
        messages=messages,
        freeze_risk_fraction=fraction(freeze),
        below_floor_fraction=fraction(lowest < floor_c),
        reaching_band_fraction=None if band_c is None else fraction(lowest <= band_c[1]),
        min_surface_temp_c=_percentiles(lowest),
        surface_time_below_s={name: _percentiles(below[:, k]) for k, name in enumerate(TIME_BELOW)},
    )
