"""Researcher's toolkit: wall times of a sensitivity study and of a fit.

Case: examples/gallery/cheek-convective.toml (cheek, -30 C jet at h 60 W/m2K for 2 min, then
1 min of room air; constant perfusion). Sensitivity: the case's sourced spreads
(data/spreads.toml: dermis and fat thickness, dermal perfusion, deep boundary) plus the jet's
h, for the coldest surface and basal layer: Morris with 20 trajectories, Sobol with n = 256
(each run its own tissue, so each is a small simulation). Fit: h and fat thickness from the
gallery's measured trace (60 samples), least squares with its Jacobian, then an emcee
posterior of 16 walkers x 200 steps (each step one batch of 16 runs). The first run of each
fills the engine's caches and imports SALib/emcee; it is timed apart.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.report import Report

GALLERY = Path(__file__).resolve().parents[1] / "examples" / "gallery"
OUTPUTS = ["min_surface_temp_c", "basal_min_temp_c"]


def _setup() -> tuple[Any, list[Any]]:
    import cryoderm
    from cryoderm.research.parameters import Parameter, Uniform
    from cryoderm.research.spreads import case_spreads

    case = cryoderm.load_case(GALLERY / "cheek-convective.toml")
    jet = Parameter(
        "phase[1].heat_transfer_w_m2k",
        Uniform(40.0, 80.0),
        "assumption: the jet's h is not published",
        label="jet_h",
    )
    return case, [*case_spreads(case), jet]


def _timed(call: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def main() -> Report:
    from cryoderm.research.fitting import fit
    from cryoderm.research.sensitivity import study
    from cryoderm.research.traces import read_trace_csv

    case, parameters = _setup()
    first_s, _ = _timed(
        lambda: study(case, parameters, outputs=OUTPUTS, n=8, trajectories=2, methods=("sobol",))
    )
    rows = []
    for method, options in (("morris", {"trajectories": 20}), ("sobol", {"n": 256})):
        seconds, (result,) = _timed(
            lambda m=method, o=options: study(case, parameters, methods=(m,), outputs=OUTPUTS, **o)
        )
        rows.append([f"sensitivity: {method}", result.runs, seconds, result.runs / seconds])
    traces = read_trace_csv(GALLERY / "measured-cheek.csv")
    seconds, lsq = _timed(lambda: fit(case, traces, ["h", "fat"]))
    rows.append(
        ["fit: least squares (h, fat)", lsq.evaluations, seconds, lsq.evaluations / seconds]
    )
    seconds, bayes = _timed(
        lambda: fit(case, traces, ["h", "fat"], posterior=True, walkers=16, steps=200)
    )
    rows.append(
        ["fit: + posterior 16 x 200", bayes.evaluations, seconds, bayes.evaluations / seconds]
    )
    h = bayes["h"]
    return Report(
        title="Researcher's toolkit: sensitivity and fit wall times (gallery cheek case)",
        columns=["study", "runs", "wall (s)", "runs/s"],
        rows=rows,
        notes=[
            f"first study (imports, engine caches) {first_s:.2f} s, not counted",
            f"fitted h {lsq['h'].value:.2f} W/m2K (95 % {lsq['h'].low_95:.2f}-"
            f"{lsq['h'].high_95:.2f}); posterior median {h.posterior_median:.2f} "
            f"(95 % {h.posterior_low_95:.2f}-{h.posterior_high_95:.2f}), "
            f"acceptance {bayes.acceptance:.2f}; the trace was made with h = 80",
        ],
        data={"rows": rows},
    )
