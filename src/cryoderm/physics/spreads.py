"""The sourced spreads of the thermal model's inputs, and how each one varies a case.

``data/spreads.toml`` says, for every uncertain input (layer thicknesses, dermal perfusion,
the depth of the deep boundary, the local-cold law, contact conductance and the device
assumptions of cold air and LN2 vapour), how far it may lie from the value a case uses, with
the source of that spread. The between-person spreads of the dermis, the fat and the dermal
perfusion are those of ``data/cohort.toml`` (read from there: one place for them).

A spread maps a quantile ``u`` in [0, 1] to a value of its input for a given case
(:meth:`Spread.value`) and puts a value into a case (:meth:`Spread.apply`); :func:`vary`
applies several. Only the spreads that act on a case are offered for it
(:func:`spreads_for`): a case without a contact phase has no contact conductance to vary.

    from cryoderm.physics.spreads import spreads_for, vary
    chosen = spreads_for(case)
    varied = vary(case, {s.name: s.value(case, 0.05) for s in chosen})

physics/intervals.py builds a design of quantiles and propagates it through the engine;
research tools (Sobol, Morris) use the same two calls with their own designs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
from scipy.special import ndtr, ndtri

from cryoderm.data import load_table
from cryoderm.physics import jets
from cryoderm.physics import perfusion as perfusion_law
from cryoderm.physics.case import (
    Case,
    ColdAirPhase,
    ContactPhase,
    Layer,
    Ln2VapourPhase,
    Phase,
)
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.exposures import ln2_jet, own_contact_conductance_w_m2k, phase_nozzle


@cache
def _table() -> dict[str, Any]:
    return load_table("spreads")


@cache
def _cohort() -> dict[str, Any]:
    return load_table("cohort")


def _cohort_value(section: str, key: str) -> float:
    return float(_cohort()[section][key]["value"])


def truncated_normal_quantile(
    mean: np.ndarray | float,
    sd: np.ndarray | float,
    u: np.ndarray | float,
    low: np.ndarray | float,
    high: np.ndarray | float,
) -> np.ndarray:
    """The quantile ``u`` of N(mean, sd) truncated to [low, high] (inverse CDF, vectorised)."""
    mean, sd, u = np.asarray(mean, float), np.asarray(sd, float), np.asarray(u, float)
    a, b = ndtr((np.asarray(low) - mean) / sd), ndtr((np.asarray(high) - mean) / sd)
    # Clipping guards the last ulp of ndtri at the bounds.
    return np.clip(mean + sd * ndtri(a + u * (b - a)), low, high)


def thickness_quantile(
    layer: str, mean_mm: np.ndarray | float, cv: np.ndarray | float, u: np.ndarray | float
) -> np.ndarray:
    """Between-person thickness (mm) of ``layer`` ("dermis" or "fat") at quantile ``u``:
    N(mean, cv * mean) truncated at mean +/- k SD and the layer's bounds (data/cohort.toml)."""
    k = _cohort_value("truncation", "sd_multiple")
    mean = np.asarray(mean_mm, float)
    sd = np.asarray(cv, float) * mean
    low = np.maximum(mean - k * sd, _cohort_value(layer, "min_mm"))
    high = np.minimum(mean + k * sd, _cohort_value(layer, "max_mm"))
    return truncated_normal_quantile(mean, sd, u, low, high)


# ------------------------------------------------------------------------ one rule per input


def _layer_index(case: Case, name: str) -> int | None:
    return next((i for i, layer in enumerate(case.tissue.layers) if layer.name == name), None)


def _with_layer(case: Case, index: int, field: str, value: float) -> Case:
    layers = list(case.tissue.layers)
    layers[index] = dataclasses.replace(layers[index], **{field: value})  # type: ignore[arg-type]
    return dataclasses.replace(case, tissue=dataclasses.replace(case.tissue, layers=tuple(layers)))


def _layer(case: Case, name: str) -> Layer:
    index = _layer_index(case, name)
    assert index is not None
    return case.tissue.layers[index]


def _dermis_cv(case: Case) -> float:
    sex = case.tissue.sex
    if sex in ("female", "male"):
        return _cohort_value("dermis", f"cv_{sex}")
    # assumption: a case that names no sex is the mean of both; the wider (male) CV keeps
    # its spread from being understated (as research.spreads does).
    return _cohort_value("dermis", "cv_male")


def _uniform(row: Mapping[str, Any], u: float) -> float:
    return float(row["low"]) + u * (float(row["high"]) - float(row["low"]))


def _log_uniform(row: Mapping[str, Any], u: float) -> float:
    low, high = float(row["low"]), float(row["high"])
    return low * (high / low) ** u


def _deep_row(case: Case) -> Mapping[str, Any]:
    rows = _table()["parameter"]["deep_thickness"]
    zone = case.tissue.zone
    return rows.get("zone", {}).get(zone) or rows["default"]


def _local(case: Case) -> bool:
    return case.perfusion.model == "local-cold"


def _replace_phases(case: Case, change: Callable[[Phase], Phase]) -> Case:
    return dataclasses.replace(case, phases=tuple(change(phase) for phase in case.phases))


