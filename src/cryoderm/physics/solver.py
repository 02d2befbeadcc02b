"""The batched implicit solver: step schedules, kernel arrays, one kernel call per batch.

Cases that share a grid (same tissue and resolution) and an applicator slot form a batch,
one kernel call with the cases as the SIMD axis (docs/benchmarks.md). Within a batch, the
cases with the same step schedule (same segment boundaries and output times) form a part;
the kernel's block table gives each block of cases its part's range of steps. Everything
that differs between the cases (surface conditions, perfusion law, freezing data, probes)
is per case.

Time stepping (docs/physics.md, section 6): inside a segment the steps grow geometrically
from ``FIRST_STEP_S`` to ``MAX_STEP_S`` and land exactly on every output time; the first step
after every change of the boundary condition is replaced by two backward-Euler half steps
(Rannacher start-up), all other steps are Crank-Nicolson.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from cryoderm.physics import applicators
from cryoderm.physics.exposures import Applicator, Segment
from cryoderm.physics.freezing import NEVER_C, PhaseChange, mushy_range_k, node_properties
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
# Cases per SIMD block (wider blocks measured no faster: the sweeps' cost is per element).
BLOCK = 64


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


@lru_cache(maxsize=1024)
def schedule_for(
    boundaries: tuple[float, ...],
    duration_s: float,
    sample_every_s: float,
    refinement: float,
    crank_nicolson: bool,
    policy: tuple[float, float, float],
) -> Schedule:
    """build_schedule, kept for repeated groups (arrays read-only). ``policy`` is
    (FIRST_STEP_S, STEP_GROWTH, MAX_STEP_S), part of the key so that a changed policy
    (convergence studies) never meets a stale schedule."""
    schedule = build_schedule(
        boundaries, output_times(duration_s, sample_every_s), refinement, crank_nicolson
    )
    for array in (schedule.dt, schedule.theta, schedule.segment, schedule.start, schedule.record):
        array.flags.writeable = False
    return schedule


@dataclass(frozen=True, eq=False)
class Setting:
    """What every case of a group shares (built by engine): the grid of the tissue, the
    resolved laws, the initial state, the probes and the output options."""

    grid: Grid
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
class GroupOutput:
    """What the kernel produced for the cases of one group (metrics.py interprets it).

    Per case c: status[c]; samples[c, time, probe]; node_min[node, c] (skin nodes);
    below_surface[c, threshold], below_basal[c, threshold]; accumulators[c, kernels.A_*];
    final_surface_c[c]; field_temp / field_perfusion[c, time, node] or None. initial_temp
    (skin nodes) is shared: every case of a group starts from the same state."""

    status: np.ndarray
    samples: np.ndarray
    node_min: np.ndarray
    below_surface: np.ndarray
    below_basal: np.ndarray
    accumulators: np.ndarray
    initial_temp: np.ndarray
    final_surface_c: np.ndarray
    field_temp: np.ndarray | None
    field_perfusion: np.ndarray | None
    times_s: np.ndarray


@dataclass(frozen=True, eq=False)
class Part:
    """The cases of a batch that share one step schedule: rows first..end of the batch's
    arrays, their output times (s) and where their steps start in the batch's steps."""

    first: int
    end: int
    times_s: np.ndarray


@dataclass(frozen=True, eq=False)
class Prepared:
    """The kernel's arguments for one batch (one setting), ready to run any number of times."""

    setting: Setting
    cases: int
    na: int
    nonlinear: bool
    lanes_differ: bool
    parts: tuple[Part, ...]
    blocks: np.ndarray
    steps: Any
    nodes: Any
    laws: Any
    surface: Any
    probes: Any
    outputs: Any
    initial: np.ndarray


def _applicator_nodes(app: Applicator, cells: int) -> dict[str, np.ndarray]:
    """Vertex nodes of the applicator slab, back face first, finest at the contact face
    (physics/applicators.py; its melting range is centred on the melting point)."""
    return applicators.slab_nodes(app, cells, mushy_range_k())


