"""The batched path's shortcuts give what one case at a time gives (within 1e-9 K).

simulate_many groups cases by their inputs other than the phases (the same objects or equal
ones), prepares each group as whole arrays with one steady state per setting, runs the
groups concurrently on kernel threads, and tabulates the metrics of large groups with numpy
and of small ones in plain Python. A failed or invalid case leaves the others untouched.
"""

from __future__ import annotations

import dataclasses
import multiprocessing

import numpy as np
import pytest

import cryoderm
from cryoderm.physics import engine, solver
from cryoderm.physics.case import (
    AmbientPhase,
    Case,
    ColdAirPhase,
    ConvectivePhase,
    Freezing,
    Layer,
    Numerics,
    Output,
    Perfusion,
    Probe,
    Tissue,
)
from cryoderm.physics.results import SimulationResult

CHEEK = Tissue(
    layers=(
        Layer("epidermis", 0.1, 0.24, 1200, 3590),
        Layer("dermis", 1.0, 0.45, 1200, 3300, 1.25e-3, 368.0),
        Layer("fat", 4.0, 0.21, 911, 2348, 5.0e-4),
        Layer("muscle", 6.0, 0.49, 1090, 3421, 6.7e-4, 992.0),
    )
)
OUTPUT = Output(sample_every_s=5.0, probes=(Probe("surface", 0.0), Probe("1mm", 1.0)))
# A forked child that waits longer than this for its batch is stuck.
TIMEOUT_S = 20.0
BASE = Case(tissue=CHEEK, phases=(AmbientPhase(duration_s=60.0),), output=OUTPUT)


@dataclasses.dataclass(frozen=True)
class UnknownStart:
    """An initial state the engine does not know: every value object checks its own limits
    when it is built (data/bounds.toml), so what is left for the engine to refuse is an
    object it cannot interpret."""

    temp_c: float = 20.0


UNKNOWN_START = dataclasses.replace(BASE, initial=UnknownStart())  # type: ignore[arg-type]


def protocol(h: float, gas: float, exposure_s: float, base: Case = BASE) -> Case:
    phases = [ConvectivePhase(gas_temp_c=gas, heat_transfer_w_m2k=h, duration_s=exposure_s)]
    if exposure_s < 60.0:
        phases.append(AmbientPhase(duration_s=60.0 - exposure_s))
    return dataclasses.replace(base, phases=tuple(phases))


def assert_same(alone: SimulationResult, batched: SimulationResult) -> None:
    assert (alone.status, alone.message) == (batched.status, batched.message)
    if not alone.ok:
        return
    assert np.array_equal(alone.time_s, batched.time_s)
    assert list(alone.probes) == list(batched.probes)
    for name, series in alone.probes.items():
        assert np.max(np.abs(series - batched.probes[name])) <= 1e-9
    for mine, theirs in ((alone.metrics, batched.metrics), (alone.safety, batched.safety)):
        assert list(mine) == list(theirs)  # same names, same order (the JSON output)
        for name, value in mine.items():
            other = theirs[name]
            assert (value is None) == (other is None), name
            if value is not None:
                # Energies (~1e4 J/m2) summed by the linear and by the general kernel (a batch
                # with a nonlinear case runs the general one) differ in their last digits.
                tolerance = 1e-6 if name.startswith("energy_") else 1e-9
                assert abs(value - other) <= tolerance, name


def test_every_batch_shortcut_matches_one_case_at_a_time() -> None:
    rng = np.random.default_rng(7)
    batch = []
    # A large group (one exposure time: numpy metrics) and small groups (plain Python).
    for k in range(12):
        batch.append(protocol(float(rng.uniform(20, 100)), float(rng.uniform(-50, -10)), 40.0))
        if k == 5:  # an invalid case amid a group
            batch.append(protocol(50.0, -30.0, 40.0, UNKNOWN_START))
    for exposure in (20.0, 30.0, 60.0):
        batch.append(protocol(60.0, -25.0, exposure))
    # Equal inputs from separate objects share the group of the same inputs.
    twin = dataclasses.replace(BASE, tissue=dataclasses.replace(CHEEK))
    batch.append(protocol(70.0, -40.0, 40.0, twin))
    # Other settings: local-cold perfusion with freezing, a uniform start, full field.
    cold = dataclasses.replace(BASE, perfusion=Perfusion(model="local-cold"))
    batch.append(protocol(80.0, -45.0, 30.0, dataclasses.replace(cold, freezing=Freezing(True))))
    batch.append(
        protocol(40.0, -20.0, 60.0, dataclasses.replace(BASE, output=Output(full_field=True)))
    )
    batch.append(
        protocol(40.0, -20.0, 60.0, dataclasses.replace(BASE, numerics=Numerics(2.0, 2.0)))
    )
    together = cryoderm.simulate_many(batch)
    assert len(together) == len(batch)
    statuses = [r.status for r in together]
    assert statuses.count("invalid") == 1 and statuses.count("ok") == len(batch) - 1
    for case, batched in zip(batch, together, strict=True):
        assert_same(cryoderm.simulate(case), batched)


