"""The charts of a plan and of a session, built from stored plan JSON and readings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.safestring import SafeString

from cryoderm.clinic.web.charts import Band, Chart, Rule, Series, render
from cryoderm.physics.casefile import parse_case_text


def step_chart(
    step: Mapping[str, Any],
    *,
    readings: Sequence[tuple[float, float]] = (),
    chart_id: str = "",
    x_max_s: float | None = None,
) -> SafeString:
    """Predicted surface and basal-layer temperature against time for one zone, with the
    target band and the floor; measured readings (time s, temperature C) on top."""
    curves = step.get("curves") or {}
    time_s = curves.get("time_s") or []
    series = [
        Series(
            "Planned skin surface",
            time_s,
            curves.get("surface_c") or [],
            dashed=True,
            key="planned",
        ),
        Series(
            "Planned basal layer",
            time_s,
            curves.get("basal_c") or [],
            dashed=True,
            colour="#1e6b33",
            key="basal",
        ),
        Series(
            "Measured skin",
            [t for t, _ in readings],
            [c for _, c in readings],
            colour="#a4161a",
            key="measured",
        ),
    ]
    band = step.get("target_band_c") or [None, None]
    floor = step.get("floor_temp_c")
    last_t = max([*time_s, *(t for t, _ in readings), 1.0])
    return render(
        Chart(
            title=f"{str(step.get('zone', '')).capitalize()}: temperature against time",
            x_label="Time since the cold started (s)",
            y_label="Temperature (°C)",
            series=series,
            bands=[Band(f"Target band {band[0]:g}–{band[1]:g} °C", band[0], band[1])]
            if band[0] is not None
            else [],
            rules=[Rule(f"Floor {floor:g} °C: the interlock stops here", floor)]
            if floor is not None
            else [],
            x_range=(0.0, x_max_s or last_t),
            description=(
                f"Planned surface temperature for {step.get('zone')} against time, with the target "
                f"band and the floor; measured readings where the session ran."
            ),
            chart_id=chart_id,
        )
    )


def layer_depths_mm(step: Mapping[str, Any]) -> dict[str, float]:
    """Depth of the top of each tissue layer (mm), from the step's physics case."""
    if not step.get("case_toml"):
        return {}
    case = parse_case_text(step["case_toml"], f"plan step {step.get('zone')}")
    depths, depth = {}, 0.0
    for layer in case.tissue.layers:
        depths[layer.name] = round(depth, 3)
        depth += layer.thickness_mm
    return depths


def depth_chart(step: Mapping[str, Any]) -> SafeString:
    """Coldest predicted temperature against depth: at the top of each tissue layer, where
    the planner's probes are (a layer is coldest at its top under surface cooling)."""
    coldest = dict(step.get("min_temp_c_by_layer") or {})
    depths = layer_depths_mm(step)
    # Order by depth, not by the stored mapping: PostgreSQL's jsonb does not keep key order.
    layers = (
        sorted((name for name in coldest if name in depths), key=depths.__getitem__)
        if depths
        else list(coldest)
    )
    xs = [depths[name] for name in layers] if depths else list(range(len(layers)))
    where = ", ".join(f"{name} {x:g}" for name, x in zip(layers, xs, strict=True))
    return render(
        Chart(
            title=f"{str(step.get('zone', '')).capitalize()}: coldest temperature against depth",
            x_label=f"Depth below the surface (mm): {where}" if depths else f"Layer: {where}",
            y_label="Coldest temperature (°C)",
            series=[
                Series("Coldest predicted", xs, [coldest[name] for name in layers], key="depth")
            ],
            rules=[Rule("Floor", step["floor_temp_c"])]
            if step.get("floor_temp_c") is not None
            else [],
            description="Coldest predicted temperature at the top of each tissue layer during the step.",
            height=260,
        )
    )