@dataclass(frozen=True, eq=False)
class NodeColumns:
    """Per-node coefficients of the skin nodes, one column per lane: [node, lane]. One lane
    for a setting (every case of its batches shares it); one per subject for a batch of
    tissues (lanes.py), whose nodes are each subject's own."""

    capacity_j_m2k: np.ndarray
    mass_kg_m2: np.ndarray
    conductance_w_m2k: np.ndarray
    cell_dx_m: np.ndarray
    perfusion_w_m2k: np.ndarray
    metabolic_w_m2: np.ndarray
    # The node at the bottom of each layer, [layer, lane] (grid.Grid.layer_nodes' second
    # entries): which layer's frozen properties each cell takes (freezing.node_properties).
    layer_end: np.ndarray


@dataclass(frozen=True, eq=False)
class _Columns:
    """The per-node coefficients and initial state of skin nodes and the steady-state
    status: one column each ([node], status [1]) for a setting, [node, lane] and [lane]
    for lanes of their own (lane_columns)."""

    cl: np.ndarray
    cs: np.ndarray
    lat: np.ndarray
    tf: np.ndarray
    gl: np.ndarray
    gs: np.ndarray
    wv: np.ndarray
    qv: np.ndarray
    t: np.ndarray
    mem: np.ndarray
    status: np.ndarray


@lru_cache(maxsize=256)
def _columns(setting: Setting) -> _Columns:
    """Coefficients and initial state (steady state included) of a setting: shared by every
    case and every group of the setting, so the steady state is solved once per setting."""
    grid = setting.grid
    columns = lane_columns(
        setting,
        NodeColumns(
            grid.capacity_j_m2k[:, None],
            grid.mass_kg_m2[:, None],
            grid.conductance_w_m2k[:, None],
            grid.cell_dx_m[:, None],
            grid.perfusion_w_m2k[:, None],
            grid.metabolic_w_m2[:, None],
            np.array([end for _, end in grid.layer_nodes], dtype=np.int64)[:, None],
        ),
    )
    # The setting's one lane as plain columns (the 2-D spots read them too).
    columns = _Columns(
        **{
            field.name: getattr(columns, field.name)[:, 0]
            for field in dataclasses.fields(columns)
            if field.name != "status"
        },
        status=columns.status,
    )
    for field in dataclasses.fields(columns):
        getattr(columns, field.name).flags.writeable = False
    return columns


def lane_columns(setting: Setting, nodes: NodeColumns) -> _Columns:
    """The kernel's coefficients and the initial state (the steady state solved per lane,
    one kernel call) of the lanes' nodes; ``setting`` gives the laws and the initial state
    (its grid is not read)."""
    from cryoderm.physics import kernels

    n, lanes = nodes.capacity_j_m2k.shape
    cl = np.array(nodes.capacity_j_m2k, dtype=np.float64, order="C")
    cs = cl.copy()
    lat = np.zeros((n, lanes))
    tf = np.full((n, lanes), NEVER_C)
    gl = np.array(nodes.conductance_w_m2k, dtype=np.float64, order="C")
    gs = gl.copy()
    ph = setting.phase
    if ph.enabled:
        # Each layer's own frozen properties (data/freezing.toml [tissue]).
        cs, lat, gs = node_properties(ph, nodes.layer_end, nodes.cell_dx_m)
        tf = np.full((n, lanes), ph.freeze_point_c)
    wv = np.array(nodes.perfusion_w_m2k, dtype=np.float64, order="C")
    qv = np.array(nodes.metabolic_w_m2, dtype=np.float64, order="C")
    law = setting.law
    one = np.ones(lanes)
    t = np.full(
        (n, lanes), setting.core_temp_c if setting.initial_steady else setting.initial_temp_c
    )
    mem = np.ones((n, lanes))
    status = np.zeros(lanes, dtype=np.int64)
    if setting.initial_steady:
        kernels.steady(
            0,
            STEADY_TOLERANCE_K,
            STEADY_MAX_ITERATIONS,
            t,
            cl,
            cs,
            lat,
            tf,
            gl,
            gs,
            wv,
            qv,
            one * ph.mushy_range_k,
            one * setting.arterial_temp_c,
            one * setting.core_temp_c,
            one * (1.0 if law.local else 0.0),
            one * law.reference_temp_c,
            one * law.scale_k,
            one * law.floor_fraction,
            one * setting.initial_h_w_m2k,
            one * setting.initial_temp_c,
            mem,
            status,
        )
    elif law.local:
        mem[:] = np.clip(2.0 ** ((t - law.reference_temp_c) / law.scale_k), law.floor_fraction, 1.0)
    return _Columns(cl, cs, lat, tf, gl, gs, wv, qv, t, mem, status)


