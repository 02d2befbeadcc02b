"""The thermal engine's entry points: a Case in, a SimulationResult out.

``simulate(case)`` runs one case; ``simulate_many(cases)`` runs many in batched kernel calls
(results identical to one-by-one runs). A case that cannot be simulated gives status
"invalid" with a message naming the field; a run whose solver fails gives "failed".

Both are methods of an :class:`Engine`, which owns what it keeps between calls: the
prepared templates and single runs, the helper threads and the lock that lets one caller
at a time use them. The module-level functions use one default engine per process
(:func:`default_engine`); a program that wants its own (another thread count, caches of
its own) makes one.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics import exposures, freezing, metrics, perfusion, solver
from cryoderm.physics.case import Case, SteadyInitial, Tissue, UniformInitial
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.exposures import Segment
from cryoderm.physics.grid import Grid, build_grid, probe_weights
from cryoderm.physics.kernels import A_FREEZE_TIME
from cryoderm.physics.results import Field, LazyRow, SimulationResult, ok_result, with_case
from cryoderm.physics.solver import (
    GroupOutput,
    Prepared,
    Setting,
    SharedArrays,
    execute,
    prepare_batch,
)

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

FAILURES = {
    1: "the nonlinear iteration did not converge (freezing front or perfusion law too stiff "
    "for the step); try a finer time_refinement",
    2: "the solver produced a non-finite temperature",
}
BASAL_LAYER = "epidermis"
# Batches from SPLIT_FROM cases are cut into chunks of about CHUNK cases that the calling
# thread and the engine's helper threads (one per further core) take in turn
# (docs/benchmarks.md).
SPLIT_FROM = 128
CHUNK = 128


def machine_threads() -> int:
    """The cores this process may run on (its affinity mask), at least 1: an engine's
    default number of threads."""
    return max(1, len(os.sched_getaffinity(0)))


@dataclass(frozen=True, eq=False)
class _Template:
    """A case's preparation without its phases: shared by every case with equal tissue,
    perfusion, freezing, numerics, output and initial state.

    An input error is kept with the stage that found it, so that a case reports the same
    first error as a field-by-field check would: ``error_first`` (tissue, perfusion,
    freezing) comes before the phases are checked, ``error_numerics`` (numerics, sampling)
    after them, ``error_last`` (probes, initial state) after the output times."""

    case: Case
    error_first: InvalidInput | None = None
    error_numerics: InvalidInput | None = None
    error_last: InvalidInput | None = None
    setting: Setting | None = None
    space_refinement: float = 1.0
    time_refinement: float = 1.0
    sample_every_s: float = 1.0
    applicator_cells: int = 0
    durations_checked: set[float] = dataclasses.field(default_factory=set)


def _template(case: Case, freezes: bool) -> _Template:
    try:
        law = perfusion.resolve(case.perfusion, case.tissue.zone)
        phase = freezing.resolve(case.freezing, case.tissue, freezes)
    except InvalidInput as error:
        return _Template(case, error_first=error)
    try:
        boost = freezing.FREEZING_REFINEMENT if phase.enabled else 1.0
        space_refinement = case.numerics.space_refinement * boost
        time_refinement = case.numerics.time_refinement * boost
        grid: Grid = build_grid(case.tissue, space_refinement)
        output = case.output
    except InvalidInput as error:
        return _Template(case, error_numerics=error)
    try:
        setting = _setting(case, grid, law, phase)
    except InvalidInput as error:
        return _Template(
            case,
            error_last=error,
            time_refinement=time_refinement,
            sample_every_s=output.sample_every_s,
        )
    return _Template(
        case,
        setting=setting,
        space_refinement=space_refinement,
        time_refinement=time_refinement,
        sample_every_s=output.sample_every_s,
        # The applicator slab refines with the tissue's grid (convergence studies).
        applicator_cells=round(_applicator_cells() * case.numerics.space_refinement),
    )


def _setting(
    case: Case, grid: Grid, law: perfusion.PerfusionLaw, phase: freezing.PhaseChange
) -> Setting:
    output = case.output
    probe_nodes = [probe_weights(grid, probe.depth_mm) for probe in output.probes]
    basal = -1
    names = [layer.name.lower() for layer in case.tissue.layers]
    if BASAL_LAYER in names and len(names) > 1:
        basal = grid.layer_nodes[names.index(BASAL_LAYER)][1]
    initial = case.initial
    if isinstance(initial, SteadyInitial):
        steady, temp, h = True, initial.ambient_temp_c, initial.heat_transfer_w_m2k
    elif isinstance(initial, UniformInitial):
        steady, temp, h = False, initial.temp_c, 0.0
    else:
        raise InvalidInput("initial.state", initial, 'must be "steady" or "uniform"')
    return Setting(
        grid=grid,
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


DURATIONS_KEPT = 4096  # checked durations remembered per template (a memo, kept bounded)
TEMPLATE_CACHE = 256  # templates an engine keeps (cleared when full)
SINGLE_CACHE = 256  # single runs' preparations an engine keeps


@cache
def _applicator_cells() -> int:
    return int(load_table("exposures")["contact"]["applicator_cells"])


_BatchKey = tuple[int, bool]  # (template id, has a contact phase): one kernel call each


@dataclass(eq=False, slots=True)
class _Part:
    """The cases of one batch that share a step schedule, as they are collected: their
    positions in the call, their surface conditions (h, gas, eps*sigma, radiant per segment,
    flat: the kernel's table) and, in a batch with contact phases, their segments (the
    applicators)."""

    template: _Template
    boundaries: tuple[float, ...]
    positions: list[int] = dataclasses.field(default_factory=list)
    surface: list[float] = dataclasses.field(default_factory=list)
    segments: list[tuple[Segment, ...]] = dataclasses.field(default_factory=list)

    def add(self, position: int, segments: tuple[Segment, ...], has_contact: bool) -> None:
        self.positions.append(position)
        for segment in segments:
            self.surface += segment[3:7]
        if has_contact:
            self.segments.append(segments)

    def split(self, count: int) -> tuple[_Part, _Part]:
        """The first ``count`` cases and the rest, as two parts."""
        cut = count * (len(self.surface) // len(self.positions))
        return (
            _Part(
                self.template,
                self.boundaries,
                self.positions[:count],
                self.surface[:cut],
                self.segments[:count],
            ),
            _Part(
                self.template,
                self.boundaries,
                self.positions[count:],
                self.surface[cut:],
                self.segments[count:],
            ),
        )


def _member(
    case: Case, template: _Template
) -> tuple[_BatchKey, tuple[float, ...], tuple[Segment, ...]]:
    """(batch key, segment boundaries, segments) of a case; raises InvalidInput in field
    order (see _Template).

    A template's error is raised afresh for each of its cases (traceback reset), so that
    many invalid cases of one template never grow one traceback without bound."""
    if template.error_first is not None:
        raise template.error_first.with_traceback(None)
    segments = exposures.segments(case.phases)
    if template.error_numerics is not None:
        raise template.error_numerics.with_traceback(None)
    # The phases end where their last segment ends (the same sum, in the same order).
    duration_s = segments[-1].end_s
    if template.error_last is not None or duration_s not in template.durations_checked:
        _check_duration(duration_s, template)
    has_contact = False
    starts = []
    for segment in segments:
        starts.append(segment.start_s)
        if segment.applicator is not None:
            has_contact = True
    starts.append(duration_s)
    return (id(template), has_contact), tuple(starts), segments


def _check_duration(duration_s: float, template: _Template) -> None:
    """The template's last error, if any; a duration that passed is remembered, so that a
    batch of equal durations checks it once. (The number of output times is the Case's to
    check: data/bounds.toml output.samples.)"""
    if template.error_last is not None:
        raise template.error_last.with_traceback(None)
    if len(template.durations_checked) >= DURATIONS_KEPT:
        template.durations_checked.clear()
    template.durations_checked.add(duration_s)


# The parts of one batch (one kernel call), by step schedule (segment boundaries).
_Parts = dict[tuple[float, ...], _Part]


def _inputs(key: _BatchKey, parts: _Parts, lanes: SharedArrays | None = None) -> Prepared:
    """The kernel inputs of one batch; ``lanes``: its cases' own node arrays (lanes.py)."""
    template = next(iter(parts.values())).template
    assert template.setting is not None
    _, has_contact = key
    return prepare_batch(
        template.setting,
        [
            solver.PartInputs(part.boundaries, len(part.positions), part.surface, part.segments)
            for part in parts.values()
        ],
        template.sample_every_s,
        template.time_refinement,
        template.applicator_cells if has_contact else 0,
        np.asarray(metrics.thresholds_c()),
        metrics.dose_reference_c(),
        lanes,
    )


