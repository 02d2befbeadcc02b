"""The peer of benchmark R2: a hand-written axisymmetric finite-volume solver on scipy.sparse.

The way a researcher would write it with scipy alone: cell-centred finite volumes in r and z
(cells uniform within each layer in z; uniform in r over the jet, graded beyond it), harmonic
conductances between cells, the Robin surface through the half-cell resistance in series
with 1/h (h sampled at each cell's centre), the fixed core through the bottom half cell, the
axis and the side wall closed. Crank-Nicolson with a Rannacher start (two backward-Euler
half steps) and one sparse LU factorisation (``splu``) per scheme: the matrix never changes
within the phase. Probes: the surface temperature from the first cell through the same series
resistance; linear interpolation between cell centres in z and r, quadratic extrapolation
to the axis (T = a + b r^2 through the first two cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from cryoderm.physics.case import Tissue


@dataclass(frozen=True)
class Jet:
    """A Gaussian jet h(r) = h0 exp(-(r/a)^2) to gas_c, plus background air everywhere."""

    h0: float
    radius_m: float
    gas_c: float
    background_h: float
    background_c: float


def radial_faces(fine_dr_m: float, fine_to_m: float, growth: float, radius_m: float) -> np.ndarray:
    """Cell faces in r: uniform up to fine_to_m, then growing by ``growth`` to the wall."""
    faces = [0.0]
    dr = fine_dr_m
    while faces[-1] < radius_m - 1e-12:
        if faces[-1] >= fine_to_m - 1e-12:
            dr *= growth
        faces.append(min(radius_m, faces[-1] + dr))
    if radius_m - faces[-2] < 0.5 * (faces[-2] - faces[-3]):
        faces.pop(-2)
    return np.array(faces)


class AxisymmetricFV:
    """The R2 solver: build once per grid, run per jet (one LU per scheme and step size)."""

    name = "scipy.sparse FV (CN + Rannacher, splu once)"

    def __init__(self, tissue: Tissue, cells_per_layer: tuple[int, ...], faces_m: np.ndarray):
        dz, k, rc, w, q = [], [], [], [], []
        wb = tissue.blood.density_kg_m3 * tissue.blood.specific_heat_j_kgk
        for layer, count in zip(tissue.layers, cells_per_layer, strict=True):
            dz += [layer.thickness_mm * 1e-3 / count] * count
            k += [layer.conductivity_w_mk] * count
            rc += [layer.density_kg_m3 * layer.specific_heat_j_kgk] * count
            w += [wb * layer.perfusion_per_s] * count
            q += [layer.metabolic_w_m3] * count
        self.dz, self.k = np.array(dz), np.array(k)
        rc_, w_, q_ = np.array(rc), np.array(w), np.array(q)
        self.zc = np.cumsum(self.dz) - self.dz / 2
        self.faces = faces_m
        self.rc_r = 0.5 * (faces_m[:-1] + faces_m[1:])
        ring = 0.5 * (faces_m[1:] ** 2 - faces_m[:-1] ** 2)  # per radian
        self.nz, self.nr = len(self.dz), len(ring)
        nz, nr = self.nz, self.nr
        self.ta, self.tcore = tissue.arterial_temp_c, tissue.core_temp_c
        index = np.arange(nz * nr).reshape(nz, nr)
        vol = ring[None, :] * self.dz[:, None]
        self.cap = (rc_[:, None] * vol).ravel()
        rows, cols, vals = [], [], []

        def link(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> None:
            rows.extend([a, b, a, b])
            cols.extend([a, b, b, a])
            vals.extend([g, g, -g, -g])

        # z links (harmonic), per ring area
        gz = 1.0 / (self.dz[:-1] / (2 * self.k[:-1]) + self.dz[1:] / (2 * self.k[1:]))
        link(index[:-1].ravel(), index[1:].ravel(), (gz[:, None] * ring[None, :]).ravel())
        # r links, per unit depth: k dz f / (r_{i+1} - r_i)
        gr = faces_m[1:-1] / np.diff(self.rc_r)
        link(
            index[:, :-1].ravel(),
            index[:, 1:].ravel(),
            (self.k[:, None] * self.dz[:, None] * gr[None, :]).ravel(),
        )
        diag = (w_[:, None] * vol).ravel().copy()
        core = 2 * self.k[-1] / self.dz[-1] * ring
        diag[index[-1]] += core
        self.source = ((w_ * self.ta + q_)[:, None] * vol).ravel().copy()
        self.source[index[-1]] += core * self.tcore
        n = nz * nr
        # operator: C dT/dt = -K T + s  (K without the surface)
        self.K = (
            sp.coo_matrix(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), (n, n)
            )
            + sp.diags(diag)
        ).tocsc()
        self.ring = ring
        self.top = index[0]

    def _surface(self, h: np.ndarray, env: np.ndarray) -> tuple[sp.csc_matrix, np.ndarray]:
        g = 1.0 / (1.0 / np.maximum(h, 1e-300) + self.dz[0] / (2 * self.k[0])) * self.ring
        g = np.where(h > 0, g, 0.0)
        n = self.nz * self.nr
        diag = np.zeros(n)
        diag[self.top] = g
        s = self.source.copy()
        s[self.top] += g * env
        return (self.K + sp.diags(diag)).tocsc(), s

    def _conditions(self, jet: Jet | None, h0: float, t0: float) -> tuple[np.ndarray, np.ndarray]:
        r = self.rc_r
        if jet is None:
            return np.full(self.nr, h0), np.full(self.nr, t0)
        hj = jet.h0 * np.exp(-((r / jet.radius_m) ** 2))
        h = hj + jet.background_h
        return h, (hj * jet.gas_c + jet.background_h * jet.background_c) / h

    def run(
        self, initial_h: float, initial_c: float, jet: Jet, dt: float, times: tuple[float, ...]
    ) -> dict[float, np.ndarray]:
        """The field (nz x nr) at each time (multiples of dt), from the steady state."""
        h, env = self._conditions(None, initial_h, initial_c)
        a, s = self._surface(h, env)
        temps = splu(a).solve(s)
        h, env = self._conditions(jet, 0.0, 0.0)
        a, s = self._surface(h, env)
        cap = sp.diags(self.cap)

        def scheme(theta: float, step: float):
            lu = splu((cap / step + theta * a).tocsc())
            explicit = (cap / step - (1 - theta) * a).tocsr()
            return lambda values: lu.solve(explicit @ values + s)

        half = scheme(1.0, dt / 2)
        temps = half(half(temps))
        crank = scheme(0.5, dt)
        out = {}
        steps = round(max(times) / dt)
        wanted = {round(t / dt): t for t in times}
        for step in range(1, steps + 1):
            if step > 1:
                temps = crank(temps)
            if step in wanted:
                out[wanted[step]] = temps.reshape(self.nz, self.nr).copy()
        self._last_surface = (h, env)
        return out

    def probe(self, field: np.ndarray, radius_m: float, depth_m: float, jet: Jet) -> float:
        """Temperature at (radius, depth) from a field of run()."""
        h, env = self._conditions(jet, 0.0, 0.0)
        if depth_m <= 0.0:
            g0 = 2 * self.k[0] / self.dz[0]
            row = (h * env + g0 * field[0]) / (h + g0)
        else:
            j = int(np.clip(np.searchsorted(self.zc, depth_m) - 1, 0, self.nz - 2))
            weight = (depth_m - self.zc[j]) / (self.zc[j + 1] - self.zc[j])
            row = (1 - weight) * field[j] + weight * field[j + 1]
        r = self.rc_r
        if radius_m <= r[0]:
            # T = a + b r^2 through the first two cell centres, at radius_m.
            b = (row[1] - row[0]) / (r[1] ** 2 - r[0] ** 2)
            return float(row[0] + b * (radius_m**2 - r[0] ** 2))
        return float(np.interp(radius_m, r, row))
