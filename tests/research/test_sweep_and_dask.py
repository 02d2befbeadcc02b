"""Sweeps (grid, random and Sobol designs; refused runs kept as rows; bad sweep files) and
large designs on Dask giving exactly the in-process numbers."""

from __future__ import annotations

import numpy as np
import pytest

from cryoderm.research.errors import InvalidStudy
from cryoderm.research.evaluate import CaseModel, quantity
from cryoderm.research.parameters import Parameter, Uniform
from cryoderm.research.sweep import parse_sweep, run_sweep

FORMAT = "cryoderm-sweep/1"


def test_a_grid_runs_every_combination_in_order(cheek):
    sweep = parse_sweep(
        {
            "format": FORMAT,
            "outputs": ["min_surface_temp_c"],
            "axis": [
                {"key": "phase[1].gas_temp_c", "values": [-40.0, -20.0]},
                {
                    "key": "phase[1].heat_transfer_w_m2k",
                    "low": 30.0,
                    "high": 120.0,
                    "steps": 3,
                    "spacing": "log",
                },
            ],
        },
        cheek,
    )
    frame = run_sweep(sweep).to_dataframe()
    assert frame["phase[1].heat_transfer_w_m2k"].tolist() == pytest.approx([30, 60, 120] * 2)
    coldest = frame["min_surface_temp_c"].to_numpy()
    assert np.all(np.diff(coldest[:3]) < 0) and np.all(
        coldest[:3] < coldest[3:]
    )  # colder, stronger
    assert frame.attrs["status_counts"] == {"ok": 6, "failed": 0, "invalid": 0}


@pytest.mark.parametrize("design", ["random", "sobol"])
def test_random_designs_stay_in_range_and_repeat_for_a_seed(cheek, design):
    doc = {
        "format": FORMAT,
        "design": design,
        "runs": 16,
        "seed": 3,
        "axis": [
            {"key": "tissue.layer[*].perfusion_per_s", "mode": "scale", "low": 0.5, "high": 2.0}
        ],
    }
    first = parse_sweep(doc, cheek).points()
    assert first.shape == (16, 1) and np.all((first >= 0.5) & (first <= 2.0))
    np.testing.assert_array_equal(first, parse_sweep(doc, cheek).points())


def test_a_refused_run_is_a_row_with_its_status_and_message(cheek):
    sweep = parse_sweep(
        {
            "format": FORMAT,
            "axis": [{"key": "phase[1].heat_transfer_w_m2k", "values": [60.0, -1.0]}],
        },
        cheek,
    )
    result = run_sweep(sweep)
    assert result.to_dataframe()["status"].tolist() == ["ok", "invalid"]
    assert result.runs.messages["invalid"].startswith("phase[1].heat_transfer_w_m2k = -1.0")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"format": FORMAT}, r"axis = '\(missing\)': at least one \[\[axis\]\]"),
        (
            {"format": FORMAT, "axis": [{"key": "phase[1].gas_temp_c", "low": 0, "high": 1}]},
            "axis\\[1\\].steps",
        ),
        ({"format": FORMAT, "design": "lhs", "axis": []}, "one of: grid, random, sobol"),
        (
            {
                "format": FORMAT,
                "outputs": ["warmth"],
                "axis": [{"key": "phase[1].gas_temp_c", "values": [1.0]}],
            },
            "a metric or safety key",
        ),
        (
            {"format": FORMAT, "axis": [{"key": "phase[1].gas_temp_c", "vals": [1.0]}]},
            "unknown key",
        ),
    ],
)
def test_a_bad_sweep_file_is_refused_naming_the_key(cheek, doc, message):
    with pytest.raises(InvalidStudy, match=message):
        parse_sweep(doc, cheek)


def test_a_design_on_dask_equals_the_in_process_run(cheek):
    from cryoderm.cohort.cluster import client_for

    parameters = [
        Parameter("tissue.layer[fat].thickness_mm", Uniform(2.0, 8.0), "assumption: test"),
        Parameter("phase[1].heat_transfer_w_m2k", Uniform(40.0, 80.0), "assumption: test"),
    ]
    quantities = [quantity("min_surface_temp_c"), quantity("basal_min_temp_c")]
    values = np.random.default_rng(0).uniform([2.0, 40.0], [8.0, 80.0], (40, 2))
    here = CaseModel(cheek, parameters, quantities)(values)
    seen: list[int] = []
    with client_for(None, n_workers=1, processes=False) as client:
        model = CaseModel(
            cheek,
            parameters,
            quantities,
            client=client,
            block_size=15,
            progress=lambda d, t: seen.append(d),
        )
        there = model(values)
    np.testing.assert_array_equal(there.values, here.values)
    assert there.ok.all() and seen[-1] == 40 and len(seen) == 3
