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
    _capacity,
    _dose,
    _enthalpy,
    _frozen_fraction,
    _local_factor,
    _memory,
    _piece,
    _radiative_h,
    _temperature,
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


# ---------------------------------------------------------------- the general path
class Nodes(NamedTuple):
    """The nonlinear coefficients of the depth nodes (the column engine's, solver.py), per
    unit area: capacity unfrozen (cl) and frozen (cs), latent heat (lat), freezing point
    (tf), conductance to the node below unfrozen (gl) and frozen (gs), basal perfusion (wv)
    and metabolism (qv); lateral conductance unfrozen (kl) and frozen (ks): the depth
    integral of k over the node's share."""

    cl: np.ndarray
    cs: np.ndarray
    lat: np.ndarray
    tf: np.ndarray
    gl: np.ndarray
    gs: np.ndarray
    wv: np.ndarray
    qv: np.ndarray
    kl: np.ndarray
    ks: np.ndarray


class Laws(NamedTuple):
    """The perfusion law (local-cold: local > 0, reference, scale, floor, memory time),
    the mushy range (K), the nonlinear iteration's tolerance (K) and its cap."""

    local: float
    ref: float
    scale: float
    floor: float
    memory_s: float
    mush: float
    tol: float
    max_iter: int


class Radiation(NamedTuple):
    """Per segment and radial node: eps*sigma (W/(m2 K4)) towards radiant (C)."""

    eps_sigma: np.ndarray
    radiant: np.ndarray


@njit(cache=True, error_model="numpy")
def _coefficients(tt, mem, stored_memory, decay, nodes, laws, cap, hh, w, q, mk, phi):
    """Every node's capacity (slope of H), enthalpy, perfusion, metabolism, vasoconstriction
    state and frozen fraction at the temperatures tt (the column engine's laws, kernels.py)."""
    nz, nr = tt.shape
    mush = laws.mush
    is_local = laws.local > 0.5
    for j in range(nz):
        cl, cs, lat, tf = nodes.cl[j], nodes.cs[j], nodes.lat[j], nodes.tf[j]
        wv, qv = nodes.wv[j], nodes.qv[j]
        for i in range(nr):
            ti = tt[j, i]
            f = _frozen_fraction(ti, tf, mush)
            phi[j, i] = f
            cap[j, i] = _capacity(ti, cl, cs, lat, tf, mush)
            hh[j, i] = _enthalpy(ti, cl, cs, lat, tf, mush)
            if stored_memory:
                m = mem[j, i]
            elif is_local:
                m = _memory(_local_factor(ti, laws.ref, laws.scale, laws.floor), mem[j, i], decay)
            else:
                m = 1.0
            mk[j, i] = m
            w[j, i] = wv * m * (1.0 - f)
            q[j, i] = qv * (1.0 - f)


@njit(cache=True, error_model="numpy")
def _conductances(phi, nodes, rad, gv, gr):
    """Vertical conductance from each node to the one below (the last to the core) and
    lateral conductance to the next node out, per unit ring area and per unit depth, each
    blending unfrozen and frozen with the mean frozen fraction of the two nodes."""
    nz, nr = phi.shape
    for j in range(nz):
        gl, gs, kl, ks = nodes.gl[j], nodes.gs[j], nodes.kl[j], nodes.ks[j]
        for i in range(nr):
            below = phi[j + 1, i] if j + 1 < nz else phi[j, i]
            f = 0.5 * (phi[j, i] + below)
            gv[j, i] = (1.0 - f) * gl + f * gs
            if i + 1 < nr:
                f = 0.5 * (phi[j, i] + phi[j, i + 1])
                gr[j, i] = ((1.0 - f) * kl + f * ks) * rad.coupling[i]
            else:
                gr[j, i] = 0.0


@njit(cache=True, error_model="numpy")
def _exchange(tt, eta, tenv, eps, radiant, hs, te):
    """The surface's total conductance and environment temperature per radial node:
    convection plus exact radiation, linearised at the iterate tt."""
    nr = tt.shape[1]
    for i in range(nr):
        hr = _radiative_h(tt[0, i], radiant[i], eps[i]) if eps[i] > 0.0 else 0.0
        h = eta[i] + hr
        hs[i] = h
        te[i] = (eta[i] * tenv[i] + hr * radiant[i]) / h if h > 0.0 else tenv[i]


