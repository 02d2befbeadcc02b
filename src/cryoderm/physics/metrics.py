"""Metrics and safety figures of one run, from what the kernel accumulated step by step.

Names are flat, with units (docs/physics.md, section 7 defines each):

- ``min_surface_temp_c``, ``min_<layer>_temp_c`` (layer names lower-cased, non-alphanumerics
  as ``_``), ``final_surface_temp_c``;
- ``surface_time_below_<T>c_s`` and ``basal_time_below_<T>c_s`` for T in 15, 13.6 (``13_6``),
  10, 4, 0; the basal layer is the epidermis/dermis boundary (None without an epidermis);
- ``surface_cold_dose_k_s``: integral of max(0, 15 C - T_surface) dt;
- ``min_perfusion_ratio``: lowest local perfusion over its basal value in perfused tissue;
- ``initial_surface_heat_loss_w_m2``: heat leaving the skin at t = 0 (steady start only);
- ``energy_*_j_m2`` and ``energy_balance_error_j_m2``: the discrete energy budget of the run.

Safety: ``freeze_risk_time_s`` (first time any tissue reaches the freezing point, None if
never), ``min_skin_temp_c``, ``max_frozen_depth_mm`` (deepest tissue at or below the freezing
point, None if none), ``margin_to_frostnip_limit_k`` / ``_numbness_`` / ``_pain_`` (minimum
surface temperature minus the contact limits 0 / 7 / 15 C; negative means crossed).
"""

from __future__ import annotations

import re
import threading
from functools import cache, lru_cache
from typing import Any

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics import kernels
from cryoderm.physics.case import Case, SteadyInitial, Tissue
from cryoderm.physics.grid import Grid


@cache
def thresholds_c() -> tuple[float, ...]:
    return tuple(float(v) for v in load_table("freezing")["metrics"]["time_below_c"]["values"])


@cache
def dose_reference_c() -> float:
    return float(load_table("freezing")["metrics"]["cold_dose_reference_c"]["value"])


@cache
def contact_limits_c() -> dict[str, float]:
    """The cold-contact criteria (C) of the one safety-limits registry, data/thresholds.toml."""
    rows = {row["name"]: row for row in load_table("thresholds")["threshold"]}
    return {
        name: float(rows[f"contact-{name}"]["value"]) for name in ("frostnip", "numbness", "pain")
    }


@cache
def _labels() -> tuple[str, ...]:
    return tuple(threshold_label(value) for value in thresholds_c())


@lru_cache(maxsize=256)
def _layer_ranges(tissue: Tissue, grid: Grid) -> tuple[tuple[str, int, int, bool], ...]:
    """(metric name, first node, last unknown node, reaches the core node) per layer."""
    return tuple(
        (f"min_{_slug(layer.name)}_temp_c", first, min(last, grid.n - 1), last >= grid.n)
        for layer, (first, last) in zip(tissue.layers, grid.layer_nodes, strict=True)
    )


# Accumulator columns of the energy budget, in the order of the metrics.
_ENERGY = [
    kernels.A_STORED,
    kernels.A_SURFACE,
    kernels.A_CORE,
    kernels.A_PERFUSION,
    kernels.A_METABOLIC,
]


def _perfused(grid: Grid) -> bool:
    return bool(grid.perfusion_w_m2k.any())


@cache
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def threshold_label(value: float) -> str:
    return f"{value:g}".replace(".", "_").replace("-", "minus_")


