"""Metrics and safety figures of an axisymmetric run, over the whole 2-D field.

The names and definitions are those of the column engine (metrics.py, docs/physics.md
section 7) read over the cylinder: "surface" is the coldest point of the skin surface at
each moment (on the spot's axis, for a spot centred there), "basal" the coldest point of
the bottom of the epidermis, a layer's minimum the lowest temperature anywhere in the
layer. The energy budget is that of the whole cylinder, in J (``energy_*_j``, not per m2).
``max_frozen_radius_mm`` adds how far from the axis tissue reached the freezing criterion.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cryoderm.physics import axisym_kernels as kernels
from cryoderm.physics.case import SteadyInitial
from cryoderm.physics.metrics import _layer_ranges, contact_limits_c, threshold_label, thresholds_c

if TYPE_CHECKING:
    from cryoderm.physics.axisym import Prepared

# Per radian to the whole cylinder.
FULL_TURN = 2.0 * math.pi


@dataclass(frozen=True)
class Summary:
    metrics: dict[str, float | None]
    safety: dict[str, Any]


class Lazy:
    """One run's summary, computed on first read of either mapping (results.LazyRow calls
    ``metrics(0)`` or ``safety(0)``); the kernel's outputs are kept until then."""

    def __init__(self, prepared: Prepared, out: kernels.Outputs, final: np.ndarray) -> None:
        self._args: tuple[Any, ...] | None = (prepared, out, final)
        self._summary: Summary | None = None
        self._lock = threading.Lock()

    def _get(self) -> Summary:
        with self._lock:
            if self._summary is None:
                assert self._args is not None
                self._summary = summarise(*self._args)
                self._args = None
            return self._summary

    def metrics(self, _: int) -> dict[str, float | None]:
        return self._get().metrics

    def safety(self, _: int) -> dict[str, Any]:
        return self._get().safety


def summarise(prepared: Prepared, out: kernels.Outputs, final: np.ndarray) -> Summary:
    """The metrics and safety figures of one run from the kernel's outputs and the final
    field (``final[depth, radius]``)."""
    case, grid, radial = prepared.case, prepared.grid, prepared.radial
    node_min = out.node_min
    acc = out.acc
    core = case.tissue.core_temp_c
    metrics: dict[str, float | None] = {"min_surface_temp_c": float(node_min[0].min())}
    for name, first, last, touches_core in _layer_ranges(case.tissue, grid):
        low = float(node_min[first : last + 1].min())
        if touches_core:
            low = min(low, core)
        metrics[name] = low if name not in metrics else min(low, metrics[name])  # type: ignore[type-var]
    metrics["final_surface_temp_c"] = float(final[0].min())
    has_basal = prepared.probes.basal_row >= 0
    for m, value in enumerate(thresholds_c()):
        label = threshold_label(value)
        metrics[f"surface_time_below_{label}c_s"] = float(out.below_surface[m])
        metrics[f"basal_time_below_{label}c_s"] = float(out.below_basal[m]) if has_basal else None
    metrics["surface_cold_dose_k_s"] = float(acc[kernels.A_COLD_DOSE])
    perfused = bool(grid.perfusion_w_m2k.any())
    metrics["min_perfusion_ratio"] = float(acc[kernels.A_MIN_PERF]) if perfused else None
    initial = case.initial
    metrics["initial_surface_heat_loss_w_m2"] = (
        float(initial.heat_transfer_w_m2k * (prepared.initial[0, 0] - initial.ambient_temp_c))
        if isinstance(initial, SteadyInitial)
        else None
    )
    energies = {
        "energy_stored_j": acc[kernels.A_STORED],
        "energy_surface_j": acc[kernels.A_SURFACE],
        "energy_core_j": acc[kernels.A_CORE],
        "energy_perfusion_j": acc[kernels.A_PERFUSION],
        "energy_metabolic_j": acc[kernels.A_METABOLIC],
    }
    inflow = sum(value for key, value in energies.items() if key != "energy_stored_j")
    for key, value in energies.items():
        metrics[key] = float(FULL_TURN * value)
    metrics["energy_balance_error_j"] = float(FULL_TURN * (energies["energy_stored_j"] - inflow))

    criterion = case.freezing.freeze_point_c
    frozen = node_min <= criterion
    depth_mm = radius_mm = None
    if frozen.any():
        rows, cols = np.nonzero(frozen)
        depth_mm = float(grid.depth_m[rows.max()] * 1e3)
        radius_mm = float(radial.radius_m[cols.max()] * 1e3)
    limits = contact_limits_c()
    low_surface = metrics["min_surface_temp_c"]
    assert low_surface is not None
    freeze_time = float(acc[kernels.A_FREEZE_TIME])
    safety = {
        "freeze_risk_time_s": freeze_time if freeze_time >= 0.0 else None,
        "freeze_criterion_c": criterion,
        "min_skin_temp_c": float(node_min.min()),
        "max_frozen_depth_mm": depth_mm,
        "max_frozen_radius_mm": radius_mm,
        "margin_to_frostnip_limit_k": low_surface - limits["frostnip"],
        "margin_to_numbness_limit_k": low_surface - limits["numbness"],
        "margin_to_pain_limit_k": low_surface - limits["pain"],
    }
    return Summary(metrics=metrics, safety=safety)