@njit(cache=True, error_model="numpy")
def _balance(tt, w, q, gv, gr, hs, te, rad, ta, tcore, out):
    """The heat balance of every node per radian (W): conduction, perfusion, metabolism,
    the core and the surface exchange."""
    nz, nr = tt.shape
    for j in range(nz):
        for i in range(nr):
            a = rad.area[i]
            ti = tt[j, i]
            e = a * (w[j, i] * (ta - ti) + q[j, i])
            below = tt[j + 1, i] if j + 1 < nz else tcore
            e += a * gv[j, i] * (below - ti)
            if j > 0:
                e += a * gv[j - 1, i] * (tt[j - 1, i] - ti)
            else:
                e += a * hs[i] * (te[i] - ti)
            if i > 0:
                e += gr[j, i - 1] * (tt[j, i - 1] - ti)
            if i + 1 < nr:
                e += gr[j, i] * (tt[j, i + 1] - ti)
            out[j, i] = e


@njit(cache=True, error_model="numpy")
def _flux_terms(tt, w, q, gv, hs, te, rad, ta, tcore):
    """(surface, core, perfusion, metabolic) heat rates into the tissue, W per radian."""
    nz, nr = tt.shape
    surface = 0.0
    core = 0.0
    perf = 0.0
    met = 0.0
    for i in range(nr):
        a = rad.area[i]
        surface += a * hs[i] * (te[i] - tt[0, i])
        core += a * gv[nz - 1, i] * (tcore - tt[nz - 1, i])
        for j in range(nz):
            perf += a * w[j, i] * (ta - tt[j, i])
            met += a * q[j, i]
    return surface, core, perf, met


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _band_cholesky(band, b):
    """In place: the lower Cholesky factor of a symmetric positive definite band matrix,
    band[k, d] = A[k, k - d] for d = 0..b (the field's nodes in order, radius fastest: b is
    one row of the field)."""
    n = band.shape[0]
    for k in range(n):
        top = min(k, b)
        for d in range(top, 0, -1):
            c = k - d
            s = band[k, d]
            reach = min(b - d, c)
            for e in range(1, reach + 1):
                s -= band[k, d + e] * band[c, e]
            band[k, d] = s / band[c, 0]
        s = band[k, 0]
        for e in range(1, top + 1):
            v = band[k, e]
            s -= v * v
        band[k, 0] = np.sqrt(s)


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _band_solve(band, b, x):
    """Solve L L^T x = x in place with the factor of _band_cholesky."""
    n = band.shape[0]
    for k in range(n):
        s = x[k]
        for e in range(1, min(k, b) + 1):
            s -= band[k, e] * x[k - e]
        x[k] = s / band[k, 0]
    for k in range(n - 1, -1, -1):
        s = x[k] / band[k, 0]
        x[k] = s
        for e in range(1, min(k, b) + 1):
            x[k - e] -= band[k, e] * s


class Work(NamedTuple):
    """Scratch arrays of the general path (depth x radius unless said): the iterate's
    capacity, enthalpy, perfusion, metabolism, vasoconstriction and frozen fraction; the
    level-n enthalpy, perfusion, metabolism, vasoconstriction and frozen fraction; the
    conductances; the explicit balance; the iterate; the surface exchange (radius); the band
    matrix (nodes x (radius + 1)) and the correction (nodes); the iterate's matrix (diagonal,
    link to the left, link to the node above) and right-hand side, and the piece of H(T)
    each node was on when the band was last factorised (nodes)."""

    cap: np.ndarray
    hk: np.ndarray
    w: np.ndarray
    q: np.ndarray
    mk: np.ndarray
    phi: np.ndarray
    hn: np.ndarray
    wn: np.ndarray
    qn: np.ndarray
    mn: np.ndarray
    phin: np.ndarray
    gv: np.ndarray
    gr: np.ndarray
    fexp: np.ndarray
    tk: np.ndarray
    hs: np.ndarray
    te: np.ndarray
    band: np.ndarray
    x: np.ndarray
    diag: np.ndarray
    left: np.ndarray
    up: np.ndarray
    rhs: np.ndarray
    pieces: np.ndarray


def work_arrays(nz: int, nr: int) -> Work:
    """Fresh scratch arrays for a field of nz x nr nodes."""
    fields = {name: np.zeros((nz, nr)) for name in Work._fields[:15]}
    nodes = {name: np.zeros(nz * nr) for name in ("x", "diag", "left", "up", "rhs")}
    return Work(
        **fields,
        **nodes,
        hs=np.zeros(nr),
        te=np.zeros(nr),
        band=np.zeros((nz * nr, nr + 1)),
        pieces=np.zeros(nz * nr, dtype=np.int64),
    )


