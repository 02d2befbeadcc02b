"""A plain finite-volume discretisation of the layered Pennes slab, shared by the peers.

Cell-centred, uniform within each layer, harmonic (series) conductances between cells, the
Robin surface through the half-cell resistance in series with 1/h, the fixed core through the
bottom half cell: the layer-aligned grid, with harmonic interface conductances and a
series-resistance Robin condition (docs/benchmarks.md); the peers
(solve_ivp, FiPy) and the fine-grid reference use it, so that only the time integrator and
the framework differ between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_banded

from cryoderm.physics.case import Tissue


@dataclass(frozen=True)
class Grid:
    """Cells surface first: widths dx (m), k, rho*c, W = rho_b c_b omega, q_m per cell."""

    dx: np.ndarray
    k: np.ndarray
    rc: np.ndarray
    w: np.ndarray
    q: np.ndarray
    centres: np.ndarray
    core_c: float
    arterial_c: float

    @property
    def n(self) -> int:
        return len(self.dx)


def grid(tissue: Tissue, cells_per_layer: tuple[int, ...]) -> Grid:
    columns: dict[str, list[float]] = {key: [] for key in ("dx", "k", "rc", "w", "q")}
    wb = tissue.blood.density_kg_m3 * tissue.blood.specific_heat_j_kgk
    for layer, count in zip(tissue.layers, cells_per_layer, strict=True):
        width = layer.thickness_mm * 1e-3 / count
        columns["dx"] += [width] * count
        columns["k"] += [layer.conductivity_w_mk] * count
        columns["rc"] += [layer.density_kg_m3 * layer.specific_heat_j_kgk] * count
        columns["w"] += [wb * layer.perfusion_per_s] * count
        columns["q"] += [layer.metabolic_w_m3] * count
    arrays = {key: np.array(values) for key, values in columns.items()}
    centres = np.cumsum(arrays["dx"]) - arrays["dx"] / 2
    return Grid(
        centres=centres, core_c=tissue.core_temp_c, arterial_c=tissue.arterial_temp_c, **arrays
    )


def operator(g: Grid, h: float, gas_c: float) -> tuple[np.ndarray, np.ndarray]:
    """dT/dt = A T + b as a banded A (3 x n, scipy's ab layout) and b."""
    inner = 1.0 / (g.dx[:-1] / (2 * g.k[:-1]) + g.dx[1:] / (2 * g.k[1:]))
    surface = 1.0 / (1.0 / h + g.dx[0] / (2 * g.k[0])) if h > 0 else 0.0
    bottom = 2 * g.k[-1] / g.dx[-1]
    cap = g.rc * g.dx
    diag = -(g.w * g.dx)
    diag[:-1] -= inner
    diag[1:] -= inner
    diag[0] -= surface
    diag[-1] -= bottom
    b = (g.w * g.arterial_c + g.q) * g.dx
    b[0] += surface * gas_c
    b[-1] += bottom * g.core_c
    ab = np.zeros((3, g.n))
    ab[0, 1:] = inner / cap[:-1]
    ab[1] = diag / cap
    ab[2, :-1] = inner / cap[1:]
    return ab, b / cap


def steady(g: Grid, h: float, gas_c: float) -> np.ndarray:
    ab, b = operator(g, h, gas_c)
    return solve_banded((1, 1), ab, -b)


def surface_temp(g: Grid, temps: np.ndarray, h: float, gas_c: float) -> np.ndarray:
    """The skin surface temperature from the first cell (same series resistance as the flux)."""
    g0 = 2 * g.k[0] / g.dx[0]
    return (h * gas_c + g0 * temps[0]) / (h + g0)


def at_depth(g: Grid, temps: np.ndarray, depth_m: float) -> np.ndarray:
    """Linear interpolation between the two cell centres around depth_m."""
    j = int(np.searchsorted(g.centres, depth_m)) - 1
    j = min(max(j, 0), g.n - 2)
    x0, x1 = g.centres[j], g.centres[j + 1]
    weight = (depth_m - x0) / (x1 - x0)
    return (1 - weight) * temps[j] + weight * temps[j + 1]


def crank_nicolson(
    g: Grid,
    temps: np.ndarray,
    h: float,
    gas_c: float,
    duration_s: float,
    dt: float,
    outputs_s: list[float],
) -> dict[float, np.ndarray]:
    """CN with a Rannacher start (two backward-Euler half steps), banded solves.

    Returns the field at each requested time (relative to the start), all of which must be
    multiples of dt. Used for the fine-grid reference, so clarity wins over speed here."""
    ab, b = operator(g, h, gas_c)
    n = g.n

    def system(theta: float, step: float) -> np.ndarray:
        lhs = -theta * step * ab
        lhs[1] += 1.0
        return lhs

    def apply(theta: float, step: float, t: np.ndarray) -> np.ndarray:
        out = t + (1 - theta) * step * (ab[1] * t + b)
        out[:-1] += (1 - theta) * step * ab[0, 1:] * t[1:]
        out[1:] += (1 - theta) * step * ab[2, :-1] * t[:-1]
        return out + theta * step * b

    saved = {}
    wanted = {round(t / dt) for t in outputs_s}
    be = system(1.0, dt / 2)
    for _ in range(2):
        temps = solve_banded((1, 1), be, apply(1.0, dt / 2, temps))
    steps = round(duration_s / dt)
    if 1 in wanted:
        saved[1] = temps.copy()
    cn = system(0.5, dt)
    for step in range(2, steps + 1):
        temps = solve_banded((1, 1), cn, apply(0.5, dt, temps))
        if step in wanted:
            saved[step] = temps.copy()
    assert temps.shape == (n,)
    return {step * dt: field for step, field in saved.items()}
