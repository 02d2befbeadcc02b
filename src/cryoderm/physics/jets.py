"""A round cold-air jet from a nozzle at a stated distance: heat transfer and air temperature
at the skin (docs/physics.md, section 3.2).

Heat transfer is the area-averaged Nusselt number of a single round nozzle (Martin1977)::

    Nu / Pr^0.42 = G(r/D, H/D) F(Re)
    F = 2 Re^0.5 (1 + 0.005 Re^0.55)^0.5
    G = (D/r) (1 - 1.1 D/r) / (1 + 0.1 (H/D - 6) D/r)

with Re = v D / nu at the nozzle exit, H the nozzle-to-skin distance and r the radius of the
disc averaged over (data/exposures.toml [cold_air_jet] gives the range the correlation holds
in and the radius a column case stands for). The air reaching the skin has mixed with room
air: on the jet's axis T = T_room + (T_exit - T_room) min(1, K D / H) (Pope2000).

A device (data/exposures.toml [cold_air_device]) gives the exit temperature, the nozzle
diameter and the exit speed of each setting; every figure of a device is a declared
assumption. Everything here is pure arithmetic on the sourced tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics.errors import InvalidInput

KELVIN = 273.15


@cache
def _jet_table() -> dict[str, Any]:
    return dict(load_table("exposures")["cold_air_jet"])


@cache
def device_names() -> tuple[str, ...]:
    """The cold-air devices of data/exposures.toml [cold_air_device]."""
    return tuple(load_table("exposures")["cold_air_device"])


def device(name: str) -> dict[str, Any]:
    """The table of one cold-air device (KeyError for an unknown name: the phase checks it)."""
    return dict(load_table("exposures")["cold_air_device"][name])


@dataclass(frozen=True)
class AirProperties:
    conductivity_w_mk: float
    kinematic_viscosity_m2_s: float
    prandtl: float


def air_properties(temp_c: float) -> AirProperties:
    """Air at 1 atm, interpolated linearly in temperature (Bergman2011 Table A.4); clamped to
    the table's ends (150-350 K, beyond every air temperature a device delivers)."""
    table = load_table("exposures")["air_properties"]
    kelvin = temp_c + KELVIN
    temps = table["temp_k"]

    def at(name: str) -> float:
        return float(np.interp(kelvin, temps, table[name]))

    return AirProperties(at("conductivity_w_mk"), at("kinematic_viscosity_m2_s"), at("prandtl"))


def martin_nusselt(
    reynolds: float, distance_diameters: float, radius_diameters: float, prandtl: float
) -> float:
    """Area-averaged Nusselt number (on the nozzle diameter) over the disc of radius r under a
    single round nozzle at distance H (Martin1977); no range check (see :func:`check_range`)."""
    inverse = 1.0 / radius_diameters
    g = inverse * (1.0 - 1.1 * inverse) / (1.0 + 0.1 * (distance_diameters - 6.0) * inverse)
    f = 2.0 * math.sqrt(reynolds) * math.sqrt(1.0 + 0.005 * reynolds**0.55)
    return g * f * prandtl**0.42


@dataclass(frozen=True)
class Nozzle:
    """A round nozzle blowing air at exit_temp_c with exit_speed_m_s, distance_mm from the skin."""

    diameter_mm: float
    distance_mm: float
    exit_speed_m_s: float
    exit_temp_c: float

    @property
    def distance_diameters(self) -> float:
        return self.distance_mm / self.diameter_mm

    @property
    def reynolds(self) -> float:
        nu = air_properties(self.exit_temp_c).kinematic_viscosity_m2_s
        return self.exit_speed_m_s * self.diameter_mm * 1e-3 / nu


def check_range(nozzle: Nozzle, where: str) -> None:
    """Refuse a nozzle outside the range the correlation was fitted in (Martin1977), naming
    the key the user can change: the distance (in nozzle diameters) or the exit speed (Re)."""
    table = _jet_table()
    low, high = table["min_distance_diameters"], table["max_distance_diameters"]
    ratio = nozzle.distance_diameters
    if not low <= ratio <= high:
        raise InvalidInput(
            f"{where}.nozzle_distance_mm",
            nozzle.distance_mm,
            f"from {low:g} to {high:g} nozzle diameters for the impinging-jet correlation "
            f"(Martin1977): {low * nozzle.diameter_mm:g} to {high * nozzle.diameter_mm:g} mm "
            f"for a {nozzle.diameter_mm:g} mm nozzle (here {ratio:.3g} diameters)",
            "mm",
        )
    low, high = table["min_reynolds"], table["max_reynolds"]
    reynolds = nozzle.reynolds
    if not low <= reynolds <= high:
        nu = air_properties(nozzle.exit_temp_c).kinematic_viscosity_m2_s
        d = nozzle.diameter_mm * 1e-3
        raise InvalidInput(
            f"{where}.exit_speed_m_s",
            nozzle.exit_speed_m_s,
            f"a nozzle Reynolds number from {low:g} to {high:g} for the impinging-jet "
            f"correlation (Martin1977): {low * nu / d:.3g} to {high * nu / d:.3g} m/s for a "
            f"{nozzle.diameter_mm:g} mm nozzle at {nozzle.exit_temp_c:+g} °C (here Re = "
            f"{reynolds:.3g})",
            "m/s",
        )


def column_radius_diameters() -> float:
    """The radius (in nozzle diameters) of the disc a column case stands for."""
    return float(_jet_table()["column_radius_diameters"]["value"])


def heat_transfer_w_m2k(nozzle: Nozzle, radius_diameters: float | None = None) -> float:
    """Area-averaged h over the disc of radius_diameters (default: the column's disc)."""
    props = air_properties(nozzle.exit_temp_c)
    radius = column_radius_diameters() if radius_diameters is None else radius_diameters
    nu = martin_nusselt(nozzle.reynolds, nozzle.distance_diameters, radius, props.prandtl)
    return nu * props.conductivity_w_mk / (nozzle.diameter_mm * 1e-3)


def air_temp_at_skin_c(nozzle: Nozzle, room_temp_c: float) -> float:
    """The jet's air on its axis at the skin, mixed with room air (Pope2000)."""
    k = float(_jet_table()["temperature_decay_constant"]["value"])
    reach = min(1.0, k / nozzle.distance_diameters)
    return room_temp_c + (nozzle.exit_temp_c - room_temp_c) * reach


def device_nozzle(
    name: str,
    setting: float,
    distance_mm: float,
    where: str,
    diameter_mm: float | None = None,
    exit_speed_m_s: float | None = None,
    exit_temp_c: float | None = None,
) -> Nozzle:
    """The nozzle of device ``name`` at ``setting`` (overrides for a measured device)."""
    table = device(name)
    settings = [float(s) for s in table["settings"]]
    if exit_speed_m_s is None:
        if setting not in settings:
            allowed = ", ".join(f"{s:g}" for s in settings)
            raise InvalidInput(
                f"{where}.setting", setting, f"one of the settings of {name}: {allowed}"
            )
        exit_speed_m_s = float(table["exit_speed_m_s"][settings.index(setting)])
    return Nozzle(
        diameter_mm=float(table["nozzle_diameter_mm"]) if diameter_mm is None else diameter_mm,
        distance_mm=distance_mm,
        exit_speed_m_s=exit_speed_m_s,
        exit_temp_c=float(table["exit_temp_c"]) if exit_temp_c is None else exit_temp_c,
    )