@lru_cache(maxsize=256)
def _layout(
    tissue: Tissue, grid: Grid, has_basal: bool
) -> tuple[tuple[str, ...], tuple[tuple[tuple[int, int, bool], ...], ...], tuple[str, ...]]:
    """(metric names in output order, node ranges of each layer minimum, metrics that do not
    apply) of a tissue; layers whose names share a slug share one minimum."""
    layers: dict[str, list[tuple[int, int, bool]]] = {}
    for key, first, last, touches_core in _layer_ranges(tissue, grid):
        layers.setdefault(key, []).append((first, last, touches_core))
    names = ["min_surface_temp_c", *layers, "final_surface_temp_c"]
    absent = []
    for label in _labels():
        names += [f"surface_time_below_{label}c_s", f"basal_time_below_{label}c_s"]
        if not has_basal:
            absent.append(f"basal_time_below_{label}c_s")
    names += ["surface_cold_dose_k_s", "min_perfusion_ratio", "initial_surface_heat_loss_w_m2"]
    if not _perfused(grid):
        absent.append("min_perfusion_ratio")
    names += [
        "energy_stored_j_m2",
        "energy_surface_j_m2",
        "energy_core_j_m2",
        "energy_perfusion_j_m2",
        "energy_metabolic_j_m2",
        "energy_balance_error_j_m2",
    ]
    return tuple(names), tuple(tuple(group) for group in layers.values()), tuple(absent)


# Below this many cases a group's table is built in plain Python: numpy's cost per call
# outweighs its speed per element (measured: a single case 4x faster).
SMALL_GROUP = 8
_Table = tuple[list[list[float]], list[tuple[float, float, float, bool, float, float, float]]]


def _table_numpy(
    case: Case,
    grid: Grid,
    layers: tuple[tuple[tuple[int, int, bool], ...], ...],
    node_min: np.ndarray,
    below_surface: np.ndarray,
    below_basal: np.ndarray,
    a: np.ndarray,
    final_surface_c: np.ndarray,
) -> _Table:
    cases = final_surface_c.shape[0]
    minima = []
    for group in layers:
        lowest = None
        for first, last, touches_core in group:
            low = node_min[first : last + 1].min(axis=0)
            if touches_core:
                # The fixed core node bounds the deepest layer: its value enters the minimum.
                low = np.minimum(low, case.tissue.core_temp_c)
            lowest = low if lowest is None else np.minimum(low, lowest)
        minima.append(lowest)
    stored = a[:, kernels.A_STORED]
    inflow = (
        a[:, kernels.A_SURFACE]
        + a[:, kernels.A_CORE]
        + a[:, kernels.A_PERFUSION]
        + a[:, kernels.A_METABOLIC]
    )
    table = np.concatenate(
        [
            node_min[:1].T,
            np.asarray(minima).T,
            final_surface_c[:, None],
            np.stack((below_surface, below_basal), axis=2).reshape(cases, -1),
            a[:, [kernels.A_COLD_DOSE, kernels.A_MIN_PERF, kernels.A_COLD_DOSE]],
            a[:, _ENERGY],
            (stored - inflow)[:, None],
        ],
        axis=1,
    )
    limits = contact_limits_c()
    min_surface = node_min[0]
    frozen_node = a[:, kernels.A_FROZEN_NODE].astype(np.int64)
    safety = zip(
        a[:, kernels.A_FREEZE_TIME].tolist(),
        node_min.min(axis=0).tolist(),
        (grid.depth_m[frozen_node] * 1e3).tolist(),
        (frozen_node >= 0).tolist(),
        (min_surface - limits["frostnip"]).tolist(),
        (min_surface - limits["numbness"]).tolist(),
        (min_surface - limits["pain"]).tolist(),
        strict=True,
    )
    return table.tolist(), list(safety)


