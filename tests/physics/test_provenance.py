"""Every result says where it came from: the cryoderm version, the resolved case (every
default filled in) and the SHA-256 of its canonical serialisation."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cryoderm
from cryoderm.data import load_table
from cryoderm.physics.case import NOZZLE_KEYS, SPOT_KEYS, ColdAirPhase, ContactPhase, Perfusion
from cryoderm.physics.casefile import parse_case, parse_case_text
from cryoderm.physics.provenance import provenance, resolved

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
R2_CASE = ROOT / "benchmarks" / "cases" / "r2-jet-spot.toml"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MELTING = {
    name
    for name, material in load_table("exposures")["applicator"].items()
    if "melting_point_c" in material
}


def _not_applying(part: object) -> tuple[str, ...]:
    """Keys that are absent by meaning, not defaults: the spot keys of a phase over the whole
    surface; the radiant temperature of a spot, which exchanges no radiation of its own; a
    contact phase's alternatives and keys that do not apply (provenance._resolved_contact)."""
    if not hasattr(part, "spot_profile"):
        return ()
    keys = ("radiant_temp_c",) if part.spot_profile is not None else SPOT_KEYS
    # Wind has no nozzle; a nozzle has no wind speed, and may have no named device.
    if isinstance(part, ColdAirPhase):
        wind = ("nozzle_distance_mm", *NOZZLE_KEYS)
        keys += ("air_speed_m_s", "device", "setting") if part.nozzle else wind
    if isinstance(part, ContactPhase):
        keys += ("mass_kg", "area_cm2") if part.mass_kg is None else ("thickness_mm",)
        if part.barrier == "none":
            keys += ("barrier_thickness_mm",)
        if part.contact_fraction >= 1.0:
            keys += ("stroke_period_s",)
        if part.applicator not in MELTING:
            keys += ("ice_fraction", "melt_water")
    return keys


@pytest.mark.parametrize("path", [*EXAMPLES, R2_CASE], ids=[p.name for p in [*EXAMPLES, R2_CASE]])
def test_the_resolved_case_leaves_no_default_to_the_engine(path: Path) -> None:
    case = resolved(cryoderm.load_case(path))
    missing = [
        f"{type(part).__name__}.{spec.name}"
        for part in (case.perfusion, *case.phases)
        for spec in dataclasses.fields(part)
        if getattr(part, spec.name) is None and spec.name not in _not_applying(part)
    ]
    assert missing == []
    assert parse_case_text(provenance(case).case_toml) == case


def test_a_result_carries_the_version_the_resolved_case_and_its_hash() -> None:
    case = cryoderm.load_case(ROOT / "examples" / "chin-ice.toml")
    result = cryoderm.simulate(case)
    made = result.to_json_dict()["provenance"]
    assert made["cryoderm_version"] == cryoderm.__version__
    assert SHA256.match(made["case_sha256"])
    again = parse_case(made["case"])
    assert again == resolved(case)
    rerun = cryoderm.simulate(again)
    assert rerun.provenance is not None and rerun.provenance.case_sha256 == made["case_sha256"]
    assert rerun.metrics["min_surface_temp_c"] == result.metrics["min_surface_temp_c"]


def test_a_default_written_out_gives_the_same_hash_as_the_default_left_out() -> None:
    case = cryoderm.load_case(ROOT / "examples" / "cheek-cold-air.toml")
    law = resolved(case).perfusion
    explicit = dataclasses.replace(
        case,
        perfusion=Perfusion(
            "local-cold", law.reference_temp_c, law.scale_k, law.floor_fraction, law.memory_s
        ),
    )
    assert provenance(explicit).case_sha256 == provenance(case).case_sha256
    warmer = dataclasses.replace(
        case, perfusion=dataclasses.replace(explicit.perfusion, scale_k=6.0)
    )
    assert provenance(warmer).case_sha256 != provenance(case).case_sha256


def test_the_hash_is_the_same_in_another_process() -> None:
    path = ROOT / "examples" / "forehead-ln2-sweep.toml"
    run = subprocess.run(
        [sys.executable, "-m", "cryoderm.cli", "simulate", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    other = json.loads(run.stdout)["provenance"]["case_sha256"]
    assert other == provenance(cryoderm.load_case(path)).case_sha256


def test_every_result_of_a_batch_carries_its_own_case() -> None:
    base = cryoderm.load_case(ROOT / "examples" / "cheek-cold-air.toml")
    cases = [
        dataclasses.replace(base, phases=(dataclasses.replace(base.phases[0], duration_s=d),))
        for d in (30.0, 60.0, 90.0)
    ]
    results = cryoderm.simulate_many(cases)
    hashes = [r.provenance.case_sha256 for r in results if r.provenance is not None]
    assert hashes == [provenance(case).case_sha256 for case in cases]
    assert len(set(hashes)) == 3


def test_tidy_outputs_keep_the_provenance_in_their_metadata() -> None:
    result = cryoderm.simulate(cryoderm.load_case(ROOT / "examples" / "chin-ice.toml"))
    attrs = result.to_dataframe().attrs
    assert result.provenance is not None
    assert attrs["case_sha256"] == result.provenance.case_sha256
    assert parse_case_text(attrs["case"]) == resolved(result.case)  # type: ignore[arg-type]


def test_exported_plan_cases_are_resolved_and_say_their_hash(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "cryoderm.cli",
            "plan",
            "--zone",
            "cheek",
            "--goal",
            "skin-tone",
            "--modality",
            "contact",
            "--export-cases",
            str(tmp_path),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    exported = sorted(tmp_path.glob("*.toml"))
    assert exported
    steps = json.loads(run.stdout)["steps"]
    assert [s["provenance"]["cryoderm_version"] for s in steps] == [cryoderm.__version__] * len(
        steps
    )
    for path in exported:
        text = path.read_text(encoding="utf-8")
        digest = re.search(r"case_sha256 ([0-9a-f]{64})", text.splitlines()[0])
        assert digest is not None
        assert provenance(parse_case_text(text)).case_sha256 == digest.group(1)
