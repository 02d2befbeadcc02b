"""`cryoderm simulate` on an axisymmetric case (benchmark R2), as a user runs it: the JSON,
the field on request, the plot with its r-z map, a bad spot key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

R2 = Path(__file__).parents[2] / "benchmarks" / "cases" / "r2-jet-spot.toml"


def cryoderm(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("cryoderm")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cryoderm.cli"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_json_gives_the_probes_at_their_radii_and_the_field_only_on_request(tmp_path):
    plain = cryoderm("simulate", str(R2), "--format", "json", "--plot", str(tmp_path / "r2.png"))
    assert plain.returncode == 0, plain.stderr
    document = json.loads(plain.stdout)
    assert document["status"] == "ok"
    assert "field" not in document  # the plot needed it; the user did not ask for it
    centre, edge = document["probes"]["centre"][-1], document["probes"]["edge"][-1]
    assert centre < edge < 0.0
    assert document["safety"]["max_frozen_radius_mm"] > 5.0
    assert (tmp_path / "r2.png").stat().st_size > 20_000
    full = json.loads(cryoderm("simulate", str(R2), "--format", "json", "--full-field").stdout)
    field = full["field"]
    assert field["radius_mm"][0] == 0.0 and field["radius_mm"][-1] == 30.0
    assert len(field["temp_c"][-1][0]) == len(field["radius_mm"])


def test_the_html_plot_has_the_r_z_map(tmp_path):
    run = cryoderm("simulate", str(R2), "--plot", str(tmp_path / "r2.html"))
    assert run.returncode == 0, run.stderr
    page = (tmp_path / "r2.html").read_text(encoding="utf-8")
    assert "heatmap" in page and "radius from the spot's axis (mm)" in page


def test_a_spot_in_a_column_case_exits_2_naming_the_key(tmp_path):
    text = R2.read_text(encoding="utf-8").replace('kind = "axisymmetric"', 'kind = "column"')
    case = tmp_path / "column.toml"
    case.write_text(text, encoding="utf-8")
    run = cryoderm("simulate", str(case))
    assert run.returncode == 2
    assert "phase[1].spot_profile = 'gaussian'" in run.stderr
    assert 'only with [geometry] kind = "axisymmetric"' in run.stderr
