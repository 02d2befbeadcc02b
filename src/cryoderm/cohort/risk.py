"""Protocol risk over a virtual population, on Dask (a LocalCluster unless given a scheduler).

For one case (a protocol on one facial zone) every subject of :func:`population.sample` gets
its own tissue; the cases run in chunks through ``simulate_many`` on the Dask workers. Risk
is the fraction of subjects in whom the model predicts a freezing (frostnip) risk at the skin
(``safety.freeze_risk_time_s`` set) and the fraction whose skin goes below the modality's
floor (data/thresholds.toml via cryoderm.clinical.limits, or a floor given by the caller).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cryoderm.clinical.limits import load_safety_limits
from cryoderm.cohort import population
from cryoderm.physics.case import Case
from cryoderm.physics.engine import simulate_many

MODALITIES = ("cold-air", "ln2-vapour", "contact")


@dataclass(frozen=True)
class SubjectOutcome:
    """One subject's run: status "ok"/"failed"/"invalid"; temperatures in C, time in s."""

    subject: population.Subject
    status: str
    min_surface_temp_c: float | None
    freeze_risk_time_s: float | None
    below_floor: bool


@dataclass(frozen=True)
class CohortRisk:
    """Protocol risk over ``size`` subjects of ``zone``.

    freeze_risk_fraction and below_floor_fraction are over the subjects whose run succeeded
    (``failed`` counts the others); min_surface_p05_c / _p50_c: 5th percentile and median of
    the subjects' minimum skin temperature."""

    zone: str
    size: int
    seed: int
    floor_c: float
    freeze_risk_fraction: float
    below_floor_fraction: float
    failed: int
    min_surface_p05_c: float | None
    min_surface_p50_c: float | None
    outcomes: tuple[SubjectOutcome, ...]

    def to_json_dict(self) -> dict[str, Any]:
        summary = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "outcomes"
        }
        summary["subjects"] = [
            {
                **dataclasses.asdict(o.subject),
                "status": o.status,
                "min_surface_temp_c": o.min_surface_temp_c,
                "freeze_risk_time_s": o.freeze_risk_time_s,
                "below_floor": o.below_floor,
            }
            for o in self.outcomes
        ]
        return summary


def floor_for(case: Case, zone: str) -> float:
    """The skin-temperature floor (C) of the case's first device modality at ``zone``."""
    for phase in case.phases:
        if phase.modality in MODALITIES:
            return load_safety_limits().floor_temp_c(zone, phase.modality)
    raise ValueError("the case has no cold-air, ln2-vapour or contact phase: give floor_c")


def evaluate_chunk(
    case: Case, zone: str, subjects: Sequence[population.Subject], floor_c: float
) -> list[SubjectOutcome]:
    """Simulate ``case`` for each subject (one batched call); runs on a Dask worker."""
    tissue = case.tissue
    cases = [
        dataclasses.replace(
            case,
            tissue=population.tissue(
                zone, s, core_temp_c=tissue.core_temp_c, arterial_temp_c=tissue.arterial_temp_c
            ),
        )
        for s in subjects
    ]
    outcomes = []
    for subject, result in zip(subjects, simulate_many(cases), strict=True):
        if not result.ok:
            outcomes.append(SubjectOutcome(subject, result.status, None, None, False))
            continue
        lowest = float(result.metrics["min_surface_temp_c"] or 0.0)
        freeze = result.safety.get("freeze_risk_time_s")
        outcomes.append(
            SubjectOutcome(
                subject, "ok", lowest, None if freeze is None else float(freeze), lowest < floor_c
            )
        )
    return outcomes


def summarise(
    zone: str, seed: int, floor_c: float, outcomes: Sequence[SubjectOutcome]
) -> CohortRisk:
    ok = [o for o in outcomes if o.status == "ok"]
    lows = np.array([o.min_surface_temp_c for o in ok], dtype=float)
    n = len(ok)
    return CohortRisk(
        zone=zone,
        size=len(outcomes),
        seed=seed,
        floor_c=floor_c,
        freeze_risk_fraction=sum(o.freeze_risk_time_s is not None for o in ok) / n if n else 0.0,
        below_floor_fraction=sum(o.below_floor for o in ok) / n if n else 0.0,
        failed=len(outcomes) - n,
        min_surface_p05_c=float(np.percentile(lows, 5)) if n else None,
        min_surface_p50_c=float(np.percentile(lows, 50)) if n else None,
        outcomes=tuple(outcomes),
    )


def protocol_risk(
    case: Case,
    size: int,
    *,
    seed: int = 0,
    floor_c: float | None = None,
    scheduler_address: str | None = None,
    n_workers: int = 2,
    processes: bool = True,
    chunk_size: int = 64,
    client: Any = None,
) -> CohortRisk:
    """Risk of ``case`` over ``size`` subjects of its zone, computed on Dask.

    client: an existing ``distributed.Client`` (used as is); otherwise one connects to
    ``scheduler_address`` or starts a LocalCluster of ``n_workers`` (closed afterwards)."""
    zone = case.tissue.zone
    if zone is None:
        raise ValueError(
            "a cohort needs a case on a built-in zone (tissue.zone), not explicit layers"
        )
    if chunk_size < 1:
        raise ValueError(f"chunk_size {chunk_size}: at least 1")
    floor = floor_for(case, zone) if floor_c is None else float(floor_c)
    subjects = population.sample(zone, size, seed)
    chunks = [subjects[k : k + chunk_size] for k in range(0, len(subjects), chunk_size)]
    from distributed import Client, LocalCluster

    own_cluster = None
    own_client = None
    if client is None:
        if scheduler_address:
            own_client = Client(scheduler_address)
        else:
            own_cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=processes,
                dashboard_address=None,
            )
            own_client = Client(own_cluster)
        client = own_client
    try:
        futures = client.map(
            evaluate_chunk,
            [case] * len(chunks),
            [zone] * len(chunks),
            chunks,
            [floor] * len(chunks),
            pure=False,
        )
        outcomes = [o for chunk in client.gather(futures) for o in chunk]
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
    return summarise(zone, seed, floor, outcomes)
