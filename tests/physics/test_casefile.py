"""The case file: every documented key parses, the writer round-trips, bad input is named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cryoderm.physics.case import (
    AmbientPhase,
    ColdAirPhase,
    ContactPhase,
    ConvectivePhase,
    Ln2VapourPhase,
    SteadyInitial,
    UniformInitial,
)
from cryoderm.physics.casefile import case_to_toml, parse_case, parse_case_text
from cryoderm.physics.errors import InvalidInput

# A case file with every key of docs/case-file.md switched on.
EVERY_KEY = """
format = "cryoderm-case/1"
title = "Cold air -30 C on the cheek, 3 min"

[tissue]
zone = "cheek"
sex = "female"
age_years = 45
core_temp_c = 37.0
arterial_temp_c = 37.0
[tissue.thickness_mm]
fat = 3.5
[tissue.blood]
density_kg_m3 = 1050
specific_heat_j_kgk = 3617

[perfusion]
model = "local-cold"
reference_temp_c = 34.0
scale_k = 6.0
floor_fraction = 0.1
memory_s = 600.0

[freezing]
enabled = true
freeze_point_c = -0.55
latent_heat_j_kg = 217000.0
frozen_conductivity_w_mk = 2.0
frozen_specific_heat_j_kgk = 1800.0

[initial]
state = "steady"
ambient_temp_c = 22.0
heat_transfer_w_m2k = 10.0

[[phase]]
modality = "convective"
gas_temp_c = -30.0
heat_transfer_w_m2k = 60.0
duration_s = 180.0

[[phase]]
modality = "cold-air"
gas_temp_c = -30.0
air_speed_m_s = 4.4
duration_s = 60.0
radiant_temp_c = 20.0

[[phase]]
modality = "ln2-vapour"
distance_cm = 15.0
sweep_period_s = 4.0
dwell_s = 0.8
duration_s = 120.0
gas_temp_c = -150.0
heat_transfer_w_m2k = 80.0

[[phase]]
modality = "contact"
applicator = "custom"
applicator_temp_c = 4.0
duration_s = 60.0
conductivity_w_mk = 14.9
density_kg_m3 = 7900
specific_heat_j_kgk = 477
thickness_mm = 10.0
contact_conductance_w_m2k = 1000.0

[[phase]]
modality = "ambient"
ambient_temp_c = 22.0
heat_transfer_w_m2k = 10.0
duration_s = 600.0

[output]
sample_every_s = 1.0
full_field = true
[[output.probe]]
name = "surface"
depth_mm = 0.0
[[output.probe]]
name = "dermis-fat"
depth_mm = 1.1

