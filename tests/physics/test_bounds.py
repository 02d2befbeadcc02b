"""The one bounds table (data/bounds.toml): the parser, the value objects, the engine and the
documentation all follow it.

- a case that parses simulates without an "invalid" status (hypothesis over the table);
- a case built in Python with a value out of its limits raises the error the parser gives;
- every number of every value object has exactly one entry, every default and every sourced
  table (applicator materials, zone layers) lies within the limits;
- the "Keys" table of docs/case-file.md is the one the table renders.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bounded_cases import case_documents
from hypothesis import given, settings

import cryoderm
from cryoderm.data import load_table
from cryoderm.physics import bounds
from cryoderm.physics.case import (
    AmbientPhase,
    Blood,
    ColdAirPhase,
    ContactPhase,
    ConvectivePhase,
    Freezing,
    Geometry,
    Layer,
    Ln2VapourPhase,
    Numerics,
    Output,
    Perfusion,
    Probe,
    SteadyInitial,
    Tissue,
    UniformInitial,
)
from cryoderm.physics.casefile import parse_case
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.zones import SEXES, tissue_for_zone, zone_names

ROOT = Path(__file__).parents[2]
LAYER = {
    "name": "skin",
    "thickness_mm": 2.0,
    "conductivity_w_mk": 0.4,
    "density_kg_m3": 1100.0,
    "specific_heat_j_kgk": 3400.0,
}
PHASES: dict[str, dict[str, Any]] = {
    "convective": {"gas_temp_c": -20.0, "heat_transfer_w_m2k": 50.0, "duration_s": 10.0},
    "cold-air": {"gas_temp_c": -20.0, "air_speed_m_s": 3.0, "duration_s": 10.0},
    "ln2-vapour": {"distance_cm": 15.0, "sweep_period_s": 4.0, "dwell_s": 1.0, "duration_s": 10.0},
    "contact": {
        "applicator": "custom",
        "applicator_temp_c": 4.0,
        "duration_s": 10.0,
        "conductivity_w_mk": 15.0,
        "density_kg_m3": 7900.0,
        "specific_heat_j_kgk": 480.0,
        "thickness_mm": 10.0,
        "contact_conductance_w_m2k": 2000.0,
    },
    "ambient": {"duration_s": 10.0},
}
PHASE_CLASSES = {
    "convective": ConvectivePhase,
    "cold-air": ColdAirPhase,
    "ln2-vapour": Ln2VapourPhase,
    "contact": ContactPhase,
    "ambient": AmbientPhase,
}
# Each value object, the table sections that hold its entries, and valid arguments.
OBJECTS: dict[str, tuple[type, tuple[str, ...], dict[str, Any]]] = {
    "tissue": (Tissue, ("tissue",), {"layers": (Layer(**LAYER),)}),
    "tissue.layer": (Layer, ("tissue.layer",), LAYER),
    "tissue.blood": (Blood, ("tissue.blood",), {}),
    "perfusion": (Perfusion, ("perfusion",), {}),
    "freezing": (Freezing, ("freezing",), {}),
    "initial.steady": (SteadyInitial, ("initial.steady",), {}),
    "initial.uniform": (UniformInitial, ("initial.uniform",), {}),
    "output": (Output, ("output",), {}),
    "output.probe": (Probe, ("output.probe",), {"name": "p", "depth_mm": 0.0}),
    "numerics": (Numerics, ("numerics",), {}),
    "geometry": (Geometry, ("geometry",), {}),
    **{
        f"phase.{modality}": (PHASE_CLASSES[modality], (f"phase.{modality}", "phase"), args)
        for modality, args in PHASES.items()
    },
}


def base_document() -> dict[str, Any]:
    """A valid case file with every section and one phase of every modality."""
    return {
        "format": "cryoderm-case/1",
        "tissue": {"layer": [dict(LAYER)], "blood": {}},
        "perfusion": {"model": "local-cold"},
        "freezing": {},
        "initial": {"state": "steady"},
        "phase": [{"modality": m, **args} for m, args in PHASES.items()],
        "output": {"probe": [{"name": "p", "depth_mm": 0.0}]},
        "numerics": {},
        "geometry": {},
    }


def test_the_base_document_is_valid() -> None:
    parse_case(base_document())


# ---------------------------------------------------------------- parse => simulates
@settings(max_examples=40, deadline=None)
@given(case_documents(max_duration_s=20.0, max_refinement=2.0))
def test_any_case_that_parses_simulates_without_an_invalid_status(doc: dict[str, Any]) -> None:
    case = parse_case(doc)
    result = cryoderm.simulate(case)
    assert result.status != "invalid", result.message


def test_a_scale_the_engine_cannot_follow_no_longer_parses() -> None:
    # The defect: scale_k = 0.3 parsed (the parser allowed (0, 100]) and then came back
    # "invalid" from the engine (which allowed 0.5-50).
    doc = base_document()
    doc["perfusion"]["scale_k"] = 0.3
    with pytest.raises(InvalidInput) as caught:
        parse_case(doc)
    assert str(caught.value) == "perfusion.scale_k = 0.3 K: a number >= 0.5 and <= 50"


# ---------------------------------------------------------------- Python = case file
def _section(key: str) -> str:
    return key.rsplit(".", 1)[0] if "." in key else ""


def _numbers_of_objects() -> list[bounds.Bound]:
    entries = []
    for entry in bounds.all_bounds():
        if entry.kind != "number":
            continue
        section = _section(entry.key)
        if section == "phase" or section in OBJECTS:
            entries.append(entry)
    return entries


def _bad_values(entry: bounds.Bound) -> list[float]:
    values = []
    if entry.low is not None:
        values.append(entry.low - 1.0 - abs(entry.low))
    if entry.high is not None:
        values.append(entry.high * 2.0 + 1.0)
    if entry.high_key is not None:
        values.append(1000.0)
    return values


def _place(doc: dict[str, Any], section: str, name: str, value: float) -> None:
    if section == "phase":
        doc["phase"][0][name] = value
    elif section.startswith("phase."):
        modality = section.split(".", 1)[1]
        next(p for p in doc["phase"] if p["modality"] == modality)[name] = value
    elif section.startswith("initial."):
        doc["initial"] = {"state": section.split(".", 1)[1], name: value}
    elif section == "tissue.layer":
        doc["tissue"]["layer"][0][name] = value
    elif section == "output.probe":
        doc["output"]["probe"][0][name] = value
    else:
        table = doc
        for part in section.split("."):
            table = table[part]
        table[name] = value


def _build(section: str, name: str, value: float) -> None:
    if section == "phase":
        section = "phase.convective"
    cls, _, args = OBJECTS[section]
    cls(**{**copy.deepcopy(args), name: value})


CASES = [
    pytest.param(entry, value, id=f"{entry.key}={value:g}")
    for entry in _numbers_of_objects()
    for value in _bad_values(entry)
]


@pytest.mark.parametrize(("entry", "value"), CASES)
def test_a_case_built_in_python_raises_the_error_the_parser_gives(
    entry: bounds.Bound, value: float
) -> None:
    section, name = _section(entry.key), entry.name
    doc = base_document()
    _place(doc, section, name, value)
    with pytest.raises(InvalidInput) as from_file:
        parse_case(doc)
    with pytest.raises(InvalidInput) as from_python:
        _build(section, name, value)
    file_error, python_error = from_file.value, from_python.value
    # The file names the element as written (phase[3]), Python the section (phase).
    assert re.sub(r"\[\d+\]", "", file_error.field) == python_error.field
    assert python_error.field.endswith(f".{name}")
    assert (file_error.value, file_error.allowed, file_error.unit) == (
        python_error.value,
        python_error.allowed,
        python_error.unit,
    )
    assert python_error.unit == entry.unit
    message = str(file_error)
    assert "\n" not in message and f"{value!r}" in message


def test_replacing_a_field_is_checked_like_building_the_object() -> None:
    with pytest.raises(InvalidInput, match=r"numerics\.time_refinement"):
        dataclasses.replace(Numerics(), time_refinement=0.0)


def test_a_probe_below_a_replaced_tissue_is_refused_with_the_depth_allowed() -> None:
    case = parse_case(base_document())
    deep = dataclasses.replace(case, output=Output(probes=(Probe("deep", 1.5),)))
    with pytest.raises(InvalidInput) as caught:
        dataclasses.replace(deep, tissue=Tissue(layers=(Layer(**{**LAYER, "thickness_mm": 1.0}),)))
    assert str(caught.value) == (
        "output.probe[1].depth_mm = 1.5 mm: a number >= 0 and <= 1 (the tissue's depth)"
    )


def test_too_many_output_times_are_refused_where_the_case_is_built() -> None:
    doc = base_document()
    doc["phase"] = [{"modality": "ambient", "duration_s": 86400.0}]
    doc["output"]["sample_every_s"] = 0.1
    with pytest.raises(InvalidInput, match=r"output\.sample_every_s = 0\.1 s: gives 864001"):
        parse_case(doc)


def test_a_zone_thickness_override_uses_the_layer_limits() -> None:
    with pytest.raises(InvalidInput) as caught:
        tissue_for_zone("cheek", thickness_overrides_mm={"fat": 500.0})
    assert caught.value.field == "tissue.thickness_mm.fat"
    assert caught.value.allowed == bounds.bound("tissue.thickness_mm").allowed()


# ---------------------------------------------------------------- the table itself
def test_every_number_of_every_value_object_has_one_entry_and_every_entry_a_user() -> None:
    used: set[str] = set()
    for cls, sections, _ in OBJECTS.values():
        for spec in dataclasses.fields(cls):
            if "float" not in str(spec.type):
                continue
            keys = [f"{section}.{spec.name}" for section in sections]
            found = [key for key in keys if key in {b.key for b in bounds.all_bounds()}]
            assert found, f"{cls.__name__}.{spec.name} has no entry in data/bounds.toml"
            used.add(found[0])
    numbers = {entry.key for entry in bounds.all_bounds() if entry.kind == "number"}
    assert numbers - used == set(), "entries no value object checks"


def test_every_default_lies_within_its_limits() -> None:
    for entry in bounds.all_bounds():
        if entry.kind == "number" and entry.default is not None:
            assert entry.within(entry.default), entry.key
        if entry.kind == "choice" and entry.default is not None and entry.choices:
            assert entry.default in entry.choices, entry.key
        assert entry.source.startswith("assumption: ") or re.search(r"[A-Z]\w+\d{4}", entry.source)


def test_the_dataclass_defaults_are_the_tables() -> None:
    assert (
        Freezing().freeze_point_c == load_table("freezing")["defaults"]["freeze_point_c"]["value"]
    )
    assert Blood().density_kg_m3 == load_table("tissue")["blood"]["density_kg_m3"]["value"]
    assert AmbientPhase().ambient_temp_c == load_table("exposures")["room_air"]["temp_c"]


def test_the_applicator_materials_lie_within_the_contact_limits() -> None:
    for name, material in load_table("exposures")["applicator"].items():
        phase = ContactPhase(applicator=name, applicator_temp_c=0.0, duration_s=1.0)
        for key in ("conductivity_w_mk", "density_kg_m3", "specific_heat_j_kgk", "thickness_mm"):
            assert bounds.bound(f"phase.contact.{key}").within(material[key]), (name, key)
        conductance = material["contact_conductance_w_m2k"]
        assert bounds.bound("phase.contact.contact_conductance_w_m2k").within(conductance)
        assert phase.applicator == name


def test_every_zone_builds_within_the_layer_limits() -> None:
    for zone in zone_names():
        for sex in (None, *SEXES):
            tissue_for_zone(zone, sex=sex)  # each Layer checks itself


def test_keys_of_a_phase_are_the_common_keys_and_its_modality() -> None:
    assert bounds.keys_of("phase", "cold-air") == (
        "modality",
        "duration_s",
        "gas_temp_c",
        "air_speed_m_s",
        "radiant_temp_c",
        "nozzle_distance_mm",
        "device",
        "setting",
        "nozzle_diameter_mm",
        "exit_speed_m_s",
        "spot_profile",
        "spot_radius_mm",
        "background_temp_c",
        "background_heat_transfer_w_m2k",
    )
    assert bounds.keys_of("initial", "uniform") == ("state", "temp_c")
    assert bounds.keys_of("")[:3] == ("format", "title", "tissue")


# ---------------------------------------------------------------- the documentation
BEGIN, END = "<!-- bounds:begin -->", "<!-- bounds:end -->"


def test_the_case_file_docs_show_the_bounds_table() -> None:
    text = (ROOT / "docs" / "case-file.md").read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "docs/case-file.md lacks the bounds markers"
    shown = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert shown == bounds.markdown(), (
        "docs/case-file.md is out of date: paste the output of "
        "`cryoderm bounds --format markdown` between its bounds markers"
    )


def test_cryoderm_bounds_prints_the_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cryoderm.cli", "bounds", "--format", "markdown"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == bounds.markdown()
