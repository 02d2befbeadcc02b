"""The research commands end to end: sensitivity, sweep and fit on the gallery's case,
--out on simulate, sweep, sensitivity, fit and cohort, and bad input exiting 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cryoderm.cli import main
from cryoderm.research.outputs import read

GALLERY = Path(__file__).resolve().parents[2] / "examples" / "gallery"
CASE = str(GALLERY / "cheek-convective.toml")


def test_simulate_writes_its_series_with_the_resolved_case(tmp_path, capsys):
    out = tmp_path / "r.parquet"
    assert main(["simulate", CASE, "--out", str(out)]) == 0
    frame = read(out)
    assert list(frame.columns) == ["surface", "dermis-fat"]
    assert frame.attrs["case"].startswith('format = "cryoderm-case/1"')
    assert len(frame.attrs["case_sha256"]) == 64


def test_sensitivity_reports_both_methods_and_writes_one_table(tmp_path, capsys):
    out = tmp_path / "s.csv"
    code = main(
        [
            "sensitivity",
            CASE,
            "--n",
            "16",
            "--trajectories",
            "4",
            "--outputs",
            "min_surface_temp_c",
            "--out",
            str(out),
            "--format",
            "json",
        ]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in document["results"]] == ["morris", "sobol"]
    table = read(out)
    assert set(table["method"]) == {"morris", "sobol"}
    assert set(table["parameter"]) == {
        "dermis_thickness",
        "fat_thickness",
        "dermis_perfusion",
        "deep_thickness",
    }


def test_sweep_runs_the_gallery_grid(tmp_path, capsys):
    out = tmp_path / "sweep.nc"
    assert main(["sweep", str(GALLERY / "sweep-gas-and-h.toml"), "--out", str(out)]) == 0
    data = read(out)
    assert data.sizes["run"] == 12 and data.attrs["status_counts"]["ok"] == 12
    assert "jet h (W/m2K)" in data


def test_fit_finds_the_jet_h_of_the_gallery_trace(tmp_path, capsys):
    out = tmp_path / "fit.csv"
    code = main(
        [
            "fit",
            CASE,
            "--measured",
            str(GALLERY / "measured-cheek.csv"),
            "--fit",
            "h",
            "--out",
            str(out),
            "--format",
            "json",
        ]
    )
    assert code == 0
    (estimate,) = json.loads(capsys.readouterr().out)["estimates"]
    assert estimate["low_95"] <= 80.0 <= estimate["high_95"]
    assert read(out).loc["h", "key"] == "phase[1].heat_transfer_w_m2k"


def test_cohort_writes_its_subjects_and_its_summary_table(tmp_path, capsys):
    out, summary = tmp_path / "subjects.parquet", tmp_path / "cohort.csv"
    argv = ["cohort", CASE, "--n", "20", "--floor-c", "2", "--workers", "1"]
    assert main([*argv, "--out", str(out), "--summary-out", str(summary)]) == 0
    subjects = read(out)
    assert len(subjects) == 20 and subjects.attrs["n"] == 20 and subjects.attrs["case_sha256"]
    assert subjects.attrs["protocol"] and set(subjects["status"]) == {"ok"}
    assert {"sex", "dermis_mm", "min_surface_temp_c", "freeze_risk_time_s"} <= set(subjects)
    table = read(summary)
    assert table.attrs["n"] == 20 and table.attrs["case_sha256"]
    assert set(table["quantity"]) >= {"freeze_risk_fraction", "min_surface_temp_c"}
    assert table.attrs["protocol"] == subjects.attrs["protocol"]


@pytest.mark.parametrize(
    "argv",
    [
        ["sensitivity", CASE, "--out", "x.xlsx"],
        ["sensitivity", CASE, "--outputs", "coldness"],
        ["fit", CASE, "--measured", "missing.csv", "--fit", "h"],
        ["fit", CASE, "--measured", str(GALLERY / "measured-cheek.csv"), "--fit", "nonsense"],
        ["sweep", "missing.toml"],
    ],
)
def test_bad_input_exits_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"cryoderm {argv[0]}: ") and error.count("\n") == 1


def test_the_api_is_listed_and_the_command_line_starts_without_the_heavy_libraries():
    import subprocess
    import sys

    import cryoderm
    from cryoderm.research import fitting, sensitivity

    assert {"fit", "sensitivity", "morris", "sobol", "Parameter", "simulate_many"} <= set(
        dir(cryoderm)
    )
    assert cryoderm.fit is fitting.fit and cryoderm.sensitivity is sensitivity.study
    probe = (
        "import sys, cryoderm.cli; cryoderm.cli.build_parser(); "
        "print(sorted(m for m in ('pandas', 'xarray', 'SALib', 'emcee', 'scipy') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
