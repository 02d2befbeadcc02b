"""The case file (shared/case-format.md, "cryoderm-case/1"): parse, validate, write back.

Pure: :func:`parse_case` takes the already-decoded TOML document; :func:`parse_case_text`
decodes text; reading files is the caller's job (``cryoderm.load_case``). Every value is
checked for type and range, and every error is an :class:`InvalidInput` naming the field as a
dotted path the user can find in the file (phases and probes are counted from 1, as the
format counts phases: ``phase[2].gas_temp_c``), the value, its unit and what is allowed.
Unknown keys are rejected with the nearest valid key.

:func:`case_to_toml` writes a :class:`Case` back as a case file, so that
``parse_case_text(case_to_toml(case)) == case``. Zone-built tissue is written as explicit
layers with the zone kept as a record of where they came from.
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import fields
from functools import cache
from typing import Any, Literal

from cryoderm.physics.case import (
    AmbientPhase,
    Blood,
    Case,
    ColdAirPhase,
    ContactPhase,
    ConvectivePhase,
    Freezing,
    Initial,
    Layer,
    Ln2VapourPhase,
    Numerics,
    Output,
    Perfusion,
    Phase,
    Probe,
    SteadyInitial,
    Tissue,
    UniformInitial,
)
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.zones import SEXES, default_blood, tissue_for_zone, zone_names

FORMAT = "cryoderm-case/1"

# Ranges are physical plausibility limits, not clinical ones (the clinical layer judges
# safety): they keep typing mistakes (a depth in m, a temperature in K) from being simulated.
GAS_TEMP_C = (-200.0, 100.0)  # -200 C lies just below the boiling point of LN2 (-195.8 C)
BODY_TEMP_C = (20.0, 45.0)  # core and arterial blood of a living person
TISSUE_TEMP_C = (-50.0, 45.0)  # a uniform starting state of tissue
HEAT_TRANSFER_W_M2K = (0.0, 1.0e8)  # up to an effectively fixed surface temperature
DURATION_S = (0.0, 86400.0)
LAYER_MM = (0.0, 200.0)
TISSUE_CONDUCTIVITY_W_MK = (0.0, 10.0)  # frozen tissue is about 2
TISSUE_DENSITY_KG_M3 = (0.0, 5000.0)
APPLICATOR_MM = (0.0, 1000.0)
CONDUCTIVITY_W_MK = (0.0, 1000.0)  # applicators: aluminium is 237
DENSITY_KG_M3 = (0.0, 25000.0)
SPECIFIC_HEAT_J_KGK = (0.0, 10000.0)
PERFUSION_PER_S = (0.0, 0.1)  # maximal skin blood flow is about 0.05-0.07 1/s (physics.md 1.4)
METABOLIC_W_M3 = (0.0, 1.0e5)

ROOT_KEYS = (
    "format",
    "title",
    "tissue",
    "perfusion",
    "freezing",
    "initial",
    "phase",
    "output",
    "numerics",
)
TISSUE_KEYS = (
    "zone",
    "sex",
    "age_years",
    "core_temp_c",
    "arterial_temp_c",
    "layer",
    "blood",
    "thickness_mm",
)
LAYER_KEYS = (
    "name",
    "thickness_mm",
    "conductivity_w_mk",
    "density_kg_m3",
    "specific_heat_j_kgk",
    "perfusion_per_s",
    "metabolic_w_m3",
)
BLOOD_KEYS = ("density_kg_m3", "specific_heat_j_kgk")
PERFUSION_KEYS = ("model", "reference_temp_c", "scale_k", "floor_fraction", "memory_s")
PERFUSION_MODELS = ("constant", "local-cold")
FREEZING_KEYS = (
    "enabled",
    "freeze_point_c",
    "latent_heat_j_kg",
    "frozen_conductivity_w_mk",
    "frozen_specific_heat_j_kgk",
)
INITIAL_KEYS = {
    "steady": ("state", "ambient_temp_c", "heat_transfer_w_m2k"),
    "uniform": ("state", "temp_c"),
}
PHASE_KEYS = {
    "convective": ("modality", "gas_temp_c", "heat_transfer_w_m2k", "duration_s"),
    "cold-air": ("modality", "gas_temp_c", "air_speed_m_s", "duration_s", "radiant_temp_c"),
    "ln2-vapour": (
        "modality",
        "distance_cm",
        "sweep_period_s",
        "dwell_s",
        "duration_s",
        "gas_temp_c",
        "heat_transfer_w_m2k",
    ),
    "contact": (
        "modality",
        "applicator",
        "applicator_temp_c",
        "duration_s",
        "conductivity_w_mk",
        "density_kg_m3",
        "specific_heat_j_kgk",
        "thickness_mm",
        "contact_conductance_w_m2k",
    ),
    "ambient": ("modality", "ambient_temp_c", "heat_transfer_w_m2k", "duration_s"),
}
OUTPUT_KEYS = ("sample_every_s", "probe", "full_field")
NUMERICS_KEYS = ("space_refinement", "time_refinement")
REFINEMENT = (0.0, 64.0)
PROBE_KEYS = ("name", "depth_mm")
CUSTOM_APPLICATOR = "custom"


class _Missing:
    """The value shown for a required key that is absent."""

    def __repr__(self) -> str:
        return "(missing)"


MISSING: Any = _Missing()


# ---------------------------------------------------------------- primitive checks
def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# The unit a key's name carries, for hints about misspelt keys (longest suffix first).
UNIT_SUFFIXES = (
    ("_w_m2k", "W/(m2 K)"),
    ("_w_mk", "W/(m K)"),
    ("_j_kgk", "J/(kg K)"),
    ("_kg_m3", "kg/m3"),
    ("_j_kg", "J/kg"),
    ("_w_m3", "W/m3"),
    ("_per_s", "1/s"),
    ("_m_s", "m/s"),
    ("_mm", "mm"),
    ("_cm", "cm"),
    ("_c", "C"),
    ("_k", "K"),
    ("_s", "s"),
)


def _unit_hint(key: str) -> str:
    for suffix, unit in UNIT_SUFFIXES:
        if key.endswith(suffix):
            return f" (in {unit})"
    return ""


def _check_keys(table: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
    for key, value in table.items():
        if key in allowed:
            continue
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}{_unit_hint(close[0])}? " if close else ""
        raise InvalidInput(
            _join(path, key), value, f"unknown key; {hint}valid keys here: {', '.join(allowed)}"
        )


def _table(parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = parent.get(key, {})
    if not isinstance(value, Mapping):
        raise InvalidInput(_join(path, key), value, f"a table: write it as [{_join(path, key)}]")
    return value


def _tables(parent: Mapping[str, Any], key: str, path: str) -> list[Mapping[str, Any]]:
    value = parent.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise InvalidInput(
            _join(path, key), value, f"an array of tables: write each as [[{_join(path, key)}]]"
        )
    return value


def _describe(low: float, high: float, low_open: bool) -> str:
    return f"a number {'>' if low_open else '>='} {low:g} and <= {high:g}"


def _number(
    table: Mapping[str, Any],
    key: str,
    path: str,
    unit: str,
    bounds: tuple[float, float],
    *,
    default: float | None = None,
    low_open: bool = False,
    required: bool = False,
) -> float | None:
    field = _join(path, key)
    low, high = bounds
    if key not in table:
        if required:
            raise InvalidInput(field, MISSING, f"required: {_describe(low, high, low_open)}", unit)
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(field, value, _describe(low, high, low_open), unit)
    number = float(value)
    too_low = number <= low if low_open else number < low
    if math.isnan(number) or too_low or number > high:
        raise InvalidInput(field, value, _describe(low, high, low_open), unit)
    return number


def _required(
    table: Mapping[str, Any],
    key: str,
    path: str,
    unit: str,
    bounds: tuple[float, float],
    *,
    low_open: bool = False,
) -> float:
    number = _number(table, key, path, unit, bounds, low_open=low_open, required=True)
    assert number is not None  # required=True raises instead of returning None
    return number


def _text(
    table: Mapping[str, Any], key: str, path: str, *, default: str | None = None
) -> str | None:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(_join(path, key), value, "a non-empty text string")
    return value


def _choice(
    table: Mapping[str, Any], key: str, path: str, choices: Sequence[str], *, default: str | None
) -> str:
    field = _join(path, key)
    if key not in table:
        if default is None:
            raise InvalidInput(field, MISSING, f"required: one of {', '.join(choices)}")
        return default
    value = table[key]
    if value not in choices:
        raise InvalidInput(field, value, f"one of: {', '.join(choices)}")
    return str(value)


def _flag(table: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, bool):
        raise InvalidInput(_join(path, key), value, "true or false")
    return value


# ---------------------------------------------------------------- sections
def _layer(table: Mapping[str, Any], path: str) -> Layer:
    _check_keys(table, LAYER_KEYS, path)
    name = _text(table, "name", path)
    if name is None:
        raise InvalidInput(_join(path, "name"), MISSING, "required: the layer's name")
    return Layer(
        name=name,
        thickness_mm=_required(table, "thickness_mm", path, "mm", LAYER_MM, low_open=True),
        conductivity_w_mk=_required(
            table, "conductivity_w_mk", path, "W/(m K)", TISSUE_CONDUCTIVITY_W_MK, low_open=True
        ),
        density_kg_m3=_required(
            table, "density_kg_m3", path, "kg/m3", TISSUE_DENSITY_KG_M3, low_open=True
        ),
        specific_heat_j_kgk=_required(
            table, "specific_heat_j_kgk", path, "J/(kg K)", SPECIFIC_HEAT_J_KGK, low_open=True
        ),
        perfusion_per_s=_number(table, "perfusion_per_s", path, "1/s", PERFUSION_PER_S, default=0.0)
        or 0.0,
        metabolic_w_m3=_number(table, "metabolic_w_m3", path, "W/m3", METABOLIC_W_M3, default=0.0)
        or 0.0,
    )


def _blood(tissue: Mapping[str, Any]) -> Blood:
    table = _table(tissue, "blood", "tissue")
    _check_keys(table, BLOOD_KEYS, "tissue.blood")
    default = default_blood()
    density = _number(
        table,
        "density_kg_m3",
        "tissue.blood",
        "kg/m3",
        TISSUE_DENSITY_KG_M3,
        default=default.density_kg_m3,
        low_open=True,
    )
    heat = _number(
        table,
        "specific_heat_j_kgk",
        "tissue.blood",
        "J/(kg K)",
        SPECIFIC_HEAT_J_KGK,
        default=default.specific_heat_j_kgk,
        low_open=True,
    )
    assert density is not None and heat is not None  # defaults given
    return Blood(density_kg_m3=density, specific_heat_j_kgk=heat)


def _sex(table: Mapping[str, Any]) -> Literal["female", "male"] | None:
    if "sex" not in table:
        return None
    value = _choice(table, "sex", "tissue", SEXES, default=None)
    return "female" if value == "female" else "male"


def _tissue(doc: Mapping[str, Any]) -> Tissue:
    table = _table(doc, "tissue", "")
    _check_keys(table, TISSUE_KEYS, "tissue")
    core = _number(table, "core_temp_c", "tissue", "C", BODY_TEMP_C, default=37.0)
    arterial = _number(table, "arterial_temp_c", "tissue", "C", BODY_TEMP_C, default=37.0)
    assert core is not None and arterial is not None  # defaults given
    zone = _text(table, "zone", "tissue")
    if zone is not None and zone not in zone_names():
        raise InvalidInput(
            "tissue.zone", zone, f"one of the built-in zones: {', '.join(zone_names())}"
        )
    sex = _sex(table)
    age = _number(table, "age_years", "tissue", "years", (0.0, 130.0))
    layer_tables = _tables(table, "layer", "tissue")
    overrides_table = _table(table, "thickness_mm", "tissue")
    blood = _blood(table)
    if layer_tables:
        if overrides_table:
            raise InvalidInput(
                "tissue.thickness_mm",
                dict(overrides_table),
                "only with a zone: explicit [[tissue.layer]] give their own thickness_mm",
            )
        layers = tuple(
            _layer(layer, f"tissue.layer[{index}]") for index, layer in enumerate(layer_tables, 1)
        )
        return Tissue(
            layers=layers,
            core_temp_c=core,
            arterial_temp_c=arterial,
            blood=blood,
            zone=zone,
            sex=sex,
            age_years=age,
        )
    if zone is None:
        raise InvalidInput(
            "tissue.zone",
            MISSING,
            f"required unless [[tissue.layer]] are given: one of {', '.join(zone_names())}",
        )
    overrides: dict[str, float] = {}
    for name in overrides_table:
        value = _required(
            overrides_table, name, "tissue.thickness_mm", "mm", LAYER_MM, low_open=True
        )
        overrides[name] = value
    tissue = tissue_for_zone(
        zone,
        sex=sex,
        age_years=age,
        core_temp_c=core,
        arterial_temp_c=arterial,
        thickness_overrides_mm=overrides,
    )
    if "blood" in table:
        return Tissue(
            layers=tissue.layers,
            core_temp_c=core,
            arterial_temp_c=arterial,
            blood=blood,
            zone=zone,
            sex=sex,
            age_years=age,
        )
    return tissue


def _perfusion(doc: Mapping[str, Any]) -> Perfusion:
    path = "perfusion"
    table = _table(doc, path, "")
    _check_keys(table, PERFUSION_KEYS, path)
    model = _choice(table, "model", path, PERFUSION_MODELS, default="constant")
    return Perfusion(
        model="local-cold" if model == "local-cold" else "constant",
        reference_temp_c=_number(table, "reference_temp_c", path, "C", (0.0, 45.0)),
        scale_k=_number(table, "scale_k", path, "K", (0.0, 100.0), low_open=True),
        floor_fraction=_number(table, "floor_fraction", path, "", (0.0, 1.0)),
        memory_s=_number(table, "memory_s", path, "s", (0.0, 1.0e5)),
    )


def _freezing(doc: Mapping[str, Any]) -> Freezing:
    path = "freezing"
    table = _table(doc, path, "")
    _check_keys(table, FREEZING_KEYS, path)
    base = Freezing()
    values = {
        "freeze_point_c": _number(
            table, "freeze_point_c", path, "C", (-10.0, 0.0), default=base.freeze_point_c
        ),
        "latent_heat_j_kg": _number(
            table,
            "latent_heat_j_kg",
            path,
            "J/kg",
            (0.0, 334000.0),  # at most the latent heat of pure water
            default=base.latent_heat_j_kg,
        ),
        "frozen_conductivity_w_mk": _number(
            table,
            "frozen_conductivity_w_mk",
            path,
            "W/(m K)",
            (0.0, 10.0),
            default=base.frozen_conductivity_w_mk,
            low_open=True,
        ),
        "frozen_specific_heat_j_kgk": _number(
            table,
            "frozen_specific_heat_j_kgk",
            path,
            "J/(kg K)",
            SPECIFIC_HEAT_J_KGK,
            default=base.frozen_specific_heat_j_kgk,
            low_open=True,
        ),
    }
    return Freezing(
        enabled=_flag(table, "enabled", path, base.enabled),
        freeze_point_c=float(values["freeze_point_c"] or 0.0),
        latent_heat_j_kg=float(values["latent_heat_j_kg"] or 0.0),
        frozen_conductivity_w_mk=float(values["frozen_conductivity_w_mk"] or 0.0),
        frozen_specific_heat_j_kgk=float(values["frozen_specific_heat_j_kgk"] or 0.0),
    )


def _initial(doc: Mapping[str, Any]) -> Initial:
    path = "initial"
    table = _table(doc, path, "")
    state = _choice(table, "state", path, tuple(INITIAL_KEYS), default="steady")
    _check_keys(table, INITIAL_KEYS[state], path)
    if state == "uniform":
        temp = _number(table, "temp_c", path, "C", TISSUE_TEMP_C, default=UniformInitial().temp_c)
        return UniformInitial(temp_c=float(temp if temp is not None else 0.0))
    base = SteadyInitial()
    ambient = _number(table, "ambient_temp_c", path, "C", GAS_TEMP_C, default=base.ambient_temp_c)
    h = _number(
        table,
        "heat_transfer_w_m2k",
        path,
        "W/(m2 K)",
        HEAT_TRANSFER_W_M2K,
        default=base.heat_transfer_w_m2k,
    )
    assert ambient is not None and h is not None  # defaults given
    return SteadyInitial(ambient_temp_c=ambient, heat_transfer_w_m2k=h)


@cache
def known_applicators() -> tuple[str, ...]:
    """The named applicator materials of data/exposures.toml."""
    from cryoderm.data import load_table

    return tuple(load_table("exposures")["applicator"])


def _contact(table: Mapping[str, Any], path: str, duration: float) -> ContactPhase:
    applicator = _text(table, "applicator", path)
    if applicator is None:
        raise InvalidInput(
            _join(path, "applicator"), MISSING, 'required: a named material or "custom"'
        )
    known = known_applicators()
    if applicator not in (*known, CUSTOM_APPLICATOR):
        raise InvalidInput(
            _join(path, "applicator"),
            applicator,
            f"one of: {', '.join((*known, CUSTOM_APPLICATOR))}",
        )
    props = {
        "conductivity_w_mk": _number(
            table, "conductivity_w_mk", path, "W/(m K)", CONDUCTIVITY_W_MK, low_open=True
        ),
        "density_kg_m3": _number(
            table, "density_kg_m3", path, "kg/m3", DENSITY_KG_M3, low_open=True
        ),
        "specific_heat_j_kgk": _number(
            table, "specific_heat_j_kgk", path, "J/(kg K)", SPECIFIC_HEAT_J_KGK, low_open=True
        ),
    }
    if applicator == CUSTOM_APPLICATOR:
        for key, value in props.items():
            if value is None:
                raise InvalidInput(_join(path, key), MISSING, 'required for applicator = "custom"')
    return ContactPhase(
        applicator=applicator,
        applicator_temp_c=_required(table, "applicator_temp_c", path, "C", GAS_TEMP_C),
        duration_s=duration,
        conductivity_w_mk=props["conductivity_w_mk"],
        density_kg_m3=props["density_kg_m3"],
        specific_heat_j_kgk=props["specific_heat_j_kgk"],
        thickness_mm=_number(table, "thickness_mm", path, "mm", APPLICATOR_MM, low_open=True),
        contact_conductance_w_m2k=_number(
            table,
            "contact_conductance_w_m2k",
            path,
            "W/(m2 K)",
            HEAT_TRANSFER_W_M2K,
            low_open=True,
        ),
    )


def _phase(table: Mapping[str, Any], path: str) -> Phase:
    modality = _choice(table, "modality", path, tuple(PHASE_KEYS), default=None)
    _check_keys(table, PHASE_KEYS[modality], path)
    duration = _required(table, "duration_s", path, "s", DURATION_S, low_open=True)
    h_key = "heat_transfer_w_m2k"
    if modality == "convective":
        return ConvectivePhase(
            gas_temp_c=_required(table, "gas_temp_c", path, "C", GAS_TEMP_C),
            heat_transfer_w_m2k=_required(table, h_key, path, "W/(m2 K)", HEAT_TRANSFER_W_M2K),
            duration_s=duration,
        )
    if modality == "cold-air":
        return ColdAirPhase(
            gas_temp_c=_required(table, "gas_temp_c", path, "C", GAS_TEMP_C),
            air_speed_m_s=_required(table, "air_speed_m_s", path, "m/s", (0.0, 50.0)),
            duration_s=duration,
            radiant_temp_c=_number(table, "radiant_temp_c", path, "C", GAS_TEMP_C),
        )
    if modality == "ln2-vapour":
        period = _required(table, "sweep_period_s", path, "s", (0.0, 3600.0), low_open=True)
        return Ln2VapourPhase(
            distance_cm=_required(table, "distance_cm", path, "cm", (0.0, 100.0), low_open=True),
            sweep_period_s=period,
            dwell_s=_required(table, "dwell_s", path, "s", (0.0, period), low_open=True),
            duration_s=duration,
            gas_temp_c=_number(table, "gas_temp_c", path, "C", GAS_TEMP_C),
            heat_transfer_w_m2k=_number(
                table, h_key, path, "W/(m2 K)", HEAT_TRANSFER_W_M2K, low_open=True
            ),
        )
    if modality == "contact":
        return _contact(table, path, duration)
    base = AmbientPhase()
    ambient = _number(table, "ambient_temp_c", path, "C", GAS_TEMP_C, default=base.ambient_temp_c)
    h = _number(
        table, h_key, path, "W/(m2 K)", HEAT_TRANSFER_W_M2K, default=base.heat_transfer_w_m2k
    )
    assert ambient is not None and h is not None  # defaults given
    return AmbientPhase(ambient_temp_c=ambient, heat_transfer_w_m2k=h, duration_s=duration)


def _phases(doc: Mapping[str, Any]) -> tuple[Phase, ...]:
    tables = _tables(doc, "phase", "")
    if not tables:
        raise InvalidInput("phase", MISSING, "at least one [[phase]] is required")
    return tuple(_phase(table, f"phase[{index}]") for index, table in enumerate(tables, 1))


def _output(doc: Mapping[str, Any], depth_mm: float, duration_s: float) -> Output:
    path = "output"
    table = _table(doc, path, "")
    _check_keys(table, OUTPUT_KEYS, path)
    base = Output()
    sample = _number(
        table,
        "sample_every_s",
        path,
        "s",
        (0.0, duration_s),
        default=min(base.sample_every_s, duration_s),
        low_open=True,
    )
    assert sample is not None  # default given
    probes: list[Probe] = []
    for index, probe in enumerate(_tables(table, "probe", path), 1):
        probe_path = f"output.probe[{index}]"
        _check_keys(probe, PROBE_KEYS, probe_path)
        name = _text(probe, "name", probe_path)
        if name is None:
            raise InvalidInput(_join(probe_path, "name"), MISSING, "required: the probe's name")
        if name in {p.name for p in probes}:
            raise InvalidInput(_join(probe_path, "name"), name, "a name not used by another probe")
        depth = _required(probe, "depth_mm", probe_path, "mm", (0.0, depth_mm))
        probes.append(Probe(name=name, depth_mm=depth))
    return Output(
        sample_every_s=sample,
        probes=tuple(probes) if probes else base.probes,
        full_field=_flag(table, "full_field", path, base.full_field),
    )


def _numerics(doc: Mapping[str, Any]) -> Numerics:
    path = "numerics"
    table = _table(doc, path, "")
    _check_keys(table, NUMERICS_KEYS, path)
    base = Numerics()
    space = _number(
        table,
        "space_refinement",
        path,
        "",
        REFINEMENT,
        default=base.space_refinement,
        low_open=True,
    )
    steps = _number(
        table, "time_refinement", path, "", REFINEMENT, default=base.time_refinement, low_open=True
    )
    assert space is not None and steps is not None  # defaults given
    return Numerics(space_refinement=space, time_refinement=steps)


# ---------------------------------------------------------------- public API
def parse_case(doc: Mapping[str, Any], source: str = "<case>") -> Case:
    """Validate a decoded case document and build the :class:`Case` the solver consumes.

    ``source`` names the document (a file path) for messages that concern it as a whole.
    Raises InvalidInput on the first problem found, naming field, value, unit and allowed.
    """
    if not isinstance(doc, Mapping):
        raise InvalidInput(source, type(doc).__name__, "a TOML document (a table of keys)")
    _check_keys(doc, ROOT_KEYS, "")
    if doc.get("format") != FORMAT:
        raise InvalidInput("format", doc.get("format", MISSING), f'"{FORMAT}"')
    title = doc.get("title", "")
    if not isinstance(title, str):
        raise InvalidInput("title", title, "a text string")
    tissue = _tissue(doc)
    phases = _phases(doc)
    duration = sum(phase.duration_s for phase in phases)
    return Case(
        tissue=tissue,
        phases=phases,
        perfusion=_perfusion(doc),
        freezing=_freezing(doc),
        initial=_initial(doc),
        output=_output(doc, tissue.depth_mm, duration),
        title=title,
        numerics=_numerics(doc),
    )


def parse_case_text(text: str, source: str = "<case>") -> Case:
    """Decode TOML text and :func:`parse_case` it; a TOML syntax error is InvalidInput too."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(source, "(TOML text)", f"valid TOML: {error}") from None
    return parse_case(doc, source)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, str):
        # JSON escapes every control character TOML forbids except DEL.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    raise TypeError(f"cannot write {value!r} to a case file")


