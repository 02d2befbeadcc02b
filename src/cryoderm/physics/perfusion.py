"""Perfusion laws: the constant (basal) law and local cold-induced vasoconstriction.

local-cold (docs/physics.md, section 4)::

    omega = omega0 * m * (1 - frozen fraction)
    f(T)  = max(floor, min(1, 2 ** ((T - reference) / scale)))
    m     = f(T) while f(T) <= m (constriction follows the cold at once), otherwise m relaxes
            towards f(T) with time constant memory_s (the constriction outlasts the cold).

The kernel evaluates the law; this module resolves a :class:`~cryoderm.physics.case.Perfusion`
against the sourced defaults of ``data/perfusion.toml``. A facial zone may
have its own defaults there (``[zone.<name>]``): forehead skin has no vasoconstrictor nerves
and constricts in the cold only by the direct effect of cold on its vessels (Hertzman1942),
so its law is weaker. A value given in the case wins over both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryoderm.data import load_table
from cryoderm.physics.bounds import bound
from cryoderm.physics.case import Perfusion


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
    """The sourced default of a local-cold parameter (data/perfusion.toml, through the bounds
    table that documents it)."""
    return float(bound(f"perfusion.{name}").default)  # type: ignore[arg-type]


def zone_value(name: str, zone: str | None) -> float | None:
    """The zone's own default of a local-cold parameter (data/perfusion.toml [zone.<name>]),
    None where the zone follows the general law."""
    entry = load_table("perfusion").get("zone", {}).get(zone, {}).get(name) if zone else None
    return None if entry is None else float(entry["value"])


@lru_cache(maxsize=64)
def resolve(perfusion: Perfusion, zone: str | None = None) -> PerfusionLaw:
    """The law of ``perfusion`` with every unset parameter taken from data/perfusion.toml:
    the zone's row where it has one (``zone``: the tissue's built-in zone), else the general
    (``perfusion`` was checked against data/bounds.toml when it was built)."""

    def pick(name: str, given: float | None) -> float:
        if given is not None:
            return float(given)
        own = zone_value(name, zone)
        return default_value(name) if own is None else own

    return PerfusionLaw(
        local=perfusion.model == "local-cold",
        reference_temp_c=pick("reference_temp_c", perfusion.reference_temp_c),
        scale_k=pick("scale_k", perfusion.scale_k),
        floor_fraction=pick("floor_fraction", perfusion.floor_fraction),
        memory_s=pick("memory_s", perfusion.memory_s),
    )
