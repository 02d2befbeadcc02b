"""``cryoderm screen`` end to end, through a real subprocess: output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "answers"


def cryoderm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cryoderm.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_list_prints_every_identifier_with_its_source() -> None:
    result = cryoderm("screen", "--list")
    assert result.returncode == 0
    for ident in (
        "cold-urticaria",
        "cryoglobulinaemia",
        "raynauds",
        "anticoagulants",
        "microneedling",
    ):
        assert ident in result.stdout
    assert "source:" in result.stdout
    listed = json.loads(cryoderm("screen", "--list", "--format", "json").stdout)
    assert all(rule["source"] for rule in listed["rules"])
    assert {p["kind"] for p in listed["waiting_periods"]} >= {"filler", "toxin", "laser"}


@pytest.mark.parametrize(
    ("example", "outcome"),
    [
        ("alice-clear.json", "clear"),
        ("bea-raynauds.json", "do-not-treat"),
        ("carl-anticoagulants.json", "refer"),
        ("dana-skin-type-v.json", "do-not-treat"),
        ("ed-fhir-response.json", "clear"),
    ],
)
def test_example_profiles_as_json(example: str, outcome: str) -> None:
    result = cryoderm(
        "screen", str(EXAMPLES / example), "--format", "json", "--today", "2026-11-23"
    )
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["outcome"] == outcome
    assert all(f["source"] for f in verdict["findings"])


def test_area_condition_spared_by_the_treated_zones(tmp_path: Path) -> None:
    result = cryoderm(
        "screen",
        str(EXAMPLES / "dana-skin-type-v.json"),
        "--zone",
        "cheek,forehead",
        "--today",
        "2026-11-23",
    )
    assert result.returncode == 0
    assert result.stdout.startswith("verdict: Treat with precautions")


def test_unknown_condition_exits_2_naming_the_field(tmp_path: Path) -> None:
    answers = tmp_path / "bad.json"
    answers.write_text(json.dumps({"age_years": 40, "conditions": ["raynaud"]}))
    result = cryoderm("screen", str(answers))
    assert result.returncode == 2
    assert "conditions[0] = 'raynaud'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_unreadable_or_malformed_files_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert cryoderm("screen", str(broken)).returncode == 2
    assert cryoderm("screen", str(tmp_path / "missing.json")).returncode == 2
    assert cryoderm("screen").returncode == 2


def test_the_text_verdict_reads_as_labels_with_sources_by_author_and_year() -> None:
    result = cryoderm("screen", str(EXAMPLES / "bea-raynauds.json"), "--zone", "cheek")
    assert result.returncode == 0
    text = result.stdout
    assert text.startswith("verdict: Do not treat")
    assert "[Do not treat] Raynaud's phenomenon" in text
    assert "because: the client answered yes;" in text
    assert "CRYONiQ n.d." in text and "CryoniqND" not in text
    assert "(Khoshnevis 2016)" in text and "Khoshnevis2016" not in text
    assert "raynauds" not in text and "do-not-treat" not in text