# The rows of SharedArrays.state, as kernels.Nodes names them: what the kernel writes.
STATE_ROWS = ("cl", "cs", "lat", "tf", "gl", "gs", "t", "mem")


@dataclass(frozen=True, eq=False)
class SharedArrays:
    """A setting's kernel arrays for a group of ``cases`` with ``na`` applicator nodes.

    state stacks the arrays the kernel writes (cl, cs, lat, tf, gl, gs, t, mem: copied for
    each run); the others the kernel only reads, so groups of the same size share them.
    status: each case's steady-state status; initial: the initial skin temperatures,
    [node, lane] (one lane when every case shares them)."""

    state: np.ndarray
    wv: np.ndarray
    qv: np.ndarray
    perfused: np.ndarray
    per_case: np.ndarray
    probe_idx: np.ndarray
    probe_w: np.ndarray
    basal: np.ndarray
    status: np.ndarray
    initial: np.ndarray


@lru_cache(maxsize=64)
def _shared_arrays(setting: Setting, cases: int, na: int) -> SharedArrays:
    n_probes = len(setting.probe_nodes)
    probe_idx = np.full((cases, max(n_probes, 1)), -1, dtype=np.int64)
    probe_w = np.zeros((cases, max(n_probes, 1)))
    for p, (i, w) in enumerate(setting.probe_nodes):
        probe_idx[:, p] = i + na
        probe_w[:, p] = w
    basal = np.full(
        cases, setting.basal_node + na if setting.basal_node >= 0 else -1, dtype=np.int64
    )
    return lane_arrays(setting, _columns(setting), cases, na, probe_idx, probe_w, basal)


def lane_arrays(
    setting: Setting,
    base: _Columns,
    cases: int,
    na: int,
    probe_idx: np.ndarray,
    probe_w: np.ndarray,
    basal: np.ndarray,
) -> SharedArrays:
    """The kernel arrays of ``cases`` cases whose skin nodes are ``base``'s columns (one
    column for all, or one per case), below ``na`` applicator rows; probes and basal node
    per case, already offset by ``na``."""
    n = na + base.cl.shape[0]
    law = setting.law
    phase = setting.phase

    def block(column: np.ndarray, fill: float) -> np.ndarray:
        out = np.empty((n, cases))
        out[:na, :] = fill
        out[na:, :] = column if column.ndim == 2 else column[:, None]
        return out

    from cryoderm.physics import kernels

    # The applicator rows' values before their phase starts: no heat capacity to speak of,
    # no conduction, never frozen; their temperature the skin's (set below).
    fills = {"cl": 1.0, "cs": 1.0, "lat": 0.0, "tf": NEVER_C, "gl": 0.0, "gs": 0.0}
    fills |= {"t": 0.0, "mem": 1.0}
    state = np.stack([block(getattr(base, name), fills[name]) for name in STATE_ROWS])
    t = state[STATE_ROWS.index("t")]
    t[:na, :] = t[na, :]
    wv = block(base.wv, 0.0)
    # The laws' constants, one row per field of kernels.Laws, the same for every case.
    constants = {
        "mush": phase.mushy_range_k,
        "ta": setting.arterial_temp_c,
        "tcore": setting.core_temp_c,
        "local": 1.0 if law.local else 0.0,
        "ref": law.reference_temp_c,
        "scale": law.scale_k,
        "floor": law.floor_fraction,
        "memory_s": law.memory_s,
        "freeze_c": phase.risk_temp_c,
    }
    per_case = np.empty((len(kernels.Laws._fields), cases))
    per_case[:] = np.array([constants[name] for name in kernels.Laws._fields])[:, None]
    status = np.broadcast_to(base.status, (cases,)) if base.status.shape[0] == 1 else base.status
    return SharedArrays(
        state=state,
        wv=wv,
        qv=block(base.qv, 0.0),
        perfused=(wv > 0.0).astype(np.float64),
        per_case=per_case,
        probe_idx=probe_idx,
        probe_w=probe_w,
        basal=basal,
        status=np.ascontiguousarray(status),
        initial=base.t,
    )