def test_plain_and_general_phases_of_one_schedule_split_between_threads_match_alone() -> None:
    # Plain phases (convective, ambient, float values) are collected without segments;
    # other phases of the same boundaries (an int duration, cold air) join the same step
    # schedule through the general path. From SPLIT_FROM cases, the schedules are cut into
    # chunks of CHUNK cases that the two threads take in turn (a schedule larger than a
    # chunk is cut too).
    assert 2 * engine.CHUNK + 23 >= engine.SPLIT_FROM
    rng = np.random.default_rng(11)
    batch = []
    for k in range(2 * engine.CHUNK + 23):
        h, gas = float(rng.uniform(20, 100)), float(rng.uniform(-50, -10))
        case = protocol(h, gas, (20.0, 40.0)[k % 2])
        if k % 7 == 3:
            first = ConvectivePhase(gas_temp_c=gas, heat_transfer_w_m2k=h, duration_s=40)
            case = dataclasses.replace(case, phases=(first, AmbientPhase(duration_s=20.0)))
        if k % 11 == 5:
            cold = ColdAirPhase(gas_temp_c=gas, air_speed_m_s=3.0, duration_s=40.0)
            case = dataclasses.replace(case, phases=(cold, AmbientPhase(duration_s=20.0)))
        batch.append(case)
    # A plain case the engine cannot start: invalid, as when alone.
    batch.insert(9, protocol(50.0, -30.0, 40.0, UNKNOWN_START))
    together = cryoderm.simulate_many(batch)
    assert [r.status for r in together].count("invalid") == 1
    assert "initial.state" in together[9].message
    for case, batched in zip(batch, together, strict=True):
        assert_same(cryoderm.simulate(case), batched)


def test_any_number_of_engine_threads_gives_what_one_gives_and_bad_counts_are_refused() -> None:
    rng = np.random.default_rng(5)
    batch = [
        protocol(float(rng.uniform(20, 100)), -30.0, (20.0, 30.0, 40.0)[k % 3])
        for k in range(engine.SPLIT_FROM + 10)
    ]
    one = cryoderm.simulate_many(batch, threads=1)
    for threads in (None, 2, 3):
        for mine, theirs in zip(one, cryoderm.simulate_many(batch, threads=threads), strict=True):
            assert_same(mine, theirs)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be a whole number >= 1"):
            cryoderm.simulate_many(batch, threads=bad)  # type: ignore[arg-type]


def test_the_default_engine_uses_the_cores_of_the_machine() -> None:
    import os

    assert engine.default_engine().threads == len(os.sched_getaffinity(0))
    assert engine.Engine(threads=3).threads == 3


def test_a_failed_case_fails_alone_in_its_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solver, "MAX_ITERATIONS", 1)
    freezing = dataclasses.replace(protocol(200.0, -100.0, 20.0), freezing=Freezing(enabled=True))
    batch = [protocol(50.0, -30.0, 40.0) for _ in range(9)]
    batch.insert(4, freezing)
    batch.insert(7, dataclasses.replace(freezing, tissue=dataclasses.replace(CHEEK)))
    together = cryoderm.simulate_many(batch)
    assert [r.status for r in together].count("failed") == 2
    assert together[4].status == "failed" and "converge" in together[4].message
    for case, batched in zip(batch, together, strict=True):
        assert_same(cryoderm.simulate(case), batched)


def test_a_forked_process_runs_batches_on_its_own_kernel_threads() -> None:
    batch = [protocol(50.0, -30.0, exposure) for exposure in (20.0, 40.0)]
    expected = [r.probes["surface"] for r in cryoderm.simulate_many(batch)]  # parent's pool
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        surfaces = pool.apply_async(_surfaces, (batch,)).get(timeout=TIMEOUT_S)
    for mine, theirs in zip(expected, surfaces, strict=True):
        assert np.max(np.abs(mine - theirs)) <= 1e-9


def _surfaces(batch: list[Case]) -> list[np.ndarray]:
    return [r.probes["surface"] for r in cryoderm.simulate_many(batch)]


def test_invalid_cases_of_one_setting_are_reported_alike_without_growing_tracebacks() -> None:
    batch = [protocol(50.0, -30.0, e, UNKNOWN_START) for e in (10.0, 20.0, 30.0)] * 50
    results = cryoderm.simulate_many(batch)
    assert {r.status for r in results} == {"invalid"}
    assert len({r.message for r in results}) == 1
    assert "initial.state" in results[0].message
    template = engine._shared_template(batch[0])
    error = template.error_last
    assert error is not None
    depth = 0
    tb = error.__traceback__
    while tb is not None:
        depth += 1
        tb = tb.tb_next
    assert depth < 10


def test_threads_calling_the_engine_at_once_get_the_answers_of_one_at_a_time() -> None:
    # The clinic's request threads and the live interlock call the engine concurrently.
    import threading

    batch = [protocol(50.0, -30.0, exposure) for exposure in (20.0, 40.0, 60.0)]
    expected = [r.probes["surface"] for r in cryoderm.simulate_many(batch)]
    single = cryoderm.simulate(batch[0]).probes["surface"]
    failures: list[str] = []

    def hammer() -> None:
        for _ in range(20):
            got = [r.probes["surface"] for r in cryoderm.simulate_many(batch)]
            if any(np.max(np.abs(a - b)) > 1e-9 for a, b in zip(expected, got, strict=True)):
                failures.append("batch")
            if np.max(np.abs(cryoderm.simulate(batch[0]).probes["surface"] - single)) > 1e-9:
                failures.append("single")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_S)
    assert not failures
