"""When the 1-D column is enough (docs/physics.md section 10): the gallery's cheek spot at
0.5-4 cm against the column. The figures the docs quote, at half the default resolution
(within 0.03 K of it: the claims do not hang on the grid)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import cryoderm
from cryoderm.physics.case import Geometry
from cryoderm.research.errors import InvalidStudy
from cryoderm.research.spot_column import spot_versus_column

CASE = Path(__file__).resolve().parents[2] / "examples" / "gallery" / "cheek-spot.toml"


@pytest.fixture(scope="module")
def table():
    case = cryoderm.load_case(CASE)
    coarse = dataclasses.replace(
        case, numerics=dataclasses.replace(case.numerics, space_refinement=0.5)
    )
    return spot_versus_column(coarse, (5.0, 10.0, 20.0, 40.0)).set_index("diameter_mm")


def test_spots_of_a_centimetre_or_less_stay_several_kelvin_warmer_than_the_column(table):
    assert table.loc[5.0, "spot_warmer_k"] > 10.0
    assert 4.0 < table.loc[10.0, "spot_warmer_k"] < 5.5
    assert table.loc[20.0, "spot_warmer_k"] < 0.6
    assert abs(table.loc[40.0, "spot_warmer_k"]) < 0.05


def test_a_two_centimetre_spot_rewarms_two_kelvin_faster_in_two_minutes(table):
    assert 1.8 < table.loc[20.0, "spot_rewarms_faster_k"] < 2.6
    assert table.loc[10.0, "spot_rewarms_faster_k"] > 2.5
    assert abs(table.loc[40.0, "spot_rewarms_faster_k"]) < 0.2


def test_the_table_records_its_case_and_refuses_a_column_case(table):
    assert table.attrs["case_sha256"]
    column = cryoderm.load_case(CASE.parents[2] / "benchmarks" / "cases" / "r1-cold-air.toml")
    with pytest.raises(InvalidStudy, match=r"geometry\.kind"):
        spot_versus_column(column, (10.0,))
    no_spot = dataclasses.replace(column, geometry=Geometry(kind="axisymmetric"))
    with pytest.raises(InvalidStudy, match="at least one spot phase"):
        spot_versus_column(no_spot, (10.0,))
