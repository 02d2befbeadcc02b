"""Compiled kernels of the 2-D axisymmetric solver (numba, cached on disk).

The field is ``T[j, i]``: depth node j (the 1-D engine's layer-aligned vertex-centred grid,
grid.py) by radial node i (radial.py), radius the fast axis. Per radian, node (j, i) owns
the ring area ``area[i]`` times the depth share of the 1-D grid's node j, so the depth
coefficients are the 1-D grid's per unit area (capacity, perfusion, metabolism, the depth
conductances ``gz``) and the radial conductance of row j is ``kz[j]`` (the depth integral
of the conductivity over the node's share) times the radial coupling of radial.py.

Time stepping is the 1-D engine's theta scheme on its step schedule (solver.py): backward
Euler start-up steps after every change of the surface condition, Crank-Nicolson otherwise.

The linear path (constant perfusion, no phase change, no radiation) solves each step's
linear system exactly by separation of variables: the radial operator is the same on every
row up to the factor kz[j], so in the basis of its eigenvectors (the generalised problem
S phi = lambda A phi of the radial stiffness S and the ring areas A) each radial mode is an
independent tridiagonal system in depth. Only the surface condition, which varies with r,
couples the modes, and only on the surface row: a dense system of one unknown per mode (the
capacitance matrix) closes it. Per step that is two small dense products (into and out of
the modes), one tridiagonal sweep per mode and the capacitance solve; the factors change
only with the step size and the surface condition.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cryoderm.physics.kernels import (
    _dose,
    _time_below,
)

# Columns of the accumulator ``acc`` (axisym_metrics.py reads them); energies are per radian.
A_STORED = 0  # change of the tissue's heat content, J/rad
A_SURFACE = 1  # heat into the tissue through the skin surface, J/rad
A_CORE = 2  # heat from the deep boundary, J/rad
A_PERFUSION = 3  # heat brought by perfusion, J/rad
A_METABOLIC = 4  # metabolic heat, J/rad
A_COLD_DOSE = 5  # integral of max(0, dose_ref - coldest surface T) dt, K s
A_FREEZE_TIME = 6  # first time the coldest node reaches the freeze criterion, s (-1: never)
A_MIN_PERF = 7  # lowest perfusion ratio over perfused nodes and time
A_ITERATIONS = 8  # nonlinear iterations (0 on the linear path)
N_ACC = 9


class Column(NamedTuple):
    """Depth coefficients (1-D grid, per unit area): capacity c, perfusion w (rho_b c_b
    omega times the node's share), metabolism q, conductance gz to the node below (the last
    links to the core), lateral conductance kz (depth integral of k over the node's share);
    arterial and core temperatures (C)."""

    c: np.ndarray
    w: np.ndarray
    q: np.ndarray
    gz: np.ndarray
    kz: np.ndarray
    ta: float
    tcore: float


class Radial(NamedTuple):
    """Radial geometry (radial.py) and the eigenbasis of its operator: the generalised
    problem S phi = lam A phi, solved as the symmetric A^-1/2 S A^-1/2 psi = lam psi with
    orthonormal psi. Fields in modes are u = T @ to_modes (to_modes = A^1/2 psi) and back
    T = u @ to_field (to_field = psi^T A^-1/2); ones: a uniform unit field in modes."""

    area: np.ndarray
    coupling: np.ndarray
    lam: np.ndarray
    to_modes: np.ndarray
    to_field: np.ndarray
    ones: np.ndarray


class Steps(NamedTuple):
    """The step schedule (solver.Schedule's arrays)."""

    dt: np.ndarray
    theta: np.ndarray
    segment: np.ndarray
    start: np.ndarray
    record: np.ndarray


class Surface(NamedTuple):
    """Surface conditions per segment: per radial node the total conductance eta (W/(m2 K),
    mean over the node's ring) and the environment temperature tenv (C); in modes, the
    exchange matrix psi^T diag(eta) psi and the source (eta tenv) @ to_modes."""

    eta: np.ndarray
    tenv: np.ndarray
    exchange: np.ndarray
    source: np.ndarray


class Probes(NamedTuple):
    """Probe positions: depth node and weight of the node below, radial node and weight of
    the node outside; the basal row (-1: none); metric thresholds and dose reference (C)."""

    zi: np.ndarray
    zw: np.ndarray
    ri: np.ndarray
    rw: np.ndarray
    basal_row: int
    thresholds: np.ndarray
    dose_ref: float
    freeze_c: float


class Outputs(NamedTuple):
    """What the kernel writes: samples[time, probe]; field[time, depth node (core last),
    radial node] (zero times when not requested); node_min[depth, radial] over the run;
    time below each threshold of the coldest surface and basal points; accumulators."""

    samples: np.ndarray
    field: np.ndarray
    node_min: np.ndarray
    below_surface: np.ndarray
    below_basal: np.ndarray
    acc: np.ndarray


@njit(cache=True, error_model="numpy")
def _record(r, t, tcore, probes, out):
    nz, nr = t.shape
    for p in range(probes.zi.shape[0]):
        j, wz = probes.zi[p], probes.zw[p]
        i, wr = probes.ri[p], probes.rw[p]
        i2 = min(i + 1, nr - 1)
        up = (1.0 - wr) * t[j, i] + wr * t[j, i2]
        down = (1.0 - wr) * t[j + 1, i] + wr * t[j + 1, i2] if j + 1 < nz else tcore
        out.samples[r, p] = (1.0 - wz) * up + wz * down
    if out.field.shape[0] > 0:
        for j in range(nz):
            for i in range(nr):
                out.field[r, j, i] = t[j, i]
        for i in range(nr):
            out.field[r, nz, i] = tcore


# The dense and sweep kernels may reassociate sums (vectorised reductions) and fuse
# multiply-adds; they never test for NaN, which the step's bookkeeping does without these flags.
FAST = {"reassoc", "contract"}
# Status codes (as the column engine's, kernels.py).
OK = 0
NOT_CONVERGED = 1
NOT_FINITE = 2
# The finest pieces a step of the general path is cut into when its iteration does not
# converge (a power of two).
SUBSTEPS = 64
# A factorisation is kept while no node changes its piece of H(T), for at most this many
# iterates.
REFACTOR_EVERY = 8
# The Picard iteration under-relaxes from this iterate on, and a step that can still be
# halved is halved after this many (measured on R2 with freezing: 1,333 iterates and 2.8 s
# with the column engine's 20 and 200, 926 and 1.8 s with these).
RELAX_AFTER = 8
HALVE_AFTER = 40
TINY = 1e-200


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _factor(dth, col, rad, exchange, piv, cp, resp, chol, gsq):
    """Factors of one step size and surface condition: each mode's depth system by Thomas
    (inverted pivots piv, multipliers cp), each mode's response to a unit source on the
    surface row (resp), and the Cholesky factor (lower, in chol) of the capacitance matrix
    in its symmetric form I + dth G^1/2 E G^1/2 (E: the exchange matrix, positive
    semi-definite; G: the modes' surface responses, gsq = G^1/2)."""
    nz = col.c.shape[0]
    nr = rad.lam.shape[0]
    lam = rad.lam
    for j in range(nz):
        gu = col.gz[j - 1] if j > 0 else 0.0
        gd = col.gz[j]
        base = col.c[j] + dth * (col.w[j] + gu + gd)
        lateral = dth * col.kz[j]
        down = -dth * gd if j + 1 < nz else 0.0
        if j == 0:
            for m in range(nr):
                inv = 1.0 / (base + lateral * lam[m])
                piv[0, m] = inv
                cp[0, m] = down * inv
        else:
            up = dth * gu
            for m in range(nr):
                inv = 1.0 / (base + lateral * lam[m] + up * cp[j - 1, m])
                piv[j, m] = inv
                cp[j, m] = down * inv
    # A mode's response to the surface decays geometrically with depth, the faster the
    # higher the mode: below TINY it is set to zero (here and in the modes of the field,
    # _solve) before it reaches the subnormal numbers, on which arithmetic runs about a
    # hundred times slower (measured: a run took six times as long).
    for m in range(nr):
        resp[0, m] = piv[0, m]
    for j in range(1, nz):
        a = dth * col.gz[j - 1]
        for m in range(nr):
            v = a * resp[j - 1, m] * piv[j, m]
            resp[j, m] = v if abs(v) > TINY else 0.0
    for j in range(nz - 2, -1, -1):
        for m in range(nr):
            resp[j, m] -= cp[j, m] * resp[j + 1, m]
    for m in range(nr):
        gsq[m] = np.sqrt(resp[0, m])
    for m in range(nr):
        for n in range(m + 1):
            v = dth * gsq[m] * exchange[m, n] * gsq[n]
            if m == n:
                v += 1.0
            for k in range(n):
                v -= chol[m, k] * chol[n, k]
            if m == n:
                chol[m, m] = np.sqrt(v)
            else:
                chol[m, n] = v / chol[n, n]


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _rhs(u, col, rad, exchange, source, dth, dte, rhs, ex):
    """rhs = c u + dte F(u) + dt (the sources), in modes: F is the heat balance per unit
    ring area (conduction in depth, in radius as each mode's eigenvalue, perfusion, the
    surface exchange); the sources are perfusion at the arterial temperature, metabolism,
    the core and the surface's environment (ex: scratch for the exchange of u's surface)."""
    nz, nr = u.shape
    dt = dth + dte
    lam, ones = rad.lam, rad.ones
    if dte > 0.0:
        for m in range(nr):
            v = 0.0
            for n in range(nr):
                v += exchange[m, n] * u[0, n]
            ex[m] = v
    for j in range(nz):
        gu = col.gz[j - 1] if j > 0 else 0.0
        gd = col.gz[j]
        src = col.w[j] * col.ta + col.q[j]
        if j == nz - 1:
            src += gd * col.tcore
        src *= dt
        cj = col.c[j]
        if dte == 0.0:
            for m in range(nr):
                rhs[j, m] = cj * u[j, m] + src * ones[m]
            continue
        base = cj - dte * (col.w[j] + gu + gd)
        lateral = dte * col.kz[j]
        for m in range(nr):
            rhs[j, m] = (base - lateral * lam[m]) * u[j, m] + src * ones[m]
        if j > 0:
            a = dte * gu
            for m in range(nr):
                rhs[j, m] += a * u[j - 1, m]
        if j + 1 < nz:
            b = dte * gd
            for m in range(nr):
                rhs[j, m] += b * u[j + 1, m]
    for m in range(nr):
        rhs[0, m] += dt * source[m]
        if dte > 0.0:
            rhs[0, m] -= dte * ex[m]


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _solve(dth, rhs, col, exchange, piv, cp, resp, chol, gsq, u, y, corr):
    """The new field in modes, u[j, m], from the right-hand side in modes (rhs)."""
    nz, nr = rhs.shape
    for m in range(nr):
        u[0, m] = rhs[0, m] * piv[0, m]
    for j in range(1, nz):
        a = dth * col.gz[j - 1]
        for m in range(nr):
            u[j, m] = (rhs[j, m] + a * u[j - 1, m]) * piv[j, m]
    for j in range(nz - 2, -1, -1):
        for m in range(nr):
            u[j, m] -= cp[j, m] * u[j + 1, m]
    # The surface row in modes, u0, solves (I + dth G E) u0 = z0 (z: the modes solved
    # without the exchange); with u0 = G^1/2 x that is the symmetric system for x.
    for m in range(nr):
        v = u[0, m] / gsq[m]
        for k in range(m):
            v -= chol[m, k] * y[k]
        y[m] = v / chol[m, m]
    for m in range(nr - 1, -1, -1):
        v = y[m]
        for k in range(m + 1, nr):
            v -= chol[k, m] * y[k]
        y[m] = v / chol[m, m]
    for m in range(nr):
        y[m] *= gsq[m]
    # Each mode loses its response to the exchange dth E u0 on the surface row.
    for m in range(nr):
        v = 0.0
        for n in range(nr):
            v += exchange[m, n] * y[n]
        corr[m] = dth * v
    for j in range(nz):
        for m in range(nr):
            v = u[j, m] - resp[j, m] * corr[m]
            u[j, m] = v if abs(v) > TINY else 0.0


@njit(cache=True, error_model="numpy")
def _accept(t, area, node_min, sums):
    """Bookkeeping of a new field: node minima, each row's area-weighted sum (sums), the
    lowest temperature; -1e300 when a temperature is not finite."""
    nz, nr = t.shape
    lowest = t[0, 0]
    for j in range(nz):
        s = 0.0
        for i in range(nr):
            v = t[j, i]
            if not (v == v and abs(v) < 1e4):
                return -1e300
            if v < node_min[j, i]:
                node_min[j, i] = v
            if v < lowest:
                lowest = v
            s += area[i] * v
        sums[j] = s
    return lowest


@njit(cache=True, error_model="numpy")
def _fluxes(t, col, rad, eta, tenv, sums, total):
    """(surface, core, perfusion, metabolic) heat rates into the tissue, W per radian, from
    the field and its rows' area-weighted sums."""
    nz, nr = t.shape
    surface = 0.0
    for i in range(nr):
        surface += rad.area[i] * eta[i] * (tenv[i] - t[0, i])
    core = col.gz[nz - 1] * (col.tcore * total - sums[nz - 1])
    perf = 0.0
    met = 0.0
    for j in range(nz):
        perf += col.w[j] * (col.ta * total - sums[j])
        met += col.q[j] * total
    return surface, core, perf, met


@njit(cache=True, error_model="numpy")
def _row_min(t, j):
    low = t[j, 0]
    for i in range(1, t.shape[1]):
        low = min(low, t[j, i])
    return low


@njit(cache=True, error_model="numpy")
def _start(t, probes, out):
    """The bookkeeping at the initial field: node minima, whether it starts at the freezing
    criterion, the perfusion ratio's minimum; returns the previous (coldest surface, coldest
    basal, lowest) values that _track carries from step to step."""
    nz, nr = t.shape
    for j in range(nz):
        for i in range(nr):
            out.node_min[j, i] = t[j, i]
    prev = np.empty(3)
    prev[0] = _row_min(t, 0)
    prev[1] = _row_min(t, probes.basal_row) if probes.basal_row >= 0 else 0.0
    prev[2] = t.min()
    out.acc[A_FREEZE_TIME] = 0.0 if prev[2] <= probes.freeze_c else -1.0
    out.acc[A_MIN_PERF] = 1.0
    return prev


@njit(cache=True, error_model="numpy")
def _track(t, lowest, time_old, dt, probes, out, prev):
    """A step's metrics (the column engine's definitions, kernels.py, at the coldest point of
    the surface and of the basal row): time below each threshold, the cold dose, the first
    time the tissue reaches the freezing criterion (interpolated within the step)."""
    acc = out.acc
    thresholds = probes.thresholds
    surf = _row_min(t, 0)
    for m in range(thresholds.shape[0]):
        out.below_surface[m] += _time_below(prev[0], surf, thresholds[m], dt)
    acc[A_COLD_DOSE] += _dose(prev[0], surf, probes.dose_ref, dt)
    prev[0] = surf
    if probes.basal_row >= 0:
        basal = _row_min(t, probes.basal_row)
        for m in range(thresholds.shape[0]):
            out.below_basal[m] += _time_below(prev[1], basal, thresholds[m], dt)
        prev[1] = basal
    if acc[A_FREEZE_TIME] < 0.0 and lowest <= probes.freeze_c:
        frac = 1.0
        if prev[2] > lowest:
            frac = (prev[2] - probes.freeze_c) / (prev[2] - lowest)
        acc[A_FREEZE_TIME] = time_old + frac * dt
    prev[2] = lowest


@njit(cache=True, error_model="numpy", nogil=True)
def run_linear(t, col, rad, steps, bc, probes, out):
    """March the field ``t`` (in place) over the schedule on the linear path, filling
    ``out``; returns 0, or 2 for a non-finite temperature."""
    nz, nr = t.shape
    acc = out.acc
    u = np.empty((nz, nr))
    rhs = np.empty((nz, nr))
    piv = np.empty((nz, nr))
    cp = np.empty((nz, nr))
    resp = np.empty((nz, nr))
    chol = np.zeros((nr, nr))
    gsq = np.empty(nr)
    y = np.empty(nr)
    corr = np.empty(nr)
    ex = np.empty(nr)
    sums = np.empty(nz)
    t0 = t.copy()
    total = 0.0
    for i in range(nr):
        total += rad.area[i]
    prev = _start(t, probes, out)
    _accept(t, rad.area, out.node_min, sums)
    _record(0, t, col.tcore, probes, out)
    np.dot(t, rad.to_modes, u)
    factored_dt = -1.0
    factored_theta = -1.0
    seg = -1
    time = 0.0
    for k in range(steps.dt.shape[0]):
        dt = steps.dt[k]
        theta = steps.theta[k]
        dth = dt * theta
        dte = dt - dth
        if steps.segment[k] != seg:
            seg = steps.segment[k]
            factored_dt = -1.0
        eta = bc.eta[seg]
        tenv = bc.tenv[seg]
        exchange = bc.exchange[seg]
        if dt != factored_dt or theta != factored_theta:
            _factor(dth, col, rad, exchange, piv, cp, resp, chol, gsq)
            factored_dt = dt
            factored_theta = theta
        surf0, core0, perf0, met0 = _fluxes(t, col, rad, eta, tenv, sums, total)
        _rhs(u, col, rad, exchange, bc.source[seg], dth, dte, rhs, ex)
        _solve(dth, rhs, col, exchange, piv, cp, resp, chol, gsq, u, y, corr)
        np.dot(u, rad.to_field, t)
        lowest = _accept(t, rad.area, out.node_min, sums)
        if lowest == -1e300:
            return 2
        time_old = time
        time += dt
        surf1, core1, perf1, met1 = _fluxes(t, col, rad, eta, tenv, sums, total)
        acc[A_SURFACE] += dte * surf0 + dth * surf1
        acc[A_CORE] += dte * core0 + dth * core1
        acc[A_PERFUSION] += dte * perf0 + dth * perf1
        acc[A_METABOLIC] += dte * met0 + dth * met1
        _track(t, lowest, time_old, dt, probes, out, prev)
        r = steps.record[k]
        if r >= 0:
            _record(r, t, col.tcore, probes, out)
    stored = 0.0
    for j in range(nz):
        for i in range(nr):
            stored += rad.area[i] * col.c[j] * (t[j, i] - t0[j, i])
    acc[A_STORED] = stored
    return 0
