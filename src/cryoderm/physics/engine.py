"""The thermal engine's entry points: a Case in, a SimulationResult out.

``simulate(case)`` runs one case; ``simulate_many(cases)`` runs many in batched kernel calls
(results identical to one-by-one runs). A case that cannot be simulated gives status
"invalid" with a message naming the field; a run whose solver fails gives "failed".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics import exposures, freezing, metrics, perfusion
from cryoderm.physics.case import Case, SteadyInitial, Tissue, UniformInitial
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.grid import Grid, build_grid, probe_weights
from cryoderm.physics.results import Field, SimulationResult
from cryoderm.physics.solver import Job, Prepared, RawOutput, execute, output_times, prepare_group

FAILURES = {
    1: "the nonlinear iteration did not converge (freezing front or perfusion law too stiff "
    "for the step); try a finer time_refinement",
    2: "the solver produced a non-finite temperature",
}
BASAL_LAYER = "epidermis"


@dataclass(frozen=True, eq=False)
class _Prepared:
    case: Case
    job: Job
    key: tuple[object, ...]
    boundaries: tuple[float, ...]
    times_s: np.ndarray
    applicator_cells: int
    time_refinement: float


def _check(field: str, value: float, low: float, high: float, unit: str) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidInput(field, value, f"must be within {low:g} to {high:g}", unit)


@lru_cache(maxsize=256)
def _validate_tissue(tissue: Tissue) -> None:
    if not tissue.layers:
        raise InvalidInput("tissue.layer", "[]", "at least one layer is required")
    for k, layer in enumerate(tissue.layers, start=1):
        where = f"tissue.layer[{k}]"
        _check(f"{where}.thickness_mm", layer.thickness_mm, 0.005, 200.0, "mm")
        _check(f"{where}.conductivity_w_mk", layer.conductivity_w_mk, 0.01, 10.0, "W/m/K")
        _check(f"{where}.density_kg_m3", layer.density_kg_m3, 100.0, 5000.0, "kg/m3")
        _check(f"{where}.specific_heat_j_kgk", layer.specific_heat_j_kgk, 100.0, 10000.0, "J/kg/K")
        _check(f"{where}.perfusion_per_s", layer.perfusion_per_s, 0.0, 0.1, "1/s")
        _check(f"{where}.metabolic_w_m3", layer.metabolic_w_m3, 0.0, 1e5, "W/m3")
    _check("tissue.core_temp_c", tissue.core_temp_c, 0.0, 45.0, "C")
    _check("tissue.arterial_temp_c", tissue.arterial_temp_c, 0.0, 45.0, "C")
    _check("tissue.blood.density_kg_m3", tissue.blood.density_kg_m3, 500.0, 2000.0, "kg/m3")
    _check(
        "tissue.blood.specific_heat_j_kgk",
        tissue.blood.specific_heat_j_kgk,
        1000.0,
        6000.0,
        "J/kg/K",
    )


def _prepare(case: Case) -> _Prepared:
    _validate_tissue(case.tissue)
    law = perfusion.resolve(case.perfusion)
    phase = freezing.resolve(case.freezing)
    segments = exposures.segments(case.phases)
    _check("numerics.space_refinement", case.numerics.space_refinement, 0.01, 64.0, "")
    _check("numerics.time_refinement", case.numerics.time_refinement, 0.01, 64.0, "")
    boost = freezing.FREEZING_REFINEMENT if phase.enabled else 1.0
    space_refinement = case.numerics.space_refinement * boost
    time_refinement = case.numerics.time_refinement * boost
    grid: Grid = build_grid(case.tissue, space_refinement)
    output = case.output
    _check("output.sample_every_s", output.sample_every_s, 1e-3, 86400.0, "s")
    times = output_times(case.duration_s, output.sample_every_s)
    if len(times) > 200_000:
        raise InvalidInput(
            "output.sample_every_s",
            output.sample_every_s,
            "gives more than 200000 output times; sample less often",
            "s",
        )
    depth = case.tissue.depth_mm
    probe_nodes = []
    seen = set()
    for k, probe in enumerate(output.probes, start=1):
        if probe.name in seen:
            raise InvalidInput(f"output.probe[{k}].name", probe.name, "must be unique")
        seen.add(probe.name)
        _check(f"output.probe[{k}].depth_mm", probe.depth_mm, 0.0, depth, "mm")
        probe_nodes.append(probe_weights(grid, probe.depth_mm))
    basal = -1
    names = [layer.name.lower() for layer in case.tissue.layers]
    if BASAL_LAYER in names and len(names) > 1:
        basal = grid.layer_nodes[names.index(BASAL_LAYER)][1]
    initial = case.initial
    if isinstance(initial, SteadyInitial):
        _check("initial.ambient_temp_c", initial.ambient_temp_c, -200.0, 60.0, "C")
        _check("initial.heat_transfer_w_m2k", initial.heat_transfer_w_m2k, 0.0, 1e8, "W/m2K")
        steady, temp, h = True, initial.ambient_temp_c, initial.heat_transfer_w_m2k
    elif isinstance(initial, UniformInitial):
        _check("initial.temp_c", initial.temp_c, -50.0, 45.0, "C")
        steady, temp, h = False, initial.temp_c, 0.0
    else:
        raise InvalidInput("initial.state", initial, 'must be "steady" or "uniform"')
    cells = int(load_table("exposures")["contact"]["applicator_cells"])
    has_contact = any(s.applicator is not None for s in segments)
    boundaries = (*(s.start_s for s in segments), segments[-1].end_s)
    job = Job(
        grid=grid,
        segments=segments,
        law=law,
        phase=phase,
        arterial_temp_c=case.tissue.arterial_temp_c,
        core_temp_c=case.tissue.core_temp_c,
        initial_steady=steady,
        initial_temp_c=temp,
        initial_h_w_m2k=h,
        probe_nodes=tuple(probe_nodes),
        basal_node=basal,
        full_field=output.full_field,
    )
    key = (
        case.tissue,
        space_refinement,
        time_refinement,
        has_contact,
        boundaries,
        output.sample_every_s,
        output.full_field,
        phase.enabled,
    )
    return _Prepared(
        case, job, key, boundaries, times, cells if has_contact else 0, time_refinement
    )


def _result(prepared: _Prepared, raw: RawOutput) -> SimulationResult:
    if raw.status != 0:
        return SimulationResult(status="failed", message=FAILURES.get(raw.status, "solver failure"))
    case = prepared.case
    grid = prepared.job.grid
    probes = {probe.name: raw.samples[:, p].copy() for p, probe in enumerate(case.output.probes)}
    final_surface = float(raw.final_temp[0])
    values, safety = metrics.compute(
        case,
        grid,
        probes,
        raw.node_min,
        raw.below_surface,
        raw.below_basal,
        raw.accumulators,
        raw.initial_temp,
        final_surface,
        prepared.job.basal_node >= 0,
    )
    field = None
    if raw.field_temp is not None and raw.field_perfusion is not None:
        field = Field(
            depth_mm=grid.depth_m * 1e3, temp_c=raw.field_temp, perfusion_ratio=raw.field_perfusion
        )
    return SimulationResult(
        status="ok",
        message="",
        time_s=prepared.times_s,
        probes=probes,
        metrics=values,
        safety=safety,
        field=field,
    )


def simulate_many(cases: Sequence[Case]) -> list[SimulationResult]:
    """Simulate every case; cases sharing a tissue and a step schedule run in one batch."""
    results: list[SimulationResult | None] = [None] * len(cases)
    groups: dict[tuple[object, ...], list[tuple[int, _Prepared]]] = {}
    for index, case in enumerate(cases):
        try:
            prepared = _prepare(case)
        except InvalidInput as error:
            results[index] = SimulationResult(status="invalid", message=str(error))
            continue
        groups.setdefault(prepared.key, []).append((index, prepared))
    for members in groups.values():
        raws = execute(_inputs([p for _, p in members]))
        for (index, prepared), raw in zip(members, raws, strict=True):
            results[index] = _result(prepared, raw)
    return [r for r in results if r is not None]


def _inputs(members: list[_Prepared]) -> Prepared:
    first = members[0]
    return prepare_group(
        [p.job for p in members],
        first.boundaries,
        first.times_s,
        first.time_refinement,
        first.applicator_cells,
        np.asarray(metrics.thresholds_c()),
        metrics.dose_reference_c(),
    )


@lru_cache(maxsize=256)
def _single(case: Case) -> tuple[_Prepared, Prepared]:
    """A case's preparation and kernel inputs, steady state included: pure functions of
    the (immutable) case, kept so that repeated single runs pay only for the time stepping."""
    prepared = _prepare(case)
    return prepared, _inputs([prepared])


def simulate(case: Case) -> SimulationResult:
    """Simulate one case (see the module docstring)."""
    try:
        prepared, inputs = _single(case)
    except InvalidInput as error:
        return SimulationResult(status="invalid", message=str(error))
    return _result(prepared, execute(inputs)[0])
