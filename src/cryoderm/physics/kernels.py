"""The compiled kernel family of the thermal engine (numba, cached on disk).

This is the only module that imports numba, so that everything else stays cheap to import.
The layout is the one measured fastest (docs/benchmarks.md): cases are the fast (SIMD) axis, nodes the slow one;
every array is ``[node, case]`` and the inner loops of the Thomas sweeps run over 1-D rows.

Discretisation (docs/physics.md): vertex-centred finite volumes in depth; theta scheme in
time (Crank-Nicolson with backward-Euler start-up steps, both chosen by the caller's step
schedule); the storage term in enthalpy form so that latent heat is conserved exactly;
Picard iteration for the temperature-dependent perfusion, conductivity and radiation, with
kink truncation for the piecewise-linear enthalpy; Thomas algorithm.

Node ``na`` is the skin surface; nodes ``0 .. na-1`` are an optional contact applicator
(node ``na-1`` its contact face, linked to the skin by the contact conductance); the last
unknown connects through its conductance to the fixed core temperature.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

KELVIN = 273.15

# Status codes written per case.
OK = 0
NOT_CONVERGED = 1
NOT_FINITE = 2

# Columns of the per-case accumulator ``acc`` (metrics.py reads them).
A_STORED = 0  # change of tissue enthalpy, J/m2
A_SURFACE = 1  # heat into the skin through its surface, J/m2
A_CORE = 2  # heat into the tissue from the core boundary, J/m2
A_PERFUSION = 3  # heat brought by perfusion, J/m2
A_METABOLIC = 4  # metabolic heat, J/m2
A_COLD_DOSE = 5  # integral of max(0, dose_ref - T_surface) dt, K s
A_FREEZE_TIME = 6  # first time the tissue minimum reaches the freeze criterion, s (-1: never)
A_MIN_PERF = 7  # minimum perfusion ratio over perfused nodes and time
A_FROZEN_NODE = 8  # deepest node index below the freeze criterion (-1: none)
A_ITERATIONS = 9  # total nonlinear iterations
N_ACC = 10

# An applicator start temperature below this is no temperature: the applicator carries its
# state from the previous segment (a moving applicator's next stroke; applicators.CARRY_C).
# A sentinel rather than NaN: the linear path is compiled with fastmath (no NaN semantics).
CARRY_BELOW_C = -1.0e29

# Doubles per SIMD vector (AVX-512; two AVX2 vectors): the linear kernel pads its blocks to it.
LANES = 8


@njit(cache=True, inline="always", error_model="numpy")
def _frozen_fraction(t, tf, mush):
    if t >= tf:
        return 0.0
    if t <= tf - mush:
        return 1.0
    return (tf - t) / mush


@njit(cache=True, inline="always", error_model="numpy")
def _enthalpy(t, cl, cs, lat, tf, mush):
    """Enthalpy per area (J/m2) relative to fully frozen tissue at tf - mush."""
    ts = tf - mush
    if t <= ts:
        return cs * (t - ts)
    cm = 0.5 * (cl + cs) + lat / mush
    if t < tf:
        return cm * (t - ts)
    return cm * mush + cl * (t - tf)


@njit(cache=True, inline="always", error_model="numpy")
def _capacity(t, cl, cs, lat, tf, mush):
    if t >= tf:
        return cl
    if t <= tf - mush:
        return cs
    return 0.5 * (cl + cs) + lat / mush


@njit(cache=True, inline="always", error_model="numpy")
def _temperature(h, cl, cs, lat, tf, mush):
    """The inverse of _enthalpy."""
    ts = tf - mush
    if h <= 0.0:
        return ts + h / cs
    cm = 0.5 * (cl + cs) + lat / mush
    if h < cm * mush:
        return ts + h / cm
    return tf + (h - cm * mush) / cl


@njit(cache=True, inline="always", error_model="numpy")
def _piece(t, tf, mush):
    if t >= tf:
        return 2
    if t <= tf - mush:
        return 0
    return 1


@njit(cache=True, inline="always", error_model="numpy")
def _local_factor(t, ref, scale, floor):
    # At or above the reference the factor is capped at 1 (warming does not dilate): no
    # power to evaluate, as for most deep nodes (measured: the power was a large share of
    # the general kernel's coefficient updates).
    if t >= ref:
        return 1.0
    f = 2.0 ** ((t - ref) / scale)
    if f < floor:
        f = floor
    return f


@njit(cache=True, inline="always", error_model="numpy")
def _memory(f, m_old, decay):
    """Constriction follows the local factor at once; its release is first order."""
    if f <= m_old:
        return f
    return f - (f - m_old) * decay


@njit(cache=True, inline="always", error_model="numpy")
def _radiative_h(ts, tr, eps_sigma):
    a = ts + KELVIN
    b = tr + KELVIN
    return eps_sigma * (a * a + b * b) * (a + b)


@njit(cache=True, inline="always", error_model="numpy")
def _time_below(a, b, thr, dt):
    """Time within a step during which the linear interpolant from a to b is below thr.

    Branch-free (the fraction of the step below thr, clamped to 0..1), so that the loops
    over thresholds and cases vectorise; a flat step (a == b) divides by a tiny span and
    clamps to all (below) or nothing (at or above)."""
    low = min(a, b)
    span = max(abs(a - b), 1e-300)
    return dt * min(max((thr - low) / span, 0.0), 1.0)


@njit(cache=True, inline="always", error_model="numpy")
def _dose(a, b, ref, dt):
    """Integral over a step of max(0, ref - T) for T linear from a to b."""
    da = ref - a
    db = ref - b
    if da >= 0.0 and db >= 0.0:
        return 0.5 * (da + db) * dt
    if da <= 0.0 and db <= 0.0:
        return 0.0
    pos = da if da > 0.0 else db
    return 0.5 * pos * dt * pos / (abs(da) + abs(db))


@njit(cache=True, error_model="numpy", inline="always")
def _fill(tt, jt, c, j, stored_memory, decay, nodes, laws, coefficients, na):
    """Coefficients of case ``c`` at the temperatures ``tt[:, jt]`` into block column ``j``
    of ``coefficients`` (cap, enthalpy, perfusion, metabolism, conductance, memory).

    stored_memory: use the stored vasoconstriction state (level n) instead of advancing it.
    na: the applicator's rows, whose internal links take the frozen fraction of the step's
    start (lagged): a mixing or draining slab's conductance jumps 500-fold where it melts
    (physics/applicators.py), which the Picard iteration would chase around the kink."""
    mem, cl, cs, lat, tf, gl, gs, wv, qv = (
        nodes.mem,
        nodes.cl,
        nodes.cs,
        nodes.lat,
        nodes.tf,
        nodes.gl,
        nodes.gs,
        nodes.wv,
        nodes.qv,
    )
    mush, local, ref, scale, floor = laws.mush, laws.local, laws.ref, laws.scale, laws.floor
    cap, hh, w, q, g, mk = coefficients
    n = tt.shape[0]
    mu = mush[c]
    is_local = local[c] > 0.5
    for i in range(n):
        ti = tt[i, jt]
        phi = _frozen_fraction(ti, tf[i, c], mu)
        cap[i, j] = _capacity(ti, cl[i, c], cs[i, c], lat[i, c], tf[i, c], mu)
        hh[i, j] = _enthalpy(ti, cl[i, c], cs[i, c], lat[i, c], tf[i, c], mu)
        if stored_memory:
            m = mem[i, c]
        elif is_local:
            m = _memory(_local_factor(ti, ref[c], scale[c], floor[c]), mem[i, c], decay)
        else:
            m = 1.0
        mk[i, j] = m
        w[i, j] = wv[i, c] * m * (1.0 - phi)
        q[i, j] = qv[i, c] * (1.0 - phi)
    t0 = nodes.t
    for i in range(n):
        if i + 1 < na:
            pa = _frozen_fraction(t0[i, c], tf[i, c], mu)
            pb = _frozen_fraction(t0[i + 1, c], tf[i + 1, c], mu)
        else:
            pa = _frozen_fraction(tt[i, jt], tf[i, c], mu)
            pb = pa
            if i + 1 < n:
                pb = _frozen_fraction(tt[i + 1, jt], tf[i + 1, c], mu)
        ph = 0.5 * (pa + pb)
        g[i, j] = (1.0 - ph) * gl[i, c] + ph * gs[i, c]


@njit(cache=True, error_model="numpy", inline="always")
def _surface(ts, c, seg, bc_h, bc_gas, bc_eps, bc_rad):
    """Combined surface conductance and environment temperature (convection + radiation)."""
    hr = 0.0
    if bc_eps[c, seg] > 0.0:
        hr = _radiative_h(ts, bc_rad[c, seg], bc_eps[c, seg])
    h = bc_h[c, seg] + hr
    if h > 0.0:
        return h, (bc_h[c, seg] * bc_gas[c, seg] + hr * bc_rad[c, seg]) / h
    return 0.0, 0.0


@njit(cache=True, error_model="numpy")
def _record(c0, c1, r, t, mem, tf, mush, tcore, na, probe_idx, probe_w, samples, field_t, field_p):
    n = t.shape[0]
    for c in range(c0, c1):
        for p in range(probe_idx.shape[1]):
            i = probe_idx[c, p]
            if i < 0:
                continue
            wgt = probe_w[c, p]
            upper = t[i, c]
            lower = tcore[c] if i + 1 >= n else t[i + 1, c]
            samples[c, r, p] = (1.0 - wgt) * upper + wgt * lower
        if field_t.shape[0] > 0:
            for i in range(na, n):
                field_t[c, r, i - na] = t[i, c]
                phi = _frozen_fraction(t[i, c], tf[i, c], mush[c])
                field_p[c, r, i - na] = mem[i, c] * (1.0 - phi)
            field_t[c, r, n - na] = tcore[c]
            field_p[c, r, n - na] = 1.0


@njit(cache=True, inline="always", error_model="numpy")
def _step_range(steps, s0, s1):
    """The steps s0..s1 of a batch's concatenated schedules (one block's schedule)."""
    return (
        steps.dt[s0:s1],
        steps.theta[s0:s1],
        steps.segment[s0:s1],
        steps.start[s0:s1],
        steps.record[s0:s1],
    )


# Both kernels track, per lane of a block, from step to step, in two block-local arrays
# written back at the end (_track_end): the outputs' rows are a whole batch apart, so
# updating them in place each step made every node a cache-set conflict (measured: a third
# of the linear kernel's time). ``track`` [row, lane] has the rows below, then the times
# below each threshold at the surface (rows TR_BELOW + m) and at the basal node (rows
# TR_BELOW + nthr + m), then the thresholds themselves (rows TR_BELOW + 2 nthr + m, the
# same in every lane); the node minima are ``nmin`` [node, lane]. One array, the step's
# inputs included, rather than one per quantity: every array handed to the step's helper
# costs reference-count updates (atomic) each step, measured a fifth of one case's time
# with eleven arrays and 5 % with three.
TR_SURF = 0  # surface temperature at the last step (C)
TR_BASAL = 1  # basal temperature at the last step (C)
TR_MIN = 2  # lowest skin temperature at the last step (C)
TR_FREEZE = 3  # first time the tissue reached the freeze criterion (s; -1: not yet)
TR_DOSE = 4  # cold dose (K s)
TR_CRITERION = 5  # the lane's freeze criterion (C)
TR_LOWEST = 6  # lowest skin temperature at the end of the step being accepted (C)
TR_END_SURF = 7  # surface temperature at the end of the step being accepted (C)
TR_END_BASAL = 8  # basal temperature at the end of the step being accepted (C)
TR_BELOW = 9  # the first row of the times below (s)


@njit(cache=True, inline="always", error_model="numpy")
def _track_begin(track, nmin, c0, nb, ns, t, basal_idx, freeze_c, thresholds):
    """Start the tracking of the block's lanes (lanes from nb on repeat the last case:
    padding) from the state ``t`` at the block's start."""
    n = t.shape[0]
    for j in range(track.shape[1]):
        c = c0 + min(j, nb - 1)
        track[TR_SURF, j] = t[ns, c]
        track[TR_BASAL, j] = t[basal_idx[c], c] if basal_idx[c] >= 0 else 0.0
        low = t[ns, c]
        for i in range(ns, n):
            low = min(low, t[i, c])
            nmin[i - ns, j] = t[i, c]
        track[TR_MIN, j] = low
        track[TR_FREEZE, j] = 0.0 if low <= freeze_c[c] else -1.0
        track[TR_DOSE, j] = 0.0
        track[TR_CRITERION, j] = freeze_c[c]
        nthr = thresholds.shape[0]
        for m in range(2 * nthr):
            track[TR_BELOW + m, j] = 0.0
        for m in range(nthr):
            track[TR_BELOW + 2 * nthr + m, j] = thresholds[m]


