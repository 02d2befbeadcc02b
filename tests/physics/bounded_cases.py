"""Hypothesis strategies for case files whose every value is drawn from the bounds table.

Each key is present or absent at random; every number lies within its entry of
data/bounds.toml. ``max_duration_s`` and ``max_refinement`` keep runs short where a test
simulates the cases (the limits themselves are a day and 64: costly, not different).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from cryoderm.data import load_table
from cryoderm.physics import jets
from cryoderm.physics.bounds import bound
from cryoderm.physics.case import CUSTOM_REQUIRED, applicator_names, barrier_names
from cryoderm.physics.zones import tissue_for_zone, zone_names


def number(key: str, low: float | None = None, high: float | None = None) -> st.SearchStrategy:
    """A float within the entry of ``key``, narrowed to [low, high] where given."""
    entry = bound(key)
    lo = entry.low if low is None or entry.low is None else max(entry.low, low)
    hi = entry.high if high is None or entry.high is None else min(entry.high, high)
    if hi is None:
        hi = high
    return st.floats(
        lo,
        hi,
        exclude_min=entry.low_open and lo == entry.low,
        exclude_max=entry.high_open and hi == entry.high,
        allow_nan=False,
    )


def _optional(draw: Any, table: dict[str, Any], key: str, strategy: st.SearchStrategy) -> None:
    if draw(st.booleans()):
        table[key] = draw(strategy)


LAYER_KEYS = ("thickness_mm", "conductivity_w_mk", "density_kg_m3", "specific_heat_j_kgk")


@st.composite
def _tissue(draw: Any) -> tuple[dict[str, Any], float]:
    """A [tissue] table and the depth of its layers (mm)."""
    table: dict[str, Any] = {}
    for key in ("core_temp_c", "arterial_temp_c"):
        _optional(draw, table, key, number(f"tissue.{key}"))
    if draw(st.booleans()):
        blood: dict[str, Any] = {}
        for key in ("density_kg_m3", "specific_heat_j_kgk"):
            _optional(draw, blood, key, number(f"tissue.blood.{key}"))
        table["blood"] = blood
    if draw(st.booleans()):
        layers = []
        for index in range(draw(st.integers(1, 4))):
            layer: dict[str, Any] = {"name": f"layer {index}"}
            for key in LAYER_KEYS:
                high = 50.0 if key == "thickness_mm" else None
                layer[key] = draw(number(f"tissue.layer.{key}", high=high))
            for key in ("perfusion_per_s", "metabolic_w_m3"):
                _optional(draw, layer, key, number(f"tissue.layer.{key}"))
            layers.append(layer)
        table["layer"] = layers
        return table, sum(layer["thickness_mm"] for layer in layers)
    zone = draw(st.sampled_from(zone_names()))
    table["zone"] = zone
    _optional(draw, table, "sex", st.sampled_from(bound("tissue.sex").choices))
    _optional(draw, table, "age_years", st.floats(18.0, 90.0))
    layers_of_zone = [layer.name for layer in tissue_for_zone(zone).layers]
    if draw(st.booleans()):
        name = draw(st.sampled_from(layers_of_zone))
        table["thickness_mm"] = {name: draw(number("tissue.thickness_mm", high=50.0))}
    tissue = tissue_for_zone(
        zone,
        sex=table.get("sex"),
        age_years=table.get("age_years"),
        thickness_overrides_mm=table.get("thickness_mm"),
    )
    return table, tissue.depth_mm


def _phase(draw: Any, max_duration_s: float) -> dict[str, Any]:
    modality = draw(st.sampled_from(bound("phase.modality").choices))
    phase: dict[str, Any] = {
        "modality": modality,
        "duration_s": draw(number("phase.duration_s", high=max_duration_s)),
    }
    prefix = f"phase.{modality}"
    if modality == "convective":
        phase["gas_temp_c"] = draw(number(f"{prefix}.gas_temp_c"))
        phase["heat_transfer_w_m2k"] = draw(number(f"{prefix}.heat_transfer_w_m2k"))
    elif modality == "cold-air":
        if draw(st.booleans()):
            phase["gas_temp_c"] = draw(number(f"{prefix}.gas_temp_c"))
            phase["air_speed_m_s"] = draw(number(f"{prefix}.air_speed_m_s"))
        else:
            # A device's nozzle within the correlation's distances (data/exposures.toml).
            name = draw(st.sampled_from(jets.device_names()))
            device = jets.device(name)
            phase["device"] = name
            phase["setting"] = draw(st.sampled_from(device["settings"]))
            diameter = device["nozzle_diameter_mm"]
            ratio = number(
                "phase.cold-air.nozzle_distance_diameters",
                low=bound("phase.cold-air.nozzle_distance_mm").low / diameter,
                high=bound("phase.cold-air.nozzle_distance_mm").high / diameter,
            )
            phase["nozzle_distance_mm"] = draw(ratio) * diameter
        _optional(draw, phase, "radiant_temp_c", number(f"{prefix}.radiant_temp_c"))
    elif modality == "ln2-vapour":
        phase["distance_cm"] = draw(number(f"{prefix}.distance_cm"))
        period = draw(number(f"{prefix}.sweep_period_s", high=max_duration_s))
        phase["sweep_period_s"] = period
        phase["dwell_s"] = draw(number(f"{prefix}.dwell_s", high=period))
        for key in ("gas_temp_c", "heat_transfer_w_m2k"):
            _optional(draw, phase, key, number(f"{prefix}.{key}"))
    elif modality == "contact":
        applicator = draw(st.sampled_from(applicator_names()))
        phase["applicator"] = applicator
        melting = load_table("exposures")["applicator"].get(applicator, {}).get("melting_point_c")
        if melting is None:
            phase["applicator_temp_c"] = draw(number(f"{prefix}.applicator_temp_c"))
        elif draw(st.booleans()):
            # Ice at its melting point, with or without a stated ice fraction.
            phase["applicator_temp_c"] = float(melting)
            _optional(draw, phase, "ice_fraction", number(f"{prefix}.ice_fraction"))
        else:
            # Below its melting point a melting applicator is all ice (data/bounds.toml keeps
            # the rest: no ice above its melting point).
            temp = draw(number(f"{prefix}.applicator_temp_c", high=float(melting) - 0.01))
            phase["applicator_temp_c"] = temp
            if applicator == "ice-water-bag":
                phase["ice_fraction"] = 1.0
        if melting is not None:
            _optional(draw, phase, "melt_water", st.sampled_from(["stays", "mixes", "drains"]))
        if draw(st.booleans()):
            phase["barrier"] = draw(st.sampled_from(barrier_names()))
            if phase["barrier"] != "none":
                _optional(
                    draw, phase, "barrier_thickness_mm", number(f"{prefix}.barrier_thickness_mm")
                )
        if draw(st.booleans()):
            phase["contact_fraction"] = draw(number(f"{prefix}.contact_fraction", high=0.99))
            # At most phase.contact.strokes strokes (a margin for rounding): period >= duration / bound.
            fewest_s = 1.001 * phase["duration_s"] / bound("phase.contact.strokes").high
            phase["stroke_period_s"] = draw(
                number(f"{prefix}.stroke_period_s", low=fewest_s, high=max_duration_s)
            )
        for key in (
            "conductivity_w_mk",
            "density_kg_m3",
            "specific_heat_j_kgk",
            "thickness_mm",
            "contact_conductance_w_m2k",
        ):
            if applicator == "custom" and key in CUSTOM_REQUIRED:
                phase[key] = draw(number(f"{prefix}.{key}"))
            else:
                _optional(draw, phase, key, number(f"{prefix}.{key}"))
    else:
        for key in ("ambient_temp_c", "heat_transfer_w_m2k"):
            _optional(draw, phase, key, number(f"{prefix}.{key}"))
    return phase


@st.composite
def case_documents(
    draw: Any, max_duration_s: float = 86400.0, max_refinement: float = 64.0
) -> dict[str, Any]:
    """A decoded case file with every value within data/bounds.toml."""
    tissue, depth_mm = draw(_tissue())
    doc: dict[str, Any] = {"format": "cryoderm-case/1", "tissue": tissue}
    _optional(draw, doc, "title", st.text(max_size=20))
    perfusion: dict[str, Any] = {}
    _optional(draw, perfusion, "model", st.sampled_from(bound("perfusion.model").choices))
    for key in ("reference_temp_c", "scale_k", "floor_fraction", "memory_s"):
        _optional(draw, perfusion, key, number(f"perfusion.{key}"))
    doc["perfusion"] = perfusion
    freezing: dict[str, Any] = {}
    _optional(draw, freezing, "enabled", st.booleans())
    for key in (
        "freeze_point_c",
        "latent_heat_j_kg",
        "frozen_conductivity_w_mk",
        "frozen_specific_heat_j_kgk",
    ):
        _optional(draw, freezing, key, number(f"freezing.{key}"))
    doc["freezing"] = freezing
    if draw(st.booleans()):
        doc["initial"] = {"state": "uniform"}
        _optional(draw, doc["initial"], "temp_c", number("initial.uniform.temp_c"))
    else:
        doc["initial"] = {"state": "steady"}
        for key in ("ambient_temp_c", "heat_transfer_w_m2k"):
            _optional(draw, doc["initial"], key, number(f"initial.steady.{key}"))
    phases = [_phase(draw, max_duration_s) for _ in range(draw(st.integers(1, 3)))]
    doc["phase"] = phases
    total_s = sum(phase["duration_s"] for phase in phases)
    output: dict[str, Any] = {}
    most = bound("output.samples").high
    assert most is not None
    sample = number("output.sample_every_s", low=total_s / (most - 2))
    if total_s > most - 2:  # the default (1 s) would give too many output times
        output["sample_every_s"] = draw(sample)
    else:
        _optional(draw, output, "sample_every_s", sample)
    _optional(draw, output, "full_field", st.booleans())
    count = draw(st.integers(0, 3))
    output["probe"] = [
        {"name": f"probe {k}", "depth_mm": draw(st.floats(0.0, depth_mm))} for k in range(count)
    ]
    doc["output"] = output
    numerics: dict[str, Any] = {}
    for key in ("space_refinement", "time_refinement"):
        _optional(draw, numerics, key, number(f"numerics.{key}", high=max_refinement))
    doc["numerics"] = numerics
    return doc
