"""Cohorts on real Dask clusters, and the ``cryoderm cohort`` command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryoderm.cli import main
from cryoderm.cohort import risk
from cryoderm.cohort.cluster import client_for, warm_up
from cryoderm.cohort.errors import InvalidCohort
from cryoderm.cohort.population import VirtualPopulation
from cryoderm.physics.casefile import case_to_toml, parse_case

CASE = parse_case(
    {
        "format": "cryoderm-case/1",
        "tissue": {"zone": "cheek"},
        "perfusion": {"model": "local-cold"},
        "phase": [
            {"modality": "cold-air", "gas_temp_c": -30.0, "air_speed_m_s": 4.4, "duration_s": 60.0}
        ],
        "output": {"sample_every_s": 30.0},
    }
)
BOB_COHORT = VirtualPopulation("cheek", sex="male", age_min_years=30, age_max_years=60, seed=4)


def test_a_local_cluster_of_worker_processes_gives_the_in_process_result() -> None:
    alone = risk.protocol_risk(CASE, BOB_COHORT, 12, block_size=4)
    with client_for(None, n_workers=1) as client:
        seconds = warm_up(client)
        spread = risk.protocol_risk(CASE, BOB_COHORT, 12, block_size=4, client=client)
    assert spread == alone
    # The worker loads the kernels from numba's disk cache: far below a compile (~1 min).
    assert len(seconds) == 1 and all(0 < s < 20 for s in seconds.values())


@pytest.mark.parametrize(
    ("address", "workers", "field"),
    [("localhost", None, "scheduler"), ("tcp://", None, "scheduler"), (None, 0, "n_workers")],
)
def test_bad_cluster_settings_are_refused_before_any_start(address, workers, field) -> None:
    with pytest.raises(InvalidCohort) as caught, client_for(address, n_workers=workers):
        pass
    assert caught.value.field == field


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A scheduler reachable over TCP, with one in-process worker (cheap on a shared CI box)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, processes=False, protocol="tcp://", dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_cohort_command_on_a_case_file_prints_the_risk_as_json(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cheek.toml"
    path.write_text(case_to_toml(CASE))
    argv = ["cohort", str(path), "--n", "12", "--sex", "male", "--age", "30-60", "--seed", "4"]
    assert main([*argv, "--scheduler", scheduler, "--block-size", "4", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = risk.protocol_risk(CASE, BOB_COHORT, 12).to_json_dict()
    assert printed == json.loads(json.dumps(expected))
    assert main([*argv, "--scheduler", scheduler]) == 0
    table = capsys.readouterr().out
    assert "12 subjects (male, 30-60 y, seed 4)" in table and "freezing risk" in table
    assert "protocol: cold-air −30.0 °C at 4.4 m/s for 60 s" in table


def test_cohort_command_runs_here_by_default_and_plots_the_distributions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, plot, out = tmp_path / "cheek.toml", tmp_path / "spread.png", tmp_path / "s.csv"
    path.write_text(case_to_toml(CASE))
    argv = ["cohort", str(path), "--n", "120", "--seed", "4", "--plot", str(plot)]
    assert main([*argv, "--out", str(out), "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["status_counts"]["ok"] == 120
    assert plot.read_bytes().startswith(b"\x89PNG") and plot.stat().st_size > 10_000
    from cryoderm.research.outputs import read

    rows = read(out)
    assert len(rows) == 120
    assert rows["min_surface_temp_c"].quantile(0.5) == pytest.approx(
        printed["min_surface_temp_c"]["p50"]
    )
    assert main([*argv[:2], "--plot", str(tmp_path / "spread.gif")]) == 2
    assert "--plot" in capsys.readouterr().err


def test_cohort_command_runs_the_planners_protocol(
    scheduler: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["cohort", "--zone", "cheek", "--goal", "skin-tone", "--modality", "cold-air"]
    assert main([*argv, "--n", "4", "--scheduler", scheduler, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["zone"] == "cheek" and printed["modality"] == "cold-air"
    assert printed["band_c"] == [8.0, 12.0] and printed["status_counts"]["ok"] == 4
    assert printed["protocol"].startswith("planned for skin-tone: ")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--age", "70"], "--age = '70'"),
        (["--age", "25-70.5"], "whole years"),
        (["--n", "0"], "n = 0"),
        (["--sex", "female", "--age", "10-20"], "population.age_min_years = 10"),
        (["--goal", "skin-tone"], "not both"),
        (["--scheduler", "nowhere"], "scheduler = 'nowhere'"),
    ],
)
def test_cohort_command_refuses_bad_options_with_exit_2(
    extra: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cheek.toml"
    path.write_text(case_to_toml(CASE))
    assert main(["cohort", str(path), *extra]) == 2
    assert words in capsys.readouterr().err
