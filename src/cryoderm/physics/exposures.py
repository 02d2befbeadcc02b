"""Exposure modalities as boundary conditions: phases become segments of constant conditions.

Every phase becomes one or more :class:`Segment` (an LN2 sweep becomes a pulse train of
jet and room-air segments); the solver steps exactly onto every segment boundary and
restarts its time stepping there. The surface condition of a segment is

    q_in = h (T_gas - T_s) + eps sigma (T_rad^4 - T_s^4)          (no contact)
    q_in = h_contact (T_applicator_face - T_s)                      (contact)

with every default and correlation from data/exposures.toml (docs/physics.md, section 3).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from cryoderm.data import load_table
from cryoderm.physics.case import (
    AmbientPhase,
    ColdAirPhase,
    ContactPhase,
    ConvectivePhase,
    Ln2VapourPhase,
    Phase,
)
from cryoderm.physics.errors import InvalidInput

SIGMA_W_M2K4 = 5.670374419e-8


@dataclass(frozen=True)
class Applicator:
    """A finite contact body: a 1-D slab insulated at its back.

    Solid properties below the melting point, melted ones above; melting_point_c None
    means no phase change."""

    conductivity_w_mk: float
    density_kg_m3: float
    specific_heat_j_kgk: float
    thickness_mm: float
    contact_conductance_w_m2k: float
    melting_point_c: float | None = None
    latent_heat_j_kg: float = 0.0
    melted_conductivity_w_mk: float = 0.0
    melted_specific_heat_j_kgk: float = 0.0


class Segment(NamedTuple):
    """Constant surface conditions from start_s to end_s (s, from the start of phase 1).

    heat_transfer_w_m2k and gas_temp_c: the convective part; eps_sigma_w_m2k4 > 0 adds
    exact radiation to radiant_temp_c; applicator set: a contact segment (no convection).
    A named tuple, not a dataclass: a batch of protocols builds thousands (measured: a
    frozen dataclass of nine fields costs three times as much to build), and the solver
    reads fields 3..6 (h, gas, eps*sigma, radiant) as one slice."""

    start_s: float
    end_s: float
    phase_index: int
    heat_transfer_w_m2k: float = 0.0
    gas_temp_c: float = 0.0
    eps_sigma_w_m2k4: float = 0.0
    radiant_temp_c: float = 0.0
    applicator: Applicator | None = None
    applicator_temp_c: float = 0.0


_new_tuple = tuple.__new__


def _table() -> dict[str, Any]:
    return load_table("exposures")


def _check(field: str, value: float, low: float, high: float, unit: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
        raise InvalidInput(field, value, f"must be within {low:g} to {high:g}", unit)
    return float(value)


def cold_air_heat_transfer_w_m2k(air_speed_m_s: float) -> float:
    """Facial forced convection (Ichihara 1997 via JOS-3), natural convection at low speed."""
    table = _table()["cold_air"]
    if air_speed_m_s < table["min_forced_speed_m_s"]:
        return float(table["natural_w_m2k"])
    return float(table["forced_coefficient_w_m2k"] * air_speed_m_s ** table["forced_exponent"])


def ln2_jet(distance_cm: float) -> tuple[float, float]:
    """(gas temperature C, heat transfer W/m2K) at the skin for a wand at distance_cm.

    DEVICE ASSUMPTION (data/exposures.toml [ln2_vapour] states its basis)."""
    table = _table()
    jet = table["ln2_vapour"]
    room = table["room_air"]["temp_c"]
    reach = min(1.0, jet["temperature_decay_constant"] * jet["nozzle_diameter_cm"] / distance_cm)
    gas = room + (jet["exit_temp_c"] - room) * reach
    h = (
        jet["heat_transfer_at_reference_w_m2k"]
        * (jet["reference_distance_cm"] / distance_cm) ** jet["distance_exponent"]
    )
    return float(gas), float(h)


def applicator_for(phase: ContactPhase, where: str) -> Applicator:
    """The applicator of a contact phase: a named material with per-phase overrides."""
    materials = _table()["applicator"]
    if phase.applicator == "custom":
        base: dict[str, Any] = {}
    elif phase.applicator in materials:
        base = dict(materials[phase.applicator])
    else:
        names = ", ".join(sorted([*materials, "custom"]))
        raise InvalidInput(f"{where}.applicator", phase.applicator, f"must be one of {names}")
    overrides = {
        "conductivity_w_mk": phase.conductivity_w_mk,
        "density_kg_m3": phase.density_kg_m3,
        "specific_heat_j_kgk": phase.specific_heat_j_kgk,
        "thickness_mm": phase.thickness_mm,
        "contact_conductance_w_m2k": phase.contact_conductance_w_m2k,
    }
    for key, value in overrides.items():
        if value is not None:
            base[key] = value
    limits = {
        "conductivity_w_mk": (0.01, 500.0, "W/m/K"),
        "density_kg_m3": (10.0, 25000.0, "kg/m3"),
        "specific_heat_j_kgk": (100.0, 10000.0, "J/kg/K"),
        "thickness_mm": (0.1, 100.0, "mm"),
        "contact_conductance_w_m2k": (1.0, 1e6, "W/m2K"),
    }
    values = {}
    for key, (low, high, unit) in limits.items():
        if key not in base:
            raise InvalidInput(
                f"{where}.{key}",
                None,
                f"is required for a custom applicator ({low:g} to {high:g})",
                unit,
            )
        values[key] = _check(f"{where}.{key}", base[key], low, high, unit)
    if "melting_point_c" in base:
        return Applicator(
            **values,
            melting_point_c=float(base["melting_point_c"]),
            latent_heat_j_kg=float(base["latent_heat_j_kg"]),
            melted_conductivity_w_mk=float(base["melted_conductivity_w_mk"]),
            melted_specific_heat_j_kgk=float(base["melted_specific_heat_j_kgk"]),
        )
    return Applicator(**values)


def plain_conditions(phases: tuple[Phase, ...]) -> tuple[tuple[float, ...], list[float]] | None:
    """For phases that are all plain (convective or ambient phases whose values are floats
    within their limits, checked without building field names: the common case), the
    segment boundaries (s) and the surface conditions (h, gas, eps*sigma, radiant) of each
    segment, flat: what ``segments`` gives for them, without a Segment object (a batch of
    protocols collects thousands). None when any phase is not plain."""
    start = 0.0
    boundaries = [start]
    surface: list[float] = []
    for phase in phases:
        kind = type(phase)
        if kind is ConvectivePhase:
            temp = phase.gas_temp_c  # type: ignore[union-attr]
        elif kind is AmbientPhase:
            temp = phase.ambient_temp_c  # type: ignore[union-attr]
        else:
            return None
        duration = phase.duration_s
        h = phase.heat_transfer_w_m2k  # type: ignore[union-attr]
        if not (
            type(duration) is float
            and 1e-3 <= duration <= 86400.0
            and type(temp) is float
            and -273.0 <= temp <= 100.0
            and type(h) is float
            and 0.0 <= h <= 1e8
        ):
            return None
        # The same sums, in the same order, as the segments' ends.
        start = start + duration
        boundaries.append(start)
        surface += (h, temp, 0.0, 0.0)
    if not surface:
        return None
    return tuple(boundaries), surface


def _phase_segments(phase: Phase, index: int, start: float) -> list[Segment]:
    where = f"phase[{index + 1}]"
    duration = _check(f"{where}.duration_s", phase.duration_s, 1e-3, 86400.0, "s")
    end = start + duration
    if isinstance(phase, ConvectivePhase | AmbientPhase):
        temp = phase.gas_temp_c if isinstance(phase, ConvectivePhase) else phase.ambient_temp_c
        name = "gas_temp_c" if isinstance(phase, ConvectivePhase) else "ambient_temp_c"
        temp = _check(f"{where}.{name}", temp, -273.0, 100.0, "C")
        h = _check(f"{where}.heat_transfer_w_m2k", phase.heat_transfer_w_m2k, 0.0, 1e8, "W/m2K")
        return [Segment(start, end, index, heat_transfer_w_m2k=h, gas_temp_c=temp)]
    if isinstance(phase, ColdAirPhase):
        gas = _check(f"{where}.gas_temp_c", phase.gas_temp_c, -200.0, 60.0, "C")
        speed = _check(f"{where}.air_speed_m_s", phase.air_speed_m_s, 0.0, 60.0, "m/s")
        radiant = (
            gas
            if phase.radiant_temp_c is None
            else _check(f"{where}.radiant_temp_c", phase.radiant_temp_c, -200.0, 60.0, "C")
        )
        eps = float(_table()["cold_air"]["skin_emissivity"])
        return [
            Segment(
                start,
                end,
                index,
                heat_transfer_w_m2k=cold_air_heat_transfer_w_m2k(speed),
                gas_temp_c=gas,
                eps_sigma_w_m2k4=eps * SIGMA_W_M2K4,
                radiant_temp_c=radiant,
            )
        ]
    if isinstance(phase, Ln2VapourPhase):
        jet_table = _table()["ln2_vapour"]
        distance = _check(
            f"{where}.distance_cm",
            phase.distance_cm,
            jet_table["min_distance_cm"],
            jet_table["max_distance_cm"],
            "cm",
        )
        period = _check(f"{where}.sweep_period_s", phase.sweep_period_s, 0.05, 600.0, "s")
        dwell = _check(f"{where}.dwell_s", phase.dwell_s, 0.01, period, "s")
        gas, h = ln2_jet(distance)
        if phase.gas_temp_c is not None:
            gas = _check(f"{where}.gas_temp_c", phase.gas_temp_c, -196.0, 60.0, "C")
        if phase.heat_transfer_w_m2k is not None:
            h = _check(f"{where}.heat_transfer_w_m2k", phase.heat_transfer_w_m2k, 0.0, 1e5, "W/m2K")
        room = _table()["room_air"]
        out = []
        passes = math.ceil(duration / period - 1e-9)
        for k in range(passes):
            t0 = start + k * period
            t1 = min(end, t0 + dwell)
            out.append(Segment(t0, t1, index, heat_transfer_w_m2k=h, gas_temp_c=gas))
            t2 = min(end, t0 + period)
            if t2 > t1 + 1e-9:
                out.append(
                    Segment(
                        t1,
                        t2,
                        index,
                        heat_transfer_w_m2k=float(room["heat_transfer_w_m2k"]),
                        gas_temp_c=float(room["temp_c"]),
                    )
                )
        return out
    if isinstance(phase, ContactPhase):
        temp = _check(f"{where}.applicator_temp_c", phase.applicator_temp_c, -80.0, 60.0, "C")
        return [
            Segment(
                start, end, index, applicator=applicator_for(phase, where), applicator_temp_c=temp
            )
        ]
    raise InvalidInput(
        f"{where}.modality",
        getattr(phase, "modality", phase),
        "must be one of convective, cold-air, ln2-vapour, contact, ambient",
    )


def segments(phases: tuple[Phase, ...]) -> tuple[Segment, ...]:
    """All segments of the phases, in order, covering 0 .. the total duration."""
    if not phases:
        raise InvalidInput("phase", "[]", "at least one phase is required")
    plain = plain_conditions(phases)
    if plain is not None:
        # Built as the tuples they are: the named tuple's generated __new__ (with its
        # defaults) costs most of the time here (measured).
        boundaries, surface = plain
        return tuple(
            _new_tuple(
                Segment,
                (start, end, k, surface[4 * k], surface[4 * k + 1], 0.0, 0.0, None, 0.0),
            )
            for k, (start, end) in enumerate(itertools.pairwise(boundaries))
        )
    out: list[Segment] = []
    start = 0.0
    for index, phase in enumerate(phases):
        pieces = _phase_segments(phase, index, start)
        out.extend(pieces)
        start = pieces[-1].end_s
    return tuple(out)