def _results(part: _Part, output: GroupOutput) -> list[SimulationResult]:
    """The results of one part (cases of one step schedule); a failed case fails alone."""
    template = part.template
    setting = template.setting
    assert setting is not None
    case = template.case
    grid = setting.grid
    times_s = output.times_s
    names = [probe.name for probe in case.output.probes]
    # Each probe's series of every case as a list of contiguous rows (made in C: cheaper
    # than indexing case by case), zipped into each case's probes.
    per_probe = [list(rows) for rows in np.ascontiguousarray(output.samples.transpose(2, 0, 1))]
    statuses = output.status.tolist()
    probe_rows = zip(*per_probe, strict=True) if per_probe else itertools.repeat((), len(statuses))
    summaries = metrics.Summaries(
        case,
        grid,
        output.node_min,
        output.below_surface,
        output.below_basal,
        output.accumulators,
        output.initial_temp,
        output.final_surface_c,
        setting.basal_node >= 0,
    )
    # Metrics and safety figures are rows of the part's table, built when first read.
    metrics_of, safety_of = summaries.metrics, summaries.safety
    full_field = output.field_temp is not None and output.field_perfusion is not None
    if not full_field and not any(statuses):
        # The common case, as one comprehension (thousands of results per batch).
        return [
            ok_result(
                times_s,
                dict(zip(names, rows, strict=True)),
                LazyRow(metrics_of, c),
                LazyRow(safety_of, c),
                None,
            )
            for c, rows in enumerate(probe_rows)
        ]
    depth_mm = grid.depth_m * 1e3
    out = []
    for c, (status, rows) in enumerate(zip(statuses, probe_rows, strict=True)):
        if status != 0:
            out.append(
                SimulationResult(status="failed", message=FAILURES.get(status, "solver failure"))
            )
            continue
        field = None
        if full_field:
            field = Field(
                depth_mm=depth_mm,
                temp_c=output.field_temp[c],  # type: ignore[index]
                perfusion_ratio=output.field_perfusion[c],  # type: ignore[index]
            )
        out.append(
            ok_result(
                times_s,
                dict(zip(names, rows, strict=True)),
                LazyRow(metrics_of, c),
                LazyRow(safety_of, c),
                field,
            )
        )
    return out


