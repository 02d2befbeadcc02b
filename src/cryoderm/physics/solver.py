"""The batched implicit solver: step schedules, kernel arrays, one kernel call per group.

Cases that share a grid (same tissue and resolution), an applicator slot and a step schedule
(same segment boundaries and output times) form a group; a group is one kernel call with
the cases as the SIMD axis (perf-baselines.md). Everything that differs between the cases
of a group (surface conditions, perfusion law, freezing data, probes) is per case.

Time stepping (docs/physics.md, section 6): inside a segment the steps grow geometrically
from ``FIRST_STEP_S`` to ``MAX_STEP_S`` and land exactly on every output time; the first step
after every change of the boundary condition is replaced by two backward-Euler half steps
(Rannacher start-up), all other steps are Crank-Nicolson.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from cryoderm.physics.exposures import Applicator, Segment
from cryoderm.physics.freezing import NEVER_C, PhaseChange
from cryoderm.physics.grid import Grid
from cryoderm.physics.perfusion import PerfusionLaw

FIRST_STEP_S = 0.05
STEP_GROWTH = 1.5
MAX_STEP_S = 3.0
# Nonlinear iteration: temperature change below which an iterate is accepted, and the cap.
TOLERANCE_K = 1e-7
MAX_ITERATIONS = 200
STEADY_TOLERANCE_K = 1e-9
STEADY_MAX_ITERATIONS = 200
# Cases per SIMD block, and the batch size from which the blocks go to the thread pool
# (measured: below two blocks the pool's start-up costs more than it saves).
BLOCK = 64
PARALLEL_FROM = 2 * BLOCK


@dataclass(frozen=True, eq=False)
class Schedule:
    """The shared time steps of a group: size, theta, segment, restart flag, output slot."""

    dt: np.ndarray
    theta: np.ndarray
    segment: np.ndarray
    start: np.ndarray
    record: np.ndarray
    times_s: np.ndarray


@lru_cache(maxsize=1024)
def output_times(duration_s: float, sample_every_s: float) -> np.ndarray:
    """The output times (read-only: results of many cases share one array)."""
    count = math.floor(duration_s / sample_every_s + 1e-9)
    times = np.arange(count + 1) * sample_every_s
    if duration_s - times[-1] > 1e-9:
        times = np.append(times, duration_s)
    times.flags.writeable = False
    return times


def build_schedule(
    boundaries: tuple[float, ...],
    times_s: np.ndarray,
    refinement: float,
    crank_nicolson: bool = True,
) -> Schedule:
    """Steps over the segments [boundaries[k], boundaries[k+1]], landing on every output time.

    crank_nicolson False: every step backward Euler (for freezing, see docs/physics.md 5)."""
    first = FIRST_STEP_S / refinement
    largest = MAX_STEP_S / refinement
    dt: list[float] = []
    theta: list[float] = []
    seg: list[int] = []
    start: list[int] = []
    record: list[int] = []
    next_out = 1
    for k in range(len(boundaries) - 1):
        a, b = boundaries[k], boundaries[k + 1]
        t = a
        size = first
        fresh = True
        while b - t > 1e-9:
            step = min(size, b - t)
            # Do not leave a sliver: stretch the step over a remainder shorter than half a step.
            if b - t - step < 0.5 * step:
                step = b - t
            target = t + step
            hit = -1
            if next_out < len(times_s) and times_s[next_out] <= target + 1e-9:
                target = float(times_s[next_out])
                hit = next_out
                next_out += 1
            if abs(b - target) < 1e-9:
                target = b
            step = target - t
            if fresh:
                half = 0.5 * step
                dt += [half, half]
                theta += [1.0, 1.0]
                seg += [k, k]
                start += [1, 0]
                record += [-1, hit]
                fresh = False
            else:
                dt.append(step)
                theta.append(0.5 if crank_nicolson else 1.0)
                seg.append(k)
                start.append(0)
                record.append(hit)
            t = target
            size = min(largest, size * STEP_GROWTH)
    return Schedule(
        dt=np.asarray(dt, dtype=np.float64),
        theta=np.asarray(theta, dtype=np.float64),
        segment=np.asarray(seg, dtype=np.int64),
        start=np.asarray(start, dtype=np.int64),
        record=np.asarray(record, dtype=np.int64),
        times_s=times_s,
    )


@dataclass(frozen=True, eq=False)
class Job:
    """One case, ready for the kernel (built by engine.prepare)."""

    grid: Grid
    segments: tuple[Segment, ...]
    law: PerfusionLaw
    phase: PhaseChange
    arterial_temp_c: float
    core_temp_c: float
    initial_steady: bool
    initial_temp_c: float
    initial_h_w_m2k: float
    probe_nodes: tuple[tuple[int, float], ...]
    basal_node: int
    full_field: bool


@dataclass(frozen=True, eq=False)
class RawOutput:
    """What the kernel produced for one case (metrics.py interprets it)."""

    status: int
    samples: np.ndarray
    node_min: np.ndarray
    below_surface: np.ndarray
    below_basal: np.ndarray
    accumulators: np.ndarray
    initial_temp: np.ndarray
    final_temp: np.ndarray
    field_temp: np.ndarray | None
    field_perfusion: np.ndarray | None


# Positions in the kernel's argument list of the arrays it writes (execute copies them).
_T, _SAMPLES, _FIELD_T, _FIELD_P, _NODE_MIN, _BELOW_S, _BELOW_B, _ACC, _STATUS = (
    10,
    47,
    48,
    49,
    50,
    51,
    52,
    53,
    54,
)
_MUTABLE = (10, 11, 12, 13, 14, 15, 16, 17, 47, 48, 49, 50, 51, 52, 53, 54)


@dataclass(frozen=True, eq=False)
class Prepared:
    """The kernel's arguments for one group, ready to run any number of times."""

    jobs: list[Job]
    na: int
    parallel: bool
    args: tuple[Any, ...]
    initial: np.ndarray


