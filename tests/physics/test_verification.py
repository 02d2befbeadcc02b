"""The engine meets every exact solution in tests/validation_cases and the R1 benchmark reference.

The cases are read with the public loader (cryoderm.load_case) and run through the public
API (cryoderm.simulate); expected.json gives the answers, their sources and tolerances."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import cryoderm
from cryoderm.physics.case import Freezing

# The verification cases and the benchmark case (their sources: tests/validation_cases/README.md
# and benchmarks/cases/README.md).
REPO = Path(__file__).resolve().parents[2]
VALIDATION = REPO / "tests" / "validation_cases"
R1_CASE = REPO / "benchmarks" / "cases" / "r1-cold-air.toml"
EXPECTED = json.loads((VALIDATION / "expected.json").read_text())

# R1 converged reference (benchmarks/cases/README.md), met at 0.01 K.
R1_REFERENCE = {
    "surface": {30: 20.854, 60: 15.733, 120: 9.493, 180: 5.787},
    "1mm": {30: 26.025, 60: 20.595, 120: 13.856, 180: 9.818},
}


def _at(result: cryoderm.physics.results.SimulationResult, probe: str, time_s: float) -> float:
    index = int(np.argmin(np.abs(result.time_s - time_s)))
    assert abs(result.time_s[index] - time_s) < 1e-9, f"no output at {time_s} s"
    return float(result.probes[probe][index])


@pytest.mark.parametrize("name", sorted(EXPECTED["cases"]))
def test_validation_case_meets_its_tolerance(name: str) -> None:
    expected = EXPECTED["cases"][name]
    case = cryoderm.load_case(VALIDATION / name)
    if "[freezing]" not in (VALIDATION / name).read_text(encoding="utf-8"):
        # An exact solution of the linear bioheat equation (README): run the linear model
        # (freezing is otherwise on wherever tissue can reach its freezing point).
        case = dataclasses.replace(case, freezing=Freezing(enabled=False))
    result = cryoderm.simulate(case)
    assert result.ok, result.message
    tolerance = expected["tolerance_k"]
    if "expect" in expected:
        for probe, value in expected["expect"].items():
            assert _at(result, probe, expected["at_time_s"]) == pytest.approx(
                value, abs=tolerance
            ), probe
        flux = result.metrics["initial_surface_heat_loss_w_m2"]
        assert flux == pytest.approx(expected["surface_heat_flux_w_m2"], rel=1e-3)
    else:
        for probe, series in expected["series"].items():
            for time_s, value in series.items():
                got = _at(result, probe, float(time_s))
                assert got == pytest.approx(value, abs=tolerance), f"{probe} at {time_s} s"


def test_r1_benchmark_meets_the_reference_at_0_01_k() -> None:
    result = cryoderm.simulate(cryoderm.load_case(R1_CASE))
    assert result.ok, result.message
    for probe, series in R1_REFERENCE.items():
        for time_s, value in series.items():
            assert _at(result, probe, time_s) == pytest.approx(value, abs=0.01), (
                f"{probe} at {time_s} s"
            )


def test_result_json_has_no_nan_and_the_documented_keys() -> None:
    result = cryoderm.simulate(cryoderm.load_case(VALIDATION / "rp2a-transient-perfused.toml"))
    data = result.to_json_dict()
    assert data["format"] == "cryoderm-result/1"
    assert data["status"] == "ok"
    assert set(data["probes"]) == {"surface", "0.5mm", "1mm", "2mm", "5mm", "10mm"}
    assert "freeze_risk_time_s" in data["safety"]
    text = json.dumps(data, allow_nan=False)
    assert "NaN" not in text
