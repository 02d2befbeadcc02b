"""Virtual-cohort throughput: subjects in lanes, in one process and on a 2-worker cluster.

Protocol: the cheek under cold air (-30 C, 4.4 m/s) for 60 s with local-cold perfusion,
outputs every 30 s; population: 100,000 mixed-sex adults (seed 1), blocks of 2,000 subjects
(one ``evaluate_block`` call each: the subjects as the lanes of batched kernel calls,
physics/lanes.py). Compared side by side, in this order:

- one kernel call per subject (``simulate_many`` on every subject's own case, the engine
  on one thread): how cohorts ran before lanes, on the first blocks only;
- lanes, one process, the engine on one thread (the peer of a worker);
- lanes, one process, the engine on every core of the machine (the default);
- lanes on a Dask cluster of 2 worker processes of one thread each, the scheduler and
  each worker started as ``dask scheduler`` / ``dask worker`` are on a real deployment,
  each in a session of its own (see below).

Each side runs for a bounded time (its budget): subjects per second are the subjects of
the blocks finished divided by the time to finish them; the cluster's remaining tasks are
cancelled. Worker start and the kernels' load from numba's disk cache (``warm_up``, then a
50-subject block on every worker) are timed separately and not counted. The machine is shared: the load average is reported, and
CPU seconds per subject of the one-thread sides show the cost without the other work's.

This machine shares its CPUs between sessions (``sched_autogroup``): the processes of one
session share one session's share. Worker processes of a LocalCluster are in this
benchmark's session, so under other work they would get no more CPU than the one-process
side whatever they do; started in sessions of their own, as separately started workers
are, each gets its share.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.report import Report

# The scheduler's port for this benchmark (assumption: free on a development machine).
PORT = 8797

SUBJECTS = 100_000
BLOCK = 2_000
WORKERS = 2
PER_SUBJECT_BUDGET_S = 5.0
PEER_BUDGET_S = 10.0
ALL_CORES_BUDGET_S = 10.0
CLUSTER_BUDGET_S = 15.0
# The targets: 10,000 subjects/s in one process (goal 50,000), and 2 workers at
# least 1.5x one process on one core (75 % parallel efficiency on 2 cores).
TARGET_RATE = 10_000
GOAL_RATE = 50_000
TARGET_RATIO = 1.5


def _case() -> Any:
    from cryoderm.physics.casefile import parse_case

    return parse_case(
        {
            "format": "cryoderm-case/1",
            "tissue": {"zone": "cheek"},
            "perfusion": {"model": "local-cold"},
            "phase": [
                {
                    "modality": "cold-air",
                    "gas_temp_c": -30.0,
                    "air_speed_m_s": 4.4,
                    "duration_s": 60.0,
                }
            ],
            "output": {"sample_every_s": 30.0},
        }
    )


def _bounded(blocks: list[Any], run: Any, budget_s: float) -> tuple[list[Any], float, float]:
    """Run blocks until the budget is spent: (outcomes, wall s, CPU s of this process)."""
    outcomes = []
    cpu = time.process_time()
    start = time.perf_counter()
    for block in blocks:
        outcomes.append(run(block))
        if time.perf_counter() - start > budget_s:
            break
    return outcomes, time.perf_counter() - start, time.process_time() - cpu


@contextmanager
def _cluster(workers: int) -> Iterator[Any]:
    """A client of a scheduler and ``workers`` one-thread workers, each started by the
    ``dask`` command in a session of its own; stopped at the end."""
    from distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    address = f"tcp://127.0.0.1:{PORT}"
    # The workers import this module (the timed task): the repository on their path.
    root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))),
    }
    started = [
        subprocess.Popen(
            [dask, "scheduler", "--port", str(PORT), "--no-dashboard"],
            start_new_session=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        for _ in range(workers):
            started.append(
                subprocess.Popen(
                    [dask, "worker", address, "--nthreads", "1", "--no-dashboard"],
                    start_new_session=True,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)
            yield client
    finally:
        for process in reversed(started):
            process.terminate()
        for process in reversed(started):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _timed_block(case: Any, block: Any) -> tuple[Any, float]:
    """evaluate_block on a worker, with the CPU seconds its thread spent on it."""
    from cryoderm.cohort.risk import evaluate_block

    start = time.thread_time()
    outcome = evaluate_block(case, block)
    return outcome, time.thread_time() - start


def _per_subject(case: Any, block: Any) -> list[Any]:
    from cryoderm.physics.engine import simulate_many

    cases = [dataclasses.replace(case, tissue=block.tissue(k)) for k in range(len(block))]
    return simulate_many(cases, threads=1)


def main() -> Report:
    import numpy as np
    from distributed import as_completed

    from cryoderm.cohort.cluster import warm_up
    from cryoderm.cohort.population import VirtualPopulation
    from cryoderm.cohort.risk import evaluate_block
    from cryoderm.physics.engine import default_engine

    case = _case()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    subjects = VirtualPopulation("cheek", seed=1).sample(SUBJECTS)
    sample_s = time.perf_counter() - start
    blocks = [subjects.block(k, k + BLOCK) for k in range(0, SUBJECTS, BLOCK)]
    evaluate_block(case, subjects.block(0, 2))  # kernels loaded in this process
    _per_subject(case, subjects.block(0, 2))

    small = [subjects.block(k, k + 200) for k in range(0, SUBJECTS, 200)]
    alone, alone_s, alone_cpu = _bounded(
        small, lambda b: _per_subject(case, b), PER_SUBJECT_BUDGET_S
    )
    alone_done = 200 * len(alone)
    peer, peer_s, peer_cpu = _bounded(
        blocks, lambda b: evaluate_block(case, b, threads=1), PEER_BUDGET_S
    )
    peer_done = BLOCK * len(peer)
    every, every_s, every_cpu = _bounded(
        blocks, lambda b: evaluate_block(case, b), ALL_CORES_BUDGET_S
    )
    every_done = BLOCK * len(every)
    # The first blocks by one kernel call per subject against the same subjects in lanes.
    worst = 0.0
    for k, results in enumerate(alone):
        lanes = peer[k // (BLOCK // 200)] if k // (BLOCK // 200) < len(peer) else None
        if lanes is None:
            break
        offset = (k % (BLOCK // 200)) * 200
        mine = np.array([r.metrics["min_surface_temp_c"] for r in results])
        worst = max(
            worst, float(np.max(np.abs(mine - lanes.min_surface_temp_c[offset : offset + 200])))
        )

    start = time.perf_counter()
    with _cluster(WORKERS) as client:
        started_s = time.perf_counter() - start
        warm = warm_up(client)
        # A small block on every worker first: its zone tables and the lanes' kernel path
        # loaded there, as in this process (kept out of the timing, like warm_up).
        client.run(evaluate_block, case, subjects.block(0, 50))
        shared = client.scatter(case, broadcast=True)
        start = time.perf_counter()
        futures = client.map(_timed_block, [shared] * len(blocks), blocks, pure=False)
        index = {future.key: k for k, future in enumerate(futures)}
        done: dict[int, Any] = {}
        worker_cpu_s = 0.0
        finished_s = 0.0
        for future in as_completed(futures):
            done[index[future.key]], cpu_s = future.result()
            worker_cpu_s += cpu_s
            finished_s = time.perf_counter() - start
            if finished_s > CLUSTER_BUDGET_S:
                break
        client.cancel(futures)
    cluster_done = BLOCK * len(done)
    load_after = os.getloadavg()[0]

    same = all(
        np.array_equal(mine.min_surface_temp_c, done[k].min_surface_temp_c)
        and np.array_equal(mine.time_below_s, done[k].time_below_s)
        for k, mine in enumerate(peer)
        if k in done
    )
    alone_rate = alone_done / alone_s
    peer_rate = peer_done / peer_s
    every_rate = every_done / every_s
    cluster_rate = cluster_done / finished_s
    ratio = cluster_rate / peer_rate
    worker_us = 1e6 * worker_cpu_s / cluster_done
    peer_us = 1e6 * peer_cpu / peer_done
    # On 2 cores free of other work each worker has a core: the cluster's rate is then two
    # workers' CPU rates (their task threads' CPU time per subject) against one thread's.
    idle_ratio = WORKERS * peer_us / worker_us
    # Likewise one process on every core: its threads' CPU time per subject, one per core.
    threads_now = default_engine().threads
    idle_process_rate = threads_now * every_done / every_cpu
    threads = default_engine().threads
    report = Report(
        title=f"Cohort: {SUBJECTS:,} cheek subjects, cold air 60 s, blocks of {BLOCK:,}",
        columns=["approach", "subjects run", "seconds", "subjects/s", "CPU us/subject", "ratio"],
        rows=[
            [
                "one kernel call per subject (simulate_many, 1 thread)",
                alone_done,
                alone_s,
                alone_rate,
                1e6 * alone_cpu / alone_done,
                alone_rate / peer_rate,
            ],
            [
                "lanes, one process, 1 engine thread",
                peer_done,
                peer_s,
                peer_rate,
                1e6 * peer_cpu / peer_done,
                1.0,
            ],
            [
                f"lanes, one process, {threads} engine threads (default)",
                every_done,
                every_s,
                every_rate,
                1e6 * every_cpu / every_done,
                every_rate / peer_rate,
            ],
            [
                f"lanes, Dask cluster, {WORKERS} worker processes (own sessions)",
                cluster_done,
                finished_s,
                cluster_rate,
                worker_us,
                ratio,
            ],
        ],
        notes=[
            f"load average (1 min) before / after: {load_before:.1f} / {load_after:.1f} on "
            f"{os.cpu_count()} CPUs (a shared machine: wall-time rates fall with the load; "
            "CPU us/subject does not)",
            f"one CPU core's rate from CPU time: {1e6 / peer_us:,.0f} subjects/s in lanes; one "
            f"process on {threads_now} cores free of other work: about "
            f"{idle_process_rate:,.0f} subjects/s ({threads_now} x its CPU rate); "
            f"the workers' task threads spent {worker_us:.0f} us per subject, so on {WORKERS} "
            f"cores free of other work the cluster would run {idle_ratio:.2f}x one thread "
            "(this machine shares CPU between sessions, sched_autogroup: the two engine "
            "threads of one process share its session's share, so under others' load their "
            "measured ratio stays near 1; the workers run in sessions of their own)",
            f"sampling {SUBJECTS:,} subjects: {sample_s:.2f} s",
            f"cluster start {started_s:.1f} s; first tiny run per worker (imports and numba "
            f"kernels from the disk cache): {', '.join(f'{s:.1f} s' for s in warm.values())}",
            f"blocks finished by both lanes sides give identical outcomes: {same}; lanes "
            f"against one call per subject, coldest surface: largest difference {worst:.1e} K",
            f"time-bounded: per subject {PER_SUBJECT_BUDGET_S:g} s, lanes {PEER_BUDGET_S:g} s, "
            f"cluster {CLUSTER_BUDGET_S:g} s",
        ],
        targets=[
            {
                "name": "one_process_subjects_per_s",
                "measured": max(peer_rate, every_rate),
                "unit": "subjects/s",
                "target": f">= {TARGET_RATE:,} (goal {GOAL_RATE:,})",
                "met": max(peer_rate, every_rate) >= TARGET_RATE,
            },
            {
                "name": "cluster_vs_single",
                "measured": ratio,
                "unit": "x",
                "target": f">= {TARGET_RATIO} (2 workers on 2 cores, 75 % efficiency; "
                "cryoderm choice)",
                "met": ratio >= TARGET_RATIO,
            },
        ],
        data={
            "subjects": SUBJECTS,
            "block": BLOCK,
            "workers": WORKERS,
            "per_subject_subjects_per_s": alone_rate,
            "peer_subjects_per_s": peer_rate,
            "peer_cpu_us_per_subject": 1e6 * peer_cpu / peer_done,
            "all_cores_subjects_per_s": every_rate,
            "cluster_subjects_per_s": cluster_rate,
            "ratio": ratio,
            "worker_cpu_us_per_subject": worker_us,
            "idle_cores_ratio_from_cpu": idle_ratio,
            "idle_one_process_subjects_per_s_from_cpu": idle_process_rate,
            "warm_up_s": warm,
            "identical": same,
            "lanes_vs_per_subject_k": worst,
            "load_average": [load_before, load_after],
        },
    )
    return report
