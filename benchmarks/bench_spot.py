"""Benchmark R2: the 2-D axisymmetric engine against a hand-written scipy.sparse peer.

Problem (benchmarks/cases/r2-jet-spot.toml, described in benchmarks/cases/README.md): a
Gaussian cold jet (200 W/m2K at the axis, 1/e radius 5 mm, -100 C) on R1's four layers, a
cylinder of 30 mm radius, room air everywhere, 60 s; read on the axis (surface and 1 mm) and
5 mm off it (surface) after 30 and 60 s. Matched accuracy: every output within 0.05 K of the
converged reference (REFERENCE); each solver's error is measured here.

The peer (benchmarks/_fv2d.py) is the solver a researcher would write with scipy alone:
cell-centred finite volumes on a 28 x 51 grid, Crank-Nicolson with a Rannacher start, one
sparse LU factorisation per scheme, dt 2.5 s: the grid and step that meet 0.05 K. The two run
alternately in this process, so that both see the same machine; times are medians.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks import _fv2d
from benchmarks.report import Report

CASE = Path(__file__).parent / "cases" / "r2-jet-spot.toml"
TIMES = (30.0, 60.0)
PROBES = ("centre", "centre-1mm", "edge")
# (radius m, depth m) of each probe, for the peer.
POSITIONS = ((0.0, 0.0), (0.0, 1e-3), (5e-3, 0.0))
# Converged reference of benchmark R2 (benchmarks/cases/README.md): rows are the times,
# columns the probes.
REFERENCE = np.array([[-33.448, -7.764, -2.116], [-44.412, -22.786, -12.007]])
TOLERANCE_K = 0.05
ROUNDS = 40
# The peer's grid and step that meet 0.05 K (its error is measured in every run).
PEER_CELLS = (1, 12, 26, 12)
PEER_FINE_DR_M, PEER_FINE_TO_M, PEER_GROWTH = 0.5e-3, 8e-3, 1.2
PEER_DT_S = 2.5
TARGETS = {"faster_than_peer": 1.0, "aim_ratio": 10.0}


def _engine_outputs(result) -> np.ndarray:
    if result.status != "ok":
        raise RuntimeError(f"engine failed on R2: {result.message}")
    times = list(result.time_s)
    rows = [[float(result.probes[name][times.index(t)]) for name in PROBES] for t in TIMES]
    return np.array(rows)


def main() -> Report:
    import cryoderm
    from cryoderm.physics.case import Freezing

    # R2 is a problem of the linear equation (its peers solve that): freezing stated off.
    case = cryoderm.load_case(CASE)
    case = dataclasses.replace(case, freezing=Freezing(enabled=False))
    jet = _fv2d.Jet(200.0, 5e-3, -100.0, 10.0, 25.0)
    faces = _fv2d.radial_faces(PEER_FINE_DR_M, PEER_FINE_TO_M, PEER_GROWTH, 30e-3)
    peer = _fv2d.AxisymmetricFV(case.tissue, PEER_CELLS, faces)

    def run_peer() -> np.ndarray:
        fields = peer.run(10.0, 25.0, jet, PEER_DT_S, TIMES)
        return np.array([[peer.probe(fields[t], r, z, jet) for r, z in POSITIONS] for t in TIMES])

    def run_engine() -> np.ndarray:
        return _engine_outputs(cryoderm.simulate(case))

    # Warm-up (compiled kernels from the on-disk cache, the engine's preparation of the
    # case, scipy's imports), then alternate the two so that both see the same load.
    first = time.perf_counter()
    engine_values = run_engine()
    first_s = time.perf_counter() - first
    peer_values = run_peer()
    engine_times, peer_times, engine_cpu, peer_cpu = [], [], [], []
    for _ in range(ROUNDS):
        for run, walls, cpus in (
            (run_engine, engine_times, engine_cpu),
            (run_peer, peer_times, peer_cpu),
        ):
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    engine_s = statistics.median(engine_times)
    peer_s = statistics.median(peer_times)
    cpu_ratio = statistics.median(peer_cpu) / statistics.median(engine_cpu)
    engine_error = float(np.abs(engine_values - REFERENCE).max())
    peer_error = float(np.abs(peer_values - REFERENCE).max())
    ratio = peer_s / engine_s
    accurate = max(engine_error, peer_error) <= TOLERANCE_K
    prepared = __import__("cryoderm.physics.axisym", fromlist=["prepare"]).prepare(case)
    nz, nr = prepared.initial.shape
    rows = [
        [
            "cryoderm engine (axisymmetric)",
            engine_s * 1e3,
            engine_error,
            1.0,
            f"{nz} x {nr} nodes, {len(prepared.steps.dt)} steps",
        ],
        [
            peer.name,
            peer_s * 1e3,
            peer_error,
            ratio,
            f"{peer.nz} x {peer.nr} cells, dt {PEER_DT_S:g} s",
        ],
    ]
    load = os.getloadavg()[0]
    notes = [
        f"matched accuracy (every output within {TOLERANCE_K} K of the reference): "
        + ("yes" if accurate else "NO: see the error column"),
        "engine errors by output (K, rows 30 s and 60 s; centre, centre 1 mm, edge): "
        + str(np.round(engine_values - REFERENCE, 4).tolist()),
        "peer errors by output (K): " + str(np.round(peer_values - REFERENCE, 4).tolist()),
        f"engine: median of {ROUNDS} runs through cryoderm.simulate (result objects and probe "
        "series included; metrics and safety figures are computed when first read, as the "
        f"column engine's); the first run of the process, with the preparation of the case, "
        f"took {first_s * 1e3:.1f} ms",
        f"in CPU time (which the load of other work does not inflate): peer / engine = "
        f"{cpu_ratio:.1f} (engine {statistics.median(engine_cpu) * 1e3:.2f} ms, peer "
        f"{statistics.median(peer_cpu) * 1e3:.1f} ms)",
        "peer: median of the same number of runs, alternating with the engine's; its "
        "times include the steady start and both factorisations, as the engine's do",
        f"load average during the run: {load:.1f} on {os.cpu_count()} CPUs",
    ]
    targets = [
        {
            "name": "R2 faster than the scipy.sparse peer",
            "measured": ratio,
            "unit": "x",
            "target": f">= {TARGETS['faster_than_peer']:g}x (at {TOLERANCE_K} K)",
            "met": accurate and ratio >= TARGETS["faster_than_peer"],
        },
        {
            "name": "R2 aim: ten times the peer",
            "measured": ratio,
            "unit": "x",
            "target": f">= {TARGETS['aim_ratio']:g}x",
            "met": accurate and ratio >= TARGETS["aim_ratio"],
        },
    ]
    return Report(
        title="Benchmark R2: one axisymmetric jet spot at 0.05 K (ratios: peer time / engine time)",
        columns=["solver", "R2 ms", "max err K", "peer / this", "discretisation"],
        rows=rows,
        notes=notes,
        targets=targets,
        data={
            "engine_s": engine_s,
            "peer_s": peer_s,
            "engine_error_k": engine_error,
            "peer_error_k": peer_error,
            "engine_values": engine_values.tolist(),
            "peer_values": peer_values.tolist(),
            "reference": REFERENCE.tolist(),
            "rounds": ROUNDS,
            "engine_cpu_s": statistics.median(engine_cpu),
            "peer_cpu_s": statistics.median(peer_cpu),
        },
    )