def _table_python(
    case: Case,
    grid: Grid,
    layers: tuple[tuple[tuple[int, int, bool], ...], ...],
    node_min: np.ndarray,
    below_surface: np.ndarray,
    below_basal: np.ndarray,
    a: np.ndarray,
    final_surface_c: np.ndarray,
) -> _Table:
    """The same table as _table_numpy, value for value, case by case."""
    core = case.tissue.core_temp_c
    limits = contact_limits_c()
    depth_m = grid.depth_m
    rows = []
    safety = []
    for minima, acc, surface, basal, final in zip(
        node_min.T.tolist(),
        a.tolist(),
        below_surface.tolist(),
        below_basal.tolist(),
        final_surface_c.tolist(),
        strict=True,
    ):
        row = [minima[0]]
        for group in layers:
            lowest = None
            for first, last, touches_core in group:
                low = min(minima[first : last + 1])
                if touches_core:
                    low = min(low, core)
                lowest = low if lowest is None else min(low, lowest)
            row.append(lowest)  # type: ignore[arg-type]
        row.append(final)
        for below_s, below_b in zip(surface, basal, strict=True):
            row += (below_s, below_b)
        stored = acc[kernels.A_STORED]
        inflow = (
            acc[kernels.A_SURFACE]
            + acc[kernels.A_CORE]
            + acc[kernels.A_PERFUSION]
            + acc[kernels.A_METABOLIC]
        )
        row += (acc[kernels.A_COLD_DOSE], acc[kernels.A_MIN_PERF], acc[kernels.A_COLD_DOSE])
        row += [acc[k] for k in _ENERGY]
        row.append(stored - inflow)
        rows.append(row)
        frozen_node = int(acc[kernels.A_FROZEN_NODE])
        low_surface = minima[0]
        safety.append(
            (
                acc[kernels.A_FREEZE_TIME],
                min(minima),
                float(depth_m[frozen_node] * 1e3),
                frozen_node >= 0,
                low_surface - limits["frostnip"],
                low_surface - limits["numbness"],
                low_surface - limits["pain"],
            )
        )
    return rows, safety


class Summaries:
    """The (metrics, safety) of every case of one batch part, computed column-wise on first
    use: a sweep of thousands of protocols often reads a few figures of each, or none of
    most (the planner ranks by two). Rows come out as plain dicts, one per case.

    ``case`` stands for the part: its cases differ only in their phases, which no
    definition below reads. node_min is [node, case]; the other arrays [case, ...]. The
    arrays are the kernel's outputs for this part alone (never written again)."""

    def __init__(
        self,
        case: Case,
        grid: Grid,
        node_min: np.ndarray,
        below_surface: np.ndarray,
        below_basal: np.ndarray,
        accumulators: np.ndarray,
        initial_temp: np.ndarray,
        final_surface_c: np.ndarray,
        has_basal: bool,
    ) -> None:
        # Kept as given: the table is built from them on first read.
        self._build_args = (case, grid, node_min, below_surface, below_basal, accumulators)
        self._initial_temp = initial_temp
        self._final_surface_c = final_surface_c
        self._has_basal = has_basal
        self._built: tuple[Any, ...] | None = None
        self._lock = threading.Lock()

    def metrics(self, index: int) -> dict[str, float | None]:
        rows, _, names, fixed, _ = self._tables()
        values: dict[str, float | None] = dict(zip(names, rows[index], strict=True))
        values.update(fixed)
        return values

    def safety(self, index: int) -> dict[str, Any]:
        _, safety_rows, _, _, criterion = self._tables()
        freeze_time, skin, depth, frozen, frostnip, numbness, pain = safety_rows[index]
        return {
            "freeze_risk_time_s": freeze_time if freeze_time >= 0.0 else None,
            "freeze_criterion_c": criterion,
            "min_skin_temp_c": skin,
            "max_frozen_depth_mm": depth if frozen else None,
            "margin_to_frostnip_limit_k": frostnip,
            "margin_to_numbness_limit_k": numbness,
            "margin_to_pain_limit_k": pain,
        }

    def _tables(self) -> tuple[Any, ...]:
        built = self._built
        if built is None:
            # Results may be read from several threads (a web request, the live view).
            with self._lock:
                if self._built is None:
                    self._built = self._build()
                built = self._built
        return built

    def _build(self) -> tuple[Any, ...]:
        case, grid = self._build_args[:2]
        names, layers, absent = _layout(case.tissue, grid, self._has_basal)
        cases = self._final_surface_c.shape[0]
        build = _table_numpy if cases >= SMALL_GROUP else _table_python
        rows, safety_rows = build(
            *self._build_args[:2], layers, *self._build_args[2:], self._final_surface_c
        )
        fixed: dict[str, float | None] = dict.fromkeys(absent)
        initial = case.initial
        fixed["initial_surface_heat_loss_w_m2"] = (
            float(initial.heat_transfer_w_m2k * (self._initial_temp[0] - initial.ambient_temp_c))
            if isinstance(initial, SteadyInitial)
            else None
        )
        return rows, safety_rows, names, fixed, case.freezing.freeze_point_c
