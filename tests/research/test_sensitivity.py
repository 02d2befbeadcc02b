"""Sensitivity indices: Sobol reproduces the Ishigami function's analytic indices, Morris
screens out an input without effect, and on a real case both methods agree on which
sourced spreads matter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cryoderm.research.evaluate import CaseModel, Runs, quantity
from cryoderm.research.parameters import Parameter, Uniform
from cryoderm.research.sensitivity import StudyFailed, morris, sobol
from cryoderm.research.spreads import case_spreads

A, B = 7.0, 0.1  # the usual Ishigami constants (Ishigami & Homma 1990)


def ishigami(values: np.ndarray) -> Runs:
    x1, x2, x3 = values[:, 0], values[:, 1], values[:, 2]
    y = np.sin(x1) + A * np.sin(x2) ** 2 + B * x3**4 * np.sin(x1)
    # A fourth input, x4, has no effect at all.
    return Runs(y[:, None], np.zeros(len(y), dtype=np.int8), {})


def ishigami_indices() -> dict[str, tuple[float, float]]:
    """Analytic (S1, ST) of the Ishigami function over U(-pi, pi)^3 (Sobol' & Levitan 1999)."""
    pi = math.pi
    v1 = 0.5 * (1 + B * pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * pi**8 * (1 / 18 - 1 / 50)
    total = v1 + v2 + v13
    return {
        "x1": (v1 / total, (v1 + v13) / total),
        "x2": (v2 / total, v2 / total),
        "x3": (0.0, v13 / total),
        "x4": (0.0, 0.0),
    }


def uniform_inputs() -> list[Parameter]:
    return [
        Parameter(name, Uniform(-math.pi, math.pi), "assumption: the Ishigami test problem")
        for name in ("x1", "x2", "x3", "x4")
    ]


def test_sobol_indices_of_the_ishigami_function_are_within_0_03():
    result = sobol(ishigami, uniform_inputs(), ["y"], n=8192, seed=2)
    exact = ishigami_indices()
    for row in result.rows:
        s1, st = exact[row["parameter"]]
        assert row["S1"] == pytest.approx(s1, abs=0.03)
        assert row["ST"] == pytest.approx(st, abs=0.03)
        # the bootstrap intervals are honest about that error
        assert row["ST_conf"] < 0.05


def test_morris_screens_out_an_input_without_effect():
    result = morris(ishigami, uniform_inputs(), ["y"], trajectories=40, seed=3)
    mu_star = {row["parameter"]: row["mu_star"] for row in result.rows}
    assert mu_star["x4"] == 0.0
    assert min(mu_star["x1"], mu_star["x2"], mu_star["x3"]) > 1.0
    assert result.ranking("y")[-1] == "x4"


def test_morris_and_sobol_agree_on_what_matters_for_a_real_case(cheek):
    parameters = [
        *case_spreads(cheek),
        Parameter(
            "phase[1].heat_transfer_w_m2k",
            Uniform(40.0, 80.0),
            "assumption: a cold-air device's h is not published (data/exposures.toml)",
            label="device h",
        ),
    ]
    names = ["min_surface_temp_c", "basal_min_temp_c"]
    quantities = [quantity(name) for name in names]
    screened = morris(CaseModel(cheek, parameters, quantities), parameters, names, seed=1)
    indices = sobol(CaseModel(cheek, parameters, quantities), parameters, names, n=64, seed=1)
    for name in names:
        by_morris, by_sobol = screened.ranking(name), indices.ranking(name)
        # the same leaders (the device's h, then the fat), the same pair of minor inputs
        # (whose order is within the noise of either method) and the same negligible one
        assert by_morris[:2] == by_sobol[:2] == ["device h", "fat_thickness"]
        assert set(by_morris[2:4]) == set(by_sobol[2:4]) == {"dermis_thickness", "dermis_perfusion"}
        assert by_morris[-1] == by_sobol[-1] == "deep_thickness"
    assert indices.runs == 64 * (len(parameters) + 2)
    table = indices.to_dataframe()
    assert list(table.columns) == ["quantity", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert table.attrs["sources"][-1].startswith("assumption:")


def test_a_run_the_engine_refuses_stops_the_study_with_its_message(cheek):
    parameters = [
        Parameter(
            "phase[1].heat_transfer_w_m2k",
            Uniform(-50.0, 80.0),
            "assumption: a spread reaching an impossible value",
        )
    ]
    model = CaseModel(cheek, parameters, [quantity("min_surface_temp_c")])
    with pytest.raises(StudyFailed, match=r"invalid \d+ of 24 runs; first: phase\[1\]"):
        sobol(model, parameters, ["min_surface_temp_c"], n=8)


def test_the_sourced_spreads_are_those_of_the_one_spreads_table(cheek):
    from cryoderm.physics.spreads import spreads_for
    from cryoderm.research.parameters import parameters_from_tables

    parameters = case_spreads(cheek)
    assert [p.key for p in parameters] == [f"spread:{s.name}" for s in spreads_for(cheek)]
    fat = next(p for p in parameters if p.name == "fat_thickness")
    # the cohort's truncated normal: from the table's 0.3 mm floor to mean + 2 SD
    mean = cheek.tissue.layers[2].thickness_mm
    low, high = fat.values(np.array([0.0, 1.0]))
    assert (low, high) == pytest.approx((0.3, mean * (1 + 2 * 0.65)))
    (named,) = parameters_from_tables([{"key": "spread:fat_thickness"}], case=cheek)
    assert named.source == fat.source.rsplit(" (evidence", 1)[0]
    from cryoderm.research.errors import InvalidStudy

    with pytest.raises(InvalidStudy, match=r"a sourced spread of data/spreads\.toml"):
        parameters_from_tables([{"key": "spread:mood"}], case=cheek)
