"""``cryoderm plan`` end to end, through a real subprocess: exit codes, JSON, exported
cases and plots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cryoderm

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "answers"


def cryoderm_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cryoderm.cli", "plan", *args],
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_plan_for_a_clear_client_exports_cases_and_a_plot(tmp_path: Path) -> None:
    cases, plot = tmp_path / "cases", tmp_path / "plan.png"
    result = cryoderm_cli(
        "--zone", "cheek,forehead", "--goal", "skin-tone", "--modality", "contact",
        "--answers", str(EXAMPLES / "alice-clear.json"), "--today", "2026-11-23",
        "--format", "json", "--export-cases", str(cases), "--plot", str(plot),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["feasible"] and data["screening"] == "clear"
    assert [s["zone"] for s in data["steps"]] == ["cheek", "forehead"]
    files = sorted(cases.glob("*.toml"))
    assert [f.name for f in files] == ["01-cheek-contact.toml", "02-forehead-contact.toml"]
    simulated = cryoderm.simulate(cryoderm.load_case(files[0]))
    assert min(simulated.probes["surface"]) >= data["steps"][0]["floor_temp_c"]
    assert plot.stat().st_size > 1000


def test_do_not_treat_client_is_refused_with_exit_3() -> None:
    result = cryoderm_cli(
        "--zone", "cheek", "--goal", "skin-tone", "--modality", "cold-air",
        "--answers", str(EXAMPLES / "bea-raynauds.json"),
    )  # fmt: skip
    assert result.returncode == 3
    assert "Raynaud's phenomenon" in result.stderr and "Traceback" not in result.stderr
    assert "raynauds" not in result.stderr
    assert result.stdout == ""


def test_refer_client_gets_a_plan_pending_sign_off() -> None:
    result = cryoderm_cli(
        "--zone", "chin", "--goal", "inflammation", "--modality", "contact",
        "--answers", str(EXAMPLES / "carl-anticoagulants.json"), "--today", "2026-11-23",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "PENDING SIGN-OFF" in result.stdout
    # in the practitioner's words: labels, signed °C, sources as "Author Year"
    assert "plan: Inflammation and redness with Contact applicator (screening: Refer" in (
        result.stdout
    )
    assert "- Chin (mental eminence): planned: " in result.stdout
    assert "target surface +8.0 to +12.0 °C" in result.stdout
    assert "precaution: Taking anticoagulants: " in result.stdout
    assert " C " not in result.stdout and " C;" not in result.stdout


def test_no_safe_protocol_exits_3_with_the_nearest_candidate() -> None:
    result = cryoderm_cli(
        "--zone", "nose", "--goal", "skin-tone", "--modality", "cold-air", "--thickness", "nose.dermis=4",
    )  # fmt: skip
    assert result.returncode == 3
    assert (
        "no safe protocol" in result.stdout and "FAILS: the surface does not reach" in result.stdout
    )


def test_bad_input_exits_2_naming_the_field() -> None:
    result = cryoderm_cli("--zone", "elbow", "--goal", "skin-tone", "--modality", "contact")
    assert result.returncode == 2
    assert "zone = 'elbow'" in result.stderr
    bad_thickness = cryoderm_cli(
        "--zone", "cheek", "--goal", "skin-tone", "--modality", "contact", "--thickness", "cheek=1"
    )
    assert bad_thickness.returncode == 2 and "--thickness" in bad_thickness.stderr


def test_impossible_age_exits_2() -> None:
    result = cryoderm_cli(
        "--zone", "cheek", "--goal", "skin-tone", "--modality", "contact", "--age", "200"
    )
    assert result.returncode == 2 and "--age = 200.0 years" in result.stderr
