"""Virtual-cohort throughput: a LocalCluster of 2 workers against one core.

Protocol: the cheek under cold air (-30 C, 4.4 m/s) for 60 s with local-cold perfusion,
outputs every 30 s; population: 100,000 mixed-sex adults (seed 1), blocks of 2,000 subjects
(one ``simulate_many`` call each). The peer is one core: the same blocks run one after the
other in this process with the engine on one thread, as each worker runs them; the
cluster runs them as Dask tasks on 2 worker processes of one thread each. The engine's
default in a plain process (``protocol_risk(client=None)``: two threads, the calling one and
a helper) is reported beside them.

Every subject has its own tissue, so ``simulate_many`` cannot batch them into one kernel call
(its groups share a tissue): a subject costs a whole small simulation (milliseconds, not the
~10 us of a batched protocol sweep). On a shared 2-core machine the full 100,000 would take
minutes, so each side runs for a bounded time (PEER_BUDGET_S, CLUSTER_BUDGET_S): subjects
per second are the subjects of the blocks finished divided by the time to finish them; the
cluster's remaining tasks are cancelled. Worker start and the kernels' load from numba's
disk cache (``warm_up``) are timed separately and not counted.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.report import Report

SUBJECTS = 100_000
BLOCK = 2_000
WORKERS = 2
PEER_BUDGET_S = 20.0
TWO_THREADS_BUDGET_S = 10.0
CLUSTER_BUDGET_S = 30.0
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


def main() -> Report:
    import numpy as np
    from distributed import as_completed

    from cryoderm.cohort.cluster import client_for, warm_up
    from cryoderm.cohort.population import VirtualPopulation
    from cryoderm.cohort.risk import evaluate_block

    case = _case()
    start = time.perf_counter()
    subjects = VirtualPopulation("cheek", seed=1).sample(SUBJECTS)
    sample_s = time.perf_counter() - start
    blocks = [subjects.block(k, k + BLOCK) for k in range(0, SUBJECTS, BLOCK)]

    evaluate_block(case, subjects.block(0, 2))  # kernels loaded in this process
    # The peer is one core: this process with the engine on one thread, as each worker
    # runs it. The engine's default in a plain process (two threads) is reported too.
    peer_outcomes = []
    start = time.perf_counter()
    for block in blocks:
        peer_outcomes.append(evaluate_block(case, block, threads=1))
        if time.perf_counter() - start > PEER_BUDGET_S:
            break
    peer_s = time.perf_counter() - start
    peer_done = BLOCK * len(peer_outcomes)
    start = time.perf_counter()
    two_done = 0
    for block in blocks:
        evaluate_block(case, block, threads=2)
        two_done += BLOCK
        if time.perf_counter() - start > TWO_THREADS_BUDGET_S:
            break
    two_s = time.perf_counter() - start

    start = time.perf_counter()
    with client_for(None, n_workers=WORKERS) as client:
        started_s = time.perf_counter() - start
        warm = warm_up(client)
        shared = client.scatter(case, broadcast=True)
        start = time.perf_counter()
        futures = client.map(evaluate_block, [shared] * len(blocks), blocks, pure=False)
        index = {future.key: k for k, future in enumerate(futures)}
        done: dict[int, Any] = {}
        finished_s = 0.0
        for future in as_completed(futures):
            done[index[future.key]] = future.result()
            finished_s = time.perf_counter() - start
            if finished_s > CLUSTER_BUDGET_S:
                break
        client.cancel(futures)
    cluster_done = BLOCK * len(done)

    same = all(
        np.array_equal(peer.min_surface_temp_c, done[k].min_surface_temp_c)
        and np.array_equal(peer.time_below_s, done[k].time_below_s)
        for k, peer in enumerate(peer_outcomes)
        if k in done
    )
    peer_rate = peer_done / peer_s
    cluster_rate = cluster_done / finished_s
    ratio = cluster_rate / peer_rate
    report = Report(
        title=f"Cohort: {SUBJECTS:,} cheek subjects, cold air 60 s, blocks of {BLOCK:,}",
        columns=["approach", "subjects run", "seconds", "subjects/s", "ratio to single"],
        rows=[
            ["one process, one engine thread", peer_done, peer_s, peer_rate, 1.0],
            [
                "one process, two engine threads (default)",
                two_done,
                two_s,
                two_done / two_s,
                two_done / two_s / peer_rate,
            ],
            [
                f"Dask LocalCluster, {WORKERS} worker processes",
                cluster_done,
                finished_s,
                cluster_rate,
                ratio,
            ],
        ],
        notes=[
            f"sampling {SUBJECTS:,} subjects: {sample_s:.2f} s",
            f"cluster start {started_s:.1f} s; first tiny run per worker (imports and numba "
            f"kernels from the disk cache): {', '.join(f'{s:.1f} s' for s in warm.values())}",
            f"blocks finished by both sides give identical outcomes: {same}",
            f"time-bounded: single {PEER_BUDGET_S:g} s, cluster {CLUSTER_BUDGET_S:g} s; "
            f"the full {SUBJECTS:,} would take about {SUBJECTS / cluster_rate:.0f} s on the "
            "cluster at this rate",
            "each subject has its own tissue, so simulate_many runs one kernel call per "
            "subject (no batching across tissues)",
        ],
        targets=[
            {
                "name": "cluster_vs_single",
                "measured": ratio,
                "unit": "x",
                "target": f">= {TARGET_RATIO} (2 workers on 2 cores, 75 % efficiency; "
                "cryoderm choice)",
                "met": ratio >= TARGET_RATIO,
            }
        ],
        data={
            "subjects": SUBJECTS,
            "block": BLOCK,
            "workers": WORKERS,
            "peer_subjects_per_s": peer_rate,
            "two_threads_subjects_per_s": two_done / two_s,
            "cluster_subjects_per_s": cluster_rate,
            "ratio": ratio,
            "warm_up_s": warm,
            "identical": same,
        },
    )
    return report
