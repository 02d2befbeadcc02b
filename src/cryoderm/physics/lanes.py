"""Many tissues under one protocol in one kernel call: every subject a lane of its own.

``simulate_many`` batches the cases of one tissue (they share a grid). A cohort applies one
case to thousands of subjects whose layers differ in thickness and perfusion: here each
subject keeps its own grid, built for all of them at once (:func:`lane_grids`, value for
value ``grid.build_grid``'s), and the subjects with the same number of nodes run as the
lanes of one kernel call on the kernel path that reads every coefficient per lane
(kernels._advance_block). Results come back as columns, one entry per subject, equal to
the per-subject runs' (tested to 1e-9 K); no result object is built per subject, which is
what made a cohort cost a whole small simulation per subject.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cryoderm.physics import freezing, metrics, solver
from cryoderm.physics.bounds import Bound, bound
from cryoderm.physics.case import Case, Tissue
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.grid import GROWTH_PER_MM, MAX_SPACING_MM, SURFACE_SPACING_MM

if TYPE_CHECKING:
    from cryoderm.physics.engine import Engine, ProtocolBatch

#: Status codes of LaneResults.status, in the order of the cohort's statuses.
STATUSES = ("ok", "failed", "invalid")
OK, FAILED, INVALID = range(3)
#: Lanes per kernel call: whole SIMD blocks of the kernel (solver.BLOCK) and enough calls
#: for the engine's threads to share a block of a cohort (assumption: as engine.CHUNK, measured
#: there).
CHUNK = 128
FAILURES = {
    1: "the nonlinear iteration did not converge (freezing front or perfusion law too stiff "
    "for the step); try a finer time_refinement",
    2: "the solver produced a non-finite temperature",
}


@dataclass(frozen=True, eq=False)
class LaneTissues:
    """What differs between the subjects: the thickness (mm) and the basal perfusion (1/s)
    of each layer, [subject, layer], the layers in the order of the base tissue's (see
    simulate_lanes), which gives every other property of the layers and the blood."""

    thickness_mm: np.ndarray
    perfusion_per_s: np.ndarray

    def __len__(self) -> int:
        return int(self.thickness_mm.shape[0])

    def tissue(self, base: Tissue, k: int) -> Tissue:
        """Subject ``k``'s tissue as a value object (checked as any Tissue): the one a
        per-subject run would simulate."""
        layers = tuple(
            dataclasses.replace(
                layer,
                thickness_mm=float(self.thickness_mm[k, index]),
                perfusion_per_s=float(self.perfusion_per_s[k, index]),
            )
            for index, layer in enumerate(base.layers)
        )
        return dataclasses.replace(base, layers=layers)


@dataclass(frozen=True, eq=False)
class LaneGrids:
    """The grids of many tissues, padded to the longest: depth_m [lane, node] (n + 1 used
    values, the last the core node), the per-node coefficients [lane, node] (n used values,
    as grid.Grid's), cells [lane] (n), layer_end [lane, layer] (the node at the bottom of
    each layer, grid.Grid.layer_nodes' second entry)."""

    depth_m: np.ndarray
    capacity_j_m2k: np.ndarray
    mass_kg_m2: np.ndarray
    conductance_w_m2k: np.ndarray
    cell_dx_m: np.ndarray
    perfusion_w_m2k: np.ndarray
    metabolic_w_m2: np.ndarray
    cells: np.ndarray
    layer_end: np.ndarray


def lane_grids(tissue: Tissue, lanes: LaneTissues, refinement: float = 1.0) -> LaneGrids:
    """Every subject's grid at once: the same operations as grid.build_grid in the same
    order, element by element, so each lane equals its tissue's grid exactly (tested)."""
    count = len(lanes)
    edges = [np.zeros(count)]
    layer_of_cell: list[np.ndarray] = []
    top = edges[0]
    position = np.zeros(count, dtype=np.int64)
    layer_end = np.zeros((count, len(tissue.layers)), dtype=np.int64)
    rows = np.arange(count)
    for index in range(len(tissue.layers)):
        thickness = lanes.thickness_mm[:, index]
        bottom = top + thickness
        # March the spacing function through the layer (every lane until its bottom).
        marks = [top]
        last = top
        active = last < bottom - 1e-12
        steps = np.zeros(count, dtype=np.int64)
        while active.any():
            spacing = np.minimum(MAX_SPACING_MM, SURFACE_SPACING_MM + GROWTH_PER_MM * last)
            last = np.where(active, last + spacing / refinement, last)
            steps += active
            marks.append(last)
            active &= last < bottom - 1e-12
        # ... then stretch the cells to fit it (a last cell more than half over is dropped).
        table = np.stack(marks, axis=1)
        final = table[rows, steps]
        before = table[rows, np.maximum(steps - 1, 0)]
        cells = steps - ((steps > 1) & ((final - bottom) > 0.5 * (final - before)))
        stretch = thickness / (table[rows, cells] - top)
        for m in range(1, int(cells.max()) + 1):
            inside = m <= cells
            value = np.where(m == cells, bottom, top + (table[:, m] - top) * stretch)
            edges.append(np.where(inside, value, np.nan))
            layer_of_cell.append(np.where(inside, index, -1))
        position += cells
        layer_end[:, index] = position
        top = bottom
    # Each lane's edges in order (the NaNs of lanes with fewer cells in a layer dropped).
    stacked = np.stack(edges, axis=1)
    layer_rows = np.stack(layer_of_cell, axis=1)
    order = np.argsort(np.isnan(stacked), axis=1, kind="stable")
    depth_mm = np.take_along_axis(stacked, order, axis=1)
    cell_layer = np.take_along_axis(layer_rows, order[:, 1:] - 1, axis=1)
    total = position
    width = int(total.max())
    depth_mm = depth_mm[:, : width + 1]
    cell_layer = cell_layer[:, :width]
    # Padding beyond a lane's cells repeats its core node (zero-width cells, never read).
    padding = np.arange(width + 1)[None, :] > total[:, None]
    depth_mm = np.where(padding, depth_mm[np.arange(count), total][:, None], depth_mm)
    cell_layer = np.where(cell_layer < 0, 0, cell_layer)
    depth_m = depth_mm * 1e-3
    dx = np.diff(depth_m, axis=1)

    def per_layer(values: list[float]) -> np.ndarray:
        return np.asarray(values)[cell_layer]

    k = per_layer([layer.conductivity_w_mk for layer in tissue.layers])
    rho = per_layer([layer.density_kg_m3 for layer in tissue.layers])
    rc = per_layer([layer.density_kg_m3 * layer.specific_heat_j_kgk for layer in tissue.layers])
    wb = tissue.blood.density_kg_m3 * tissue.blood.specific_heat_j_kgk
    perf = wb * np.take_along_axis(lanes.perfusion_per_s, cell_layer, axis=1)
    met = per_layer([layer.metabolic_w_m3 for layer in tissue.layers])

    def half_cells(per_cell: np.ndarray) -> np.ndarray:
        out = 0.5 * per_cell * dx
        out[:, 1:] += 0.5 * (per_cell * dx)[:, :-1]
        return out

    with np.errstate(divide="ignore", invalid="ignore"):
        conductance = k / dx
    return LaneGrids(
        depth_m=depth_m,
        capacity_j_m2k=half_cells(rc),
        mass_kg_m2=half_cells(rho),
        conductance_w_m2k=conductance,
        cell_dx_m=dx,
        perfusion_w_m2k=half_cells(perf),
        metabolic_w_m2=half_cells(met),
        cells=total,
        layer_end=layer_end,
    )


@dataclass(frozen=True, eq=False)
class LaneResults:
    """Per-subject results of one protocol, as columns (entries of a subject whose status
    is not ok are NaN).

    status: index into STATUSES; messages: one example message per status other than ok;
    min_surface_temp_c, final_surface_temp_c, min_skin_temp_c (C); freeze_risk_time_s (s,
    NaN: never); max_frozen_depth_mm (NaN: none); surface_time_below_s and
    basal_time_below_s [subject, threshold] (s; basal NaN without an epidermis);
    surface_cold_dose_k_s (K s); thresholds_c: the thresholds' temperatures (C). The
    quantities are metrics.py's of the same names."""

    status: np.ndarray
    messages: dict[str, str]
    min_surface_temp_c: np.ndarray
    final_surface_temp_c: np.ndarray
    min_skin_temp_c: np.ndarray
    freeze_risk_time_s: np.ndarray
    max_frozen_depth_mm: np.ndarray
    surface_time_below_s: np.ndarray
    basal_time_below_s: np.ndarray
    surface_cold_dose_k_s: np.ndarray
    thresholds_c: tuple[float, ...]

    @classmethod
    def empty(cls, count: int) -> LaneResults:
        thresholds = metrics.thresholds_c()

        def column() -> np.ndarray:
            return np.full(count, np.nan)

        return cls(
            status=np.full(count, INVALID, dtype=np.int8),
            messages={},
            min_surface_temp_c=column(),
            final_surface_temp_c=column(),
            min_skin_temp_c=column(),
            freeze_risk_time_s=column(),
            max_frozen_depth_mm=column(),
            surface_time_below_s=np.full((count, len(thresholds)), np.nan),
            basal_time_below_s=np.full((count, len(thresholds)), np.nan),
            surface_cold_dose_k_s=column(),
            thresholds_c=thresholds,
        )

    def time_below(self, threshold_c: float) -> np.ndarray:
        """The surface's time below ``threshold_c`` (one of thresholds_c), per subject."""
        return self.surface_time_below_s[:, self.thresholds_c.index(threshold_c)]


def _within(limits: Bound, values: np.ndarray, high: np.ndarray | None = None) -> np.ndarray:
    """Bound.within, element by element."""
    ok = np.isfinite(values)
    if limits.low is not None:
        ok &= values > limits.low if limits.low_open else values >= limits.low
    top = high if high is not None else limits.high
    if top is not None:
        ok &= values < top if limits.high_open else values <= top
    return ok


def _checked(case: Case, lanes: LaneTissues, results: LaneResults) -> np.ndarray:
    """The lanes whose tissue and probes are valid; the others marked invalid with the
    first error's message (the field named as a per-subject run names it)."""
    valid = np.ones(len(lanes), dtype=bool)
    checks = [
        ("thickness_mm", lanes.thickness_mm, bound("tissue.layer.thickness_mm")),
        ("perfusion_per_s", lanes.perfusion_per_s, bound("tissue.layer.perfusion_per_s")),
    ]
    for name, values, limits in checks:
        ok = _within(limits, values)
        if not ok.all():
            lane, layer = np.argwhere(~ok)[0]
            error = limits.error(f"tissue.layer[{layer + 1}].{name}", float(values[lane, layer]))
            results.messages.setdefault("invalid", str(error))
        valid &= ok.all(axis=1)
    depth = lanes.thickness_mm.sum(axis=1)
    limits = bound("output.probe.depth_mm")
    for index, probe in enumerate(case.output.probes, 1):
        ok = probe.depth_mm <= depth
        if not ok.all():
            lane = int(np.argmin(ok))
            error = limits.error(
                f"output.probe[{index}].depth_mm", probe.depth_mm, float(depth[lane])
            )
            results.messages.setdefault("invalid", str(error))
        valid &= ok
    return valid


def simulate_lanes(
    case: Case,
    lanes: LaneTissues,
    *,
    base: Tissue | None = None,
    threads: int | None = None,
    engine: Engine | None = None,
) -> LaneResults:
    """Run ``case`` once per subject of ``lanes``, the subjects as the lanes of batched
    kernel calls: subject k's run is the case's with ``lanes.tissue(base, k)`` as its tissue.

    base: the tissue whose layers the subjects vary (default: the case's); its core and
    arterial temperatures must be the case's. threads: as simulate_many's (None: the
    engine's). A case that cannot run at all makes every subject invalid with its message;
    a subject whose tissue or probes are invalid, or whose run fails, is marked alone.
    Freezing as for one run (engine.Engine.simulate_many): unstated, the lanes run linearly, and
    the subjects whose tissue reached its freezing point run again with freezing."""
    from cryoderm.physics.engine import default_engine

    engine = engine or default_engine()
    base = case.tissue if base is None else base
    if (base.core_temp_c, base.arterial_temp_c) != (
        case.tissue.core_temp_c,
        case.tissue.arterial_temp_c,
    ):
        raise ValueError("base: the core and arterial temperatures of the case's tissue")
    count = len(lanes)
    if lanes.thickness_mm.shape != (count, len(base.layers)) or (
        lanes.perfusion_per_s.shape != lanes.thickness_mm.shape
    ):
        raise ValueError("lanes: one thickness and one perfusion per layer of the case's tissue")
    results = LaneResults.empty(count)
    if case.geometry.axisymmetric:
        results.messages["invalid"] = "geometry.kind: a cohort runs the 1-D column engine"
        return results
    try:
        batch = engine.protocol(case, base)
    except InvalidInput as error:
        results.messages["invalid"] = str(error)
        return results
    valid = _checked(case, lanes, results)
    chosen = np.flatnonzero(valid)
    _run_pass(engine, batch, case, base, lanes, chosen, results, threads)
    if case.freezing.enabled is None and freezing.decide(case):
        # The subjects that reached their freezing point, again with freezing.
        again = chosen[
            (results.status[chosen] == OK) & ~np.isnan(results.freeze_risk_time_s[chosen])
        ]
        if again.size:
            frozen = engine.protocol(case, base, freezes=True)
            _run_pass(engine, frozen, case, base, lanes, again, results, threads)
    if (results.status == FAILED).any():
        results.messages.setdefault("failed", "the solver failed")
    return results


def _run_pass(
    engine: Engine,
    batch: ProtocolBatch,
    case: Case,
    base: Tissue,
    lanes: LaneTissues,
    chosen: np.ndarray,
    results: LaneResults,
    threads: int | None,
) -> None:
    """Run the subjects ``chosen`` (their results into ``results``)."""
    if chosen.size == 0:
        return
    grids = lane_grids(
        base,
        LaneTissues(lanes.thickness_mm[chosen], lanes.perfusion_per_s[chosen]),
        batch.space_refinement,
    )
    engine.run_all(
        [_job(batch, case, grids, rows, where, results) for rows, where in _chunks(grids, chosen)],
        threads,
    )


def _chunks(grids: LaneGrids, chosen: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(rows of grids, subjects) of each kernel call: lanes with the same number of nodes,
    at most CHUNK of them."""
    for cells in np.unique(grids.cells):
        rows = np.flatnonzero(grids.cells == cells)
        pieces = -(-rows.size // CHUNK)
        for piece in np.array_split(rows, pieces):
            yield piece, chosen[piece]


def _job(
    batch: ProtocolBatch,
    case: Case,
    grids: LaneGrids,
    rows: np.ndarray,
    where: np.ndarray,
    results: LaneResults,
) -> Callable[[], None]:
    def run() -> None:
        _run_chunk(batch, case, grids, rows, where, results)

    return run


def _run_chunk(
    batch: ProtocolBatch,
    case: Case,
    grids: LaneGrids,
    rows: np.ndarray,
    where: np.ndarray,
    results: LaneResults,
) -> None:
    """One kernel call: the lanes ``rows`` of ``grids`` (subjects ``where``), all with the
    same number of nodes, and their results into ``results``."""
    setting = batch.setting
    n = int(grids.cells[rows[0]])
    lanes = rows.size

    def nodes(array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(array[rows, :n].T)

    columns = solver.lane_columns(
        setting,
        solver.NodeColumns(
            nodes(grids.capacity_j_m2k),
            nodes(grids.mass_kg_m2),
            nodes(grids.conductance_w_m2k),
            nodes(grids.cell_dx_m),
            nodes(grids.perfusion_w_m2k),
            nodes(grids.metabolic_w_m2),
            np.ascontiguousarray(grids.layer_end[rows].T),
        ),
    )
    depth_m = grids.depth_m[rows, : n + 1]
    na = batch.na
    n_probes = len(case.output.probes)
    probe_idx = np.full((lanes, max(n_probes, 1)), -1, dtype=np.int64)
    probe_w = np.zeros((lanes, max(n_probes, 1)))
    for p, probe in enumerate(case.output.probes):
        # grid.probe_weights, lane by lane.
        z = probe.depth_mm * 1e-3
        i = np.clip(np.count_nonzero(depth_m <= z, axis=1) - 1, 0, n - 1)
        upper = depth_m[np.arange(lanes), i]
        lower = depth_m[np.arange(lanes), i + 1]
        probe_idx[:, p] = i + na
        probe_w[:, p] = np.clip((z - upper) / (lower - upper), 0.0, 1.0)
    basal = np.full(lanes, -1, dtype=np.int64)
    if batch.basal_layer >= 0:
        basal[:] = grids.layer_end[rows, batch.basal_layer] + na
    shared = solver.lane_arrays(setting, columns, lanes, na, probe_idx, probe_w, basal)
    prepared = batch.prepare(lanes, shared)
    (output,) = solver.execute(prepared, fresh=False)
    status = output.status
    ok = status == 0
    results.status[where] = np.where(ok, OK, FAILED)
    node_min = output.node_min
    acc = output.accumulators
    results.min_surface_temp_c[where] = node_min[0]
    results.final_surface_temp_c[where] = output.final_surface_c
    results.min_skin_temp_c[where] = node_min.min(axis=0)
    freeze_time = acc[:, solver_acc("A_FREEZE_TIME")]
    results.freeze_risk_time_s[where] = np.where(freeze_time >= 0.0, freeze_time, np.nan)
    frozen_node = acc[:, solver_acc("A_FROZEN_NODE")].astype(np.int64)
    depth_mm = depth_m[np.arange(lanes), np.maximum(frozen_node, 0)] * 1e3
    results.max_frozen_depth_mm[where] = np.where(frozen_node >= 0, depth_mm, np.nan)
    results.surface_time_below_s[where] = output.below_surface
    if batch.basal_layer >= 0:
        results.basal_time_below_s[where] = output.below_basal
    results.surface_cold_dose_k_s[where] = acc[:, solver_acc("A_COLD_DOSE")]
    for column in (
        results.min_surface_temp_c,
        results.final_surface_temp_c,
        results.min_skin_temp_c,
        results.freeze_risk_time_s,
        results.max_frozen_depth_mm,
        results.surface_cold_dose_k_s,
    ):
        column[where[~ok]] = np.nan
    results.surface_time_below_s[where[~ok]] = np.nan
    results.basal_time_below_s[where[~ok]] = np.nan
    for code in np.unique(status[~ok]).tolist():
        results.messages.setdefault("failed", FAILURES.get(code, "solver failure"))


def solver_acc(name: str) -> int:
    """The accumulator column ``name`` of the kernels (imported late: numba)."""
    from cryoderm.physics import kernels

    return int(getattr(kernels, name))