def _forced(phase: Phase) -> bool:
    limit = float(load_table("exposures")["cold_air"]["min_forced_speed_m_s"])
    return (
        isinstance(phase, ColdAirPhase)
        and phase.air_speed_m_s is not None
        and phase.air_speed_m_s >= limit
    )


def _cold_air(phase: Phase, factor: float) -> Phase:
    if isinstance(phase, ColdAirPhase) and phase.nozzle_distance_mm is not None:
        return _nozzle(phase, factor)
    if not _forced(phase):
        return phase
    assert isinstance(phase, ColdAirPhase)
    # h_c ~ v^n (data/exposures.toml [cold_air]): a factor on h is a factor^(1/n) on v.
    exponent = float(load_table("exposures")["cold_air"]["forced_exponent"])
    return dataclasses.replace(phase, air_speed_m_s=phase.air_speed_m_s * factor ** (1 / exponent))


def _nozzle(phase: ColdAirPhase, factor: float) -> ColdAirPhase:
    """A factor on a nozzle's h as a factor on its exit speed: h ~ F(Re) (jets.py), whose
    local exponent n = d ln F / d ln Re gives the speed factor factor^(1/n); the speed stays
    within the correlation's range."""
    nozzle = phase_nozzle(phase)
    base = jets.heat_transfer_w_m2k(nozzle)
    up = jets.heat_transfer_w_m2k(
        dataclasses.replace(nozzle, exit_speed_m_s=nozzle.exit_speed_m_s * 1.01)
    )
    exponent = math.log(up / base) / math.log(1.01)
    nu = jets.air_properties(nozzle.exit_temp_c).kinematic_viscosity_m2_s
    d = nozzle.diameter_mm * 1e-3
    table = load_table("exposures")["cold_air_jet"]
    low, high = table["min_reynolds"] * nu / d, table["max_reynolds"] * nu / d
    speed = min(max(nozzle.exit_speed_m_s * factor ** (1 / exponent), low), high)
    return dataclasses.replace(phase, exit_speed_m_s=speed)


def _contact(phase: Phase, factor: float) -> Phase:
    if not isinstance(phase, ContactPhase):
        return phase
    # The applicator's own conductance (a barrier is added in series when the case runs).
    nominal = own_contact_conductance_w_m2k(phase)
    return dataclasses.replace(phase, contact_conductance_w_m2k=nominal * factor)


def _ln2(phase: Phase, gas_factor: float | None, h_factor: float | None) -> Phase:
    if not isinstance(phase, Ln2VapourPhase):
        return phase
    gas, h = ln2_jet(phase.distance_cm)
    gas = gas if phase.gas_temp_c is None else phase.gas_temp_c
    h = h if phase.heat_transfer_w_m2k is None else phase.heat_transfer_w_m2k
    room = float(load_table("exposures")["room_air"]["temp_c"])
    if gas_factor is not None:
        phase = dataclasses.replace(phase, gas_temp_c=max(-196.0, room + (gas - room) * gas_factor))
    if h_factor is not None:
        phase = dataclasses.replace(phase, heat_transfer_w_m2k=h * h_factor)
    return phase


@dataclass(frozen=True)
class _Rule:
    applies: Callable[[Case], bool]
    value: Callable[[Case, Mapping[str, Any], float], float]
    apply: Callable[[Case, float], Case]


def _dermis_perfusion_factor(case: Case, row: Mapping[str, Any], u: float) -> float:
    default = float(load_table("tissue")["material"]["dermis"]["perfusion_per_s"]["value"])
    low = _cohort_value("perfusion", "dermis_min_per_s") / default
    high = _cohort_value("perfusion", "dermis_max_per_s") / default
    return _log_uniform({"low": low, "high": high}, u)


def _zone_scale(case: Case) -> float:
    given = case.perfusion.scale_k
    if given is not None:
        return float(given)
    return perfusion_law.resolve(case.perfusion, case.tissue.zone).scale_k


