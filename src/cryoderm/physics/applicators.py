"""Contact applicators as they are used: the slab's nodes, its starting state, its melt water,
a barrier between it and the skin, and a pack given by its mass (docs/physics.md, section 3).

An applicator is a 1-D slab insulated at its back; its state is its enthalpy, so a melting
applicator (ice) carries its latent heat. The latent heat is released over the mushy range
(data/freezing.toml ``numerics.mushy_range_k``, the regularisation the tissue's freezing uses)
CENTRED on the melting point: ice "at 0 °C" starts fully solid at the bottom of that range
(0.25 K below it) and holds its face within a quarter of a kelvin of 0 °C until its latent heat
is spent. (The range once lay wholly below the melting point, so that ice at 0 °C was water.)

What becomes of the melt water is the applicator's ``melt_water`` (data/exposures.toml):

- ``stays``: a stagnant layer of melt between the ice and the skin, conducting as water
  (a thawed layer of frozen peas);
- ``mixes``: the melt stays among the ice (an ice-water bag, a crushed-ice pack), so the
  mixture is at its melting point while ice remains: where the slab has melted (wholly or
  in part) it conducts as if isothermal (``[contact] mixed_conductivity_w_mk``); solid ice
  (a pack from the freezer) conducts as ice;
- ``drains``: the melt runs off (ice massage): the melted part conducts as the mixed slab and
  holds almost no heat (``[contact] drained_capacity_fraction``).

A barrier (cloth, towel, film) adds its resistance, thickness / conductivity, in series with
the contact conductance; its heat capacity is neglected (data/exposures.toml ``[barrier]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from cryoderm.data import load_table

MELT_WATER = ("stays", "mixes", "drains")
# The start temperature of a segment whose applicator carries its state from the previous
# segment (a moving applicator's next stroke): below kernels.CARRY_BELOW_C.
CARRY_C = -1.0e30
# A melting point no temperature reaches: no phase change (as freezing.NEVER_C).
NEVER_C = -300.0


@dataclass(frozen=True)
class Applicator:
    """A finite contact body: a 1-D slab insulated at its back.

    Solid properties below the melting point, melted ones above; melting_point_c None
    means no phase change. contact_conductance_w_m2k includes a barrier's resistance."""

    conductivity_w_mk: float
    density_kg_m3: float
    specific_heat_j_kgk: float
    thickness_mm: float
    contact_conductance_w_m2k: float
    melting_point_c: float | None = None
    latent_heat_j_kg: float = 0.0
    melted_conductivity_w_mk: float = 0.0
    melted_specific_heat_j_kgk: float = 0.0
    melt_water: str = "stays"

    @property
    def melts(self) -> bool:
        return self.melting_point_c is not None


def _contact() -> dict[str, Any]:
    return dict(load_table("exposures")["contact"])


def materials() -> dict[str, Any]:
    return dict(load_table("exposures")["applicator"])


def barriers() -> dict[str, Any]:
    return dict(load_table("exposures").get("barrier", {}))


def series_conductance_w_m2k(contact_w_m2k: float, thickness_mm: float, k_w_mk: float) -> float:
    """The contact conductance with a barrier of this thickness and conductivity in series."""
    return 1.0 / (1.0 / contact_w_m2k + thickness_mm * 1e-3 / k_w_mk)


def pack_thickness_mm(mass_kg: float, area_cm2: float, density_kg_m3: float) -> float:
    """The thickness of a pack of this mass spread over this area at its bulk density."""
    return mass_kg / (density_kg_m3 * area_cm2 * 1e-4) * 1e3


def start_temp_c(app: Applicator, temp_c: float, ice_fraction: float, mush_k: float) -> float:
    """The slab's starting node temperature for an applicator stated at ``temp_c`` with this
    ice fraction (by mass; used at the melting point only): below the melting point it is all
    solid, at least half the mushy range below it (the solid edge of the centred range); at
    the melting point the temperature in the range whose frozen fraction is ``ice_fraction``."""
    if app.melting_point_c is None:
        return temp_c
    melt = app.melting_point_c
    top = melt + 0.5 * mush_k
    if temp_c < melt:
        return min(temp_c, top - mush_k)
    if temp_c == melt:
        return top - ice_fraction * mush_k
    return max(temp_c, top)


@lru_cache(maxsize=256)
def slab_nodes(app: Applicator, cells: int, mush_k: float) -> dict[str, np.ndarray]:
    """Vertex nodes of the applicator slab, back face first, finest at the contact face: per
    node its capacity melted (cl) and solid (cs, J/(m2 K)), latent heat (lat, J/m2), the top
    of its melting range (tf, C; the range is centred on the melting point) and the
    conductance to the next node melted (gl) and solid (gs, W/(m2 K); the last is the contact
    face's, set by the kernel)."""
    table = _contact()
    # Graded 1.5 per cell for the default cells; a refined slab (more cells) keeps the same
    # grading over its length (ratio 1.5 ** (base / cells)), so that refinement halves cells.
    ratio = 1.5 ** (float(table["applicator_cells"]) / cells)
    weights = ratio ** np.arange(cells)[::-1]
    dx = app.thickness_mm * 1e-3 * weights / weights.sum()
    melts = app.melting_point_c is not None

    def half(per_cell: np.ndarray) -> np.ndarray:
        out = np.zeros(cells + 1)
        out[:-1] += 0.5 * per_cell * dx
        out[1:] += 0.5 * per_cell * dx
        return out

    rho = np.full(cells, app.density_kg_m3)
    k_solid = app.conductivity_w_mk
    k_melted = app.melted_conductivity_w_mk if melts else k_solid
    c_melted = app.melted_specific_heat_j_kgk if melts else app.specific_heat_j_kgk
    if melts and app.melt_water in ("mixes", "drains"):
        # Solid ice conducts as ice (a pack from the freezer); where it melts, the melt mixes
        # with the remaining ice or runs off, and is no barrier.
        k_melted = float(table["mixed_conductivity_w_mk"])
    if melts and app.melt_water == "drains":
        c_melted = c_melted * float(table["drained_capacity_fraction"])
    solid_c = half(rho * app.specific_heat_j_kgk)
    melted_c = half(rho * c_melted)
    top = app.melting_point_c + 0.5 * mush_k if app.melting_point_c is not None else NEVER_C
    nodes = {
        "cl": melted_c,
        "cs": solid_c,
        "lat": half(rho * app.latent_heat_j_kg) if melts else np.zeros(cells + 1),
        "tf": np.full(cells + 1, top),
        "gl": np.append(k_melted / dx, 0.0),
        "gs": np.append(k_solid / dx, 0.0),
    }
    for values in nodes.values():
        values.flags.writeable = False
    return nodes


def stored_heat_j_m2(app: Applicator, temps_c: np.ndarray, cells: int, mush_k: float) -> float:
    """The slab's enthalpy per area (J/m2) at these node temperatures (back first), relative
    to all solid at the bottom of its melting range: the energy balance with the applicator
    included (tests/physics/test_applicators.py)."""
    nodes = slab_nodes(app, cells, mush_k)
    total = 0.0
    for i, t in enumerate(np.asarray(temps_c, dtype=np.float64)):
        cl, cs, lat, tf = nodes["cl"][i], nodes["cs"][i], nodes["lat"][i], nodes["tf"][i]
        low = tf - mush_k
        if t <= low:
            total += cs * (t - low)
            continue
        cm = 0.5 * (cl + cs) + lat / mush_k
        total += cm * (t - low) if t < tf else cm * mush_k + cl * (t - tf)
    return total