@njit(cache=True, error_model="numpy")
def _picard(t, mem, dt, theta, seg, col, nodes, laws, rad, bc, radiation, wk, most):
    """One step of size dt from the state (t, mem), by Picard iteration with the
    Voller-Swaminathan enthalpy update; the converged iterate and its coefficients are left
    in wk (tk, cap, hk, w, q, mk, phi, gv, hs, te; hn and the level-n terms too). Returns
    (status, iterations, level-n fluxes) after at most ``most`` iterations; t and mem are
    not touched."""
    nz, nr = t.shape
    n = nz * nr
    ta, tcore = col.ta, col.tcore
    dth = dt * theta
    dte = dt - dth
    decay = np.exp(-dt / laws.memory_s) if laws.memory_s > 0.0 else 0.0
    eta, tenv = bc.eta[seg], bc.tenv[seg]
    eps, radiant = radiation.eps_sigma[seg], radiation.radiant[seg]
    cap, hk, w, q, mk, phi = wk.cap, wk.hk, wk.w, wk.q, wk.mk, wk.phi
    for p in range(n):
        wk.pieces[p] = -1
    gv, gr, hs, te, tk, band, x = wk.gv, wk.gr, wk.hs, wk.te, wk.tk, wk.band, wk.x
    _coefficients(t, mem, True, decay, nodes, laws, wk.cap, wk.hn, wk.wn, wk.qn, wk.mn, wk.phin)
    _conductances(wk.phin, nodes, rad, gv, gr)
    _exchange(t, eta, tenv, eps, radiant, hs, te)
    fluxes = _flux_terms(t, wk.wn, wk.qn, gv, hs, te, rad, ta, tcore)
    if theta < 1.0:
        _balance(t, wk.wn, wk.qn, gv, gr, hs, te, rad, ta, tcore, wk.fexp)
    for j in range(nz):
        for i in range(nr):
            tk[j, i] = t[j, i]
    iterations = 0
    factored = False
    for _ in range(most):
        iterations += 1
        _coefficients(tk, mem, False, decay, nodes, laws, cap, hk, w, q, mk, phi)
        _conductances(phi, nodes, rad, gv, gr)
        _exchange(tk, eta, tenv, eps, radiant, hs, te)
        # The matrix of this iterate (its diagonal, the link to the left and to the node
        # above, per radian) and the residual of the linearised step at the iterate; the
        # correction x solves the matrix of the last factorisation (defect correction, so
        # that a factorisation kept for a few iterates changes how fast they converge, not
        # where to).
        refactor = not factored
        for j in range(nz):
            for i in range(nr):
                p = j * nr + i
                a = rad.area[i]
                diag = a * (cap[j, i] + dth * (w[j, i] + gv[j, i]))
                src = w[j, i] * ta + q[j, i]
                if j + 1 == nz:
                    src += gv[j, i] * tcore
                left = 0.0
                up = 0.0
                if i > 0:
                    left = dth * gr[j, i - 1]
                    diag += left
                if i + 1 < nr:
                    diag += dth * gr[j, i]
                if j > 0:
                    up = a * dth * gv[j - 1, i]
                    diag += up
                else:
                    diag += a * dth * hs[i]
                    src += hs[i] * te[i]
                wk.diag[p] = diag
                wk.left[p] = left
                wk.up[p] = up
                wk.rhs[p] = (
                    a * (cap[j, i] * tk[j, i] - hk[j, i] + wk.hn[j, i] + dth * src)
                    + dte * wk.fexp[j, i]
                )
                piece = _piece(tk[j, i], nodes.tf[j], laws.mush)
                if piece != wk.pieces[p]:
                    wk.pieces[p] = piece
                    refactor = True
        for p in range(n):
            r = wk.rhs[p] - wk.diag[p] * tk.flat[p]
            if p % nr > 0:
                r += wk.left[p] * tk.flat[p - 1]
            if p % nr + 1 < nr:
                r += wk.left[p + 1] * tk.flat[p + 1]
            if p >= nr:
                r += wk.up[p] * tk.flat[p - nr]
            if p + nr < n:
                r += wk.up[p + nr] * tk.flat[p + nr]
            x[p] = r
        if refactor or iterations % REFACTOR_EVERY == 0:
            for p in range(n):
                for d in range(1, nr):
                    band[p, d] = 0.0
                band[p, 0] = wk.diag[p]
                band[p, 1] = -wk.left[p]
                band[p, nr] = -wk.up[p]
            _band_cholesky(band, nr)
            factored = True
        _band_solve(band, nr, x)
        for p in range(n):
            x[p] += tk.flat[p]
        # Under-relax after a few iterations: breaks a cycle of nodes around a kink (the
        # column engine waits 20; a ring of nodes crossing a kink cycles sooner).
        relax = 1.0 if iterations <= RELAX_AFTER else 0.5
        change = 0.0
        for j in range(nz):
            cl, cs, lat, tf = nodes.cl[j], nodes.cs[j], nodes.lat[j], nodes.tf[j]
            for i in range(nr):
                old = tk[j, i]
                predicted = hk[j, i] + relax * cap[j, i] * (x[j * nr + i] - old)
                new = _temperature(predicted, cl, cs, lat, tf, laws.mush)
                tk[j, i] = new
                d = abs(new - old)
                if not d <= change:
                    change = d
        if change != change:
            return NOT_FINITE, iterations, fluxes
        if change < laws.tol:
            # The converged iterate's coefficients, for the step's fluxes.
            _coefficients(tk, mem, False, decay, nodes, laws, cap, hk, w, q, mk, phi)
            _conductances(phi, nodes, rad, gv, gr)
            _exchange(tk, eta, tenv, eps, radiant, hs, te)
            return OK, iterations, fluxes
    return NOT_CONVERGED, iterations, fluxes


