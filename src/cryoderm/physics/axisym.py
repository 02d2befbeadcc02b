"""The 2-D axisymmetric engine: a case with ``[geometry] kind = "axisymmetric"`` in, a
SimulationResult out (docs/physics.md section 10).

The tissue is a cylinder of the case's layers around the axis of its spots, its side wall
adiabatic, its bottom at the core temperature. The depth grid, the layers' coefficients,
the perfusion and freezing laws, the initial steady state and the step schedule are the
1-D engine's (grid.py, perfusion.py, freezing.py, solver.py): every column of the cylinder
is a 1-D column, coupled to its neighbours by radial conduction (radial.py). Phases act on
the whole surface or on a spot (spots.py). A case whose spots cover the whole surface
uniformly gives the 1-D result, to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.linalg import eigh_tridiagonal

from cryoderm.physics import (
    axisym_general,
    axisym_metrics,
    exposures,
    freezing,
    perfusion,
    solver,
    spots,
)
from cryoderm.physics import axisym_kernels as kernels
from cryoderm.physics.case import Case
from cryoderm.physics.engine import FAILURES, _applicator_cells, _setting
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.freezing import NEVER_C
from cryoderm.physics.grid import Grid, build_grid
from cryoderm.physics.metrics import dose_reference_c, thresholds_c
from cryoderm.physics.radial import RadialGrid, build_radial_grid, radial_weights
from cryoderm.physics.results import Field, LazyRow, SimulationResult, ok_result, with_case


@dataclass(frozen=True, eq=False)
class General:
    """The general path's inputs (axisym_general.py): the nonlinear coefficients of the
    applicator's rows (written by the kernel) and the depth nodes, the laws, the radiation
    of each segment, the applicator and the initial vasoconstriction state (depth x radius)."""

    nodes: axisym_general.Nodes
    laws: axisym_general.Laws
    radiation: axisym_general.Radiation
    contact: axisym_general.Contact
    memory: np.ndarray


@dataclass(frozen=True, eq=False)
class Prepared:
    """Everything one run needs, built once per case (immutable inputs; run() copies what
    the kernel writes). general: None on the linear path (constant perfusion, no freezing,
    no radiation)."""

    case: Case
    grid: Grid
    radial: RadialGrid
    column: kernels.Column
    basis: kernels.Radial
    steps: kernels.Steps
    surface: kernels.Surface
    probes: kernels.Probes
    initial: np.ndarray
    times_s: np.ndarray
    full_field: bool
    general: General | None


@lru_cache(maxsize=64)
def eigenbasis(grid: RadialGrid) -> tuple[kernels.Radial, np.ndarray]:
    """The radial operator's eigenbasis (axisym_kernels.Radial) and the orthonormal
    eigenvectors psi (columns), for the exchange matrices of the surface."""
    area, coupling = grid.area_m2, grid.coupling
    stiffness = np.zeros(grid.n)
    stiffness[:-1] += coupling
    stiffness[1:] += coupling
    scale = np.sqrt(area)
    lam, psi = eigh_tridiagonal(stiffness / area, -coupling / (scale[:-1] * scale[1:]))
    # The uniform field is an exact eigenvector (lam = 0): its tiny rounding is noise.
    lam = np.maximum(lam, 0.0)
    to_modes = np.ascontiguousarray(scale[:, None] * psi)
    to_field = np.ascontiguousarray(psi.T / scale[None, :])
    basis = kernels.Radial(
        area=area,
        coupling=coupling,
        lam=lam,
        to_modes=to_modes,
        to_field=to_field,
        ones=np.ascontiguousarray(to_modes.sum(axis=0)),
    )
    return basis, psi


def _lateral(conductance: np.ndarray, grid: Grid) -> np.ndarray:
    """The depth integral of k over each node's share, from a conductance k/dx per cell."""
    per_cell = conductance * grid.cell_dx_m**2
    out = 0.5 * per_cell
    out[1:] += 0.5 * per_cell[:-1]
    return out


def _column(grid: Grid, arterial_c: float, core_c: float) -> kernels.Column:
    return kernels.Column(
        c=grid.capacity_j_m2k,
        w=grid.perfusion_w_m2k,
        q=grid.metabolic_w_m2,
        gz=grid.conductance_w_m2k,
        kz=_lateral(grid.conductance_w_m2k, grid),
        ta=float(arterial_c),
        tcore=float(core_c),
    )


