"""Observed order of accuracy of the 2-D axisymmetric engine: second order in r, in z and in t,
each measured alone.

RP-2 B's cold gas (h 60 W/m2K, -30 C; tests/validation_cases) as a Gaussian jet of 1/e radius
4 mm over room air, on its single layer of unperfused skin (40 mm deep, uniform at 34 C):
read at the surface on the axis and at the spot's radius, after 60 and 120 s. Each order
comes from Richardson differences of three resolutions of one direction (refinements in
ratios of 2) with the other two fixed, so that their errors cancel. The coarsest levels of r
and t (refinement 1) are not yet in the asymptotic range at every output (the Crank-Nicolson
steps' stiff surface modes, the edge probe between two nodes): r and t are measured from
refinement 2."""

from __future__ import annotations

import math

import pytest

import cryoderm
from cryoderm.physics.case import (
    Case,
    ConvectivePhase,
    Geometry,
    Layer,
    Numerics,
    Output,
    Probe,
    Tissue,
    UniformInitial,
)

TIMES = (60.0, 120.0)
PROBES = ("centre", "edge")


def outputs(space: float = 1.0, radial: float = 1.0, time: float = 1.0) -> list[float]:
    case = Case(
        tissue=Tissue(layers=(Layer("skin", 40.0, 0.37, 1109.0, 3391.0),), core_temp_c=34.0),
        phases=(
            ConvectivePhase(
                gas_temp_c=-30.0,
                heat_transfer_w_m2k=60.0,
                duration_s=120.0,
                spot_profile="gaussian",
                spot_radius_mm=4.0,
            ),
        ),
        initial=UniformInitial(34.0),
        output=Output(sample_every_s=60.0, probes=(Probe("centre", 0.0), Probe("edge", 0.0, 4.0))),
        numerics=Numerics(space_refinement=space, radial_refinement=radial, time_refinement=time),
        geometry=Geometry(kind="axisymmetric", radius_mm=24.0),
    )
    result = cryoderm.simulate(case)
    assert result.ok, result.message
    return [float(result.probes[p][int(t / 60.0)]) for p in PROBES for t in TIMES]


def observed_order(coarse: list[float], middle: list[float], fine: list[float]) -> float:
    return min(
        math.log2(abs(a - b) / abs(b - c)) for a, b, c in zip(coarse, middle, fine, strict=True)
    )


def test_second_order_in_radius() -> None:
    runs = [outputs(radial=r, time=4.0) for r in (2.0, 4.0, 8.0)]
    assert observed_order(*runs) == pytest.approx(2.0, abs=0.3)


def test_second_order_in_depth() -> None:
    # space_refinement divides both directions; radial_refinement 1/space keeps r fixed.
    runs = [outputs(space=z, radial=1.0 / z, time=8.0) for z in (1.0, 2.0, 4.0)]
    assert observed_order(*runs) == pytest.approx(2.0, abs=0.3)


def test_second_order_in_time() -> None:
    runs = [outputs(time=t) for t in (2.0, 4.0, 8.0)]
    assert observed_order(*runs) == pytest.approx(2.0, abs=0.3)
