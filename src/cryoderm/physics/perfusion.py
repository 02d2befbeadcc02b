"""Perfusion laws: the constant (basal) law and local cold-induced vasoconstriction.

local-cold (docs/physics.md, section 4)::

    omega = omega0 * m * (1 - frozen fraction)
    f(T)  = max(floor, min(1, 2 ** ((T - reference) / scale)))
    m     = f(T) while f(T) <= m (constriction follows the cold at once), otherwise m relaxes
            towards f(T) with time constant memory_s (the constriction outlasts the cold).

The kernel evaluates the law; this module resolves a :class:`~cryoderm.physics.case.Perfusion`
against the sourced defaults of ``data/perfusion.toml`` and validates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryoderm.data import load_table
from cryoderm.physics.case import Perfusion
from cryoderm.physics.errors import InvalidInput


@dataclass(frozen=True)
class PerfusionLaw:
    """The resolved law. local: vasoconstriction on; the other fields are then in use.

    reference_temp_c: local temperature of full basal perfusion (C); scale_k: temperature
    drop that halves perfusion (K); floor_fraction: lowest ratio to basal (0-1); memory_s:
    time constant of the release of constriction after rewarming (s, 0 = none)."""

    local: bool
    reference_temp_c: float
    scale_k: float
    floor_fraction: float
    memory_s: float

    def factor(self, temp_c: float) -> float:
        """The local factor f(T) at steady state (no memory), for documentation and tests."""
        if not self.local:
            return 1.0
        return max(
            self.floor_fraction, min(1.0, 2.0 ** ((temp_c - self.reference_temp_c) / self.scale_k))
        )


def default_value(name: str) -> float:
    return float(load_table("perfusion")["local_cold"][name]["value"])


@lru_cache(maxsize=64)
def resolve(perfusion: Perfusion) -> PerfusionLaw:
    """The law of ``perfusion`` with every unset parameter taken from data/perfusion.toml."""

    def pick(name: str, given: float | None) -> float:
        return default_value(name) if given is None else float(given)

    law = PerfusionLaw(
        local=perfusion.model == "local-cold",
        reference_temp_c=pick("reference_temp_c", perfusion.reference_temp_c),
        scale_k=pick("scale_k", perfusion.scale_k),
        floor_fraction=pick("floor_fraction", perfusion.floor_fraction),
        memory_s=pick("memory_s", perfusion.memory_s),
    )
    if perfusion.model not in ("constant", "local-cold"):
        raise InvalidInput("perfusion.model", perfusion.model, 'must be "constant" or "local-cold"')
    if not 0.5 <= law.scale_k <= 50.0:
        raise InvalidInput("perfusion.scale_k", law.scale_k, "must be within 0.5-50", "K")
    if not 0.0 < law.floor_fraction <= 1.0:
        raise InvalidInput("perfusion.floor_fraction", law.floor_fraction, "must be within (0, 1]")
    if not 0.0 <= law.memory_s <= 86400.0:
        raise InvalidInput("perfusion.memory_s", law.memory_s, "must be within 0-86400", "s")
    if not -10.0 <= law.reference_temp_c <= 45.0:
        raise InvalidInput(
            "perfusion.reference_temp_c", law.reference_temp_c, "must be within -10 to 45", "C"
        )
    return law
