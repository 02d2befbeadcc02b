"""The safety-limits registry: every temperature and time limit, with its source.

One registry (``data/thresholds.toml``) is read by the planner, the interlock and the
reports, so a limit is defined and sourced in exactly one place::

    limits = load_safety_limits()
    limits.floor_temp_c("cheek", "ln2-vapour")     # 2.0: the interlock stops here
    limits.threshold("analgesia").value            # 13.6 (C), with .source and .evidence

Temperatures are skin-surface temperatures in degrees C; times are seconds.
Every row cites keys of data/references.toml (docs/references.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from cryoderm.clinical.errors import InvalidAnswer
from cryoderm.data import load_table


@dataclass(frozen=True)
class Threshold:
    """One named threshold: ``value`` in ``unit`` (C for temperatures, cm, s).

    source: where the number comes from: keys of data/references.toml, or
    "assumption (cryoderm choice): ..." with its reasoning.
    evidence: how strong that source is, in plain words."""

    name: str
    value: float
    unit: str
    source: str
    evidence: str


@dataclass(frozen=True)
class ExposureLimit:
    """The maximum exposure of one zone (one spot) to one modality in one session, in s."""

    modality: str
    zone: str
    max_exposure_s: float
    source: str
    evidence: str


@dataclass(frozen=True)
class ModalityLimits:
    """The interlock's stop (floor) and warning thresholds for one modality."""

    modality: str
    floor: Threshold
    warning: Threshold


@dataclass(frozen=True, eq=False)
class SafetyLimits:
    """The registry, validated at load. Zones and modalities are the identifiers of data/thresholds.toml."""

    zones: tuple[str, ...]
    modalities: tuple[str, ...]
    _thresholds: Mapping[str, Threshold]
    _modality_limits: Mapping[str, ModalityLimits]
    _exposure: Mapping[tuple[str, str], ExposureLimit]

    def threshold(self, name: str) -> Threshold:
        """The named threshold; an unknown name is an :class:`InvalidAnswer` listing the names."""
        try:
            return self._thresholds[name]
        except KeyError:
            raise InvalidAnswer(
                "threshold", name, "unknown; known: " + ", ".join(sorted(self._thresholds))
            ) from None

    def all_thresholds(self) -> tuple[Threshold, ...]:
        """Every threshold, in the order of the data file."""
        return tuple(self._thresholds.values())

    def modality_limits(self, modality: str) -> ModalityLimits:
        return self._modality_limits[self._check_modality(modality)]

    def floor_temp_c(self, zone: str, modality: str) -> float:
        """The skin temperature (C) at which the interlock must stop this modality on this zone."""
        self._check_zone(zone)
        return self.modality_limits(modality).floor.value

    def warning_temp_c(self, zone: str, modality: str) -> float:
        """The skin temperature (C) at which the interlock warns (above the floor)."""
        self._check_zone(zone)
        return self.modality_limits(modality).warning.value

    def exposure_limit(self, zone: str, modality: str) -> ExposureLimit:
        """The per-zone, per-spot maximum exposure with its source."""
        zone = self._check_zone(zone)
        modality = self._check_modality(modality)
        return self._exposure.get((modality, zone)) or self._exposure[(modality, "*")]

    def max_exposure_s(self, zone: str, modality: str) -> float:
        """The maximum time (s) one zone may be exposed to the modality in one session."""
        return self.exposure_limit(zone, modality).max_exposure_s

    def _check_zone(self, zone: str) -> str:
        if zone not in self.zones:
            raise InvalidAnswer("zone", zone, "one of " + ", ".join(self.zones))
        return zone

    def _check_modality(self, modality: str) -> str:
        if modality not in self.modalities:
            raise InvalidAnswer("modality", modality, "one of " + ", ".join(self.modalities))
        return modality


def _threshold(row: Mapping[str, Any]) -> Threshold:
    return Threshold(
        name=str(row["name"]),
        value=float(row["value"]),
        unit=str(row["unit"]),
        source=str(row["source"]),
        evidence=str(row["evidence"]),
    )


def build_safety_limits(table: Mapping[str, Any]) -> SafetyLimits:
    """Build and check the registry from a parsed thresholds table (pure; for tests too).

    Checks: every modality has a floor and a warning naming known thresholds, the warning
    lies above the floor, and every modality has a default exposure limit."""
    thresholds = {row["name"]: _threshold(row) for row in table["threshold"]}
    zones = tuple(table["zones"])
    modalities = tuple(table["modalities"])
    modality_limits: dict[str, ModalityLimits] = {}
    for modality in modalities:
        entry = table["modality"][modality]
        floor, warning = thresholds[entry["floor"]], thresholds[entry["warning"]]
        if warning.value <= floor.value:
            raise ValueError(f"thresholds: {modality} warning must lie above its floor")
        modality_limits[modality] = ModalityLimits(modality, floor, warning)
    exposure: dict[tuple[str, str], ExposureLimit] = {}
    for row in table["exposure_limit"]:
        limit = ExposureLimit(
            modality=row["modality"],
            zone=row["zone"],
            max_exposure_s=float(row["max_exposure_s"]),
            source=row["source"],
            evidence=row["evidence"],
        )
        if limit.modality not in modalities or (limit.zone != "*" and limit.zone not in zones):
            raise ValueError(
                f"thresholds: exposure limit for unknown {limit.modality}/{limit.zone}"
            )
        exposure[(limit.modality, limit.zone)] = limit
    missing = [m for m in modalities if (m, "*") not in exposure]
    if missing:
        raise ValueError(f"thresholds: no default exposure limit for {missing}")
    return SafetyLimits(
        zones=zones,
        modalities=modalities,
        _thresholds=MappingProxyType(thresholds),
        _modality_limits=MappingProxyType(modality_limits),
        _exposure=MappingProxyType(exposure),
    )


@cache
def load_safety_limits() -> SafetyLimits:
    """The package's safety-limits registry (``data/thresholds.toml``), cached per process."""
    return build_safety_limits(load_table("thresholds"))
