"""The peer solvers of the R1 benchmark, each written the way its library is meant to be used.

All solve the same problem (benchmarks/cases/README.md): a layered Pennes slab, steady under
(h0, T0), then a sequence of Robin phases (h, T_gas, duration), core fixed at the bottom.
Each returns the surface and 1 mm temperatures at the requested times (s, multiples of the
step). Grids and steps are those that meet 0.01 K (docs/benchmarks.md); the benchmark checks
the error again in every run.

- scikit-fem: P1 elements, Crank-Nicolson with a Rannacher start, ``splu`` once per phase.
- scipy solve_ivp: method of lines on the finite-volume grid of :mod:`benchmarks._fv`,
  LSODA with the constant banded Jacobian.
- FiPy: the same finite volumes, CN as half implicit + half ``ExplicitDiffusionTerm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmarks import _fv
from cryoderm.physics.case import Tissue

DEPTH_1MM = 1e-3


@dataclass(frozen=True)
class Protocol:
    """Steady start under (initial_h, initial_gas_c), then phases of (h, gas_c, duration_s)."""

    initial_h: float
    initial_gas_c: float
    phases: tuple[tuple[float, float, float], ...]


def _phase_ends(protocol: Protocol) -> list[float]:
    ends, t = [], 0.0
    for _, _, duration in protocol.phases:
        t += duration
        ends.append(t)
    return ends


# ---------------------------------------------------------------- scikit-fem
class SkfemP1:
    """P1 FEM of the slab; assembly once per tissue, one LU per phase (h changes the matrix)."""

    name = "scikit-fem P1 (CN + Rannacher, splu)"

    def __init__(self, tissue: Tissue, elements_per_layer: Sequence[int]):
        from skfem import Basis, BilinearForm, ElementLineP1, LinearForm, MeshLine, asm

        points = [0.0]
        bounds = []
        for layer, count in zip(tissue.layers, elements_per_layer, strict=True):
            start = points[-1]
            bounds.append(start + layer.thickness_mm * 1e-3)
            points += list(np.linspace(start, bounds[-1], count + 1)[1:])
        self.x = np.array(points)
        wb = tissue.blood.density_kg_m3 * tissue.blood.specific_heat_j_kgk
        edges = np.array(bounds)

        def per_layer(values: list[float]):
            table = np.array(values)

            def lookup(x):
                return table[np.minimum(np.searchsorted(edges, x), len(table) - 1)]

            return lookup

        k = per_layer([layer.conductivity_w_mk for layer in tissue.layers])
        rc = per_layer([layer.density_kg_m3 * layer.specific_heat_j_kgk for layer in tissue.layers])
        w = per_layer([wb * layer.perfusion_per_s for layer in tissue.layers])
        src = per_layer(
            [
                wb * layer.perfusion_per_s * tissue.arterial_temp_c + layer.metabolic_w_m3
                for layer in tissue.layers
            ]
        )

        @BilinearForm
        def mass(u, v, p):
            return rc(p.x[0]) * u * v

        @BilinearForm
        def stiffness(u, v, p):
            return k(p.x[0]) * u.grad[0] * v.grad[0] + w(p.x[0]) * u * v

        @LinearForm
        def load(v, p):
            return src(p.x[0]) * v

        basis = Basis(MeshLine(self.x), ElementLineP1())
        mass_matrix = asm(mass, basis).tocsr()
        stiff = asm(stiffness, basis).tocsr()
        # The last node carries the fixed core temperature: keep the interior block and move
        # the core's column to the load once (the core is constant, so M's column cancels).
        inner = np.arange(len(self.x) - 1)
        self.M = mass_matrix[inner][:, inner].tocsc()
        self.K = stiff[inner][:, inner].tocsc()
        self.load = (
            asm(load, basis)[inner] - stiff[inner][:, [-1]].toarray().ravel() * tissue.core_temp_c
        )
        self.core = tissue.core_temp_c

    def _robin(self, h: float, gas_c: float):
        from scipy.sparse import csc_matrix

        n = self.K.shape[0]
        a = self.K + csc_matrix(([h], ([0], [0])), shape=(n, n))
        f = self.load.copy()
        f[0] += h * gas_c
        return a, f

    def _steady(self, h: float, gas_c: float) -> np.ndarray:
        from scipy.sparse.linalg import spsolve

        a, f = self._robin(h, gas_c)
        return spsolve(a, f)

    def _phase(
        self,
        t: np.ndarray,
        h: float,
        gas_c: float,
        duration: float,
        dt: float,
        start: float,
        outputs: dict[float, np.ndarray],
        wanted: Sequence[float],
    ) -> np.ndarray:
        from scipy.sparse.linalg import splu

        a, f = self._robin(h, gas_c)

        def stepper(theta: float, step: float):
            lu = splu((self.M / step + theta * a).tocsc())
            explicit = (self.M / step - (1 - theta) * a).tocsr()
            return lambda values: lu.solve(explicit @ values + f)

        steps = round(duration / dt)
        backward = stepper(1.0, dt / 2)
        t = backward(backward(t))
        crank = stepper(0.5, dt)
        for step in range(1, steps + 1):
            if step > 1:
                t = crank(t)
            now = start + step * dt
            for time in wanted:
                if abs(now - time) < 1e-9:
                    outputs[time] = np.append(t, self.core)
        return t

    def run(self, protocol: Protocol, dt: float, times: Sequence[float]) -> np.ndarray:
        t = self._steady(protocol.initial_h, protocol.initial_gas_c)
        outputs: dict[float, np.ndarray] = {}
        start = 0.0
        for h, gas_c, duration in protocol.phases:
            t = self._phase(t, h, gas_c, duration, dt, start, outputs, times)
            start += duration
        return np.array(
            [[outputs[time][0], np.interp(DEPTH_1MM, self.x, outputs[time])] for time in times]
        )


# ---------------------------------------------------------------- scipy solve_ivp
class IvpLsoda:
    """Method of lines on the finite-volume grid, LSODA with the banded Jacobian."""

    name = "scipy solve_ivp (MOL, LSODA, banded Jacobian)"

    def __init__(self, tissue: Tissue, cells_per_layer: Sequence[int], tolerance: float):
        self.g = _fv.grid(tissue, tuple(cells_per_layer))
        self.tolerance = tolerance

    def run(self, protocol: Protocol, times: Sequence[float]) -> np.ndarray:
        from scipy.integrate import solve_ivp

        g = self.g
        temps = _fv.steady(g, protocol.initial_h, protocol.initial_gas_c)
        rows: dict[float, list[float]] = {}
        start = 0.0
        for (h, gas_c, _duration), end in zip(protocol.phases, _phase_ends(protocol), strict=True):
            ab, b = _fv.operator(g, h, gas_c)

            def rhs(_t, y, ab=ab, b=b):
                out = ab[1] * y + b
                out[:-1] += ab[0, 1:] * y[1:]
                out[1:] += ab[2, :-1] * y[:-1]
                return out

            inside = [t for t in times if start < t <= end + 1e-9]
            solution = solve_ivp(
                rhs,
                (start, end),
                temps,
                method="LSODA",
                t_eval=sorted(set([*inside, end])),
                jac=lambda _t, _y, ab=ab: ab,
                lband=1,
                uband=1,
                rtol=self.tolerance,
                atol=self.tolerance,
            )
            for column, time in enumerate(solution.t):
                if any(abs(time - t) < 1e-9 for t in inside):
                    field = solution.y[:, column]
                    rows[time] = [
                        float(_fv.surface_temp(g, field, h, gas_c)),
                        float(_fv.at_depth(g, field, DEPTH_1MM)),
                    ]
            temps = solution.y[:, -1]
            start = end
        return np.array([rows[min(rows, key=lambda r, t=t: abs(r - t))] for t in times])


# ---------------------------------------------------------------- FiPy
class FipyCN:
    """The finite volumes in FiPy: Crank-Nicolson as half implicit + half explicit diffusion."""

    name = "FiPy (FV, CN: implicit + ExplicitDiffusionTerm)"

    def __init__(self, tissue: Tissue, cells_per_layer: Sequence[int]):
        self.g = _fv.grid(tissue, tuple(cells_per_layer))

    def run(self, protocol: Protocol, dt: float, times: Sequence[float]) -> np.ndarray:
        from fipy import (
            CellVariable,
            DiffusionTerm,
            ExplicitDiffusionTerm,
            Grid1D,
            ImplicitSourceTerm,
            TransientTerm,
        )

        g = self.g
        mesh = Grid1D(dx=g.dx)
        temp = CellVariable(mesh=mesh, value=g.core_c, hasOld=True)
        temp.constrain(g.core_c, where=mesh.facesRight)
        k = CellVariable(mesh=mesh, value=g.k).harmonicFaceValue
        rc = CellVariable(mesh=mesh, value=g.rc)
        first = np.zeros(g.n)
        first[0] = 1.0

        def robin(h: float, gas_c: float) -> tuple[CellVariable, CellVariable]:
            # The surface resistance 1/h in series with the first half cell, as a sink in cell 0.
            hs = 1.0 / (1.0 / h + g.dx[0] / (2 * g.k[0])) / g.dx[0]
            sink = CellVariable(mesh=mesh, value=g.w + hs * first)
            source = CellVariable(mesh=mesh, value=g.w * g.arterial_c + g.q + hs * first * gas_c)
            return sink, source

        sink, source = robin(protocol.initial_h, protocol.initial_gas_c)
        (DiffusionTerm(coeff=k) - ImplicitSourceTerm(coeff=sink) + source).solve(var=temp)
        rows: dict[float, list[float]] = {}
        start = 0.0
        for h, gas_c, duration in protocol.phases:
            sink, source = robin(h, gas_c)
            backward = (
                TransientTerm(coeff=rc)
                == DiffusionTerm(coeff=k) - ImplicitSourceTerm(coeff=sink) + source
            )
            crank = (
                TransientTerm(coeff=rc)
                == DiffusionTerm(coeff=0.5 * k)
                + ExplicitDiffusionTerm(coeff=0.5 * k)
                - ImplicitSourceTerm(coeff=0.5 * sink)
                - 0.5 * sink * temp.old
                + source
            )
            for _ in range(2):
                temp.updateOld()
                backward.solve(var=temp, dt=dt / 2)
            steps = round(duration / dt)
            for step in range(1, steps + 1):
                if step > 1:
                    temp.updateOld()
                    crank.solve(var=temp, dt=dt)
                now = start + step * dt
                if any(abs(now - t) < 1e-9 for t in times):
                    field = np.array(temp.value)
                    rows[now] = [
                        float(_fv.surface_temp(g, field, h, gas_c)),
                        float(_fv.at_depth(g, field, DEPTH_1MM)),
                    ]
            start += duration
        return np.array([rows[min(rows, key=lambda r, t=t: abs(r - t))] for t in times])


# ---------------------------------------------------------------- fine-grid reference
def reference(
    tissue: Tissue, protocol: Protocol, times: Sequence[float], refine: int = 10, dt: float = 0.25
) -> np.ndarray:
    """Surface and 1 mm temperatures on a 10x refined grid with a 12x smaller step.

    Checked in every run against the converged R1 reference (bench_physics.REFERENCE)."""
    g = _fv.grid(tissue, tuple(refine * n for n in (1, 12, 30, 12)))
    temps = _fv.steady(g, protocol.initial_h, protocol.initial_gas_c)
    rows: dict[float, list[float]] = {}
    start = 0.0
    for (h, gas_c, duration), end in zip(protocol.phases, _phase_ends(protocol), strict=True):
        inside = [t - start for t in times if start < t <= end + 1e-9]
        fields = _fv.crank_nicolson(g, temps, h, gas_c, duration, dt, [*inside, duration])
        for offset in inside:
            field = fields[min(fields, key=lambda f, o=offset: abs(f - o))]
            rows[start + offset] = [
                float(_fv.surface_temp(g, field, h, gas_c)),
                float(_fv.at_depth(g, field, DEPTH_1MM)),
            ]
        temps = fields[min(fields, key=lambda f: abs(f - duration))]
        start = end
    return np.array([rows[min(rows, key=lambda r, t=t: abs(r - t))] for t in times])
