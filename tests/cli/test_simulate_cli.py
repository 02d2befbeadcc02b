"""`cryoderm simulate` through the command line, as a user runs it.

Every verification case (tests/validation_cases, described in its README) must meet its
tolerance in expected.json through the CLI's JSON output. Each case runs once per module.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CASES = Path(__file__).parents[1] / "validation_cases"
EXPECTED = json.loads((CASES / "expected.json").read_text())["cases"]


def cryoderm(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `cryoderm` (or the module, when no script is installed)."""
    script = Path(sys.executable).with_name("cryoderm")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cryoderm.cli"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    # The reference problems without a [freezing] section are exact solutions of the linear
    # bioheat equation: run as such (freezing is otherwise on wherever tissue can reach its
    # freezing point, and RP-1 B and C do).
    folder = tmp_path_factory.mktemp("linear")
    runs = {}
    for name in EXPECTED:
        text = (CASES / name).read_text(encoding="utf-8")
        if "[freezing]" not in text:
            text = text.replace("[perfusion]", "[freezing]\nenabled = false\n\n[perfusion]", 1)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        runs[name] = cryoderm("simulate", str(path), "--format", "json")
    return runs


def _checks(spec: dict) -> list[tuple[str, float, float]]:
    """(probe, time_s, expected_c) for every expected value of a case."""
    if "expect" in spec:
        return [(probe, spec["at_time_s"], value) for probe, value in spec["expect"].items()]
    return [
        (probe, float(time), value)
        for probe, series in spec["series"].items()
        for time, value in series.items()
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validation_case_meets_its_tolerance_through_the_cli(results, name):
    run = results[name]
    assert run.returncode == 0, run.stderr
    output = json.loads(run.stdout)
    assert output["status"] == "ok", output["message"]
    times = output["time_s"]
    tolerance = EXPECTED[name]["tolerance_k"]
    errors = {}
    for probe, time_s, expected in _checks(EXPECTED[name]):
        index = min(range(len(times)), key=lambda i: abs(times[i] - time_s))
        assert abs(times[index] - time_s) < 1e-6, f"no sample at {time_s} s"
        errors[(probe, time_s)] = output["probes"][probe][index] - expected
    worst = max(errors, key=lambda key: abs(errors[key]))
    assert abs(errors[worst]) <= tolerance, f"{worst}: error {errors[worst]:+.4f} K"


def test_json_output_has_the_documented_fields(results):
    output = json.loads(results["rp2b-transient-unperfused.toml"].stdout)
    assert output["format"] == "cryoderm-result/1"
    assert {"status", "message", "time_s", "probes", "metrics", "safety"} <= set(output)
    assert "freeze_risk_time_s" in output["safety"]


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory) -> subprocess.CompletedProcess[str]:
    text = (CASES / "rp2b-transient-unperfused.toml").read_text()
    path = tmp_path_factory.mktemp("bad") / "bad.toml"
    path.write_text(text.replace("heat_transfer_w_m2k = 60.0", "heat_transfer_w_m2k = -60.0"))
    return cryoderm("simulate", str(path), "--format", "json")


def test_a_bad_case_exits_2_with_one_line_naming_key_value_unit_and_allowed(bad_run):
    assert bad_run.returncode == 2
    lines = bad_run.stderr.strip().splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert "phase[1].heat_transfer_w_m2k" in line and "-60.0" in line
    assert "W/(m² K)" in line and ">= 0" in line
    assert "Traceback" not in bad_run.stderr


def test_a_bad_case_with_json_also_prints_an_invalid_status(bad_run):
    output = json.loads(bad_run.stdout)
    assert output["status"] == "invalid"
    assert "phase[1].heat_transfer_w_m2k" in output["message"]


@pytest.fixture(scope="module")
def plots(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess[str], dict]:
    """One table run writing a PNG, one full-field JSON run writing an HTML page."""
    folder = tmp_path_factory.mktemp("plots")
    png, html = folder / "r.png", folder / "r.html"
    case = str(CASES / "rp1a-steady-room.toml")
    table = cryoderm("simulate", case, "--plot", str(png))
    full = cryoderm("simulate", case, "--format", "json", "--full-field", "--plot", str(html))
    assert full.returncode == 0, full.stderr
    return png, html, table, json.loads(full.stdout)


def test_plot_writes_a_png_and_an_html_page(plots):
    png, html, _, _ = plots
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = html.read_text()
    assert "<html>" in page and "plotly" in page.lower()


def test_table_format_prints_a_readable_summary(plots):
    _, _, table, _ = plots
    assert table.returncode == 0, table.stderr
    assert "status: ok" in table.stdout and "surface" in table.stdout


def test_full_field_adds_temperature_at_every_depth_and_time(plots):
    output = plots[3]
    field = output["field"]
    assert len(field["temp_c"]) == len(output["time_s"])
    assert all(len(row) == len(field["depth_mm"]) for row in field["temp_c"])


def test_zones_lists_every_zone_with_sources():
    run = cryoderm("zones", "--format", "json")
    assert run.returncode == 0, run.stderr
    zones = json.loads(run.stdout)["zones"]
    assert len(zones) >= 10
    assert all(layer["thickness_source"] for zone in zones for layer in zone["layers"])
    table = cryoderm("zones")
    assert table.returncode == 0 and "periorbital" in table.stdout


@pytest.mark.parametrize("target", ["plot.pdf", "no-such-folder/plot.png"])
def test_a_plot_that_cannot_be_written_is_refused_before_simulating(tmp_path, target):
    run = cryoderm(
        "simulate", str(CASES / "rp1a-steady-room.toml"), "--plot", str(tmp_path / target)
    )
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "--plot" in run.stderr
