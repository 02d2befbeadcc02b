"""The general path of the 2-D axisymmetric solver (numba, cached on disk): local-cold
perfusion, freezing, radiation and contact applicators.

Each step is solved by the column engine's Picard iteration with the Voller-Swaminathan
enthalpy update (kernels.py: the linear solve predicts each node's enthalpy, the next iterate
is the temperature that has exactly that enthalpy), its laws evaluated node by node with the
column engine's helpers. Each iterate is a banded Cholesky solve of the whole field (radius
fastest: the band is one radial row wide), by defect correction against the last
factorisation, which is kept while no node changes its piece of H(T).

A contact applicator is ``Contact.rows`` rows of nodes above the skin (back first, the
contact face last), one column per ring of its top-hat footprint (each ring's column holds
the footprint's share of the ring: a ring the footprint's edge crosses holds a part); the
columns do not conduct sideways (each is the column engine's 1-D slab: a conducting
applicator would carry heat from its rim to its centre, so the centre is, if anything,
predicted colder). The face of each column is linked to the skin under it by the contact
conductance; the skin outside the footprint keeps the phase's background air.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cryoderm.physics.axisym_kernels import (
    A_CORE,
    A_ITERATIONS,
    A_METABOLIC,
    A_MIN_PERF,
    A_PERFUSION,
    A_STORED,
    A_SURFACE,
    FAST,
    NOT_CONVERGED,
    NOT_FINITE,
    OK,
    _record,
    _start,
    _track,
)
from cryoderm.physics.kernels import (
    _capacity,
    _enthalpy,
    _frozen_fraction,
    _local_factor,
    _memory,
    _piece,
    _radiative_h,
    _temperature,
)

# The finest pieces a step is cut into when its iteration does not converge (a power of 2).
SUBSTEPS = 64
# A factorisation is kept while no node changes its piece of H(T), for at most this many
# iterates.
REFACTOR_EVERY = 8
# The Picard iteration under-relaxes from this iterate on, and a step that can still be
# halved is halved after this many (measured on R2 with freezing: 1,333 iterates and 2.8 s
# with the column engine's 20 and 200, 926 and 1.8 s with these).
RELAX_AFTER = 8
HALVE_AFTER = 40


class Nodes(NamedTuple):
    """Per row of nodes (the applicator's rows first, then the tissue's depth nodes: the
    column engine's coefficients, solver.py), per unit area: capacity unfrozen (cl) and
    frozen (cs), latent heat (lat), freezing point (tf), conductance to the row below
    unfrozen (gl) and frozen (gs; the contact face's is the contact conductance), basal
    perfusion (wv) and metabolism (qv); lateral conductance unfrozen (kl) and frozen (ks):
    the depth integral of k over the row's share (none in an applicator). The applicator's
    rows are written at the start of each fresh contact."""

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


class Contact(NamedTuple):
    """The applicator: rows (0: none); per segment the footprint's share of each ring
    (foot), the contact conductance (link, W/(m2 K); 0: not touching), whether a fresh
    applicator starts there (fresh) and which applicator (slot); per slot and row its
    coefficients (as Nodes) and starting temperature t0 (C)."""

    rows: int
    foot: np.ndarray
    link: np.ndarray
    fresh: np.ndarray
    slot: np.ndarray
    cl: np.ndarray
    cs: np.ndarray
    lat: np.ndarray
    tf: np.ndarray
    gl: np.ndarray
    gs: np.ndarray
    t0: np.ndarray


class Work(NamedTuple):
    """Scratch arrays (rows x radius unless said): the iterate's capacity, enthalpy,
    perfusion, metabolism, vasoconstriction and frozen fraction; the level-n enthalpy,
    perfusion, metabolism, vasoconstriction and frozen fraction; the conductances; the
    explicit balance; the iterate; each node's share of its ring's area; the surface
    exchange (radius); the band matrix (nodes x (radius + 1)), the correction, the
    iterate's matrix (diagonal, link to the left, link to the node above) and right-hand
    side, and the piece of H(T) of each node at the last factorisation (nodes)."""

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
    area: np.ndarray
    hs: np.ndarray
    te: np.ndarray
    band: np.ndarray
    x: np.ndarray
    diag: np.ndarray
    left: np.ndarray
    up: np.ndarray
    rhs: np.ndarray
    pieces: np.ndarray


def work_arrays(rows: int, nr: int) -> Work:
    """Fresh scratch arrays for a field of rows x nr nodes."""
    fields = {name: np.zeros((rows, nr)) for name in Work._fields[:16]}
    nodes = {name: np.zeros(rows * nr) for name in ("x", "diag", "left", "up", "rhs")}
    return Work(
        **fields,
        **nodes,
        hs=np.zeros(nr),
        te=np.zeros(nr),
        band=np.zeros((rows * nr, nr + 1)),
        pieces=np.zeros(rows * nr, dtype=np.int64),
    )


@njit(cache=True, error_model="numpy")
def _coefficients(tt, mem, stored_memory, decay, nodes, laws, cap, hh, w, q, mk, phi):
    """Every node's capacity (slope of H), enthalpy, perfusion, metabolism, vasoconstriction
    state and frozen fraction at the temperatures tt (the column engine's laws, kernels.py)."""
    rows, nr = tt.shape
    mush = laws.mush
    is_local = laws.local > 0.5
    for j in range(rows):
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
            elif is_local and wv > 0.0:
                m = _memory(_local_factor(ti, laws.ref, laws.scale, laws.floor), mem[j, i], decay)
            else:
                m = 1.0
            mk[j, i] = m
            w[j, i] = wv * m * (1.0 - f)
            q[j, i] = qv * (1.0 - f)


@njit(cache=True, error_model="numpy")
def _conductances(phi, phin, top, nodes, coupling, gv, gr):
    """Conductance from each node to the one below (the last to the core; the applicator's
    face to the skin) and to the next node out, per unit ring area and per unit depth, each
    blending unfrozen and frozen with the mean frozen fraction of the two nodes. The
    applicator's internal links (rows above top - 1) take the level-n fractions phin, as the
    column engine's (kernels._fill: a mixing or draining slab's conductance jumps where it
    melts)."""
    rows, nr = phi.shape
    for j in range(rows):
        gl, gs, kl, ks = nodes.gl[j], nodes.gs[j], nodes.kl[j], nodes.ks[j]
        for i in range(nr):
            if j + 1 < top:
                f = 0.5 * (phin[j, i] + phin[j + 1, i])
            else:
                below = phi[j + 1, i] if j + 1 < rows else phi[j, i]
                f = 0.5 * (phi[j, i] + below)
            gv[j, i] = (1.0 - f) * gl + f * gs
            if i + 1 < nr:
                f = 0.5 * (phi[j, i] + phi[j, i + 1])
                gr[j, i] = ((1.0 - f) * kl + f * ks) * coupling[i]
            else:
                gr[j, i] = 0.0


@njit(cache=True, error_model="numpy")
def _exchange(ts, eta, tenv, eps, radiant, hs, te):
    """The skin's total conductance to its surroundings and their temperature per radial
    node: convection plus exact radiation, linearised at the skin temperatures ts."""
    for i in range(ts.shape[0]):
        hr = _radiative_h(ts[i], radiant[i], eps[i]) if eps[i] > 0.0 else 0.0
        h = eta[i] + hr
        hs[i] = h
        te[i] = (eta[i] * tenv[i] + hr * radiant[i]) / h if h > 0.0 else tenv[i]


@njit(cache=True, error_model="numpy")
def _balance(tt, top, w, q, gv, gr, hs, te, area, ta, tcore, out):
    """The heat balance of every node per radian (W): conduction, perfusion, metabolism,
    the core and the skin's exchange (top: the skin's row)."""
    rows, nr = tt.shape
    for j in range(rows):
        for i in range(nr):
            a = area[j, i]
            ti = tt[j, i]
            e = a * (w[j, i] * (ta - ti) + q[j, i])
            below = tt[j + 1, i] if j + 1 < rows else tcore
            e += a * gv[j, i] * (below - ti)
            if j > 0:
                e += area[j - 1, i] * gv[j - 1, i] * (tt[j - 1, i] - ti)
            if j == top:
                e += a * hs[i] * (te[i] - ti)
            if i > 0:
                e += gr[j, i - 1] * (tt[j, i - 1] - ti)
            if i + 1 < nr:
                e += gr[j, i] * (tt[j, i + 1] - ti)
            out[j, i] = e


@njit(cache=True, error_model="numpy")
def _flux_terms(tt, top, w, q, gv, hs, te, area, ta, tcore):
    """(surface, core, perfusion, metabolic) heat rates into the tissue, W per radian; the
    surface's includes the applicator's contact."""
    rows, nr = tt.shape
    surface = 0.0
    core = 0.0
    perf = 0.0
    met = 0.0
    for i in range(nr):
        a = area[top, i]
        surface += a * hs[i] * (te[i] - tt[top, i])
        if top > 0:
            surface += area[top - 1, i] * gv[top - 1, i] * (tt[top - 1, i] - tt[top, i])
        core += a * gv[rows - 1, i] * (tcore - tt[rows - 1, i])
        for j in range(top, rows):
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


@njit(cache=True, error_model="numpy")
def _areas(seg, top, ring, contact, area):
    """Each node's share of its ring's area: the ring's for the tissue, the footprint's part
    of it for the applicator's rows (0 outside the footprint: those nodes take no part)."""
    rows, nr = area.shape
    for j in range(rows):
        for i in range(nr):
            area[j, i] = ring[i] * contact.foot[seg, i] if j < top else ring[i]


@njit(cache=True, error_model="numpy")
def _picard(t, mem, dt, theta, seg, col, nodes, laws, ring, coupling, bc, radiation, top, wk, most):
    """One step of size dt from the state (t, mem): the converged iterate and its
    coefficients are left in wk (tk, cap, hk, w, q, mk, phi, gv, hs, te; hn and the level-n
    terms too). Returns (status, iterations, level-n fluxes) after at most ``most``
    iterations; t and mem are not touched."""
    rows, nr = t.shape
    n = rows * nr
    ta, tcore = col.ta, col.tcore
    dth = dt * theta
    dte = dt - dth
    decay = np.exp(-dt / laws.memory_s) if laws.memory_s > 0.0 else 0.0
    eta, tenv = bc.eta[seg], bc.tenv[seg]
    eps, radiant = radiation.eps_sigma[seg], radiation.radiant[seg]
    cap, hk, w, q, mk, phi = wk.cap, wk.hk, wk.w, wk.q, wk.mk, wk.phi
    gv, gr, hs, te, tk, band, x, area = wk.gv, wk.gr, wk.hs, wk.te, wk.tk, wk.band, wk.x, wk.area
    for p in range(n):
        wk.pieces[p] = -1
    _coefficients(t, mem, True, decay, nodes, laws, wk.cap, wk.hn, wk.wn, wk.qn, wk.mn, wk.phin)
    _conductances(wk.phin, wk.phin, top, nodes, coupling, gv, gr)
    _exchange(t[top], eta, tenv, eps, radiant, hs, te)
    fluxes = _flux_terms(t, top, wk.wn, wk.qn, gv, hs, te, area, ta, tcore)
    if theta < 1.0:
        _balance(t, top, wk.wn, wk.qn, gv, gr, hs, te, area, ta, tcore, wk.fexp)
    for j in range(rows):
        for i in range(nr):
            tk[j, i] = t[j, i]
    iterations = 0
    factored = False
    for _ in range(most):
        iterations += 1
        _coefficients(tk, mem, False, decay, nodes, laws, cap, hk, w, q, mk, phi)
        _conductances(phi, wk.phin, top, nodes, coupling, gv, gr)
        _exchange(tk[top], eta, tenv, eps, radiant, hs, te)
        # The matrix of this iterate (its diagonal, the link to the left and to the node
        # above, per radian) and the residual of the linearised step at the iterate; the
        # correction x solves the matrix of the last factorisation (defect correction, so
        # that a factorisation kept for a few iterates changes how fast they converge, not
        # where to).
        refactor = not factored
        for j in range(rows):
            for i in range(nr):
                p = j * nr + i
                a = area[j, i]
                if a == 0.0:
                    # A node of the applicator outside the footprint: it takes no part.
                    wk.diag[p] = 1.0
                    wk.left[p] = 0.0
                    wk.up[p] = 0.0
                    wk.rhs[p] = tk[j, i]
                    continue
                diag = a * (cap[j, i] + dth * (w[j, i] + gv[j, i]))
                src = w[j, i] * ta + q[j, i]
                if j + 1 == rows:
                    src += gv[j, i] * tcore
                left = 0.0
                up = 0.0
                if i > 0:
                    left = dth * gr[j, i - 1]
                    diag += left
                if i + 1 < nr:
                    diag += dth * gr[j, i]
                if j > 0:
                    up = area[j - 1, i] * dth * gv[j - 1, i]
                    diag += up
                if j == top:
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
        for j in range(rows):
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
            _conductances(phi, wk.phin, top, nodes, coupling, gv, gr)
            _exchange(tk[top], eta, tenv, eps, radiant, hs, te)
            return OK, iterations, fluxes
    return NOT_CONVERGED, iterations, fluxes


@njit(cache=True, error_model="numpy")
def _fresh_applicator(seg, full, nodes, contact):
    """At the start of a segment: a fresh applicator takes its coefficients and starting
    temperature; the contact face's link to the skin is the segment's (0: not touching)."""
    na = contact.rows
    if na == 0:
        return
    if contact.fresh[seg] == 1:
        slot = contact.slot[seg]
        for a in range(na):
            nodes.cl[a] = contact.cl[slot, a]
            nodes.cs[a] = contact.cs[slot, a]
            nodes.lat[a] = contact.lat[slot, a]
            nodes.tf[a] = contact.tf[slot, a]
            nodes.gl[a] = contact.gl[slot, a]
            nodes.gs[a] = contact.gs[slot, a]
            for i in range(full.shape[1]):
                full[a, i] = contact.t0[slot, a]
    nodes.gl[na - 1] = contact.link[seg]
    nodes.gs[na - 1] = contact.link[seg]


@njit(cache=True, error_model="numpy", nogil=True)
def run_general(
    t,
    mem,
    col,
    nodes,
    laws,
    ring,
    coupling,
    steps,
    bc,
    radiation,
    contact,
    probes,
    out,
    field_p,
    wk,
):
    """March the tissue's field ``t`` and vasoconstriction state ``mem`` (in place, depth x
    radius) over the schedule, with the applicator's rows above them (``contact``; ``nodes``
    holds the coefficients of both, the applicator's written here). A step whose iteration
    does not converge is taken again in halves, down to SUBSTEPS pieces (a freezing front
    crossing a ring of nodes can cycle between their pieces of H(T) at the column engine's
    step; the halves converge). Returns 0, 1 (not converged) or 2 (not finite)."""
    nz, nr = t.shape
    na = contact.rows
    rows = na + nz
    acc = out.acc
    ta, tcore = col.ta, col.tcore
    full = np.zeros((rows, nr))
    memory = np.ones((rows, nr))
    for j in range(nz):
        for i in range(nr):
            full[na + j, i] = t[j, i]
            memory[na + j, i] = mem[j, i]
    tissue = full[na:]
    prev = _start(tissue, probes, out)
    _record(0, tissue, tcore, probes, out)
    _record_perfusion(0, tissue, memory[na:], nodes, laws, na, field_p)
    time = 0.0
    seg = -1
    for k in range(steps.dt.shape[0]):
        dt_step = steps.dt[k]
        theta = steps.theta[k]
        if steps.segment[k] != seg:
            seg = steps.segment[k]
            _fresh_applicator(seg, full, nodes, contact)
            _areas(seg, na, ring, contact, wk.area)
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
                full,
                memory,
                dt,
                theta,
                seg,
                col,
                nodes,
                laws,
                ring,
                coupling,
                bc,
                radiation,
                na,
                wk,
                most,
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
                wk.tk, na, wk.w, wk.q, wk.gv, wk.hs, wk.te, wk.area, ta, tcore
            )
            acc[A_SURFACE] += dte * surf0 + dth * surf1
            acc[A_CORE] += dte * core0 + dth * core1
            acc[A_PERFUSION] += dte * perf0 + dth * perf1
            acc[A_METABOLIC] += dte * met0 + dth * met1
            stored = 0.0
            lowest = wk.tk[na, 0]
            for j in range(rows):
                perfused = nodes.wv[j] > 0.0
                for i in range(nr):
                    v = wk.tk[j, i]
                    if not (v == v and abs(v) < 1e4):
                        return NOT_FINITE
                    full[j, i] = v
                    memory[j, i] = wk.mk[j, i]
                    if j < na:
                        continue
                    stored += wk.area[j, i] * (wk.hk[j, i] - wk.hn[j, i])
                    if v < out.node_min[j - na, i]:
                        out.node_min[j - na, i] = v
                    if v < lowest:
                        lowest = v
                    if perfused:
                        ratio = wk.mk[j, i] * (1.0 - wk.phi[j, i])
                        if ratio < acc[A_MIN_PERF]:
                            acc[A_MIN_PERF] = ratio
            acc[A_STORED] += stored
            time_old = time
            time += dt
            _track(tissue, lowest, time_old, dt, probes, out, prev)
        r = steps.record[k]
        if r >= 0:
            _record(r, tissue, tcore, probes, out)
            _record_perfusion(r, tissue, memory[na:], nodes, laws, na, field_p)
    for j in range(nz):
        for i in range(nr):
            t[j, i] = full[na + j, i]
            mem[j, i] = memory[na + j, i]
    return OK


@njit(cache=True, error_model="numpy")
def _record_perfusion(r, t, mem, nodes, laws, na, field_p):
    """The perfusion ratio of every tissue node (its vasoconstriction state times its
    unfrozen share) at output r, when the field is requested (the core row: 1)."""
    if field_p.shape[0] == 0:
        return
    nz, nr = t.shape
    for j in range(nz):
        for i in range(nr):
            f = _frozen_fraction(t[j, i], nodes.tf[na + j], laws.mush)
            field_p[r, j, i] = mem[j, i] * (1.0 - f)
    for i in range(nr):
        field_p[r, nz, i] = 1.0
