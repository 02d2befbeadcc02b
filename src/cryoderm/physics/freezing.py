"""Freezing of tissue: latent heat and frozen properties by an apparent heat capacity.

Below the freezing point T_f the latent heat is released linearly over a small mushy range
(``numerics.mushy_range_k`` in data/freezing.toml); the kernel stores enthalpy, so the
release is exactly conservative. Conductivity and heat capacity blend linearly with the
frozen fraction; perfusion and metabolic heat stop in frozen tissue (docs/physics.md,
section 5). This module gives the numbers the kernel needs for a :class:`~cryoderm.physics.case.Freezing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryoderm.data import load_table
from cryoderm.physics.case import Freezing

# A freezing point no temperature can reach: turns the phase change off without branching.
NEVER_C = -300.0
# A moving freezing front releases its latent heat node by node; with backward-Euler steps
# (solver.py) cells and steps twice finer than the defaults keep that staircase within
# 0.04 K of the Neumann solution (docs/physics.md, section 5).
FREEZING_REFINEMENT = 2.0


@dataclass(frozen=True)
class PhaseChange:
    """What the kernel uses. freeze_point_c is NEVER_C when freezing is disabled."""

    enabled: bool
    freeze_point_c: float
    latent_heat_j_kg: float
    frozen_conductivity_w_mk: float
    frozen_specific_heat_j_kgk: float
    mushy_range_k: float
    risk_temp_c: float


def mushy_range_k() -> float:
    return float(load_table("freezing")["numerics"]["mushy_range_k"]["value"])


@lru_cache(maxsize=64)
def resolve(freezing: Freezing) -> PhaseChange:
    """The kernel's phase-change data (``freezing`` was checked against data/bounds.toml
    when it was built); the risk criterion uses freeze_point_c even when disabled."""
    return PhaseChange(
        enabled=freezing.enabled,
        freeze_point_c=freezing.freeze_point_c if freezing.enabled else NEVER_C,
        latent_heat_j_kg=freezing.latent_heat_j_kg if freezing.enabled else 0.0,
        frozen_conductivity_w_mk=freezing.frozen_conductivity_w_mk,
        frozen_specific_heat_j_kgk=freezing.frozen_specific_heat_j_kgk,
        mushy_range_k=mushy_range_k(),
        risk_temp_c=freezing.freeze_point_c,
    )