@njit(cache=True, inline="always", error_model="numpy")
def _track_step(track, nw, time_old, dt, has_basal, dose_ref):
    """One accepted step of lanes 0..nw, whose surface, basal and lowest skin temperatures
    at its end the kernel wrote into rows TR_END_SURF, TR_END_BASAL and TR_LOWEST. Times
    below and the dose integrate the linear interpolant over the step; the freeze-risk time
    is interpolated within the step where the minimum first reaches the criterion."""
    nthr = (track.shape[0] - TR_BELOW) // 3
    for m in range(nthr):
        thr = track[TR_BELOW + 2 * nthr + m, 0]
        row = TR_BELOW + m
        for j in range(nw):
            track[row, j] += _time_below(track[TR_SURF, j], track[TR_END_SURF, j], thr, dt)
    if has_basal:
        for m in range(nthr):
            thr = track[TR_BELOW + 2 * nthr + m, 0]
            row = TR_BELOW + nthr + m
            for j in range(nw):
                track[row, j] += _time_below(track[TR_BASAL, j], track[TR_END_BASAL, j], thr, dt)
        for j in range(nw):
            track[TR_BASAL, j] = track[TR_END_BASAL, j]
    for j in range(nw):
        surface = track[TR_END_SURF, j]
        track[TR_DOSE, j] += _dose(track[TR_SURF, j], surface, dose_ref, dt)
        track[TR_SURF, j] = surface
        lowest = track[TR_LOWEST, j]
        criterion = track[TR_CRITERION, j]
        if track[TR_FREEZE, j] < 0.0 and lowest <= criterion:
            frac = 1.0
            last = track[TR_MIN, j]
            if last > lowest:
                frac = (last - criterion) / (last - lowest)
            track[TR_FREEZE, j] = time_old + frac * dt
        track[TR_MIN, j] = lowest