def run_group(
    jobs: list[Job],
    boundaries: tuple[float, ...],
    times_s: np.ndarray,
    time_refinement: float,
    applicator_cells: int,
    thresholds: np.ndarray,
    dose_ref_c: float,
) -> list[RawOutput]:
    """Solve every job of one group."""
    return execute(
        prepare_group(
            jobs, boundaries, times_s, time_refinement, applicator_cells, thresholds, dose_ref_c
        )
    )


def _applicator_nodes(app: Applicator, cells: int) -> dict[str, np.ndarray]:
    """Vertex nodes of the applicator slab, back face first, finest at the contact face."""
    weights = 1.5 ** np.arange(cells)[::-1]
    dx = app.thickness_mm * 1e-3 * weights / weights.sum()
    melts = app.melting_point_c is not None

    def half(per_cell: np.ndarray) -> np.ndarray:
        out = np.zeros(cells + 1)
        out[:-1] += 0.5 * per_cell * dx
        out[1:] += 0.5 * per_cell * dx
        return out

    rho = np.full(cells, app.density_kg_m3)
    solid_c = half(rho * app.specific_heat_j_kgk)
    melted_c = half(rho * app.melted_specific_heat_j_kgk) if melts else solid_c
    solid_g = np.append(app.conductivity_w_mk / dx, 0.0)
    melted_g = np.append(app.melted_conductivity_w_mk / dx, 0.0) if melts else solid_g
    return {
        "cl": melted_c,
        "cs": solid_c,
        "lat": half(rho * app.latent_heat_j_kg) if melts else np.zeros(cells + 1),
        "tf": np.full(cells + 1, app.melting_point_c if melts else NEVER_C),
        "gl": melted_g,
        "gs": solid_g,
    }