def _general(
    columns: solver._Columns,
    grid: Grid,
    law: perfusion.PerfusionLaw,
    phase: freezing.PhaseChange,
    table: spots.SurfaceTable,
    contact: spots.ContactTable,
    radial: RadialGrid,
) -> General:
    na = contact.rows

    def rows(values: np.ndarray, applicator: float = 0.0) -> np.ndarray:
        # The applicator's rows first (written by the kernel at each fresh contact).
        return np.concatenate([np.full(na, applicator), np.asarray(values, dtype=np.float64)])

    nodes = axisym_general.Nodes(
        cl=rows(columns.cl, 1.0),
        cs=rows(columns.cs, 1.0),
        lat=rows(columns.lat),
        tf=rows(columns.tf, NEVER_C),
        gl=rows(columns.gl),
        gs=rows(columns.gs),
        wv=rows(columns.wv),
        qv=rows(columns.qv),
        kl=rows(_lateral(np.asarray(columns.gl), grid)),
        ks=rows(_lateral(np.asarray(columns.gs), grid)),
    )
    laws = axisym_general.Laws(
        local=1.0 if law.local else 0.0,
        ref=law.reference_temp_c,
        scale=law.scale_k,
        floor=law.floor_fraction,
        memory_s=law.memory_s,
        mush=phase.mushy_range_k,
        tol=solver.TOLERANCE_K,
        max_iter=solver.MAX_ITERATIONS,
    )
    radiation = axisym_general.Radiation(
        eps_sigma=np.ascontiguousarray(table.eps_sigma),
        radiant=np.ascontiguousarray(table.radiant),
    )
    applicator = axisym_general.Contact(
        rows=na,
        foot=contact.foot,
        link=contact.link,
        fresh=contact.fresh,
        slot=contact.slot,
        t0=contact.t0,
        **{name: np.ascontiguousarray(values) for name, values in contact.nodes.items()},
    )
    memory = np.ascontiguousarray(np.repeat(np.asarray(columns.mem)[:, None], radial.n, axis=1))
    return General(nodes=nodes, laws=laws, radiation=radiation, contact=applicator, memory=memory)


def _probes(case: Case, setting: solver.Setting, radial: RadialGrid) -> kernels.Probes:
    """The probes at their depths (the column engine's nodes and weights) and radii, the
    basal row (the column engine's basal node) and the metric thresholds."""
    radii = [radial_weights(radial, probe.radius_mm or 0.0) for probe in case.output.probes]
    return kernels.Probes(
        zi=np.asarray([node for node, _ in setting.probe_nodes], dtype=np.int64),
        zw=np.asarray([weight for _, weight in setting.probe_nodes], dtype=np.float64),
        ri=np.asarray([node for node, _ in radii], dtype=np.int64),
        rw=np.asarray([weight for _, weight in radii], dtype=np.float64),
        basal_row=setting.basal_node,
        thresholds=np.asarray(thresholds_c()),
        dose_ref=dose_reference_c(),
        freeze_c=case.freezing.freeze_point_c,
    )


def _surface(table: spots.SurfaceTable, psi: np.ndarray, basis: kernels.Radial) -> kernels.Surface:
    exchange = np.einsum("im,si,in->smn", psi, table.eta, psi)
    source = (table.eta * table.tenv) @ basis.to_modes
    return kernels.Surface(
        eta=np.ascontiguousarray(table.eta),
        tenv=np.ascontiguousarray(table.tenv),
        exchange=np.ascontiguousarray(exchange),
        source=np.ascontiguousarray(source),
    )