def _pairs(obj: object, skip: Sequence[str] = ()) -> list[str]:
    lines = []
    for spec in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, spec.name)
        if spec.name in skip or value is None:
            continue
        lines.append(f"{spec.name} = {_toml_value(value)}")
    return lines


def case_to_toml(case: Case) -> str:
    """The case file of ``case``; parsing it gives back an equal Case."""
    tissue = case.tissue
    lines = [f"format = {_toml_value(FORMAT)}", f"title = {_toml_value(case.title)}", ""]
    lines.append("[tissue]")
    lines += _pairs(tissue, skip=("layers", "blood"))
    for layer in tissue.layers:
        lines += ["", "[[tissue.layer]]", *_pairs(layer)]
    lines += ["", "[tissue.blood]", *_pairs(tissue.blood)]
    lines += ["", "[perfusion]", *_pairs(case.perfusion)]
    lines += ["", "[freezing]", *_pairs(case.freezing)]
    lines += ["", "[initial]"]
    state = "uniform" if isinstance(case.initial, UniformInitial) else "steady"
    lines += [f"state = {_toml_value(state)}", *_pairs(case.initial)]
    for phase in case.phases:
        lines += ["", "[[phase]]", f"modality = {_toml_value(phase.modality)}"]
        lines += _pairs(phase, skip=("modality",))
    lines += ["", "[output]", *_pairs(case.output, skip=("probes",))]
    for probe in case.output.probes:
        lines += ["", "[[output.probe]]", *_pairs(probe)]
    lines += ["", "[numerics]", *_pairs(case.numerics)]
    return "\n".join(lines) + "\n"
