"""Observed order of accuracy: second order in space and in time.

RP-2 B (Carslaw1959, 2.7): unperfused semi-infinite skin at 34 C, then gas at -30 C with
h = 60 W/m2K; the exact surface temperature is 34 - 64 (1 - erfcx(h sqrt(alpha t)/k)).
Orders come from Richardson differences of three resolutions (refinement 1, 2, 4), so the
other discretisation's error cancels; the finest run is also checked against the exact
solution."""

from __future__ import annotations

import math

import pytest
from scipy.special import erfcx

import cryoderm
from cryoderm.physics import solver
from cryoderm.physics.case import (
    Case,
    ConvectivePhase,
    Layer,
    Numerics,
    Output,
    Probe,
    Tissue,
    UniformInitial,
)

K, RHO, C, H = 0.37, 1109.0, 3391.0, 60.0
TIMES = (60.0, 120.0)


def exact_surface_c(time_s: float) -> float:
    alpha = K / (RHO * C)
    return 34.0 + (-30.0 - 34.0) * (1.0 - erfcx(H * math.sqrt(alpha * time_s) / K))


def surface_c(space: float, time: float) -> list[float]:
    case = Case(
        tissue=Tissue(layers=(Layer("skin", 40.0, K, RHO, C),), core_temp_c=34.0),
        phases=(ConvectivePhase(gas_temp_c=-30.0, heat_transfer_w_m2k=H, duration_s=120.0),),
        initial=UniformInitial(34.0),
        output=Output(sample_every_s=60.0, probes=(Probe("surface", 0.0),)),
        numerics=Numerics(space_refinement=space, time_refinement=time),
    )
    (result,) = cryoderm.simulate_many([case])
    assert result.ok, result.message
    return [float(result.probes["surface"][int(t / 60.0)]) for t in TIMES]


def observed_order(coarse: list[float], middle: list[float], fine: list[float]) -> float:
    return min(
        math.log2(abs(a - b) / abs(b - c)) for a, b, c in zip(coarse, middle, fine, strict=True)
    )


def test_second_order_in_space() -> None:
    runs = [surface_c(space, 8.0) for space in (1.0, 2.0, 4.0)]
    assert observed_order(*runs) == pytest.approx(2.0, abs=0.35)


def test_second_order_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Uniform steps (no ramp after the switch) isolate the scheme's order: Crank-Nicolson
    # after the two backward-Euler half steps of the Rannacher start.
    monkeypatch.setattr(solver, "FIRST_STEP_S", solver.MAX_STEP_S)
    runs = [surface_c(4.0, time) for time in (1.0, 2.0, 4.0)]
    assert observed_order(*runs) == pytest.approx(2.0, abs=0.35)


def test_fine_resolution_matches_the_exact_solution() -> None:
    got = surface_c(4.0, 4.0)
    for value, time_s in zip(got, TIMES, strict=True):
        assert value == pytest.approx(exact_surface_c(time_s), abs=2e-3)