def prepare_group(
    jobs: list[Job],
    boundaries: tuple[float, ...],
    times_s: np.ndarray,
    time_refinement: float,
    applicator_cells: int,
    thresholds: np.ndarray,
    dose_ref_c: float,
) -> Prepared:
    """Kernel inputs of one group (shared grid, schedule and applicator slot), steady state included."""
    from cryoderm.physics import kernels

    freezing = any(job.phase.enabled for job in jobs)
    schedule = build_schedule(boundaries, times_s, time_refinement, crank_nicolson=not freezing)
    grid = jobs[0].grid
    cases = len(jobs)
    na = applicator_cells + 1 if applicator_cells else 0
    n = na + grid.n
    segs = len(boundaries) - 1

    def per_case(values: list[float]) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(values, dtype=np.float64))

    def column(base: np.ndarray, fill: float = 0.0) -> np.ndarray:
        out = np.full((n, cases), fill)
        out[na:, :] = base[:, None]
        return out

    cl = column(grid.capacity_j_m2k, 1.0)
    cs = cl.copy()
    lat = np.zeros((n, cases))
    tf = np.full((n, cases), NEVER_C)
    gl = column(grid.conductance_w_m2k)
    gs = gl.copy()
    for c, job in enumerate(jobs):
        ph = job.phase
        if ph.enabled:
            cs[na:, c] = grid.mass_kg_m2 * ph.frozen_specific_heat_j_kgk
            lat[na:, c] = grid.mass_kg_m2 * ph.latent_heat_j_kg
            tf[na:, c] = ph.freeze_point_c
            gs[na:, c] = ph.frozen_conductivity_w_mk / grid.cell_dx_m
    wv = column(grid.perfusion_w_m2k)
    qv = column(grid.metabolic_w_m2)
    perfused = (wv > 0.0).astype(np.float64)
    mush = per_case([job.phase.mushy_range_k for job in jobs])
    ta = per_case([job.arterial_temp_c for job in jobs])
    tcore = per_case([job.core_temp_c for job in jobs])
    local = per_case([1.0 if job.law.local else 0.0 for job in jobs])
    ref = per_case([job.law.reference_temp_c for job in jobs])
    scale = per_case([job.law.scale_k for job in jobs])
    floor = per_case([job.law.floor_fraction for job in jobs])
    memory_s = per_case([job.law.memory_s for job in jobs])

    bc = {name: np.zeros((cases, segs)) for name in ("h", "gas", "eps", "rad", "link", "app_t")}
    app = {
        name: np.zeros((cases, segs, max(na, 1))) for name in ("cl", "cs", "lat", "tf", "gl", "gs")
    }
    for c, job in enumerate(jobs):
        for s, segment in enumerate(job.segments):
            bc["h"][c, s] = segment.heat_transfer_w_m2k
            bc["gas"][c, s] = segment.gas_temp_c
            bc["eps"][c, s] = segment.eps_sigma_w_m2k4
            bc["rad"][c, s] = segment.radiant_temp_c
            if segment.applicator is not None:
                bc["link"][c, s] = segment.applicator.contact_conductance_w_m2k
                bc["app_t"][c, s] = segment.applicator_temp_c
                for name, values in _applicator_nodes(segment.applicator, applicator_cells).items():
                    app[name][c, s, :] = values

    # Initial state: the steady state under the initial ambient, or uniform.
    t = np.zeros((n, cases))
    mem = np.ones((n, cases))
    status = np.zeros(cases, dtype=np.int64)
    steady_cases = [c for c, job in enumerate(jobs) if job.initial_steady]
    for c, job in enumerate(jobs):
        t[:, c] = job.initial_temp_c if not job.initial_steady else job.core_temp_c
    if steady_cases:
        h_amb = per_case([job.initial_h_w_m2k for job in jobs])
        t_amb = per_case([job.initial_temp_c for job in jobs])
        sub = np.asarray(steady_cases)
        t_s = np.ascontiguousarray(t[:, sub])
        mem_s = np.ascontiguousarray(mem[:, sub])
        st = np.zeros(len(sub), dtype=np.int64)
        kernels.steady(
            na,
            STEADY_TOLERANCE_K,
            STEADY_MAX_ITERATIONS,
            t_s,
            np.ascontiguousarray(cl[:, sub]),
            np.ascontiguousarray(cs[:, sub]),
            np.ascontiguousarray(lat[:, sub]),
            np.ascontiguousarray(tf[:, sub]),
            np.ascontiguousarray(gl[:, sub]),
            np.ascontiguousarray(gs[:, sub]),
            np.ascontiguousarray(wv[:, sub]),
            np.ascontiguousarray(qv[:, sub]),
            mush[sub],
            ta[sub],
            tcore[sub],
            local[sub],
            ref[sub],
            scale[sub],
            floor[sub],
            h_amb[sub],
            t_amb[sub],
            mem_s,
            st,
        )
        t[:, sub] = t_s
        mem[:, sub] = mem_s
        status[sub] = st
    for c, job in enumerate(jobs):
        if not job.initial_steady and job.law.local:
            mem[na:, c] = np.clip(2.0 ** ((t[na:, c] - ref[c]) / scale[c]), floor[c], 1.0)
    initial = t[na:, :].copy()

    n_probes = max(len(job.probe_nodes) for job in jobs)
    probe_idx = np.full((cases, max(n_probes, 1)), -1, dtype=np.int64)
    probe_w = np.zeros((cases, max(n_probes, 1)))
    for c, job in enumerate(jobs):
        for p, (i, w) in enumerate(job.probe_nodes):
            probe_idx[c, p] = i + na
            probe_w[c, p] = w
    basal = np.asarray(
        [job.basal_node + na if job.basal_node >= 0 else -1 for job in jobs], dtype=np.int64
    )
    freeze_c = per_case([job.phase.risk_temp_c for job in jobs])
    n_times = len(times_s)
    samples = np.zeros((cases, n_times, max(n_probes, 1)))
    want_field = any(job.full_field for job in jobs)
    field_t = np.zeros((cases, n_times, grid.n + 1) if want_field else (0, 1, 1))
    field_p = np.zeros_like(field_t)
    node_min = np.zeros((grid.n, cases))
    below_s = np.zeros((cases, thresholds.shape[0]))
    below_b = np.zeros((cases, thresholds.shape[0]))
    acc = np.zeros((cases, kernels.N_ACC))
    nonlinear = bool(
        local.any()
        or any(job.phase.enabled for job in jobs)
        or bc["eps"].any()
        or any(
            segment.applicator is not None and segment.applicator.melting_point_c is not None
            for job in jobs
            for segment in job.segments
        )
    )
    args = (
        BLOCK,
        na,
        nonlinear,
        TOLERANCE_K,
        MAX_ITERATIONS,
        schedule.dt,
        schedule.theta,
        schedule.segment,
        schedule.start,
        schedule.record,
        t,
        mem,
        cl,
        cs,
        lat,
        tf,
        gl,
        gs,
        wv,
        qv,
        perfused,
        mush,
        ta,
        tcore,
        local,
        ref,
        scale,
        floor,
        memory_s,
        bc["h"],
        bc["gas"],
        bc["eps"],
        bc["rad"],
        bc["link"],
        bc["app_t"],
        app["cl"],
        app["cs"],
        app["lat"],
        app["tf"],
        app["gl"],
        app["gs"],
        probe_idx,
        probe_w,
        basal,
        thresholds,
        dose_ref_c,
        freeze_c,
        samples,
        field_t,
        field_p,
        node_min,
        below_s,
        below_b,
        acc,
        status,
    )
    return Prepared(jobs=jobs, na=na, parallel=cases >= PARALLEL_FROM, args=args, initial=initial)


