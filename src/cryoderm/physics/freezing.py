"""Freezing of tissue, layer by layer: latent heat and frozen properties by an apparent heat
capacity.

Below the freezing point T_f the latent heat is released linearly over a small mushy range
(``numerics.mushy_range_k`` in data/freezing.toml); the kernel stores enthalpy, so the
release is exactly conservative. Conductivity and heat capacity blend linearly with the
frozen fraction; perfusion and metabolic heat stop in frozen tissue (docs/physics.md,
section 5).

Each layer freezes by its own water (data/freezing.toml [tissue]): latent heat w L_ice, frozen
heat capacity c - w (c_water - c_ice), frozen conductivity k (k_ice / k_water)^w; the
[freezing] section of a case may set one value for every layer instead.

Freezing is on wherever tissue can reach its freezing point (``enabled`` None, the default):
every heat source of the model (the surface's air, radiant surroundings and applicators, the
initial state, the 37 C core and arterial blood, metabolism) is then checked against T_f. If
none is colder, no tissue can freeze (maximum principle) and the case keeps the fast linear
path exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics.case import (
    AmbientPhase,
    Case,
    ColdAirPhase,
    ContactPhase,
    ConvectivePhase,
    Freezing,
    Layer,
    Ln2VapourPhase,
    Tissue,
    UniformInitial,
)

# A freezing point no temperature can reach: turns the phase change off without branching.
NEVER_C = -300.0
# A moving freezing front releases its latent heat node by node; with backward-Euler steps
# (solver.py) cells and steps twice finer than the defaults keep that staircase within
# 0.04 K of the Neumann solution (docs/physics.md, section 5).
FREEZING_REFINEMENT = 2.0


@dataclass(frozen=True)
class LayerFreezing:
    """What one layer becomes when frozen."""

    water_fraction: float
    density_kg_m3: float
    latent_heat_j_kg: float
    frozen_conductivity_w_mk: float
    frozen_specific_heat_j_kgk: float


@dataclass(frozen=True)
class PhaseChange:
    """What the kernel uses. freeze_point_c is NEVER_C when freezing is off; layers: the
    frozen properties of each layer, surface first."""

    enabled: bool
    freeze_point_c: float
    layers: tuple[LayerFreezing, ...]
    mushy_range_k: float
    risk_temp_c: float


def mushy_range_k() -> float:
    return float(load_table("freezing")["numerics"]["mushy_range_k"]["value"])


@cache
def _constants() -> dict[str, float]:
    table = load_table("freezing")["phase_change"]
    return {key: float(entry["value"]) for key, entry in table.items() if key != "mixture_rules"}


def water_fraction(layer_name: str) -> float:
    """The water mass fraction of a layer by its tissue name (data/freezing.toml)."""
    table = load_table("freezing")
    tissues = table["tissue"]
    name = layer_name.lower()
    if name in tissues:
        return float(tissues[name]["water_fraction"]["value"])
    return float(table["defaults"]["water_fraction"]["value"])


@lru_cache(maxsize=256)
def layer_freezing(layer: Layer, freezing: Freezing) -> LayerFreezing:
    """The frozen properties of ``layer`` (the case's [freezing] values override all layers)."""
    c = _constants()
    w = water_fraction(layer.name) if layer.water_fraction is None else layer.water_fraction
    latent = w * c["latent_heat_of_ice_j_kg"]
    ratio = c["ice_conductivity_w_mk"] / c["water_conductivity_w_mk"]
    conductivity = layer.conductivity_w_mk * ratio**w
    change = w * (c["water_specific_heat_j_kgk"] - c["ice_specific_heat_j_kgk"])
    # A custom layer's heat capacity may be lower than its water's share allows: keep a
    # tenth of it (ice and dry matter still hold heat).
    specific = max(layer.specific_heat_j_kgk - change, 0.1 * layer.specific_heat_j_kgk)
    return LayerFreezing(
        water_fraction=w,
        density_kg_m3=layer.density_kg_m3,
        latent_heat_j_kg=latent if freezing.latent_heat_j_kg is None else freezing.latent_heat_j_kg,
        frozen_conductivity_w_mk=conductivity
        if freezing.frozen_conductivity_w_mk is None
        else freezing.frozen_conductivity_w_mk,
        frozen_specific_heat_j_kgk=specific
        if freezing.frozen_specific_heat_j_kgk is None
        else freezing.frozen_specific_heat_j_kgk,
    )


@lru_cache(maxsize=256)
def resolve(freezing: Freezing, tissue: Tissue, enabled: bool) -> PhaseChange:
    """The kernel's phase-change data for ``tissue`` (``enabled``: see :func:`decide`); the
    risk criterion uses freeze_point_c even when off."""
    return PhaseChange(
        enabled=enabled,
        freeze_point_c=freezing.freeze_point_c if enabled else NEVER_C,
        layers=tuple(layer_freezing(layer, freezing) for layer in tissue.layers),
        mushy_range_k=mushy_range_k(),
        risk_temp_c=freezing.freeze_point_c,
    )


def node_properties(
    phase: PhaseChange, layer_end: np.ndarray, cell_dx_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frozen capacity J/m2K and latent heat J/m2 per node, frozen conductance W/m2K per
    cell), each [node, lane], for lanes whose layer ``i`` ends at node layer_end[i, lane]
    (its cells run from the previous layer's end to there: grid.py). A node on an
    interface owns half a cell of each layer, as its other properties do."""
    cells, lanes = cell_dx_m.shape
    capacity = np.empty((cells, lanes))
    latent = np.empty((cells, lanes))
    k_frozen = np.empty((cells, lanes))
    for lane in range(lanes):
        first = 0
        for layer, end in zip(phase.layers, layer_end[:, lane], strict=True):
            capacity[first:end, lane] = layer.density_kg_m3 * layer.frozen_specific_heat_j_kgk
            latent[first:end, lane] = layer.density_kg_m3 * layer.latent_heat_j_kg
            k_frozen[first:end, lane] = layer.frozen_conductivity_w_mk
            first = int(end)

    def half_cells(per_m3: np.ndarray) -> np.ndarray:
        out = 0.5 * per_m3 * cell_dx_m
        out[1:] += 0.5 * (per_m3 * cell_dx_m)[:-1]
        return out

    return (
        np.ascontiguousarray(half_cells(capacity)),
        np.ascontiguousarray(half_cells(latent)),
        np.ascontiguousarray(k_frozen / cell_dx_m),
    )


def coldest_source_c(case: Case) -> float:
    """The coldest temperature any heat source of ``case`` holds (C): the air, radiant
    surroundings and applicators of its phases, their spots' background, and the initial
    state. The core and the arterial blood are warm by their limits, metabolism heats."""
    # Imported here: exposures takes the mushy range from this module.
    from cryoderm.physics import exposures

    temps: list[float] = []
    initial = case.initial
    temps.append(initial.temp_c if isinstance(initial, UniformInitial) else initial.ambient_temp_c)
    for phase in case.phases:
        if phase.background_temp_c is not None:
            temps.append(phase.background_temp_c)
        elif phase.spot_profile is not None:
            temps.append(float(load_table("exposures")["room_air"]["temp_c"]))
        if isinstance(phase, ConvectivePhase):
            temps.append(phase.gas_temp_c)
        elif isinstance(phase, AmbientPhase):
            temps.append(phase.ambient_temp_c)
        elif isinstance(phase, ColdAirPhase):
            _, gas, radiant = exposures.cold_air_surface(phase)
            temps += (gas, radiant)
        elif isinstance(phase, Ln2VapourPhase):
            gas, _ = exposures.ln2_jet(phase.distance_cm)
            temps.append(gas if phase.gas_temp_c is None else phase.gas_temp_c)
            temps.append(float(load_table("exposures")["room_air"]["temp_c"]))
        elif isinstance(phase, ContactPhase):
            temps.append(phase.applicator_temp_c)
        else:
            temps.append(-273.15)  # an unknown modality: assume it can freeze
    return min(temps)


def decide(case: Case) -> bool:
    """Whether ``case`` runs with freezing: as stated, or (``enabled`` None) wherever a heat
    source is colder than the freezing point."""
    stated = case.freezing.enabled
    if stated is not None:
        return stated
    return coldest_source_c(case) < case.freezing.freeze_point_c