@dataclass(frozen=True, eq=False)
class ProtocolBatch:
    """A case's protocol, checked and ready to run on lanes of their own tissues
    (lanes.py): the case's setting (its laws and initial state; its grid is not read), its
    one step schedule, the refinement of the lanes' grids, the basal layer's index (-1:
    none) and the applicator rows of the kernel arrays."""

    key: _BatchKey
    part: _Part
    setting: Setting
    space_refinement: float
    basal_layer: int
    na: int

    def prepare(self, lanes: int, shared: SharedArrays) -> Prepared:
        """The kernel inputs of ``lanes`` lanes whose node arrays are ``shared``'s."""
        part = self.part
        many = _Part(
            part.template,
            part.boundaries,
            list(range(lanes)),
            part.surface * lanes,
            part.segments * lanes,
        )
        return _inputs(self.key, {part.boundaries: many}, shared)


class Engine:
    """The thermal engine and what it keeps between calls.

    threads: how many threads a call may use (the calling one and threads - 1 helpers,
    which the kernels let run at once since they release the GIL); default: the cores
    this process may run on. The engine keeps the templates of the cases it has seen (a
    template is everything of a case but its phases) and the preparations of recent single
    runs; one caller at a time uses them (the web process and the live interlock call the
    engine from several threads at once: a crash of the browser journey showed it),
    while within a call its helper threads share the work."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = machine_threads() if threads is None else _checked_threads(threads)
        self._lock = threading.Lock()
        self._templates: dict[tuple[object, ...], _Template] = {}
        self._single = lru_cache(maxsize=SINGLE_CACHE)(self._prepare_single)
        # The case simulate() ran last, with its preparation: the same case object again
        # (a live forecast, a repeated run) skips even the hashing of the case.
        self._last_single: tuple[Case, _Parts, Prepared] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_key: tuple[int, int] = (0, 0)

    def simulate(self, case: Case) -> SimulationResult:
        """Simulate one case (see the module docstring)."""
        if case.geometry.axisymmetric:
            from cryoderm.physics.axisym import simulate_axisymmetric

            return simulate_axisymmetric(case)
        with self._lock:
            try:
                last = self._last_single
                if last is not None and last[0] is case:
                    _, parts, inputs = last
                else:
                    parts, inputs = self._single(case)
                    self._last_single = (case, parts, inputs)
            except InvalidInput as error:
                return with_case(SimulationResult(status="invalid", message=str(error)), case)
            results: list[SimulationResult | None] = [None]
            outputs = execute(inputs)
            _store(results, parts, outputs)
            result = results[0]
            assert result is not None
            # Freezing on by default: again with freezing if the tissue reached its
            # freezing point (one case, one part: its row of the kernel's accumulators).
            if (
                case.freezing.enabled is None
                and outputs[0].status[0] == 0
                and outputs[0].accumulators[0, A_FREEZE_TIME] >= 0.0
            ):
                (result,) = self._simulate_many([case], 1, freezing_on=True)
        return with_case(result, case)

    def simulate_many(
        self, cases: Sequence[Case], *, threads: int | None = None
    ) -> list[SimulationResult]:
        """Simulate every case; cases sharing a tissue, the other inputs but the phases and
        a step schedule form a part of one batch (one kernel call per tissue and applicator
        slot).

        threads: how many threads share the work from SPLIT_FROM cases (default: the
        engine's); 1: the calling thread alone, for a process that is one of several
        workers sharing the cores (a Dask worker, say)."""
        threads = self.threads if threads is None else _checked_threads(threads)
        spots = [index for index, case in enumerate(cases) if case.geometry.axisymmetric]
        if spots:
            return self._with_spots(cases, spots, threads)
        with self._lock:
            # Each result records its input (for its provenance, built when first read).
            reached: list[int] = []
            results = self._simulate_many(cases, threads, reached=reached)
            # Freezing on by default: again with freezing, the cases that reached their
            # freezing point in the linear first pass (their tissue, not only a probe).
            again = sorted(i for i in reached if cases[i].freezing.enabled is None)
            if again:
                redone = self._simulate_many([cases[i] for i in again], threads, freezing_on=True)
                for index, result in zip(again, redone, strict=True):
                    results[index] = result
            return list(map(with_case, results, cases))

    def protocol(
        self, case: Case, tissue: Tissue | None = None, freezes: bool | None = None
    ) -> ProtocolBatch:
        """``case``'s protocol for lanes of their own tissues (lanes.py), whose layers are
        ``tissue``'s (default: the case's); raises InvalidInput in field order, as a run of
        the case would report it. freezes: with freezing or not (None: as the case states
        it, unstated off: the first pass, see simulate_many)."""
        template = self.template(case, freezes)
        key, boundaries, segments = _member(case, template)
        assert template.setting is not None
        setting = template.setting
        if tissue is not None and tissue is not case.tissue:
            # The lanes' layers freeze by their own water (freezing.resolve per layer).
            phase = freezing.resolve(case.freezing, tissue, setting.phase.enabled)
            setting = dataclasses.replace(setting, phase=phase)
        part = _Part(template, boundaries)
        part.add(0, segments, key[1])
        names = [layer.name.lower() for layer in (tissue or case.tissue).layers]
        basal = names.index(BASAL_LAYER) if BASAL_LAYER in names and len(names) > 1 else -1
        return ProtocolBatch(
            key=key,
            part=part,
            setting=setting,
            space_refinement=template.space_refinement,
            basal_layer=basal,
            na=_applicator_cells() + 1 if key[1] else 0,
        )

    def run_all(self, jobs: Sequence[Callable[[], None]], threads: int | None = None) -> None:
        """Run every job, taken in turn by the calling thread and threads - 1 helpers
        (default: the engine's threads); one caller at a time."""
        threads = self.threads if threads is None else _checked_threads(threads)
        with self._lock:
            self._share(jobs, threads)

    def template(self, case: Case, freezes: bool | None = None) -> _Template:
        """The template of ``case``: one object per equal set of inputs, so that equal
        cases built from separate objects still share a group. (The template keeps the
        first such case for its inputs; nothing reads that case's phases.) ``freezes``:
        whether it runs with freezing (None: as the case states it; unstated is off in the
        first pass, see simulate_many)."""
        if freezes is None:
            freezes = case.freezing.enabled is True
        key = (
            case.tissue,
            case.perfusion,
            case.freezing,
            case.numerics,
            case.output,
            case.initial,
            freezes,
        )
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) >= TEMPLATE_CACHE:
                self._templates.clear()
            template = self._templates[key] = _template(case, freezes)
        return template

    def close(self) -> None:
        """Stop the helper threads (a later call starts them again)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _helpers(self, count: int) -> ThreadPoolExecutor:
        """``count`` helper threads of this process. A forked child (a worker process)
        gets its own, since the parent's threads do not exist there. Imported here: a
        single simulation never needs them."""
        from concurrent.futures import ThreadPoolExecutor

        pid = os.getpid()
        if self._pool is None or self._pool_key[0] != pid or self._pool_key[1] < count:
            # A larger pool replaces a smaller one of this process (its idle threads end).
            if self._pool is not None and self._pool_key[0] == pid:
                self._pool.shutdown(wait=False)
            self._pool = ThreadPoolExecutor(
                max_workers=count, thread_name_prefix=f"cryoderm-kernel-{pid}"
            )
            self._pool_key = (pid, count)
        return self._pool

    def _share(self, jobs: Sequence[Callable[[], None]], threads: int) -> None:
        """The jobs, taken in turn by this thread and up to threads - 1 helpers: each
        prepares, runs (the kernels release the GIL) and reads out its own work, so that
        one thread's Python overlaps another's kernel."""
        helpers = min(threads, len(jobs)) - 1
        if helpers <= 0:
            for job in jobs:
                job()
            return
        queue = iter(jobs)
        lock = threading.Lock()

        def drain() -> None:
            while True:
                with lock:
                    job = next(queue, None)
                if job is None:
                    return
                job()

        pool = self._helpers(max(self.threads, threads) - 1)
        futures = [pool.submit(drain) for _ in range(helpers)]
        try:
            drain()
        finally:
            for future in futures:
                future.result()

    def _with_spots(
        self, cases: Sequence[Case], spots: list[int], threads: int
    ) -> list[SimulationResult]:
        """A batch with axisymmetric cases: those run one by one (axisym.py), taken in
        turn by this thread and the helpers (their kernels release the GIL); the columns
        batched as usual; the results in the order of the cases."""
        from cryoderm.physics.axisym import simulate_axisymmetric

        chosen = set(spots)
        columns = [case for index, case in enumerate(cases) if index not in chosen]
        batched = iter(self.simulate_many(columns, threads=threads))
        done: dict[int, SimulationResult] = {}

        def job(index: int) -> Callable[[], None]:
            def run() -> None:
                done[index] = simulate_axisymmetric(cases[index])

            return run

        with self._lock:
            self._share([job(index) for index in spots], threads)
        return [done[index] if index in chosen else next(batched) for index in range(len(cases))]

    def _simulate_many(
        self,
        cases: Sequence[Case],
        threads: int,
        freezing_on: bool = False,
        reached: list[int] | None = None,
    ) -> list[SimulationResult]:
        """freezing_on: every case with freezing (the second pass of freezing on by
        default); reached: collects the positions of the cases whose tissue reached its
        freezing point (_reached_freezing)."""
        results: list[SimulationResult | None] = [None] * len(cases)
        batches: dict[_BatchKey, _Parts] = {}
        templates: dict[tuple[int, ...], _Template] = {}
        previous: Case | None = None
        template: _Template | None = None
        plain_parts: _Parts = {}
        previous_freezes = False
        for index, case in enumerate(cases):
            # Freezing as stated; unstated, the first pass is linear (simulate_many).
            freezes = freezing_on or case.freezing.enabled is True
            # Cases built from the same input objects as the one before (a sweep: only the
            # phases differ) or as an earlier one skip the (hashing) template look-up.
            if not (
                previous is not None
                and case.tissue is previous.tissue
                and case.perfusion is previous.perfusion
                and case.freezing is previous.freezing
                and case.numerics is previous.numerics
                and case.output is previous.output
                and case.initial is previous.initial
                and freezes == previous_freezes
            ):
                ids = (
                    id(case.tissue),
                    id(case.perfusion),
                    id(case.freezing),
                    id(case.numerics),
                    id(case.output),
                    id(case.initial),
                    int(freezes),
                )
                template = templates.get(ids)
                if template is None:
                    template = templates[ids] = self.template(case, freezes)
                previous = case
                previous_freezes = freezes
                plain_parts = batches.setdefault((id(template), False), {})
            assert template is not None
            # The common case first: a valid template and plain phases (convective,
            # ambient), collected without Segment objects.
            plain = (
                exposures.plain_conditions(case.phases) if template.setting is not None else None
            )
            if plain is not None:
                boundaries, surface = plain
                part = plain_parts.get(boundaries)
                if part is None:
                    try:
                        _check_duration(boundaries[-1], template)
                    except InvalidInput as error:
                        results[index] = SimulationResult(status="invalid", message=str(error))
                        continue
                    part = plain_parts[boundaries] = _Part(template, boundaries)
                part.positions.append(index)
                part.surface += surface
                continue
            try:
                key, boundaries, segments = _member(case, template)
            except InvalidInput as error:
                results[index] = SimulationResult(status="invalid", message=str(error))
                continue
            parts = batches.setdefault(key, {})
            part = parts.get(boundaries)
            if part is None:
                part = parts[boundaries] = _Part(template, boundaries)
            part.add(index, segments, key[1])
        # Chunks of whole step schedules, taken in turn by the threads (measured as fast
        # as equal shares by case count on the benchmark's protocols, and balanced where
        # chunks differ in cost: a freezing or local-cold batch runs the general kernel,
        # several times slower).
        work = _chunks({key: parts for key, parts in batches.items() if parts})

        def job(key: _BatchKey, parts: _Parts) -> Callable[[], None]:
            def run() -> None:
                outputs = execute(_inputs(key, parts), fresh=False)
                _store(results, parts, outputs)
                if reached is not None:
                    reached.extend(_reached_freezing(parts, outputs))

            return run

        self._share([job(key, parts) for key, parts in work], threads)
        return [r for r in results if r is not None]

    def _prepare_single(self, case: Case) -> tuple[_Parts, Prepared]:
        """A case's preparation and kernel inputs, steady state included: pure functions
        of the (immutable) case, kept so that repeated single runs pay only for the time
        stepping."""
        template = self.template(case)
        key, boundaries, segments = _member(case, template)
        part = _Part(template, boundaries)
        part.add(0, segments, key[1])
        parts: _Parts = {boundaries: part}
        return parts, _inputs(key, parts)


def _checked_threads(threads: object) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number >= 1, not {threads!r}")
    return threads


_DEFAULT: list[Engine] = []
_DEFAULT_LOCK = threading.Lock()


def default_engine() -> Engine:
    """The process's engine for the module-level functions (made on first use)."""
    if not _DEFAULT:
        with _DEFAULT_LOCK:
            if not _DEFAULT:
                _DEFAULT.append(Engine())
    return _DEFAULT[0]


