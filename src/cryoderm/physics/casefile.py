"""The case file (docs/case-file.md, "cryoderm-case/1"): parse, validate, write back.

Pure: :func:`parse_case` takes the already-decoded TOML document; :func:`parse_case_text`
decodes text; reading files is the caller's job (``cryoderm.load_case``).

The keys each section allows, their kinds, units, limits and defaults come from the one
bounds table (data/bounds.toml, :mod:`cryoderm.physics.bounds`). The parser checks the
document's shape: unknown keys (rejected with the nearest valid key), missing required keys
and the type of every value; the value objects of :mod:`cryoderm.physics.case` check the
limits when they are built. Every error is an :class:`InvalidInput` naming the field as a
dotted path the user can find in the file (phases, layers and probes are counted from 1:
``phase[2].gas_temp_c``), the value, its unit and what is allowed.

:func:`case_to_toml` writes a :class:`Case` back as a case file, so that
``parse_case_text(case_to_toml(case)) == case``. Zone-built tissue is written as explicit
layers with the zone kept as a record of where they came from.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

from cryoderm.physics.bounds import entry_for, keys_of, variant_key
from cryoderm.physics.case import (
    AmbientPhase,
    Blood,
    Case,
    ColdAirPhase,
    ContactPhase,
    ConvectivePhase,
    Freezing,
    Geometry,
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
    applicator_names,
)
from cryoderm.physics.errors import MISSING, InvalidInput
from cryoderm.physics.exposures import ln2_sweep_defaults
from cryoderm.physics.zones import tissue_for_zone, zone_names

FORMAT = "cryoderm-case/1"
PHASES: dict[str, type[Phase]] = {
    "convective": ConvectivePhase,
    "cold-air": ColdAirPhase,
    "ln2-vapour": Ln2VapourPhase,
    "contact": ContactPhase,
    "ambient": AmbientPhase,
}
INITIAL_STATES: dict[str, type[Initial]] = {"steady": SteadyInitial, "uniform": UniformInitial}


def known_applicators() -> tuple[str, ...]:
    """The named applicator materials of data/exposures.toml (without "custom")."""
    return applicator_names()[:-1]


# ---------------------------------------------------------------- primitive checks
def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@contextmanager
def _at(path: str, where: str) -> Iterator[None]:
    """Name the errors of a value object built here as the user wrote it: the object says
    ``phase.dwell_s``, the file has ``phase[2].dwell_s``."""
    try:
        yield
    except InvalidInput as error:
        if path == where or not (error.field == where or error.field.startswith(where + ".")):
            raise
        field = path + error.field[len(where) :]
        raise InvalidInput(field, error.value, error.allowed, error.unit) from None


def _unit_hint(section: str, key: str, variant: str | None) -> str:
    entry = entry_for(section, key, variant)
    return f" (in {entry.unit})" if entry is not None and entry.unit else ""


def _nearest(key: str, allowed: Sequence[str]) -> list[str]:
    """The real keys nearest to ``key`` (difflib): the best, and a second as near as it."""
    close = difflib.get_close_matches(key, allowed, n=2, cutoff=0.5)
    if len(close) == 2:
        ratios = [difflib.SequenceMatcher(None, key, name).ratio() for name in close]
        if ratios[1] < ratios[0] - 0.05:
            close = close[:1]
    return close


def _check_keys(
    table: Mapping[str, Any], section: str, path: str, variant: str | None = None
) -> None:
    allowed = keys_of(section, variant)
    for key, value in table.items():
        if key in allowed:
            continue
        # The two nearest real keys, each with its unit (a key written in cm is found by its
        # stem: distance_cm -> nozzle_distance_mm (in mm)).
        close = _nearest(key, allowed)
        hint = (
            "did you mean "
            + " or ".join(f"{name!r}{_unit_hint(section, name, variant)}" for name in close)
            + "? "
            if close
            else ""
        )
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


def _typed(entry: Any, field: str, value: object) -> object:
    """``value`` if it has the kind of ``entry`` (a number becomes a float), else its error.
    Limits are the value objects' to check."""
    kind = entry.kind
    if kind in ("number", "numbers"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise entry.error(field, value)
        return float(value)
    if kind == "flag" and not isinstance(value, bool):
        raise entry.error(field, value)
    if kind == "text" and not (isinstance(value, str) and (value.strip() or not entry.required)):
        raise entry.error(field, value)
    if kind == "choice" and (
        not isinstance(value, str) or (entry.choices and value not in entry.choices)
    ):
        raise entry.error(field, value)
    return value


def _values(
    table: Mapping[str, Any], section: str, path: str, variant: str | None = None
) -> dict[str, Any]:
    """The typed values of a section's own keys that ``table`` gives; a required key it
    lacks is an error. Sub-sections and the variant's choice are left to the caller."""
    _check_keys(table, section, path, variant)
    values: dict[str, Any] = {}
    for key in keys_of(section, variant):
        entry = entry_for(section, key, variant)
        if entry is None or entry.kind == "numbers" or key == variant_key(section):
            continue
        field = _join(path, key)
        if key in table:
            values[key] = _typed(entry, field, table[key])
        elif entry.required:
            raise entry.missing(field)
    return values


def _variant(table: Mapping[str, Any], section: str, path: str) -> str:
    """The value of the choice that selects a section's keys (a phase's modality)."""
    key = variant_key(section)
    assert key is not None  # only sections with variants are asked
    entry = entry_for(section, key)
    assert entry is not None
    field = _join(path, key)
    if key not in table:
        if entry.default is None:
            raise entry.missing(field)
        return str(entry.default)
    return str(_typed(entry, field, table[key]))


# ---------------------------------------------------------------- sections
def _layer(table: Mapping[str, Any], path: str) -> Layer:
    values = _values(table, "tissue.layer", path)
    with _at(path, "tissue.layer"):
        return Layer(**values)


def _blood(tissue: Mapping[str, Any]) -> Blood:
    values = _values(_table(tissue, "blood", "tissue"), "tissue.blood", "tissue.blood")
    return Blood(**values)


def _tissue(doc: Mapping[str, Any]) -> Tissue:
    table = _table(doc, "tissue", "")
    values = _values(table, "tissue", "tissue")
    zone = values.pop("zone", None)
    if zone is not None and zone not in zone_names():
        raise InvalidInput(
            "tissue.zone", zone, f"one of the built-in zones: {', '.join(zone_names())}"
        )
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
        return Tissue(layers=layers, blood=blood, zone=zone, **values)
    if zone is None:
        raise InvalidInput(
            "tissue.zone",
            MISSING,
            f"required unless [[tissue.layer]] are given: one of {', '.join(zone_names())}",
        )
    entry = entry_for("tissue", "thickness_mm")
    assert entry is not None
    overrides = {
        name: float(_typed(entry, f"tissue.thickness_mm.{name}", value))  # type: ignore[arg-type]
        for name, value in overrides_table.items()
    }
    tissue = tissue_for_zone(zone, thickness_overrides_mm=overrides, **values)
    if "blood" in table:
        return Tissue(
            layers=tissue.layers,
            core_temp_c=tissue.core_temp_c,
            arterial_temp_c=tissue.arterial_temp_c,
            blood=blood,
            zone=zone,
            sex=tissue.sex,
            age_years=tissue.age_years,
        )
    return tissue


def _perfusion(doc: Mapping[str, Any]) -> Perfusion:
    return Perfusion(**_values(_table(doc, "perfusion", ""), "perfusion", "perfusion"))


def _freezing(doc: Mapping[str, Any]) -> Freezing:
    return Freezing(**_values(_table(doc, "freezing", ""), "freezing", "freezing"))


def _initial(doc: Mapping[str, Any]) -> Initial:
    table = _table(doc, "initial", "")
    state = _variant(table, "initial", "initial")
    return INITIAL_STATES[state](**_values(table, "initial", "initial", state))


def _phase(table: Mapping[str, Any], path: str) -> Phase:
    modality = _variant(table, "phase", path)
    values = _values(table, "phase", path, modality)
    if modality == "ln2-vapour":
        # A sweep left unstated is the default sweep at the given or default distance.
        distance, period, dwell = ln2_sweep_defaults(values.get("distance_cm"))
        values.setdefault("distance_cm", distance)
        values.setdefault("sweep_period_s", period)
        values.setdefault("dwell_s", min(dwell, values["sweep_period_s"]))
    with _at(path, "phase"):
        return PHASES[modality](**values)


def _phases(doc: Mapping[str, Any]) -> tuple[Phase, ...]:
    tables = _tables(doc, "phase", "")
    if not tables:
        raise InvalidInput("phase", MISSING, "at least one [[phase]] is required")
    return tuple(_phase(table, f"phase[{index}]") for index, table in enumerate(tables, 1))


def _output(doc: Mapping[str, Any]) -> Output:
    table = _table(doc, "output", "")
    values = _values(table, "output", "output")
    probes: list[Probe] = []
    for index, probe in enumerate(_tables(table, "probe", "output"), 1):
        path = f"output.probe[{index}]"
        with _at(path, "output.probe"):
            probes.append(Probe(**_values(probe, "output.probe", path)))
    if probes:
        values["probes"] = tuple(probes)
    return Output(**values)


def _numerics(doc: Mapping[str, Any]) -> Numerics:
    return Numerics(**_values(_table(doc, "numerics", ""), "numerics", "numerics"))


def _geometry(doc: Mapping[str, Any]) -> Geometry:
    return Geometry(**_values(_table(doc, "geometry", ""), "geometry", "geometry"))


# ---------------------------------------------------------------- public API
def parse_case(doc: Mapping[str, Any], source: str = "<case>") -> Case:
    """Validate a decoded case document and build the :class:`Case` the solver consumes.

    ``source`` names the document (a file path) for messages that concern it as a whole.
    Raises InvalidInput on the first problem found, naming field, value, unit and allowed.
    """
    if not isinstance(doc, Mapping):
        raise InvalidInput(source, type(doc).__name__, "a TOML document (a table of keys)")
    values = _values(doc, "", "")
    return Case(
        tissue=_tissue(doc),
        phases=_phases(doc),
        perfusion=_perfusion(doc),
        freezing=_freezing(doc),
        initial=_initial(doc),
        output=_output(doc),
        title=values.get("title", ""),
        numerics=_numerics(doc),
        geometry=_geometry(doc),
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
    if case.geometry.axisymmetric:
        lines += ["", "[geometry]", *_pairs(case.geometry)]
    return "\n".join(lines) + "\n"
