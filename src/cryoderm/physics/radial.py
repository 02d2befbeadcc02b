"""The radial grid of an axisymmetric case: vertex-centred finite volumes in r.

Nodes sit on the axis (r = 0), fine over the spots and growing geometrically beyond them up
to the tissue radius, where the last node sits on the adiabatic side wall. Node ``i`` owns
the ring between the midpoints to its neighbours (the axis node a disc, the wall node a half
ring), so the axis needs no special case: its inner face has zero area and carries no heat
(the axisymmetry condition dT/dr = 0 holds exactly), and the wall's outer face is closed.

Everything is per radian (multiply by 2 pi for the whole cylinder): node volumes per unit
depth ``area_m2`` are the integrals of r dr over each node's ring, and the lateral coupling of
neighbours i and i + 1 is ``face_r / (r[i+1] - r[i])`` (per unit depth and conductivity).

Grid policy (docs/physics.md, "2-D axisymmetric spots"): the spacing over the spots is the
smallest spot radius over ``CELLS_PER_SPOT + 1/2`` cells, so that the edge of a top-hat spot
falls on a face; it is kept out to ``FINE_EXTENT`` times the largest spot radius, then grows
by ``GROWTH`` per node up to ``MAX_SPACING_MM``. A refinement divides the fine spacing and
takes the ``refinement``-th root of the growth: a smooth family of grids, as convergence
studies need.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CELLS_PER_SPOT = 18
FINE_EXTENT = 2.0
GROWTH = 1.25
MAX_SPACING_MM = 3.0


@dataclass(frozen=True, eq=False)
class RadialGrid:
    """Node radii and the finite-volume weights of the radial direction (per radian).

    radius_m: node radii, 0 first, the side wall last. area_m2: integral of r dr over each
    node's ring (its volume per unit depth). coupling: face radius over node spacing between
    node i and i + 1 (one fewer than the nodes). faces_m: the ring boundaries, 0 and the wall
    included (one more than the nodes)."""

    radius_m: np.ndarray
    area_m2: np.ndarray
    coupling: np.ndarray
    faces_m: np.ndarray

    @property
    def n(self) -> int:
        return int(self.radius_m.shape[0])


def _nodes_mm(radius_mm: float, spots_mm: tuple[float, ...], refinement: float) -> list[float]:
    if not spots_mm:
        # Every phase covers the whole surface: the field stays uniform in r.
        return [0.0, radius_mm]
    fine = min(spots_mm) / (CELLS_PER_SPOT + 0.5) / refinement
    extent = min(radius_mm, FINE_EXTENT * max(spots_mm))
    growth = GROWTH ** (1.0 / refinement)
    largest = MAX_SPACING_MM / refinement
    nodes = [0.0]
    spacing = fine
    while nodes[-1] < radius_mm - 1e-9:
        if nodes[-1] >= extent - 1e-9:
            spacing = min(max(largest, fine), spacing * growth)
        nodes.append(nodes[-1] + spacing)
    # The last node on the wall: a last spacing under half the previous one joins it.
    if len(nodes) > 2 and nodes[-1] - radius_mm > 0.5 * (nodes[-1] - nodes[-2]):
        nodes.pop()
    nodes[-1] = radius_mm
    return nodes


@lru_cache(maxsize=256)
def build_radial_grid(
    radius_mm: float, spots_mm: tuple[float, ...], refinement: float = 1.0
) -> RadialGrid:
    """The radial grid for a tissue cylinder of ``radius_mm`` under spots of the given radii
    (empty: no spot, two nodes suffice); ``refinement`` for convergence studies."""
    r = np.asarray(_nodes_mm(radius_mm, spots_mm, refinement)) * 1e-3
    mid = 0.5 * (r[:-1] + r[1:])
    faces = np.concatenate(([0.0], mid, [r[-1]]))
    area = 0.5 * (faces[1:] ** 2 - faces[:-1] ** 2)
    coupling = mid / np.diff(r)
    return RadialGrid(radius_m=r, area_m2=area, coupling=coupling, faces_m=faces)


def radial_weights(grid: RadialGrid, radius_mm: float) -> tuple[int, float]:
    """Node index and linear weight of the next node out for a probe at ``radius_mm``:
    exact at nodes, second order between them."""
    r = radius_mm * 1e-3
    nodes = grid.radius_m
    i = int(np.searchsorted(nodes, r, side="right")) - 1
    i = min(max(i, 0), grid.n - 2)
    weight = (r - nodes[i]) / (nodes[i + 1] - nodes[i])
    return i, float(min(max(weight, 0.0), 1.0))


def ring_average(grid: RadialGrid, profile: str, spot_radius_mm: float) -> np.ndarray:
    """The mean of a spot profile over each node's ring (exact integrals of the profile times
    r dr, divided by the ring's area): the heat each ring exchanges is then exact for any
    grid, and a top-hat's edge costs no accuracy where it meets a face.

    gaussian: s(r) = exp(-(r/a)^2); top-hat: s = 1 for r < a, else 0."""
    a = spot_radius_mm * 1e-3
    faces = grid.faces_m
    if profile == "gaussian":
        # integral of exp(-(r/a)^2) r dr = -a^2/2 exp(-(r/a)^2)
        primitive = -0.5 * a * a * np.exp(-((faces / a) ** 2))
    elif profile == "top-hat":
        primitive = 0.5 * np.minimum(faces, a) ** 2
    else:
        raise ValueError(f"unknown spot profile {profile!r}")
    return np.diff(primitive) / grid.area_m2
