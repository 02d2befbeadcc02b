"""The depth grid: layer-aligned vertex-centred finite volumes, fine at the surface.

Nodes sit on the skin surface, on every layer interface and at the core boundary, so that
interface temperatures are nodal values and every face conductance lies inside one layer
(exact interface handling: continuity of temperature and of heat flux hold by
construction). Node ``i`` owns the half cells on either side; its heat capacity, perfusion
and metabolic heat are the sums over those half cells, so a node on an interface mixes the
two layers in proportion to their share of its control volume (docs/physics.md, section 2).

Spacing grows linearly with depth from ``SURFACE_SPACING_MM`` by ``GROWTH`` per mm up to
``MAX_SPACING_MM``; each layer gets a whole number of equal cells at least that fine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cryoderm.physics.case import Tissue

# Grid policy, chosen so that the R1 benchmark meets 0.01 K (docs/physics.md, section 6).
SURFACE_SPACING_MM = 0.08
GROWTH_PER_MM = 0.05
MAX_SPACING_MM = 1.0


@dataclass(frozen=True, eq=False)
class Grid:
    """Node depths and per-node coefficients of one tissue, per unit skin area.

    depth_m: node depths including the core node (n + 1 values; the last is fixed).
    capacity_j_m2k: rho*c times the control volume of each unknown node (n values).
    mass_kg_m2: rho times the control volume (for latent heat and frozen capacity).
    conductance_w_m2k: k/dx of the cell below each unknown node (the last links to the core).
    cell_dx_m: the cell widths (n values).
    perfusion_w_m2k: rho_b*c_b*omega0 times the control volume; metabolic_w_m2 likewise.
    layer_nodes: for each layer, the first and last node index on it (inclusive; the core
    node is index n).
    """

    depth_m: np.ndarray
    capacity_j_m2k: np.ndarray
    mass_kg_m2: np.ndarray
    conductance_w_m2k: np.ndarray
    cell_dx_m: np.ndarray
    perfusion_w_m2k: np.ndarray
    metabolic_w_m2: np.ndarray
    layer_nodes: tuple[tuple[int, int], ...]

    @property
    def n(self) -> int:
        return int(self.capacity_j_m2k.shape[0])


def _target_spacing_mm(depth_mm: float, refinement: float) -> float:
    return min(MAX_SPACING_MM, SURFACE_SPACING_MM + GROWTH_PER_MM * depth_mm) / refinement


@lru_cache(maxsize=256)
def build_grid(tissue: Tissue, refinement: float = 1.0) -> Grid:
    """The grid of ``tissue``; ``refinement`` divides every spacing (for convergence studies)."""
    edges = [0.0]
    cell_layer: list[int] = []
    for index, layer in enumerate(tissue.layers):
        top = edges[-1]
        bottom = top + layer.thickness_mm
        # March the spacing function through the layer, then stretch the cells to fit it.
        marks = [top]
        while marks[-1] < bottom - 1e-12:
            marks.append(marks[-1] + _target_spacing_mm(marks[-1], refinement))
        count = len(marks) - 1
        if count > 1 and (marks[-1] - bottom) > 0.5 * (marks[-1] - marks[-2]):
            count -= 1
        stretch = (
            layer.thickness_mm / (marks[count] - top)
            if count < len(marks) - 1
            else layer.thickness_mm / (marks[-1] - top)
        )
        for m in range(1, count + 1):
            edges.append(bottom if m == count else top + (marks[m] - top) * stretch)
            cell_layer.append(index)
    depth_m = np.asarray(edges) * 1e-3
    dx = np.diff(depth_m)
    k = np.array([tissue.layers[i].conductivity_w_mk for i in cell_layer])
    rho = np.array([tissue.layers[i].density_kg_m3 for i in cell_layer])
    rc = np.array(
        [tissue.layers[i].density_kg_m3 * tissue.layers[i].specific_heat_j_kgk for i in cell_layer]
    )
    wb = tissue.blood.density_kg_m3 * tissue.blood.specific_heat_j_kgk
    perf = np.array([wb * tissue.layers[i].perfusion_per_s for i in cell_layer])
    met = np.array([tissue.layers[i].metabolic_w_m3 for i in cell_layer])

    def half_cells(per_cell: np.ndarray) -> np.ndarray:
        # Node i owns half of cell i-1 (above) and half of cell i (below); the core node
        # (index n) is fixed, so its half cell does not enter the balance.
        out = 0.5 * per_cell * dx
        out[1:] += 0.5 * (per_cell * dx)[:-1]
        return out

    layer_nodes = []
    for index in range(len(tissue.layers)):
        cells = [c for c, layer in enumerate(cell_layer) if layer == index]
        layer_nodes.append((cells[0], cells[-1] + 1))
    return Grid(
        depth_m=depth_m,
        capacity_j_m2k=half_cells(rc),
        mass_kg_m2=half_cells(rho),
        conductance_w_m2k=k / dx,
        cell_dx_m=dx,
        perfusion_w_m2k=half_cells(perf),
        metabolic_w_m2=half_cells(met),
        layer_nodes=tuple(layer_nodes),
    )


@lru_cache(maxsize=4096)
def probe_weights(grid: Grid, depth_mm: float) -> tuple[int, float]:
    """Node index and linear weight of the node below for a probe at ``depth_mm``.

    Exact at nodes (the surface and every interface); linear, hence second order, between."""
    z = depth_mm * 1e-3
    depths = grid.depth_m
    i = int(np.searchsorted(depths, z, side="right")) - 1
    i = min(max(i, 0), grid.n - 1)
    weight = (z - depths[i]) / (depths[i + 1] - depths[i])
    return i, float(min(max(weight, 0.0), 1.0))