@njit(cache=True, error_model="numpy", nogil=True)
def run_general(t, mem, col, nodes, laws, rad, steps, bc, radiation, probes, out, field_p, wk):
    """March the field ``t`` and the vasoconstriction state ``mem`` (in place) over the
    schedule on the general path: each step by Picard iteration on the nonlinear laws with
    the Voller-Swaminathan enthalpy update (the column engine's, kernels.py), each iterate a
    banded Cholesky solve of the whole field. A step whose iteration does not converge is
    taken again in halves, down to SUBSTEPS pieces (a freezing front crossing a ring of
    nodes can cycle between their pieces of H(T) at the column engine's step; the halves
    converge). Returns 0, 1 (not converged) or 2 (not finite)."""
    nz, nr = t.shape
    acc = out.acc
    ta, tcore = col.ta, col.tcore
    prev = _start(t, probes, out)
    _record(0, t, tcore, probes, out)
    _record_perfusion(0, t, mem, nodes, laws, field_p)
    time = 0.0
    for k in range(steps.dt.shape[0]):
        dt_step = steps.dt[k]
        theta = steps.theta[k]
        seg = steps.segment[k]
        remaining = dt_step
        piece = dt_step
        while remaining > 1e-12 * dt_step:
            dt = min(piece, remaining)
            if remaining - dt < 1e-9 * dt_step:
                dt = remaining
            # A step that may still be halved gives up sooner than the finest pieces.
            halvable = piece > dt_step / SUBSTEPS
            most = min(laws.max_iter, HALVE_AFTER) if halvable else laws.max_iter
            status, iterations, fluxes = _picard(
                t, mem, dt, theta, seg, col, nodes, laws, rad, bc, radiation, wk, most
            )
            acc[A_ITERATIONS] += iterations
            if status == NOT_CONVERGED and halvable:
                piece = 0.5 * piece
                continue
            if status != OK:
                return status
            remaining -= dt
            dth = dt * theta
            dte = dt - dth
            surf0, core0, perf0, met0 = fluxes
            surf1, core1, perf1, met1 = _flux_terms(
                wk.tk, wk.w, wk.q, wk.gv, wk.hs, wk.te, rad, ta, tcore
            )
            acc[A_SURFACE] += dte * surf0 + dth * surf1
            acc[A_CORE] += dte * core0 + dth * core1
            acc[A_PERFUSION] += dte * perf0 + dth * perf1
            acc[A_METABOLIC] += dte * met0 + dth * met1
            stored = 0.0
            lowest = wk.tk[0, 0]
            for j in range(nz):
                perfused = nodes.wv[j] > 0.0
                for i in range(nr):
                    v = wk.tk[j, i]
                    if not (v == v and abs(v) < 1e4):
                        return NOT_FINITE
                    stored += rad.area[i] * (wk.hk[j, i] - wk.hn[j, i])
                    t[j, i] = v
                    mem[j, i] = wk.mk[j, i]
                    if v < out.node_min[j, i]:
                        out.node_min[j, i] = v
                    if v < lowest:
                        lowest = v
                    if perfused:
                        ratio = wk.mk[j, i] * (1.0 - wk.phi[j, i])
                        if ratio < acc[A_MIN_PERF]:
                            acc[A_MIN_PERF] = ratio
            acc[A_STORED] += stored
            time_old = time
            time += dt
            _track(t, lowest, time_old, dt, probes, out, prev)
        r = steps.record[k]
        if r >= 0:
            _record(r, t, tcore, probes, out)
            _record_perfusion(r, t, mem, nodes, laws, field_p)
    return OK


@njit(cache=True, error_model="numpy")
def _record_perfusion(r, t, mem, nodes, laws, field_p):
    """The perfusion ratio of every node (its vasoconstriction state times its unfrozen
    share) at output r, when the field is requested (the core row: 1)."""
    if field_p.shape[0] == 0:
        return
    nz, nr = t.shape
    for j in range(nz):
        for i in range(nr):
            f = _frozen_fraction(t[j, i], nodes.tf[j], laws.mush)
            field_p[r, j, i] = mem[j, i] * (1.0 - f)
    for i in range(nr):
        field_p[r, nz, i] = 1.0
