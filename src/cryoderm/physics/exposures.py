"""Exposure modalities as boundary conditions: phases become segments of constant conditions.

Every phase becomes one or more :class:`Segment` (an LN2 sweep becomes a pulse train of
jet and room-air segments); the solver steps exactly onto every segment boundary and
restarts its time stepping there. The surface condition of a segment is

    q_in = h (T_gas - T_s) + eps sigma (T_rad^4 - T_s^4)          (no contact)
    q_in = h_contact (T_applicator_face - T_s)                      (contact)

with every default and correlation from data/exposures.toml (docs/physics.md, section 3).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, NamedTuple

from cryoderm.data import load_table
from cryoderm.physics import applicators, jets
from cryoderm.physics.applicators import Applicator
from cryoderm.physics.case import (
    AmbientPhase,
    ColdAirPhase,
    ContactPhase,
    ConvectivePhase,
    Ln2VapourPhase,
    Phase,
)
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.freezing import mushy_range_k

SIGMA_W_M2K4 = 5.670374419e-8


class Segment(NamedTuple):
    """Constant surface conditions from start_s to end_s (s, from the start of phase 1).

    heat_transfer_w_m2k and gas_temp_c: the convective part; eps_sigma_w_m2k4 > 0 adds
    exact radiation to radiant_temp_c; applicator set: a contact segment (no convection).
    applicator_temp_c is the slab's starting node temperature (applicators.start_temp_c);
    applicators.CARRY_C: the applicator carries its state from the previous segment (a
    moving applicator's next stroke). A named tuple, not a dataclass: a batch of protocols builds thousands (measured: a
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


def cold_air_heat_transfer_w_m2k(air_speed_m_s: float) -> float:
    """Facial forced convection (Ichihara 1997 via JOS-3), natural convection at low speed."""
    table = _table()["cold_air"]
    if air_speed_m_s < table["min_forced_speed_m_s"]:
        return float(table["natural_w_m2k"])
    return float(table["forced_coefficient_w_m2k"] * air_speed_m_s ** table["forced_exponent"])


def phase_nozzle(phase: ColdAirPhase) -> jets.Nozzle:
    """The nozzle of a cold-air phase with nozzle_distance_mm (checked when it was built)."""
    assert phase.nozzle_distance_mm is not None
    if phase.device is None:
        return jets.Nozzle(
            diameter_mm=float(phase.nozzle_diameter_mm),  # type: ignore[arg-type]
            distance_mm=float(phase.nozzle_distance_mm),
            exit_speed_m_s=float(phase.exit_speed_m_s),  # type: ignore[arg-type]
            exit_temp_c=float(phase.gas_temp_c),  # type: ignore[arg-type]
        )
    return jets.device_nozzle(
        phase.device,
        math.nan if phase.setting is None else float(phase.setting),
        float(phase.nozzle_distance_mm),
        "phase",
        diameter_mm=phase.nozzle_diameter_mm,
        exit_speed_m_s=phase.exit_speed_m_s,
        exit_temp_c=phase.gas_temp_c,
    )


def cold_air_surface(phase: ColdAirPhase) -> tuple[float, float, float]:
    """(h W/m2K, air temperature at the skin C, radiant temperature C) of a cold-air phase:
    wind by the facial correlation, a nozzle by the impinging-jet correlation (jets.py)."""
    if phase.nozzle_distance_mm is None:
        gas = float(phase.gas_temp_c)  # type: ignore[arg-type]
        h = cold_air_heat_transfer_w_m2k(float(phase.air_speed_m_s))  # type: ignore[arg-type]
        radiant = gas if phase.radiant_temp_c is None else float(phase.radiant_temp_c)
        return h, gas, radiant
    nozzle = phase_nozzle(phase)
    room = float(_table()["room_air"]["temp_c"])
    gas = jets.air_temp_at_skin_c(nozzle, room)
    radiant = room if phase.radiant_temp_c is None else float(phase.radiant_temp_c)
    return jets.heat_transfer_w_m2k(nozzle), gas, radiant


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


def ln2_sweep_defaults(distance_cm: float | None = None) -> tuple[float, float, float]:
    """(distance cm, sweep period s, dwell s) a case file takes when it leaves them out:
    the wand at the default working distance, sweeping its footprint (nozzle + 2 x spreading
    rate x distance) over a path at a steady speed (data/exposures.toml [ln2_vapour.sweep])."""
    jet = _table()["ln2_vapour"]
    sweep = jet["sweep"]
    distance = float(sweep["distance_cm"]["value"]) if distance_cm is None else distance_cm
    speed = float(sweep["wand_speed_cm_s"]["value"])
    footprint = jet["nozzle_diameter_cm"] + 2.0 * sweep["spreading_rate"]["value"] * distance
    period = float(sweep["path_length_cm"]["value"]) / speed
    return distance, period, min(period, footprint / speed)


def applicator_for(phase: ContactPhase, where: str) -> Applicator:
    """The applicator of a contact phase: a named material with per-phase overrides, a pack
    given by its mass over an area, a barrier in series with the contact (physics/applicators.py).
    The phase checked its values and their combinations when it was built."""
    materials = applicators.materials()
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
    # A test keeps the materials of data/exposures.toml within the limits of data/bounds.toml.
    values = {key: float(base[key]) for key in overrides}
    if phase.mass_kg is not None and phase.area_cm2 is not None:
        values["thickness_mm"] = applicators.pack_thickness_mm(
            float(phase.mass_kg), float(phase.area_cm2), values["density_kg_m3"]
        )
    if phase.barrier is not None and phase.barrier != "none":
        layer = applicators.barriers()[phase.barrier]
        thickness = (
            float(layer["thickness_mm"])
            if phase.barrier_thickness_mm is None
            else float(phase.barrier_thickness_mm)
        )
        values["contact_conductance_w_m2k"] = applicators.series_conductance_w_m2k(
            values["contact_conductance_w_m2k"], thickness, float(layer["conductivity_w_mk"])
        )
    app = Applicator(
        conductivity_w_mk=values["conductivity_w_mk"],
        density_kg_m3=values["density_kg_m3"],
        specific_heat_j_kgk=values["specific_heat_j_kgk"],
        thickness_mm=values["thickness_mm"],
        contact_conductance_w_m2k=values["contact_conductance_w_m2k"],
    )
    if "melting_point_c" in base:
        return dataclasses.replace(
            app,
            melting_point_c=float(base["melting_point_c"]),
            latent_heat_j_kg=float(base["latent_heat_j_kg"]),
            melted_conductivity_w_mk=float(base["melted_conductivity_w_mk"]),
            melted_specific_heat_j_kgk=float(base["melted_specific_heat_j_kgk"]),
            melt_water=str(phase.melt_water or base.get("melt_water", "stays")),
        )
    return app


def own_contact_conductance_w_m2k(phase: ContactPhase) -> float:
    """The applicator's own contact conductance (the phase's or its material's), without a
    barrier: what the phase's contact_conductance_w_m2k stands for."""
    if phase.contact_conductance_w_m2k is not None:
        return float(phase.contact_conductance_w_m2k)
    return float(applicators.materials()[phase.applicator]["contact_conductance_w_m2k"])


def ice_fraction(phase: ContactPhase) -> float:
    """The stated ice fraction (by mass) of a melting applicator at its melting point: the
    phase's, else the material's, else all ice."""
    if phase.ice_fraction is not None:
        return float(phase.ice_fraction)
    return float(applicators.materials().get(phase.applicator, {}).get("ice_fraction", 1.0))


def plain_conditions(phases: tuple[Phase, ...]) -> tuple[tuple[float, ...], list[float]] | None:
    """For phases that are all plain (convective or ambient phases whose values are floats
    within their limits, checked when the phases were built: the common case), the
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
        if not (type(duration) is float and type(temp) is float and type(h) is float):
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
    # Every value was checked against data/bounds.toml when the phase was built.
    duration = float(phase.duration_s)
    end = start + duration
    if isinstance(phase, ConvectivePhase | AmbientPhase):
        temp = phase.gas_temp_c if isinstance(phase, ConvectivePhase) else phase.ambient_temp_c
        h = float(phase.heat_transfer_w_m2k)
        return [Segment(start, end, index, heat_transfer_w_m2k=h, gas_temp_c=float(temp))]
    if isinstance(phase, ColdAirPhase):
        h, gas, radiant = cold_air_surface(phase)
        eps = float(_table()["cold_air"]["skin_emissivity"])
        return [
            Segment(
                start,
                end,
                index,
                heat_transfer_w_m2k=h,
                gas_temp_c=gas,
                eps_sigma_w_m2k4=eps * SIGMA_W_M2K4,
                radiant_temp_c=radiant,
            )
        ]
    if isinstance(phase, Ln2VapourPhase):
        period = float(phase.sweep_period_s)
        dwell = float(phase.dwell_s)
        gas, h = ln2_jet(float(phase.distance_cm))
        if phase.gas_temp_c is not None:
            gas = float(phase.gas_temp_c)
        if phase.heat_transfer_w_m2k is not None:
            h = float(phase.heat_transfer_w_m2k)
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
        app = applicator_for(phase, where)
        temp = applicators.start_temp_c(
            app, float(phase.applicator_temp_c), ice_fraction(phase), mushy_range_k()
        )
        fraction = float(phase.contact_fraction)
        if fraction >= 1.0:
            return [Segment(start, end, index, applicator=app, applicator_temp_c=temp)]
        # A moving applicator (roller, stamp, ice massage): each stroke touches the spot for
        # contact_fraction of stroke_period_s, room air between; the applicator carries its
        # state from stroke to stroke (applicators.CARRY_C) and recovers by conduction within itself.
        assert phase.stroke_period_s is not None  # the phase checked it
        period = float(phase.stroke_period_s)
        room = _table()["room_air"]
        strokes = []
        for k in range(math.ceil(duration / period - 1e-9)):
            t0 = start + k * period
            t1 = min(end, t0 + fraction * period)
            start_c = temp if k == 0 else applicators.CARRY_C
            strokes.append(Segment(t0, t1, index, applicator=app, applicator_temp_c=start_c))
            t2 = min(end, t0 + period)
            if t2 > t1 + 1e-9:
                strokes.append(
                    Segment(
                        t1,
                        t2,
                        index,
                        heat_transfer_w_m2k=float(room["heat_transfer_w_m2k"]),
                        gas_temp_c=float(room["temp_c"]),
                    )
                )
        return strokes
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