@njit(cache=True, inline="always", error_model="numpy")
def _track_end(track, nmin, c0, nb, out):
    """Write the tracking of cases c0..c0 + nb into the outputs; the deepest node ever at
    or below the criterion is the deepest whose minimum is."""
    acc, node_min, below_surf, below_basal = out.acc, out.node_min, out.below_surf, out.below_basal
    skin = nmin.shape[0]
    for j in range(nb):
        c = c0 + j
        acc[c, A_FREEZE_TIME] = track[TR_FREEZE, j]
        acc[c, A_COLD_DOSE] = track[TR_DOSE, j]
        frozen = -1.0
        for i in range(skin):
            node_min[i, c] = nmin[i, j]
        for i in range(skin - 1, -1, -1):
            if nmin[i, j] <= track[TR_CRITERION, j]:
                frozen = float(i)
                break
        acc[c, A_FROZEN_NODE] = frozen
        nthr = below_surf.shape[1]
        for m in range(nthr):
            below_surf[c, m] = track[TR_BELOW + m, j]
            below_basal[c, m] = track[TR_BELOW + nthr + m, j]


@njit(cache=True, error_model="numpy")
def _advance_block(
    c0, c1, s0, s1, na, nonlinear, tol, max_iter, steps, nodes, laws, bc, probes, out
):
    """One block of cases on the general (nonlinear) path: cases c0..c1, steps s0..s1."""
    step_dt, step_theta, step_seg, step_start, step_rec = _step_range(steps, s0, s1)
    t, mem, cl, cs, lat, tf, gl, gs = (
        nodes.t,
        nodes.mem,
        nodes.cl,
        nodes.cs,
        nodes.lat,
        nodes.tf,
        nodes.gl,
        nodes.gs,
    )
    perfused = nodes.perfused
    mush, ta, tcore, memory_s, freeze_c = (
        laws.mush,
        laws.ta,
        laws.tcore,
        laws.memory_s,
        laws.freeze_c,
    )
    bc_h, bc_gas, bc_eps, bc_rad, bc_link, bc_app_t = (
        bc.h,
        bc.gas,
        bc.eps,
        bc.rad,
        bc.link,
        bc.app_t,
    )
    app_cl, app_cs, app_lat, app_tf, app_gl, app_gs = (
        bc.app_cl,
        bc.app_cs,
        bc.app_lat,
        bc.app_tf,
        bc.app_gl,
        bc.app_gs,
    )
    probe_idx, probe_w, basal_idx = probes.node, probes.weight, probes.basal
    samples, field_t, field_p, acc, status = (
        out.samples,
        out.field_t,
        out.field_p,
        out.acc,
        out.status,
    )
    n = t.shape[0]
    nb = c1 - c0
    ns = na
    cap = np.empty((n, nb))
    hk = np.empty((n, nb))
    w = np.empty((n, nb))
    q = np.empty((n, nb))
    g = np.empty((n, nb))
    mk = np.empty((n, nb))
    hn = np.empty((n, nb))
    wn = np.empty((n, nb))
    qn = np.empty((n, nb))
    gn = np.empty((n, nb))
    capn = np.empty((n, nb))
    mn = np.empty((n, nb))
    expl = np.zeros((n, nb))
    tk = np.empty((n, nb))
    cp = np.empty((n, nb))
    dp = np.empty((n, nb))
    hs = np.empty(nb)
    tenv = np.empty(nb)
    flux_n = np.zeros((nb, 4))
    decay = np.zeros(nb)
    converged = np.empty(nb, dtype=np.bool_)
    track = np.empty((TR_BELOW + 3 * probes.thresholds.shape[0], nb))
    nmin = np.empty((n - ns, nb))
    _track_begin(track, nmin, c0, nb, ns, t, basal_idx, freeze_c, probes.thresholds)
    has_basal = basal_idx[c0] >= 0
    time = 0.0
    for j in range(nb):
        c = c0 + j
        acc[c, A_MIN_PERF] = 1.0
        for i in range(ns, n):
            if perfused[i, c] > 0.5:
                acc[c, A_MIN_PERF] = min(acc[c, A_MIN_PERF], mem[i, c])
    _record(c0, c1, 0, t, mem, tf, mush, tcore, na, probe_idx, probe_w, samples, field_t, field_p)
    for k in range(step_dt.shape[0]):
        dt = step_dt[k]
        theta = step_theta[k]
        seg = step_seg[k]
        dth = dt * theta
        dte = dt - dth
        if step_start[k] == 1 and na > 0:
            # A contact phase starts with a fresh applicator at its own temperature; a start
            # below CARRY_BELOW_C is a moving applicator's next stroke: it carries its state.
            for j in range(nb):
                c = c0 + j
                start_c = bc_app_t[c, seg]
                if bc_link[c, seg] > 0.0 and start_c > CARRY_BELOW_C:
                    for i in range(na):
                        t[i, c] = start_c
                        cl[i, c] = app_cl[c, seg, i]
                        cs[i, c] = app_cs[c, seg, i]
                        lat[i, c] = app_lat[c, seg, i]
                        tf[i, c] = app_tf[c, seg, i]
                        gl[i, c] = app_gl[c, seg, i]
                        gs[i, c] = app_gs[c, seg, i]
                gl[na - 1, c] = bc_link[c, seg]
                gs[na - 1, c] = bc_link[c, seg]
        refresh = k == 0 or step_start[k] == 1
        if nonlinear:
            wx, qx, gx = wn, qn, gn
        else:
            wx, qx, gx = w, q, g
        # Level n: enthalpy, explicit tendency for theta < 1, and its energy terms.
        for j in range(nb):
            c = c0 + j
            converged[j] = status[c] != OK
            if status[c] != OK:
                continue
            decay[j] = math.exp(-dt / memory_s[c]) if memory_s[c] > 0.0 else 0.0
            if nonlinear:
                _fill(
                    t,
                    c,
                    c,
                    j,
                    True,
                    0.0,
                    nodes,
                    laws,
                    (capn, hn, wn, qn, gn, mn),
                    na,
                )
                for i in range(n):
                    tk[i, j] = t[i, c]
            else:
                # Linear: coefficients change only where the boundary condition does.
                if refresh:
                    _fill(
                        t,
                        c,
                        c,
                        j,
                        True,
                        0.0,
                        nodes,
                        laws,
                        (cap, hk, w, q, g, mk),
                        na,
                    )
                    hs[j], tenv[j] = _surface(t[ns, c], c, seg, bc_h, bc_gas, bc_eps, bc_rad)
                for i in range(n):
                    ti = t[i, c]
                    tk[i, j] = ti
                    hn[i, j] = cap[i, j] * ti
                    hk[i, j] = hn[i, j]
            if theta < 1.0:
                h_n, te_n = _surface(t[ns, c], c, seg, bc_h, bc_gas, bc_eps, bc_rad)
                perf = 0.0
                met = 0.0
                for i in range(n):
                    e = wx[i, j] * (ta[c] - t[i, c]) + qx[i, j]
                    if i >= ns:
                        perf += wx[i, j] * (ta[c] - t[i, c])
                        met += qx[i, j]
                    if i > 0:
                        e += gx[i - 1, j] * (t[i - 1, c] - t[i, c])
                    if i + 1 < n:
                        e += gx[i, j] * (t[i + 1, c] - t[i, c])
                    else:
                        e += gx[i, j] * (tcore[c] - t[i, c])
                    if i == ns:
                        e += h_n * (te_n - t[i, c])
                    expl[i, j] = e
                if na > 0 and gl[na - 1, c] > 0.0:
                    flux_n[j, 0] = gx[na - 1, j] * (t[na - 1, c] - t[ns, c])
                else:
                    flux_n[j, 0] = h_n * (te_n - t[ns, c])
                flux_n[j, 1] = gx[n - 1, j] * (tcore[c] - t[n - 1, c])
                flux_n[j, 2] = perf
                flux_n[j, 3] = met
        iterations = 0
        for _ in range(max_iter):
            iterations += 1
            for j in range(nb):
                c = c0 + j
                if (converged[j] and iterations > 1) or not nonlinear:
                    continue
                _fill(
                    tk,
                    j,
                    c,
                    j,
                    False,
                    decay[j],
                    nodes,
                    laws,
                    (cap, hk, w, q, g, mk),
                    na,
                )
                hs[j], tenv[j] = _surface(tk[ns, j], c, seg, bc_h, bc_gas, bc_eps, bc_rad)
            # Thomas forward sweep over the nodes, vectorised over the block's cases; indexed
            # in two dimensions (a row view costs two atomic reference-count updates) and
            # with one division per node and case.
            for i in range(n):
                last = i + 1 == n
                for j in range(nb):
                    c = c0 + j
                    gi = g[i, j]
                    diag = cap[i, j] + dth * (gi + w[i, j])
                    rhs = (
                        cap[i, j] * tk[i, j]
                        - hk[i, j]
                        + hn[i, j]
                        + dth * (w[i, j] * ta[c] + q[i, j])
                        + dte * expl[i, j]
                    )
                    if last:
                        rhs += dth * gi * tcore[c]
                    if i == ns:
                        diag += dth * hs[j]
                        rhs += dth * hs[j] * tenv[j]
                    if i > 0:
                        gu = g[i - 1, j]
                        a = -dth * gu
                        inv = 1.0 / (diag + dth * gu - a * cp[i - 1, j])
                        dp[i, j] = (rhs - a * dp[i - 1, j]) * inv
                    else:
                        inv = 1.0 / diag
                        dp[i, j] = rhs * inv
                    cp[i, j] = 0.0 if last else -dth * gi * inv
            # Back substitution in place (dp becomes the new iterate), then per-case tests.
            for ii in range(1, n):
                i = n - 1 - ii
                for j in range(nb):
                    dp[i, j] = dp[i, j] - cp[i, j] * dp[i + 1, j]
            all_done = True
            # Under-relax after many iterations: breaks a cycle of two nodes around a kink.
            relax = 1.0 if iterations <= 20 else 0.5
            for j in range(nb):
                c = c0 + j
                if converged[j] and iterations > 1:
                    continue
                change = 0.0
                mu = mush[c]
                for i in range(n):
                    new = dp[i, j]
                    old = tk[i, j]
                    if nonlinear:
                        # Enthalpy update (Voller and Swaminathan 1991): the linear solve
                        # predicts the enthalpy; the next iterate is the temperature that
                        # has exactly that enthalpy, so kinks of H(T) need no special case.
                        predicted = hk[i, j] + relax * cap[i, j] * (new - old)
                        new = _temperature(predicted, cl[i, c], cs[i, c], lat[i, c], tf[i, c], mu)
                    tk[i, j] = new
                    d = abs(new - old)
                    if not d <= change:
                        change = d
                if change != change:
                    status[c] = NOT_FINITE
                    converged[j] = True
                elif not nonlinear or change < tol:
                    converged[j] = True
                else:
                    converged[j] = False
                    all_done = False
            if all_done:
                break
        # Accept the step: finiteness, energy accounting, vasoconstriction memory, metrics.
        time_old = time
        time += dt
        for j in range(nb):
            c = c0 + j
            # A lane that fails keeps its last values (its results are not read).
            track[TR_END_SURF, j] = track[TR_SURF, j]
            track[TR_END_BASAL, j] = track[TR_BASAL, j]
            track[TR_LOWEST, j] = track[TR_MIN, j]
            if status[c] != OK:
                continue
            if not converged[j]:
                status[c] = NOT_CONVERGED
                continue
            mu = mush[c]
            stored = 0.0
            perf = 0.0
            met = 0.0
            finite = True
            for i in range(n):
                ti = tk[i, j]
                if not (ti == ti and abs(ti) < 1e4):
                    finite = False
                if i >= ns:
                    if nonlinear:
                        stored += (
                            _enthalpy(ti, cl[i, c], cs[i, c], lat[i, c], tf[i, c], mu) - hn[i, j]
                        )
                    else:
                        stored += cap[i, j] * ti - hn[i, j]
                    perf += w[i, j] * (ta[c] - ti)
                    met += q[i, j]
            if not finite:
                status[c] = NOT_FINITE
                continue
            if na > 0 and gl[na - 1, c] > 0.0:
                surf = g[na - 1, j] * (tk[na - 1, j] - tk[ns, j])
            else:
                surf = hs[j] * (tenv[j] - tk[ns, j])
            core = g[n - 1, j] * (tcore[c] - tk[n - 1, j])
            acc[c, A_STORED] += stored
            acc[c, A_SURFACE] += dth * surf
            acc[c, A_CORE] += dth * core
            acc[c, A_PERFUSION] += dth * perf
            acc[c, A_METABOLIC] += dth * met
            if theta < 1.0:
                acc[c, A_SURFACE] += dte * flux_n[j, 0]
                acc[c, A_CORE] += dte * flux_n[j, 1]
                acc[c, A_PERFUSION] += dte * flux_n[j, 2]
                acc[c, A_METABOLIC] += dte * flux_n[j, 3]
            acc[c, A_ITERATIONS] += iterations
            low = tk[ns, j]
            for i in range(n):
                ti = tk[i, j]
                t[i, c] = ti
                mem[i, c] = mk[i, j]
                if i >= ns:
                    low = min(low, ti)
                    nmin[i - ns, j] = min(nmin[i - ns, j], ti)
                    if perfused[i, c] > 0.5:
                        ratio = mk[i, j] * (1.0 - _frozen_fraction(ti, tf[i, c], mu))
                        acc[c, A_MIN_PERF] = min(acc[c, A_MIN_PERF], ratio)
            # The basal node is each case's own.
            track[TR_END_SURF, j] = tk[ns, j]
            if basal_idx[c] >= 0:
                track[TR_END_BASAL, j] = tk[basal_idx[c], j]
            track[TR_LOWEST, j] = low
        _track_step(track, nb, time_old, dt, has_basal, probes.dose_ref_c)
        r = step_rec[k]
        if r >= 0:
            _record(
                c0,
                c1,
                r,
                t,
                mem,
                tf,
                mush,
                tcore,
                na,
                probe_idx,
                probe_w,
                samples,
                field_t,
                field_p,
            )
    _track_end(track, nmin, c0, nb, out)