def simulate(case: Case) -> SimulationResult:
    """Simulate one case on the default engine (Engine.simulate)."""
    return default_engine().simulate(case)


def simulate_many(cases: Sequence[Case], *, threads: int | None = None) -> list[SimulationResult]:
    """Simulate every case on the default engine (Engine.simulate_many)."""
    return default_engine().simulate_many(cases, threads=threads)


def _shared_template(case: Case, freezes: bool | None = None) -> _Template:
    """The default engine's template of ``case`` (Engine.template)."""
    return default_engine().template(case, freezes)


def _reached_freezing(parts: _Parts, outputs: list[GroupOutput]) -> list[int]:
    """The positions of the cases of ``parts`` that ran and whose tissue reached the
    freezing point (the kernel's freeze-risk time, kept even with freezing off). A case
    that did not is exact without freezing: nothing froze. Read from the kernel's
    accumulators, not the results' safety tables (built only when read)."""
    positions: list[int] = []
    for part, output in zip(parts.values(), outputs, strict=True):
        frozen = (output.accumulators[:, A_FREEZE_TIME] >= 0.0) & (output.status == 0)
        positions += [part.positions[c] for c in np.flatnonzero(frozen)]
    return positions


_Work = list[tuple[_BatchKey, _Parts]]


def _chunks(batches: dict[_BatchKey, _Parts]) -> _Work:
    """The batches as chunks of about CHUNK cases made of whole step schedules (a larger
    schedule is cut): a schedule's cases are the SIMD lanes of the kernel's blocks, so
    cutting them narrows the blocks."""
    total = sum(len(part.positions) for parts in batches.values() for part in parts.values())
    if total < SPLIT_FROM:
        return list(batches.items())
    work: _Work = []
    for key, parts in batches.items():
        chunk: _Parts = {}
        size = 0
        for boundaries, part in parts.items():
            while len(part.positions) > CHUNK:
                first, part = part.split(CHUNK)
                work.append((key, {boundaries: first}))
            chunk[boundaries] = part
            size += len(part.positions)
            if size >= CHUNK:
                work.append((key, chunk))
                chunk, size = {}, 0
        if chunk:
            work.append((key, chunk))
    return work


def _store(
    results: list[SimulationResult | None], parts: _Parts, outputs: list[GroupOutput]
) -> None:
    for part, output in zip(parts.values(), outputs, strict=True):
        for position, result in zip(part.positions, _results(part, output), strict=True):
            results[position] = result