def execute(prepared: Prepared) -> list[RawOutput]:
    """Run the kernel on fresh copies of the prepared state (the inputs stay reusable)."""
    from cryoderm.physics import kernels

    args = list(prepared.args)
    for index in _MUTABLE:
        args[index] = args[index].copy()
    args[3], args[4] = TOLERANCE_K, MAX_ITERATIONS
    runner: Any = kernels.run_parallel if prepared.parallel else kernels.run_serial
    runner(*args)
    t, samples, field_t, field_p, node_min, below_s, below_b, acc, status = (
        args[i]
        for i in (_T, _SAMPLES, _FIELD_T, _FIELD_P, _NODE_MIN, _BELOW_S, _BELOW_B, _ACC, _STATUS)
    )
    na = prepared.na
    initial = prepared.initial
    jobs = prepared.jobs
    return [
        RawOutput(
            status=int(status[c]),
            samples=samples[c, :, : len(job.probe_nodes)],
            node_min=node_min[:, c],
            below_surface=below_s[c],
            below_basal=below_b[c],
            accumulators=acc[c],
            initial_temp=initial[:, c],
            final_temp=t[na:, c].copy(),
            field_temp=field_t[c] if job.full_field else None,
            field_perfusion=field_p[c] if job.full_field else None,
        )
        for c, job in enumerate(jobs)
    ]