@njit(cache=True, error_model="numpy", fastmath=True)
def _advance_block_linear(c0, c1, s0, s1, na, steps, nodes, laws, bc, probes, out):
    """The linear fast path (constant perfusion, no phase change, no radiation).

    Same scheme and bookkeeping as _advance_block, written for SIMD across the block: the
    state is copied into padded block arrays (row 0 above the top node, row n + 1 the core)
    so that every node row runs the same branch-free loop over the cases."""
    step_dt, step_theta, step_seg, step_start, step_rec = _step_range(steps, s0, s1)
    t, mem, cl, tf, gl, wv, qv = (
        nodes.t,
        nodes.mem,
        nodes.cl,
        nodes.tf,
        nodes.gl,
        nodes.wv,
        nodes.qv,
    )
    mush, ta, tcore, freeze_c = laws.mush, laws.ta, laws.tcore, laws.freeze_c
    bc_h, bc_gas, bc_link, bc_app_t = bc.h, bc.gas, bc.link, bc.app_t
    app_cl, app_gl = bc.app_cl, bc.app_gl
    probe_idx, probe_w, basal_idx = probes.node, probes.weight, probes.basal
    samples, field_t, field_p, acc, status = (
        out.samples,
        out.field_t,
        out.field_p,
        out.acc,
        out.status,
    )
    n = t.shape[0]
    nb = c1 - c0
    # Lanes: the cases padded to a whole number of SIMD vectors with copies of the last
    # case, whose results are dropped (a block of 31 cases took 25 % longer than one of 32:
    # the compiled loops run the remainder one case at a time). Not below one vector: a
    # single case padded to eight took 40 % longer than alone (measured).
    nw = -(-nb // LANES) * LANES if nb >= LANES else nb
    ns = na
    tb = np.zeros((n + 2, nw))
    gb = np.zeros((n + 1, nw))
    cap = np.empty((n, nw))
    w = np.empty((n, nw))
    q = np.empty((n, nw))
    dp = np.zeros((n + 2, nw))
    hs = np.zeros(nw)
    tenv = np.zeros(nw)
    tav = np.empty(nw)
    stored = np.zeros(nw)
    surf_acc = np.zeros(nw)
    perf_acc = np.zeros(nw)
    met_acc = np.zeros(nw)
    core_acc = np.zeros(nw)
    thresholds = probes.thresholds
    nthr = thresholds.shape[0]
    # The basal node, like the grid, is the setting's: one row of the block (-1: none).
    basal_row = basal_idx[c0] + 1 if basal_idx[c0] >= 0 else -1
    for j in range(nw):
        c = c0 + min(j, nb - 1)
        tav[j] = ta[c]
        tb[n + 1, j] = tcore[c]
        for i in range(n):
            tb[i + 1, j] = t[i, c]
            cap[i, j] = cl[i, c]
            gb[i + 1, j] = gl[i, c]
            w[i, j] = wv[i, c]
            q[i, j] = qv[i, c]
        if j < nb:
            acc[c, A_MIN_PERF] = 1.0
    track = np.empty((TR_BELOW + 3 * nthr, nw))
    nmin = np.empty((n - ns, nw))
    _track_begin(track, nmin, c0, nb, ns, t, basal_idx, freeze_c, thresholds)
    _record(c0, c1, 0, t, mem, tf, mush, tcore, na, probe_idx, probe_w, samples, field_t, field_p)
    start_state = tb.copy()
    # Bottom-up elimination: scalar pivots and factors of the shared rows (node ns + 1 and
    # below), per-case ones of the surface and applicator rows (see the sweep).
    top_shared = ns + 2
    spiv = np.zeros(n + 2)
    scq = np.zeros(n + 2)
    k_self = np.zeros(n + 2)
    k_up = np.zeros(n + 2)
    k_down = np.zeros(n + 2)
    k_src = np.zeros(n + 2)
    k_u = np.zeros(n + 2)
    ppiv = np.zeros((ns + 2, nw))
    pcq = np.zeros((ns + 2, nw))
    below_cq = np.zeros(nw)
    factored_dt = -1.0
    factored_theta = -1.0
    met_sum = 0.0
    for i in range(ns, n):
        met_sum += q[i, 0]
    # sum(w T) over the nodes at the current level (perfusion heat, see the back sweep);
    # the applicator rows have no perfusion, so a contact phase's fresh applicator leaves it.
    wsum_old = np.zeros(nw)
    wsum_new = np.zeros(nw)
    for j in range(nw):
        for i in range(n):
            wsum_old[j] += w[i, 0] * tb[i + 1, j]
    # The arterial temperature, like the grid, is the setting's: one for the whole block.
    tav0 = tav[0]
    time = 0.0
    for k in range(step_dt.shape[0]):
        dt = step_dt[k]
        theta = step_theta[k]
        seg = step_seg[k]
        dth = dt * theta
        dte = dt - dth
        if k == 0 or step_start[k] == 1:
            # New coefficients: the elimination must be redone.
            factored_dt = -1.0
            for j in range(nw):
                c = c0 + min(j, nb - 1)
                linked = na > 0 and bc_link[c, seg] > 0.0
                hs[j] = 0.0 if linked else bc_h[c, seg]
                tenv[j] = bc_gas[c, seg]
                if na > 0:
                    start_c = bc_app_t[c, seg]
                    if linked and start_c > CARRY_BELOW_C:
                        # A contact phase starts with a fresh applicator at its own temperature
                        # (below CARRY_BELOW_C: a moving applicator's next stroke carries its state).
                        for i in range(na):
                            tb[i + 1, j] = start_c
                            cap[i, j] = app_cl[c, seg, i]
                            gb[i + 1, j] = app_gl[c, seg, i]
                    gb[na, j] = bc_link[c, seg]
        # The elimination (pivots and factors) depends only on the coefficients, dt and theta:
        # equal steps inside a segment reuse it and skip every division. It runs bottom-up
        # (docs/benchmarks.md): below the surface every case of the block shares the grid and
        # the coefficients, so those rows' pivots are scalars shared by the block, and only
        # the surface row (its h) and the applicator rows above it carry per-case pivots.
        # Row r (node r - 1) after elimination: T_r = dp[r] - cq[r] T_(r-1).
        reuse = dt == factored_dt and theta == factored_theta
        if not reuse:
            # Pivots and row coefficients of the shared rows, the coefficients of each row's
            # right-hand side pre-multiplied by its pivot (four fused multiply-adds per row
            # and case below). The last row's lower neighbour is the fixed core: its whole
            # flux is explicit (k_down), and dp[n + 1] stays 0.
            for r in range(n, top_shared - 1, -1):
                i = r - 1
                ci = cap[i, 0]
                wi = w[i, 0]
                gu = gb[r - 1, 0]
                gd = gb[r, 0]
                last = r == n
                u = 0.0 if last else -dth * gd
                below = 0.0 if last else scq[r + 1]
                inv = 1.0 / (ci + dth * (gu + gd + wi) - u * below)
                spiv[r] = inv
                scq[r] = -dth * gu * inv
                k_self[r] = (ci - dte * (gu + gd + wi)) * inv
                k_up[r] = dte * gu * inv
                k_down[r] = (dte * gd + (dth * gd if last else 0.0)) * inv
                k_src[r] = dt * (wi * tav0 + q[i, 0]) * inv
                k_u[r] = u * inv
        if nw < LANES:
            # Fewer cases than a SIMD vector (a single simulation): each case down all the
            # rows, the lower row's result carried in a register, rather than a loop over
            # the cases set up for every row (measured: most of a single case's time).
            for j in range(nw):
                below = 0.0
                for r in range(n, top_shared - 1, -1):
                    below = (
                        k_self[r] * tb[r, j]
                        + k_up[r] * tb[r - 1, j]
                        + k_down[r] * tb[r + 1, j]
                        + k_src[r]
                        - k_u[r] * below
                    )
                    dp[r, j] = below
        else:
            # Two rows per pass over the cases: the upper row takes the lower one's result from
            # a register, and the loop over the cases is set up half as often (measured faster).
            r = n
            while r - 1 >= top_shared:
                s1, up1, dn1, src1, u1 = k_self[r], k_up[r], k_down[r], k_src[r], k_u[r]
                s2, up2, dn2, src2, u2 = (
                    k_self[r - 1],
                    k_up[r - 1],
                    k_down[r - 1],
                    k_src[r - 1],
                    k_u[r - 1],
                )
                for j in range(nw):
                    t1 = tb[r, j]
                    t2 = tb[r - 1, j]
                    d1 = s1 * t1 + up1 * t2 + dn1 * tb[r + 1, j] + src1 - u1 * dp[r + 1, j]
                    dp[r, j] = d1
                    dp[r - 1, j] = s2 * t2 + up2 * tb[r - 2, j] + dn2 * t1 + src2 - u2 * d1
                r -= 2
            if r >= top_shared:
                s1, up1, dn1, src1, u1 = k_self[r], k_up[r], k_down[r], k_src[r], k_u[r]
                for j in range(nw):
                    dp[r, j] = (
                        s1 * tb[r, j]
                        + up1 * tb[r - 1, j]
                        + dn1 * tb[r + 1, j]
                        + src1
                        - u1 * dp[r + 1, j]
                    )
        for r in range(top_shared - 1, 0, -1):
            # The surface row and the applicator rows: per-case coefficients. Indexed in two
            # dimensions: a row view costs two reference-count updates (atomic), which
            # measured as much as the arithmetic for a single case.
            i = r - 1
            last = r == n
            sflag = 1.0 if i == ns else 0.0
            for j in range(nw):
                if last:
                    below_cq[j] = 0.0
                elif r + 1 >= top_shared:
                    below_cq[j] = scq[r + 1]
                else:
                    below_cq[j] = pcq[r + 1, j]
            for j in range(nw):
                ti = tb[r, j]
                hsj = sflag * hs[j]
                gu = gb[r - 1, j]
                gd = gb[r, j]
                wj = w[i, j]
                qj = q[i, j]
                cj = cap[i, j]
                expl = (
                    wj * (tav[j] - ti)
                    + qj
                    + gu * (tb[r - 1, j] - ti)
                    + gd * (tb[r + 1, j] - ti)
                    + hsj * (tenv[j] - ti)
                )
                rhs = cj * ti + dte * expl + dth * (wj * tav[j] + qj + hsj * tenv[j])
                if last:
                    rhs += dth * gd * tb[r + 1, j]
                    u = 0.0
                else:
                    u = -dth * gd
                if not reuse:
                    inv = 1.0 / (cj + dth * (gu + gd + wj + hsj) - u * below_cq[j])
                    ppiv[r, j] = inv
                    pcq[r, j] = -dth * gu * inv
                dp[r, j] = (rhs - (0.0 if last else u * dp[r + 1, j])) * ppiv[r, j]
        factored_dt = dt
        factored_theta = theta
        # Energy of level n (the explicit half of each flux), before the state changes.
        for j in range(nw):
            if na > 0 and gb[na, j] > 0.0:
                surf_acc[j] += dte * gb[na, j] * (tb[na, j] - tb[ns + 1, j])
            else:
                surf_acc[j] += dte * hs[j] * (tenv[j] - tb[ns + 1, j])
            core_acc[j] += dte * gb[n, j] * (tb[n + 1, j] - tb[n, j])
        # Back substitution, top-down, into the state (the row above is already new), with
        # the perfusion integral and the node minima in the same pass. The deepest frozen
        # node follows from the node minima at the end; the stored energy is the change of
        # sum(cap T), also taken once at the end.
        for j in range(nw):
            track[TR_LOWEST, j] = 1e300
            wsum_new[j] = 0.0
        for r in range(1, top_shared):
            # The applicator rows and the surface row: per-case factors.
            i = r - 1
            wi = w[i, 0]
            for j in range(nw):
                value = dp[r, j] - pcq[r, j] * tb[r - 1, j]
                wsum_new[j] += wi * value
                tb[r, j] = value
            if i >= ns:
                for j in range(nw):
                    value = tb[r, j]
                    nmin[i - ns, j] = min(nmin[i - ns, j], value)
                    track[TR_LOWEST, j] = min(track[TR_LOWEST, j], value)
        if nw < LANES:
            # As in the elimination: each case down all the rows.
            for j in range(nw):
                above = tb[top_shared - 1, j]
                level = wsum_new[j]
                low = track[TR_LOWEST, j]
                for r in range(top_shared, n + 1):
                    above = dp[r, j] - scq[r] * above
                    tb[r, j] = above
                    level += w[r - 1, 0] * above
                    m = r - 1 - ns
                    nmin[m, j] = min(nmin[m, j], above)
                    low = min(low, above)
                wsum_new[j] = level
                track[TR_LOWEST, j] = low
        else:
            r = top_shared
            while r + 1 <= n:
                # Two rows per pass, as in the elimination.
                w1, w2 = w[r - 1, 0], w[r, 0]
                cq1, cq2 = scq[r], scq[r + 1]
                m = r - 1 - ns
                for j in range(nw):
                    v1 = dp[r, j] - cq1 * tb[r - 1, j]
                    v2 = dp[r + 1, j] - cq2 * v1
                    tb[r, j] = v1
                    tb[r + 1, j] = v2
                    wsum_new[j] += w1 * v1 + w2 * v2
                    nmin[m, j] = min(nmin[m, j], v1)
                    nmin[m + 1, j] = min(nmin[m + 1, j], v2)
                    track[TR_LOWEST, j] = min(track[TR_LOWEST, j], min(v1, v2))
                r += 2
            if r <= n:
                wi = w[r - 1, 0]
                cq = scq[r]
                m = r - 1 - ns
                for j in range(nw):
                    value = dp[r, j] - cq * tb[r - 1, j]
                    wsum_new[j] += wi * value
                    tb[r, j] = value
                    nmin[m, j] = min(nmin[m, j], value)
                    track[TR_LOWEST, j] = min(track[TR_LOWEST, j], value)
        for j in range(nw):
            # Perfusion heat of the step, theta-weighted between the two levels' sums.
            perf_acc[j] += dth * wsum_new[j] + dte * wsum_old[j]
            wsum_old[j] = wsum_new[j]
            met_acc[j] += dt * met_sum
        time_old = time
        time += dt
        for j in range(nw):
            if na > 0 and gb[na, j] > 0.0:
                surf_acc[j] += dth * gb[na, j] * (tb[na, j] - tb[ns + 1, j])
            else:
                surf_acc[j] += dth * hs[j] * (tenv[j] - tb[ns + 1, j])
            core_acc[j] += dth * gb[n, j] * (tb[n + 1, j] - tb[n, j])
        # The basal node is the setting's: one row of the block.
        for j in range(nw):
            track[TR_END_SURF, j] = tb[ns + 1, j]
            track[TR_END_BASAL, j] = tb[max(basal_row, 0), j]
        _track_step(track, nw, time_old, dt, basal_row >= 0, probes.dose_ref_c)
        r = step_rec[k]
        if r >= 0:
            for j in range(nb):
                for i in range(n):
                    t[i, c0 + j] = tb[i + 1, j]
            _record(
                c0,
                c1,
                r,
                t,
                mem,
                tf,
                mush,
                tcore,
                na,
                probe_idx,
                probe_w,
                samples,
                field_t,
                field_p,
            )
    for j in range(nb):
        c = c0 + j
        finite = True
        for i in range(n):
            value = tb[i + 1, j]
            t[i, c] = value
            if not (value == value and abs(value) < 1e4):
                finite = False
        if not finite:
            status[c] = NOT_FINITE
        w_sum = 0.0
        for i in range(ns, n):
            stored[j] += cap[i, j] * (tb[i + 1, j] - start_state[i + 1, j])
            w_sum += w[i, j]
        perf_acc[j] = time * tav[j] * w_sum - perf_acc[j]
        acc[c, A_STORED] += stored[j]
        acc[c, A_SURFACE] += surf_acc[j]
        acc[c, A_CORE] += core_acc[j]
        acc[c, A_PERFUSION] += perf_acc[j]
        acc[c, A_METABOLIC] += met_acc[j]
        acc[c, A_ITERATIONS] += step_dt.shape[0]
    _track_end(track, nmin, c0, nb, out)


class Steps(NamedTuple):
    """The time steps of every schedule of a batch, one after the other (a block runs the
    slice its row of the block table names): size (s), theta, segment index, restart flag
    (1 on the first step after a change of boundary condition), output slot (-1: none)."""

    dt: np.ndarray
    theta: np.ndarray
    segment: np.ndarray
    start: np.ndarray
    record: np.ndarray


class Nodes(NamedTuple):
    """Per-node state and coefficients, each [node, case]; the kernel writes t .. gs."""

    t: np.ndarray
    mem: np.ndarray
    cl: np.ndarray
    cs: np.ndarray
    lat: np.ndarray
    tf: np.ndarray
    gl: np.ndarray
    gs: np.ndarray
    wv: np.ndarray
    qv: np.ndarray
    perfused: np.ndarray


class Laws(NamedTuple):
    """Per-case constants of the laws, each [case]: mushy range (K), arterial and core
    temperature (C), perfusion law (local flag, reference C, scale K, floor, memory s) and
    the freeze-risk criterion (C)."""

    mush: np.ndarray
    ta: np.ndarray
    tcore: np.ndarray
    local: np.ndarray
    ref: np.ndarray
    scale: np.ndarray
    floor: np.ndarray
    memory_s: np.ndarray
    freeze_c: np.ndarray


class Surface(NamedTuple):
    """Boundary condition per case and segment: convection (h, gas C), radiation
    (eps*sigma, radiant C), contact (conductance, applicator start C; below CARRY_BELOW_C the
    applicator carries its state from the previous segment) [case, segment], and the applicator's node
    coefficients [case, segment, node]."""

    h: np.ndarray
    gas: np.ndarray
    eps: np.ndarray
    rad: np.ndarray
    link: np.ndarray
    app_t: np.ndarray
    app_cl: np.ndarray
    app_cs: np.ndarray
    app_lat: np.ndarray
    app_tf: np.ndarray
    app_gl: np.ndarray
    app_gs: np.ndarray


class Probes(NamedTuple):
    """What is sampled: probe node and weight [case, probe], basal node [case], the
    time-below thresholds (C) and the cold-dose reference (C)."""

    node: np.ndarray
    weight: np.ndarray
    basal: np.ndarray
    thresholds: np.ndarray
    dose_ref_c: float


class Outputs(NamedTuple):
    """What the kernel writes (see solver.GroupOutput for the shapes)."""

    samples: np.ndarray
    field_t: np.ndarray
    field_p: np.ndarray
    node_min: np.ndarray
    below_surf: np.ndarray
    below_basal: np.ndarray
    acc: np.ndarray
    status: np.ndarray


@njit(cache=True, error_model="numpy")
def _advance(
    b, blocks, na, nonlinear, lanes_differ, tol, max_iter, steps, nodes, laws, bc, probes, out
):
    """Block ``b`` of the block table (cases c0..c1 on steps s0..s1), on the linear fast
    path where the physics allows it and the block's cases share their tissue (its shared
    rows have one pivot for the block); cases of different tissues (lanes_differ: a cohort,
    lanes.py) take the general path, which reads every coefficient per case."""
    c0, c1, s0, s1 = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
    if nonlinear or lanes_differ:
        _advance_block(
            c0, c1, s0, s1, na, nonlinear, tol, max_iter, steps, nodes, laws, bc, probes, out
        )
    else:
        _advance_block_linear(c0, c1, s0, s1, na, steps, nodes, laws, bc, probes, out)


@njit(cache=True, error_model="numpy", nogil=True)
def run_serial(
    blocks, na, nonlinear, lanes_differ, tol, max_iter, steps, nodes, laws, bc, probes, out
):
    """Advance every block of the block table (rows: first case, end case, first step,
    end step), one after the other on this thread, without the GIL (engine.simulate_many
    runs one of these per core at once, rather than numba's own threads: measured faster,
    since each thread's Python work then overlaps another's kernel)."""
    for b in range(blocks.shape[0]):
        _advance(
            b,
            blocks,
            na,
            nonlinear,
            lanes_differ,
            tol,
            max_iter,
            steps,
            nodes,
            laws,
            bc,
            probes,
            out,
        )


@njit(cache=True, error_model="numpy", nogil=True)
def steady(
    na,
    tol,
    max_iter,
    t,
    cl,
    cs,
    lat,
    tf,
    gl,
    gs,
    wv,
    qv,
    mush,
    ta,
    tcore,
    local,
    ref,
    scale,
    floor,
    h_amb,
    t_amb,
    mem,
    status,
):
    """Steady state of the skin nodes (na .. n-1) under a convective surface, by Newton.

    The Jacobian is exact for the perfusion law (the local-cold factor's slope) and lags the
    conductivity of partly frozen tissue (quasi-Newton); steps are limited to 10 K so that the
    iteration cannot run away from a bad first guess. Writes the converged memory state
    (equal to the local factor at steady state) into ``mem`` and a status per case."""
    n = t.shape[0]
    m = n - na
    lower = np.empty(m)
    diag = np.empty(m)
    upper = np.empty(m)
    res = np.empty(m)
    cp = np.empty(m)
    dp = np.empty(m)
    ln2 = math.log(2.0)
    for c in range(t.shape[1]):
        mu = mush[c]
        done = False
        for _ in range(max_iter):
            for k in range(m):
                i = na + k
                ti = t[i, c]
                phi = _frozen_fraction(ti, tf[i, c], mu)
                f = 1.0
                slope = 0.0
                if local[c] > 0.5:
                    f = _local_factor(ti, ref[c], scale[c], floor[c])
                    if floor[c] < f < 1.0:
                        slope = f * ln2 / scale[c]
                wi = wv[i, c] * f * (1.0 - phi)
                dwi = wv[i, c] * slope * (1.0 - phi)
                r = wi * (ta[c] - ti) + qv[i, c] * (1.0 - phi)
                jd = -wi + dwi * (ta[c] - ti)
                pa = phi
                pb = _frozen_fraction(t[i + 1, c], tf[i + 1, c], mu) if i + 1 < n else phi
                gd = (1.0 - 0.5 * (pa + pb)) * gl[i, c] + 0.5 * (pa + pb) * gs[i, c]
                below = tcore[c] if i + 1 >= n else t[i + 1, c]
                r += gd * (below - ti)
                jd -= gd
                upper[k] = gd if i + 1 < n else 0.0
                if k > 0:
                    pu = _frozen_fraction(t[i - 1, c], tf[i - 1, c], mu)
                    gu = (1.0 - 0.5 * (pa + pu)) * gl[i - 1, c] + 0.5 * (pa + pu) * gs[i - 1, c]
                    r += gu * (t[i - 1, c] - ti)
                    jd -= gu
                    lower[k] = gu
                else:
                    r += h_amb[c] * (t_amb[c] - ti)
                    jd -= h_amb[c]
                    lower[k] = 0.0
                diag[k] = jd
                res[k] = -r
            for k in range(m):
                denom = diag[k] - (lower[k] * cp[k - 1] if k > 0 else 0.0)
                cp[k] = upper[k] / denom
                dp[k] = (res[k] - (lower[k] * dp[k - 1] if k > 0 else 0.0)) / denom
            for kk in range(1, m):
                k = m - 1 - kk
                dp[k] -= cp[k] * dp[k + 1]
            change = 0.0
            for k in range(m):
                if not abs(dp[k]) <= change:
                    change = abs(dp[k])
            limit = 1.0 if change <= 10.0 else 10.0 / change
            for k in range(m):
                t[na + k, c] += limit * dp[k]
            if change != change:
                break
            if change < tol:
                done = True
                break
        status[c] = OK if done else NOT_CONVERGED
        for k in range(m):
            i = na + k
            mem[i, c] = (
                _local_factor(t[i, c], ref[c], scale[c], floor[c]) if local[c] > 0.5 else 1.0
            )
        for i in range(na):
            t[i, c] = t[na, c]
            mem[i, c] = 1.0