[numerics]
space_refinement = 2.0
time_refinement = 4.0
"""

EXPLICIT_LAYERS = """
format = "cryoderm-case/1"
[tissue]
core_temp_c = 37.0
[[tissue.layer]]
name = "epidermis"
thickness_mm = 0.1
conductivity_w_mk = 0.24
density_kg_m3 = 1200
specific_heat_j_kgk = 3590
perfusion_per_s = 0.0
metabolic_w_m3 = 0.0
[[tissue.layer]]
name = "dermis"
thickness_mm = 1.0
conductivity_w_mk = 0.45
density_kg_m3 = 1200
specific_heat_j_kgk = 3300
[initial]
state = "uniform"
temp_c = 34.0
[[phase]]
modality = "convective"
gas_temp_c = -30.0
heat_transfer_w_m2k = 60.0
duration_s = 10.0
"""


def test_every_documented_key_parses_into_the_case_it_describes():
    case = parse_case_text(EVERY_KEY)
    assert case.title == "Cold air -30 C on the cheek, 3 min"
    assert case.tissue.zone == "cheek" and case.tissue.sex == "female"
    assert case.tissue.age_years == 45.0
    assert [layer.name for layer in case.tissue.layers] == ["epidermis", "dermis", "fat", "muscle"]
    assert case.tissue.layers[2].thickness_mm == 3.5
    assert case.perfusion.model == "local-cold" and case.perfusion.scale_k == 6.0
    assert case.freezing.enabled and case.freezing.latent_heat_j_kg == 217000.0
    assert case.initial == SteadyInitial(22.0, 10.0)
    kinds = [type(phase) for phase in case.phases]
    assert kinds == [ConvectivePhase, ColdAirPhase, Ln2VapourPhase, ContactPhase, AmbientPhase]
    assert case.phases[2] == Ln2VapourPhase(15.0, 4.0, 0.8, 120.0, -150.0, 80.0)
    assert case.duration_s == 1020.0
    assert [p.name for p in case.output.probes] == ["surface", "dermis-fat"]
    assert case.output.full_field
    assert case.numerics.space_refinement == 2.0 and case.numerics.time_refinement == 4.0


def test_explicit_layers_take_defaults_for_what_they_omit():
    case = parse_case_text(EXPLICIT_LAYERS)
    assert case.tissue.zone is None
    assert case.tissue.layers[1].perfusion_per_s == 0.0
    assert case.tissue.blood.density_kg_m3 == 1050.0
    assert case.initial == UniformInitial(34.0)
    assert [p.name for p in case.output.probes] == ["surface"]


@pytest.mark.parametrize("text", [EVERY_KEY, EXPLICIT_LAYERS])
def test_writing_a_case_and_reading_it_back_gives_the_same_case(text):
    case = parse_case_text(text)
    assert parse_case_text(case_to_toml(case)) == case


def _with(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD = [
    # (what is wrong, text, field, words the message must contain)
    (
        "unknown key",
        _with(EVERY_KEY, "gas_temp_c = -30.0\nheat", "gas_tmp_c = -30.0\nheat"),
        "phase[1].gas_tmp_c",
        ["did you mean 'gas_temp_c' (in °C)"],
    ),
    (
        "unknown section",
        _with(EVERY_KEY, "[perfusion]", "[perfussion]"),
        "perfussion",
        ["did you mean 'perfusion'"],
    ),
    (
        "wrong type",
        _with(EVERY_KEY, "duration_s = 180.0", 'duration_s = "3 min"'),
        "phase[1].duration_s",
        ["'3 min'", " s:", "a number"],
    ),
    (
        "out of range",
        _with(EVERY_KEY, "air_speed_m_s = 4.4", "air_speed_m_s = 440"),
        "phase[2].air_speed_m_s",
        ["440", "m/s", "<= 50"],
    ),
    (
        "temperature in kelvin",
        _with(EVERY_KEY, "core_temp_c = 37.0", "core_temp_c = 310.15"),
        "tissue.core_temp_c",
        ["310.15", " °C:", "<= 45"],
    ),
    (
        "unknown zone",
        _with(EVERY_KEY, 'zone = "cheek"', 'zone = "elbow"'),
        "tissue.zone",
        ["'elbow'", "forehead", "neck"],
    ),
    (
        "wrong format string",
        _with(EVERY_KEY, "cryoderm-case/1", "cryoderm-case/2"),
        "format",
        ["cryoderm-case/2", "cryoderm-case/1"],
    ),
    (
        "missing duration",
        _with(EVERY_KEY, "duration_s = 600.0", ""),
        "phase[5].duration_s",
        ["(missing)", "required"],
    ),
    (
        "dwell longer than the sweep",
        _with(EVERY_KEY, "dwell_s = 0.8", "dwell_s = 5.0"),
        "phase[3].dwell_s",
        ["5.0", "<= 4"],
    ),
    (
        "unknown modality",
        _with(EVERY_KEY, '"cold-air"', '"cold-wind"'),
        "phase[2].modality",
        ["cold-air", "ln2-vapour"],
    ),
    (
        "probe below the tissue",
        _with(EVERY_KEY, "depth_mm = 1.1", "depth_mm = 100.0"),
        "output.probe[2].depth_mm",
        ["100.0", "mm"],
    ),
    (
        "boolean where a number goes",
        _with(EVERY_KEY, "scale_k = 6.0", "scale_k = true"),
        "perfusion.scale_k",
        ["True", "K"],
    ),
    (
        "unknown sex",
        _with(EVERY_KEY, 'sex = "female"', 'sex = "f"'),
        "tissue.sex",
        ["female", "male"],
    ),
    (
        "age outside the adult tables",
        _with(EVERY_KEY, "age_years = 45", "age_years = 9"),
        "tissue.age_years",
        ["years", "18"],
    ),
    (
        "override of a layer the zone lacks",
        _with(EVERY_KEY, "fat = 3.5", "bone = 3.5"),
        "tissue.thickness_mm.bone",
        ["epidermis, dermis, fat, muscle"],
    ),
    (
        "unknown applicator",
        _with(EVERY_KEY, 'applicator = "custom"', 'applicator = "copper"'),
        "phase[4].applicator",
        ["'copper'", "stainless-steel", "custom"],
    ),
    (
        "custom applicator without properties",
        _with(EVERY_KEY, "conductivity_w_mk = 14.9\n", ""),
        "phase[4].conductivity_w_mk",
        ['"custom"'],
    ),
    ("no phase", EXPLICIT_LAYERS.split("[[phase]]")[0], "phase", ["at least one"]),
    ("TOML syntax", "format = ", "<case>", ["valid TOML"]),
]


@pytest.mark.parametrize(("what", "text", "field", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_field_value_unit_and_what_is_allowed(what, text, field, words):
    with pytest.raises(InvalidInput) as caught:
        parse_case_text(text)
    assert caught.value.field == field
    message = str(caught.value)
    assert message.startswith(field)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_parse_case_accepts_an_already_decoded_document():
    assert parse_case(tomllib.loads(EXPLICIT_LAYERS)) == parse_case_text(EXPLICIT_LAYERS)


EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_shipped_example_is_a_valid_case(path):
    case = parse_case_text(path.read_text(), str(path))
    assert case.tissue.zone is not None and case.phases
    assert parse_case_text(case_to_toml(case)) == case


def test_load_case_names_the_file_it_cannot_read(tmp_path):
    import cryoderm

    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'format = "\xff\xfe"\n')
    for path, words in ((binary, "UTF-8"), (tmp_path / "absent.toml", "cannot be read")):
        with pytest.raises(InvalidInput, match=words) as caught:
            cryoderm.load_case(path)
        assert caught.value.field == "case file"


def test_any_valid_case_survives_writing_and_reading_back():
    from bounded_cases import case_documents
    from hypothesis import given, settings

    @settings(max_examples=60, deadline=None)
    @given(case_documents())
    def check(doc):
        case = parse_case(doc)
        assert parse_case_text(case_to_toml(case)) == case

    check()


def test_invalid_input_passes_through_context_managers_unchanged():
    from contextlib import contextmanager

    @contextmanager
    def nothing():
        yield

    with pytest.raises(InvalidInput, match=r"tissue\.zone"), nothing():
        parse_case_text(EVERY_KEY.replace('zone = "cheek"', 'zone = "elbow"'))
