"""Building case documents for the measured conditions, and reading results back.

Cases are written as ``cryoderm-case/1`` documents and parsed by the public parser, so
every comparison is something a user could run with ``cryoderm simulate``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics.case import Case
from cryoderm.physics.casefile import parse_case
from cryoderm.physics.results import SimulationResult

FORMAT = "cryoderm-case/1"
CORE_TEMP_C = 37.0


def measurements() -> dict[str, Any]:
    return load_table("measurements")


def target(target_id: str) -> dict[str, Any]:
    """The measured target ``target_id`` of data/measurements.toml."""
    for entry in measurements()["target"]:
        if entry["id"] == target_id:
            return dict(entry)
    raise KeyError(target_id)


def limb_tissue(fat_mm: float, muscle_mm: float | None = None) -> dict[str, Any]:
    """Explicit limb layers of measurements.toml [site.limb] with ``fat_mm`` of fat and
    ``muscle_mm`` of muscle to the deep boundary (None: the site's default)."""
    site = measurements()["site"]["limb"]
    layers = []
    for name in ("epidermis", "dermis", "fat", "muscle"):
        layer = {"name": name, **site[name]}
        if name == "fat":
            layer["thickness_mm"] = fat_mm
        if name == "muscle":
            layer["thickness_mm"] = site["muscle_to_core_mm"] if muscle_mm is None else muscle_mm
        layers.append(layer)
    return {"layer": layers, "core_temp_c": CORE_TEMP_C, "arterial_temp_c": CORE_TEMP_C}


def itis_tissue() -> dict[str, Any]:
    """Homogeneous IT'IS skin, semi-infinite in effect (measurements.toml [site.itis-skin])."""
    site = measurements()["site"]["itis-skin"]
    return {
        "layer": [{"name": "skin", **site["skin"]}],
        "blood": dict(site["blood"]),
        "core_temp_c": site["core_temp_c"],
        "arterial_temp_c": CORE_TEMP_C,
    }


def zone_tissue(zone: str) -> dict[str, Any]:
    return {"zone": zone}


def clamp_initial(temp_c: float, h_w_m2k: float) -> dict[str, Any]:
    """A steady start with the skin held near ``temp_c`` (a local heating/cooling unit)."""
    return {"state": "steady", "ambient_temp_c": temp_c, "heat_transfer_w_m2k": h_w_m2k}


ROOM_INITIAL = {"state": "steady", "ambient_temp_c": 22.0, "heat_transfer_w_m2k": 10.0}


def build(
    tissue: Mapping[str, Any],
    phases: Sequence[Mapping[str, Any]],
    *,
    initial: Mapping[str, Any] = ROOM_INITIAL,
    perfusion: str | Mapping[str, Any] = "local-cold",
    sample_every_s: float = 1.0,
    probes: Sequence[tuple[str, float]] = (("surface", 0.0),),
    full_field: bool = False,
    title: str = "",
) -> Case:
    """A Case from the parts of a case document (see docs/case-file.md)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "title": title,
        "tissue": dict(tissue),
        "perfusion": {"model": perfusion} if isinstance(perfusion, str) else dict(perfusion),
        "initial": dict(initial),
        "phase": [dict(phase) for phase in phases],
        "output": {
            "sample_every_s": sample_every_s,
            "full_field": full_field,
            "probe": [{"name": name, "depth_mm": depth} for name, depth in probes],
        },
    }
    return parse_case(doc, source=title or "<validation>")


def convective(gas_temp_c: float, h_w_m2k: float, duration_s: float) -> dict[str, Any]:
    return {
        "modality": "convective",
        "gas_temp_c": gas_temp_c,
        "heat_transfer_w_m2k": h_w_m2k,
        "duration_s": duration_s,
    }


def ambient(duration_s: float, temp_c: float = 22.0, h_w_m2k: float = 10.0) -> dict[str, Any]:
    return {
        "modality": "ambient",
        "ambient_temp_c": temp_c,
        "heat_transfer_w_m2k": h_w_m2k,
        "duration_s": duration_s,
    }


def layer_span_mm(case: Case, name: str) -> tuple[float, float]:
    """Depth range (mm) of the first layer called ``name``."""
    top = 0.0
    for layer in case.tissue.layers:
        if layer.name == name:
            return top, top + layer.thickness_mm
        top += layer.thickness_mm
    raise KeyError(name)


def dermal_perfusion_ratio(case: Case, result: SimulationResult) -> np.ndarray:
    """Perfusion over basal, averaged over the dermis nodes, at every output time.

    Laser-Doppler and LSCI sample the upper ~1 mm of skin, i.e. the dermis."""
    if result.field is None:
        raise ValueError("the case must ask for the full field")
    low, high = layer_span_mm(case, "dermis")
    depth = result.field.depth_mm
    nodes = (depth > low) & (depth < high)
    return np.asarray(result.field.perfusion_ratio[:, nodes].mean(axis=1))


def value_at(result: SimulationResult, probe: str, time_s: float) -> float:
    """The probe's value at ``time_s`` (linear interpolation on the output grid)."""
    return float(np.interp(time_s, result.time_s, result.probes[probe]))


def first_time_at_or_below(result: SimulationResult, probe: str, level_c: float) -> float | None:
    """First time (s) the probe reaches ``level_c``, interpolated; None if never."""
    series = np.asarray(result.probes[probe])
    below = np.nonzero(series <= level_c)[0]
    if below.size == 0:
        return None
    k = int(below[0])
    if k == 0:
        return float(result.time_s[0])
    t0, t1 = result.time_s[k - 1], result.time_s[k]
    y0, y1 = series[k - 1], series[k]
    return float(t0 + (level_c - y0) * (t1 - t0) / (y1 - y0))


def drop(result: SimulationResult, at_s: float) -> float:
    """The surface temperature change (K) from the start to ``at_s``."""
    return value_at(result, "surface", at_s) - float(result.probes["surface"][0])


def cold_air(temp_c: float, speed_m_s: float, duration_s: float) -> dict[str, Any]:
    """A cold-air phase with the surroundings at the air temperature (radiation included)."""
    return {
        "modality": "cold-air",
        "gas_temp_c": temp_c,
        "air_speed_m_s": speed_m_s,
        "radiant_temp_c": temp_c,
        "duration_s": duration_s,
    }


def skin_mm() -> float:
    """Epidermis plus dermis of the limb site (mm)."""
    site = measurements()["site"]["limb"]
    return float(site["epidermis"]["thickness_mm"] + site["dermis"]["thickness_mm"])


def fat_from_skinfold(skinfold_mm: float) -> float:
    """Subcutaneous fat (mm) under a caliper skinfold: a double fold of skin and fat."""
    return max(0.5, skinfold_mm / 2.0 - skin_mm())


def clamped_cooling(p: Mapping[str, Any], title: str) -> Case:
    """Limb skin held at ``hold_temp_c`` by a local cooling unit, then at ``cool_temp_c``
    (both through ``clamp_w_m2k``) for ``duration_s``, with the full field for perfusion."""
    return build(
        limb_tissue(p["fat_mm"]),
        [convective(p["cool_temp_c"], p["clamp_w_m2k"], p["duration_s"])],
        initial=clamp_initial(p["hold_temp_c"], p["clamp_w_m2k"]),
        sample_every_s=30.0,
        full_field=True,
        title=title,
    )


def conductance_for(level_c: float, conductances: np.ndarray, ends_c: np.ndarray) -> float:
    """The conductance at which the end temperature is ``level_c`` (log interpolation; the
    end temperature falls as the conductance grows)."""
    return float(np.exp(np.interp(level_c, ends_c[::-1], np.log(conductances[::-1]))))


def swept(
    phase_on: Mapping[str, Any],
    period_s: float,
    dwell_s: float,
    duration_s: float,
    room: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """A stationary phase switched on for dwell_s of every period_s (a hand-held sweep), the
    skin in room air (room: temp_c, heat_transfer_w_m2k) between passes."""
    phases: list[dict[str, Any]] = []
    start = 0.0
    while start < duration_s - 1e-9:
        on = min(dwell_s, duration_s - start)
        phases.append({**phase_on, "duration_s": on})
        off = min(period_s - dwell_s, duration_s - start - on)
        if off > 1e-9:
            phases.append(ambient(off, room["temp_c"], room["heat_transfer_w_m2k"]))
        start += period_s
    return phases
