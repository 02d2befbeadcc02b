"""The thresholds a live session is guarded with, from their one sourced home each.

Clinical limits (floor, warning, maximum exposure per zone and modality) come from the
safety registry, :func:`cryoderm.clinical.limits.load_safety_limits` (data/thresholds.toml).
The interlock's own timing and sensor-validity parameters come from data/interlock.toml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cryoderm.clinical.limits import load_safety_limits
from cryoderm.data import load_table
from cryoderm.interlock.errors import InvalidInterlockInput
from cryoderm.interlock.model import GuardLimits


def technical_parameters() -> Mapping[str, Any]:
    """The parsed data/interlock.toml (timing and sensor validity, with sources)."""
    return load_table("interlock")


def guard_limits(zone: str, modality: str, **overrides: Any) -> GuardLimits:
    """The limits for one zone and modality; ``overrides`` replace named fields (tests, demos).

    Raises :class:`InvalidInterlockInput` for an unknown zone or modality."""
    registry = load_safety_limits()
    if zone not in registry.zones:
        raise InvalidInterlockInput(f"zone = {zone!r}: one of {', '.join(registry.zones)}")
    if modality not in registry.modalities:
        raise InvalidInterlockInput(
            f"modality = {modality!r}: one of {', '.join(registry.modalities)}"
        )
    tech = technical_parameters()
    bounds = registry.modality_limits(modality)
    exposure = registry.exposure_limit(zone, modality)
    limits = GuardLimits(
        floor_temp_c=bounds.floor.value,
        warning_temp_c=bounds.warning.value,
        max_exposure_s=exposure.max_exposure_s,
        no_valid_reading_s=float(tech["no_valid_reading"]["timeout_s"]),
        first_reading_grace_s=float(tech["startup"]["first_reading_grace_s"]),
        valid_min_c=float(tech["sensor"]["valid_min_c"]),
        valid_max_c=float(tech["sensor"]["valid_max_c"]),
        stuck_window_s=float(tech["sensor"]["stuck_window_s"]),
        stuck_tolerance_c=float(tech["sensor"]["stuck_tolerance_c"]),
        stuck_min_expected_change_c=float(tech["sensor"]["stuck_min_expected_change_c"]),
        prediction_window_s=float(tech["prediction"]["window_s"]),
        prediction_horizon_s=float(tech["prediction"]["horizon_s"]),
        prediction_min_readings=int(tech["prediction"]["min_readings"]),
        predicted_stop_within_s=float(tech["prediction"]["stop_within_s"]),
        silence_max_s=float(tech["alarm"]["silence_max_s"]),
        max_reading_rate_hz=float(tech["stream"]["max_rate_hz"]),
        sequence_slack=int(tech["stream"]["seq_slack"]),
        max_clock_skew_s=float(tech["heartbeat"]["max_clock_skew_s"]),
        warning_persist_s=float(tech["alarm"]["warning_persist_s"]),
        warning_clear_after_s=float(tech["alarm"]["warning_clear_after_s"]),
        sources=(
            ("floor_temp_c", f"{bounds.floor.name}: {bounds.floor.source}"),
            ("warning_temp_c", f"{bounds.warning.name}: {bounds.warning.source}"),
            ("max_exposure_s", exposure.source),
            ("technical", "cryoderm/data/interlock.toml"),
        ),
    )
    unknown = sorted(set(overrides) - set(GuardLimits.__dataclass_fields__))
    if unknown:
        raise InvalidInterlockInput(f"override {unknown[0]!r}: not a GuardLimits field")
    return replace(limits, **overrides) if overrides else limits