def _blocks(first: int, end: int, step0: int, step1: int) -> list[tuple[int, int, int, int]]:
    """Rows (first case, end case, first step, end step) of the block table for the cases
    first..end of one schedule: at most BLOCK cases each, of even sizes (a remainder of a
    few cases would waste a block's SIMD lanes and a thread's share)."""
    count = -(-(end - first) // BLOCK)
    edges = [first + (end - first) * k // count for k in range(count + 1)]
    return [(a, b, step0, step1) for a, b in itertools.pairwise(edges)]


class PartInputs(NamedTuple):
    """One step schedule's cases of a batch: segment boundaries (s), number of cases, surface
    conditions (h, gas, eps*sigma, radiant) per segment per case, flat, and, for a batch
    with an applicator slot, each case's segments (their applicators)."""

    boundaries: tuple[float, ...]
    cases: int
    surface: list[float]
    segments: list[tuple[Segment, ...]]


def prepare_batch(
    setting: Setting,
    parts: list[PartInputs],
    sample_every_s: float,
    time_refinement: float,
    applicator_cells: int,
    thresholds: np.ndarray,
    dose_ref_c: float,
    lanes: SharedArrays | None = None,
) -> Prepared:
    """Kernel inputs of one batch, one kernel call for all its parts' cases; the rest is
    shared through ``setting``. ``lanes``: the cases' own node arrays (each case its own
    tissue, lanes.py) instead of the setting's grid, which is then not read."""
    from cryoderm.physics import kernels

    phase = setting.phase
    schedules = [
        schedule_for(
            part.boundaries,
            part.boundaries[-1],
            sample_every_s,
            time_refinement,
            not phase.enabled,
            (FIRST_STEP_S, STEP_GROWTH, MAX_STEP_S),
        )
        for part in parts
    ]
    cases = sum(part.cases for part in parts)
    segs = max(len(part.boundaries) - 1 for part in parts)
    na = applicator_cells + 1 if applicator_cells else 0
    shared = _shared_arrays(setting, cases, na) if lanes is None else lanes
    n_skin = shared.state.shape[1] - na
    # One copy of the state the kernel writes; rows of the stack are C-contiguous arrays.
    # Without an applicator slot the kernel writes only t and mem: the coefficients are
    # the setting's shared (read-only) arrays.
    state = shared.state
    rows = state.copy() if na else (*state[:6], *state[6:].copy())
    nodes = kernels.Nodes(
        **dict(zip(STATE_ROWS, rows, strict=True)),
        wv=shared.wv,
        qv=shared.qv,
        perfused=shared.perfused,
    )
    laws = kernels.Laws(**dict(zip(kernels.Laws._fields, shared.per_case, strict=True)))

    # Surface conditions [case, segment, (h, gas, eps*sigma, radiant)]; a case with fewer
    # segments than the longest keeps zeros that its steps never read.
    surface = np.zeros((cases, segs, 4))
    blocks: list[tuple[int, int, int, int]] = []
    part_rows = []
    first = 0
    step0 = 0
    for part, schedule in zip(parts, schedules, strict=True):
        end = first + part.cases
        surface[first:end, : len(part.boundaries) - 1] = np.reshape(
            part.surface, (part.cases, len(part.boundaries) - 1, 4)
        )
        step1 = step0 + len(schedule.dt)
        blocks += _blocks(first, end, step0, step1)
        part_rows.append(Part(first, end, schedule.times_s))
        first, step0 = end, step1
    link = np.zeros((cases, segs))
    app_t = np.zeros((cases, segs))
    app = {
        name: np.zeros((cases, segs, max(na, 1))) for name in ("cl", "cs", "lat", "tf", "gl", "gs")
    }
    melting = False
    if applicator_cells:
        for c, case in enumerate(case for part in parts for case in part.segments):
            for k, segment in enumerate(case):
                if segment.applicator is not None:
                    link[c, k] = segment.applicator.contact_conductance_w_m2k
                    app_t[c, k] = segment.applicator_temp_c
                    melting = melting or segment.applicator.melting_point_c is not None
                    for name, values in _applicator_nodes(
                        segment.applicator, applicator_cells
                    ).items():
                        app[name][c, k, :] = values
    bc = kernels.Surface(
        np.ascontiguousarray(surface[:, :, 0]),
        np.ascontiguousarray(surface[:, :, 1]),
        np.ascontiguousarray(surface[:, :, 2]),
        np.ascontiguousarray(surface[:, :, 3]),
        link,
        app_t,
        app["cl"],
        app["cs"],
        app["lat"],
        app["tf"],
        app["gl"],
        app["gs"],
    )
    steps = kernels.Steps(
        *(
            np.concatenate([getattr(schedule, name) for schedule in schedules])
            for name in ("dt", "theta", "segment", "start", "record")
        )
    )
    n_probes = len(setting.probe_nodes)
    n_times = max(len(schedule.times_s) for schedule in schedules)
    field_shape = (cases, n_times, n_skin + 1) if setting.full_field else (0, 1, 1)
    outputs = kernels.Outputs(
        samples=np.zeros((cases, n_times, max(n_probes, 1))),
        field_t=np.zeros(field_shape),
        field_p=np.zeros(field_shape),
        node_min=np.zeros((n_skin, cases)),
        below_surf=np.zeros((cases, thresholds.shape[0])),
        below_basal=np.zeros((cases, thresholds.shape[0])),
        acc=np.zeros((cases, kernels.N_ACC)),
        status=shared.status.astype(np.int64),
    )
    nonlinear = bool(setting.law.local or phase.enabled or bc.eps.any() or melting)
    table = np.array(blocks, dtype=np.int64).reshape(-1, 4)
    return Prepared(
        setting=setting,
        cases=cases,
        na=na,
        nonlinear=nonlinear,
        lanes_differ=lanes is not None,
        parts=tuple(part_rows),
        blocks=table,
        steps=steps,
        nodes=nodes,
        laws=laws,
        surface=bc,
        probes=kernels.Probes(
            shared.probe_idx, shared.probe_w, shared.basal, thresholds, float(dose_ref_c)
        ),
        outputs=outputs,
        initial=shared.initial,
    )


def execute(prepared: Prepared, fresh: bool = True) -> list[GroupOutput]:
    """Run the kernel and return one output per part; ``fresh`` (default) on copies of the
    prepared state so that the inputs stay reusable, False to consume them (a batch
    prepared for a single run)."""
    from cryoderm.physics import kernels

    nodes, outputs = prepared.nodes, prepared.outputs
    if fresh:
        # The kernel writes the state and coefficients (t .. gs) and every output.
        if prepared.na:
            nodes = nodes._replace(**{name: getattr(nodes, name).copy() for name in _WRITTEN})
        else:
            nodes = nodes._replace(t=nodes.t.copy(), mem=nodes.mem.copy())
        outputs = type(outputs)(*(array.copy() for array in outputs))
    args = (
        prepared.blocks,
        prepared.na,
        prepared.nonlinear,
        prepared.lanes_differ,
        TOLERANCE_K,
        MAX_ITERATIONS,
        prepared.steps,
        nodes,
        prepared.laws,
        prepared.surface,
        prepared.probes,
        outputs,
    )
    kernels.run_serial(*args)
    final_surface_c = nodes.t[prepared.na].copy()
    full = prepared.setting.full_field
    n_probes = len(prepared.setting.probe_nodes)
    results = []
    for part in prepared.parts:
        rows = slice(part.first, part.end)
        n_times = len(part.times_s)
        results.append(
            GroupOutput(
                status=outputs.status[rows],
                samples=outputs.samples[rows, :n_times, :n_probes],
                node_min=outputs.node_min[:, rows],
                below_surface=outputs.below_surf[rows],
                below_basal=outputs.below_basal[rows],
                accumulators=outputs.acc[rows],
                initial_temp=prepared.initial,
                final_surface_c=final_surface_c[rows],
                field_temp=outputs.field_t[rows, :n_times] if full else None,
                field_perfusion=outputs.field_p[rows, :n_times] if full else None,
                times_s=part.times_s,
            )
        )
    return results


# What the kernel writes: the state, and the coefficients of the applicator rows (if any).
_WRITTEN = ("t", "mem", "cl", "cs", "lat", "tf", "gl", "gs")