_RULES: dict[str, _Rule] = {
    "dermis_thickness": _Rule(
        lambda case: _layer_index(case, "dermis") is not None,
        lambda case, row, u: float(
            thickness_quantile("dermis", _layer(case, "dermis").thickness_mm, _dermis_cv(case), u)
        ),
        lambda case, mm: _with_layer(case, _layer_index(case, "dermis") or 0, "thickness_mm", mm),
    ),
    "fat_thickness": _Rule(
        lambda case: _layer_index(case, "fat") is not None,
        lambda case, row, u: float(
            thickness_quantile(
                "fat", _layer(case, "fat").thickness_mm, _cohort_value("fat", "cv"), u
            )
        ),
        lambda case, mm: _with_layer(case, _layer_index(case, "fat") or 0, "thickness_mm", mm),
    ),
    "dermis_perfusion": _Rule(
        lambda case: _layer_index(case, "dermis") is not None,
        _dermis_perfusion_factor,
        lambda case, factor: _with_layer(
            case,
            _layer_index(case, "dermis") or 0,
            "perfusion_per_s",
            _layer(case, "dermis").perfusion_per_s * factor,
        ),
    ),
    "deep_thickness": _Rule(
        lambda case: case.tissue.zone is not None,
        lambda case, row, u: _uniform(_deep_row(case), u),
        lambda case, mm: _with_layer(case, len(case.tissue.layers) - 1, "thickness_mm", mm),
    ),
    "local_cold_scale": _Rule(
        _local,
        lambda case, row, u: _uniform(row, u),
        lambda case, factor: dataclasses.replace(
            case,
            perfusion=dataclasses.replace(case.perfusion, scale_k=_zone_scale(case) * factor),
        ),
    ),
    "local_cold_floor": _Rule(
        _local,
        lambda case, row, u: _uniform(row, u),
        lambda case, floor: dataclasses.replace(
            case, perfusion=dataclasses.replace(case.perfusion, floor_fraction=floor)
        ),
    ),
    "contact_conductance": _Rule(
        lambda case: any(isinstance(p, ContactPhase) for p in case.phases),
        lambda case, row, u: _log_uniform(row, u),
        lambda case, factor: _replace_phases(case, lambda p: _contact(p, factor)),
    ),
    "cold_air_heat_transfer": _Rule(
        lambda case: any(_forced(p) for p in case.phases),
        lambda case, row, u: _log_uniform(row, u),
        lambda case, factor: _replace_phases(case, lambda p: _cold_air(p, factor)),
    ),
    "ln2_gas_temperature": _Rule(
        lambda case: any(isinstance(p, Ln2VapourPhase) for p in case.phases),
        lambda case, row, u: _uniform(row, u),
        lambda case, factor: _replace_phases(case, lambda p: _ln2(p, factor, None)),
    ),
    "ln2_heat_transfer": _Rule(
        lambda case: any(isinstance(p, Ln2VapourPhase) for p in case.phases),
        lambda case, row, u: _log_uniform(row, u),
        lambda case, factor: _replace_phases(case, lambda p: _ln2(p, None, factor)),
    ),
}


@dataclass(frozen=True)
class Spread:
    """One uncertain input of the model, its distribution and its source.

    mode: "factor" (the value multiplies the case's own input) or "value" (it replaces it);
    unit: of the value (mm, 1 for factors and ratios); distribution: "cohort" (the
    between-person spread of data/cohort.toml), "uniform" or "log-uniform" on the table's
    low-high; source and evidence (S, D, I, A as in data/tissue.toml) say where it is from.
    """

    name: str
    label: str
    applies_to: str
    mode: Literal["factor", "value"]
    unit: str
    distribution: Literal["cohort", "uniform", "log-uniform"]
    source: str
    evidence: str

    def applies(self, case: Case) -> bool:
        """Whether this input exists in ``case`` (a layer, a law, a phase of its modality)."""
        return _RULES[self.name].applies(case)

    def value(self, case: Case, u: float) -> float:
        """The input's value (or factor) for ``case`` at the quantile ``u`` in [0, 1]."""
        if not 0.0 <= u <= 1.0:
            raise InvalidInput(f"spreads.{self.name}", u, "a quantile within 0 to 1")
        row = _table()["parameter"][self.name]
        return float(_RULES[self.name].value(case, row, u))

    def apply(self, case: Case, value: float) -> Case:
        """``case`` with this input set to ``value`` (a factor or a value, as ``mode`` says)."""
        if not (math.isfinite(value) and value > 0.0):
            raise InvalidInput(f"spreads.{self.name}", value, "a finite value above 0", self.unit)
        return _RULES[self.name].apply(case, value)


def _source(name: str, row: Mapping[str, Any]) -> tuple[str, str]:
    if row["distribution"] == "cohort":
        return (
            "data/cohort.toml: " + row.get("basis", "the between-person spread of this input"),
            "I",
        )
    if name == "deep_thickness":
        parts = [f"{zone}: {entry['source']}" for zone, entry in row["zone"].items()]
        parts.append(f"other zones: {row['default']['source']}")
        return "; ".join(parts), "A"
    return str(row["source"]), str(row["evidence"])


@cache
def spreads() -> tuple[Spread, ...]:
    """Every spread of data/spreads.toml, in the table's order."""
    out = []
    for name, row in _table()["parameter"].items():
        source, evidence = _source(name, row)
        out.append(
            Spread(
                name=name,
                label=str(row["label"]),
                applies_to=str(row["applies_to"]),
                mode=row["mode"],
                unit=str(row["unit"]),
                distribution=row["distribution"],
                source=source,
                evidence=evidence,
            )
        )
    return tuple(out)


def spread(name: str) -> Spread:
    """The spread called ``name``; InvalidInput naming the known ones otherwise."""
    for entry in spreads():
        if entry.name == name:
            return entry
    raise InvalidInput("spreads", name, "one of: " + ", ".join(s.name for s in spreads()))


def spreads_for(case: Case) -> tuple[Spread, ...]:
    """The spreads that act on ``case``, in the table's order."""
    return tuple(entry for entry in spreads() if entry.applies(case))


def vary(case: Case, values: Mapping[str, float]) -> Case:
    """``case`` with each named input set to its value (factor or value: see each spread)."""
    for name, value in values.items():
        case = spread(name).apply(case, value)
    return case
