"""The charts of a plan and of a session, drawn from the typed stored plan and readings."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.safestring import SafeString

from cryoderm.clinic.records.services.planning import PlanStep
from cryoderm.clinic.web.charts import Band, Chart, Rule, Series, render
from cryoderm.data.labels import celsius, celsius_range, label


def _finite(times: Sequence[float], values: Sequence[float]) -> tuple[list[float], list[float]]:
    pairs = [(t, v) for t, v in zip(times, values, strict=False) if math.isfinite(v)]
    return [t for t, _ in pairs], [v for _, v in pairs]


def step_chart(
    step: PlanStep,
    *,
    readings: Sequence[tuple[float, float]] = (),
    chart_id: str = "",
    x_max_s: float | None = None,
) -> SafeString:
    """Predicted surface and basal-layer temperature against time for one zone, with the
    target band and the floor; measured readings (time s, temperature C) on top."""
    prediction = step.prediction
    surface_t, surface = _finite(prediction.time_s, prediction.surface_c)
    basal_t, basal = _finite(prediction.time_s, prediction.basal_c)
    series = [
        Series("Planned skin surface", surface_t, surface, dashed=True, key="planned"),
        Series("Planned basal layer", basal_t, basal, dashed=True, colour="#1e6b33", key="basal"),
        Series(
            "Measured skin",
            [t for t, _ in readings],
            [c for _, c in readings],
            colour="#a4161a",
            key="measured",
        ),
    ]
    low, high = step.band_c
    floor = step.floor_temp_c
    zone = label("zone", step.zone)
    last_t = max([*surface_t, *(t for t, _ in readings), 1.0])
    return render(
        Chart(
            title=f"{zone}: temperature against time",
            x_label="Time since the cold started (s)",
            y_label="Temperature (°C)",
            series=series,
            bands=[Band(f"Target band {celsius_range(low, high)}", low, high)],
            rules=[Rule(f"Floor {celsius(floor, signed=True)}: the interlock stops here", floor)],
            x_range=(0.0, x_max_s or last_t),
            description=(
                f"Planned surface temperature for {zone} against time, with the target "
                f"band and the floor; measured readings where the session ran."
            ),
            chart_id=chart_id,
        )
    )


def layer_depths_mm(step: PlanStep) -> dict[str, float]:
    """Depth of the top of each tissue layer (mm), from the step's physics case."""
    depths, depth = {}, 0.0
    for layer in step.case.tissue.layers:
        depths[layer.name] = round(depth, 3)
        depth += layer.thickness_mm
    return depths


def depth_chart(step: PlanStep) -> SafeString:
    """Coldest predicted temperature against depth: at the top of each tissue layer, where
    the planner's probes are (a layer is coldest at its top under surface cooling)."""
    coldest = dict(step.prediction.min_temp_c_by_layer)
    depths = layer_depths_mm(step)
    # Order by depth, not by the stored mapping: PostgreSQL's jsonb does not keep key order.
    layers = sorted((name for name in coldest if name in depths), key=depths.__getitem__)
    xs = [depths[name] for name in layers]
    where = ", ".join(f"{label('layer', name)} {x:g}" for name, x in zip(layers, xs, strict=True))
    temps = [coldest[name] for name in layers]
    tips = [
        f"{label('layer', name)} at {x:g} mm: coldest {celsius(t, signed=True)}"
        for name, x, t in zip(layers, xs, temps, strict=True)
    ]
    return render(
        Chart(
            title=f"{label('zone', step.zone)}: coldest temperature against depth",
            x_label=f"Depth below the surface (mm): {where}",
            y_label="Coldest temperature (°C)",
            series=[
                Series("Coldest predicted", xs, temps, key="depth", markers=True, point_labels=tips)
            ],
            rules=[Rule(f"Floor {celsius(step.floor_temp_c, signed=True)}", step.floor_temp_c)],
            description="Coldest predicted temperature at the top of each tissue layer during the step.",
            height=260,
        )
    )
