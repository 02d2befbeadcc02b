"""Tidy outputs: a result as a DataFrame and a Dataset, a compact repr, and every output
format (CSV, Parquet, netCDF) giving back the same table and metadata."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cryoderm.physics.engine import simulate
from cryoderm.research import outputs
from cryoderm.research.errors import InvalidStudy


@pytest.fixture
def result(cheek):
    case = dataclasses.replace(cheek, output=dataclasses.replace(cheek.output, full_field=True))
    return simulate(case)


def test_a_result_is_a_tidy_dataframe_indexed_by_time(result):
    frame = result.to_dataframe()
    assert frame.index.name == "time_s"
    assert list(frame.columns) == ["surface", "dermis-fat"]
    np.testing.assert_array_equal(frame["surface"].to_numpy(), result.probes["surface"])
    assert frame.attrs["metrics"]["min_surface_temp_c"] == result.metrics["min_surface_temp_c"]
    assert frame.attrs["status"] == "ok"


def test_a_result_is_an_xarray_dataset_with_its_field(result):
    data = result.to_xarray()
    assert data["temp_c"].dims == ("probe", "time_s")
    assert float(data["temp_c"].sel(probe="surface").min()) == pytest.approx(
        result.metrics["min_surface_temp_c"], abs=0.5
    )
    assert data["field_temp_c"].shape == result.field.temp_c.shape
    assert data.attrs["safety"] == result.to_json_dict()["safety"]


def test_the_repr_is_one_line_a_reader_can_scan(result):
    text = repr(result)
    assert text.startswith("SimulationResult(status=ok, samples=91 from 0 to 180 s")
    assert "freeze_risk_time_s=none" in text and "\n" not in text
    assert "<table>" in result._repr_html_()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tables_round_trip_with_their_metadata(tmp_path, result, suffix):
    frame = result.to_dataframe()
    frame.attrs["case_sha256"] = "abc"
    path = tmp_path / f"result{suffix}"
    outputs.write(frame, path)
    back = outputs.read(path)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back.attrs == frame.attrs


def test_a_tidy_table_without_a_named_index_round_trips(tmp_path):
    frame = pd.DataFrame({"parameter": ["a", "b"], "ST": [0.25, np.nan], "runs": [3, 4]})
    frame.attrs["format"] = "cryoderm-test/1"
    for suffix in (".csv", ".parquet"):
        outputs.write(frame, tmp_path / f"t{suffix}")
        back = outputs.read(tmp_path / f"t{suffix}")
        pd.testing.assert_frame_equal(back, frame, check_exact=True)
        assert back.attrs == frame.attrs
    outputs.write(frame, tmp_path / "t.nc")
    back = outputs.read(tmp_path / "t.nc").to_dataframe()
    pd.testing.assert_frame_equal(back.reset_index(drop=True), frame, check_exact=True)


def test_netcdf_round_trips_the_full_dataset(tmp_path, result):
    outputs.write(result, tmp_path / "result.nc")
    back = outputs.read(tmp_path / "result.nc")
    assert back.identical(result.to_xarray())


def test_an_output_path_is_checked_before_any_work(tmp_path):
    with pytest.raises(InvalidStudy, match=r"--out = 'r\.xlsx': a file name ending in \.csv"):
        outputs.check_path("r.xlsx")
    with pytest.raises(InvalidStudy, match="a file in an existing folder"):
        outputs.check_path(str(tmp_path / "missing" / "r.csv"))