@lru_cache(maxsize=64)
def prepare(case: Case, freezing_on: bool = False) -> Prepared:
    """Grids, coefficients, initial state, schedule and surface conditions of ``case``;
    raises InvalidInput for what an axisymmetric case cannot mean. Freezing as the case
    states it, or with freezing_on (the second pass of freezing on by default)."""
    spots.check_phases(case)
    law = perfusion.resolve(case.perfusion, case.tissue.zone)
    on = freezing_on or case.freezing.enabled is True
    phase_change = freezing.resolve(case.freezing, case.tissue, on)
    numerics = case.numerics
    # A freezing front needs the column engine's finer depth cells and steps (freezing.py);
    # it moves in depth, so the radial spacing keeps the spots' policy.
    boost = freezing.FREEZING_REFINEMENT if phase_change.enabled else 1.0
    grid = build_grid(case.tissue, numerics.space_refinement * boost)
    radial = build_radial_grid(
        case.geometry.radius_mm,
        spots.spot_radii_mm(case),
        numerics.space_refinement * numerics.radial_refinement,
    )
    segments = exposures.segments(case.phases)
    table = spots.surface_table(case, segments, radial)
    contact = spots.contact_table(case, segments, radial, _applicator_cells())
    basis, psi = eigenbasis(radial)
    boundaries = (*(segment.start_s for segment in segments), segments[-1].end_s)
    schedule = solver.schedule_for(
        boundaries,
        boundaries[-1],
        case.output.sample_every_s,
        numerics.time_refinement * boost,
        not phase_change.enabled,
        (solver.FIRST_STEP_S, solver.STEP_GROWTH, solver.MAX_STEP_S),
    )
    # The column engine's setting of this depth grid: its node coefficients, initial state,
    # probe nodes and basal node are every column's.
    setting = _setting(case, grid, law, phase_change)
    columns = solver._columns(setting)
    initial = np.ascontiguousarray(np.repeat(np.asarray(columns.t)[:, None], radial.n, axis=1))
    nonlinear = law.local or phase_change.enabled or table.radiates or contact.rows > 0
    return Prepared(
        case=case,
        grid=grid,
        radial=radial,
        column=_column(grid, case.tissue.arterial_temp_c, case.tissue.core_temp_c),
        basis=basis,
        steps=kernels.Steps(
            schedule.dt, schedule.theta, schedule.segment, schedule.start, schedule.record
        ),
        surface=_surface(table, psi, basis),
        probes=_probes(case, setting, radial),
        initial=initial,
        times_s=schedule.times_s,
        full_field=case.output.full_field,
        general=(
            _general(columns, grid, law, phase_change, table, contact, radial)
            if nonlinear
            else None
        ),
    )


def _outputs(prepared: Prepared) -> kernels.Outputs:
    nz, nr = prepared.initial.shape
    times = len(prepared.times_s)
    thresholds = prepared.probes.thresholds.shape[0]
    return kernels.Outputs(
        samples=np.zeros((times, len(prepared.case.output.probes))),
        field=np.zeros((times, nz + 1, nr) if prepared.full_field else (0, 1, 1)),
        node_min=np.zeros((nz, nr)),
        below_surface=np.zeros(thresholds),
        below_basal=np.zeros(thresholds),
        acc=np.zeros(kernels.N_ACC),
    )


def run(prepared: Prepared) -> SimulationResult:
    """Run a prepared case (any number of times: its inputs stay untouched)."""
    temps = prepared.initial.copy()
    out = _outputs(prepared)
    general = prepared.general
    perfusion_ratio = np.ones_like(out.field)
    if general is None:
        status = kernels.run_linear(
            temps,
            prepared.column,
            prepared.basis,
            prepared.steps,
            prepared.surface,
            prepared.probes,
            out,
        )
    else:
        # The kernel writes the applicator's rows of the coefficients.
        nodes = general.nodes
        if general.contact.rows:
            nodes = type(nodes)(*(values.copy() for values in nodes))
        status = axisym_general.run_general(
            temps,
            general.memory.copy(),
            prepared.column,
            nodes,
            general.laws,
            prepared.basis.area,
            prepared.basis.coupling,
            prepared.steps,
            prepared.surface,
            general.radiation,
            general.contact,
            prepared.probes,
            out,
            perfusion_ratio,
            axisym_general.work_arrays(general.contact.rows + temps.shape[0], temps.shape[1]),
        )
    if status != 0:
        return SimulationResult(status="failed", message=FAILURES.get(status, "solver failure"))
    case = prepared.case
    names = [probe.name for probe in case.output.probes]
    samples = out.samples
    field = None
    if prepared.full_field:
        field = Field(
            depth_mm=prepared.grid.depth_m * 1e3,
            temp_c=out.field,
            perfusion_ratio=perfusion_ratio,
            radius_mm=prepared.radial.radius_m * 1e3,
        )
    # Metrics and safety figures are computed when first read (as the column engine's).
    summary = axisym_metrics.Lazy(prepared, out, temps)
    return ok_result(
        prepared.times_s,
        {name: samples[:, p].copy() for p, name in enumerate(names)},
        LazyRow(summary.metrics, 0),
        LazyRow(summary.safety, 0),
        field,
    )


def simulate_axisymmetric(case: Case) -> SimulationResult:
    """Simulate an axisymmetric case; an input it cannot mean gives status "invalid". The
    result records its case (its provenance, results.py)."""
    try:
        prepared = prepare(case)
    except InvalidInput as error:
        return with_case(SimulationResult(status="invalid", message=str(error)), case)
    result = run(prepared)
    # Freezing on by default: again with freezing where the linear pass reached the
    # freezing point (as engine.Engine.simulate_many).
    if (
        case.freezing.enabled is None
        and result.status == "ok"
        and freezing.decide(case)
        and result.safety.get("freeze_risk_time_s") is not None
    ):
        result = run(prepare(case, True))
    return with_case(result, case)
