"""Forecast of the skin-surface temperature over the next seconds, from recent readings.

Model (a reduced model of the engine, documented in docs/interlock.md): over a window of a
few seconds the surface under a steady exposure relaxes like a first-order system,

    dT/dt = a + b T        (b < 0: T relaxes to T_inf = -a/b with time constant -1/b).

This is what the engine's surface curve looks like locally when the exposure's h and gas
temperature are constant: the perfused Robin problem (RP-2 of tests/validation_cases) has a surface response
whose local log-derivative changes slowly, so a, b refitted on every reading follow it. The
fit uses the integral form T_i = c + a (t_i - t_0) + b * integral(T dt, t_0..t_i), which is
linear in (c, a, b) and needs no differentiation of noisy readings. The fitted a and b are
the effective "h/C" and "h T_gas/C" of a lumped surface; the forecast is the analytic
solution of the ODE from the fitted current value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Below this |b| (1/s) the response is treated as a straight line: exp(b t) - 1 ~ b t to
# better than 1 % over a 5 s horizon.
_LINEAR_B_PER_S = 0.004
# 1 - r^2 between time and the integral of the readings below which they are collinear.
_COLLINEAR = 1e-9


@dataclass(frozen=True)
class Forecast:
    """A forecast made at the last reading.

    current_temp_c: the fitted surface temperature at the last reading (C).
    horizon_temp_c: the forecast at ``horizon_s`` after the last reading (C).
    floor_crossing_in_s: seconds from the last reading until the forecast reaches the floor
        (None: not within the horizon).
    relax_rate_per_s: the fitted b (1/s); equilibrium_temp_c: -a/b when b < 0, else None.
    """

    current_temp_c: float
    horizon_s: float
    horizon_temp_c: float
    floor_crossing_in_s: float | None
    relax_rate_per_s: float
    equilibrium_temp_c: float | None


def forecast(
    times_s: Sequence[float],
    temps_c: Sequence[float],
    *,
    horizon_s: float,
    floor_temp_c: float,
) -> Forecast | None:
    """Fit dT/dt = a + bT to the readings and forecast ``horizon_s`` ahead.

    Returns None with fewer than 3 readings or a window shorter than 0.2 s (no fit).
    """
    n = len(times_s)
    if n != len(temps_c) or n < 3 or times_s[-1] - times_s[0] < 0.2:
        return None
    # Plain Python over a window of ~20 readings: cheaper than numpy's set-up per call,
    # and the interlock fits once per reading for every session.
    t0, y0 = times_s[0], temps_c[0]
    dts = [t - t0 for t in times_s]
    ys = [y - y0 for y in temps_c]
    integral = [0.0]
    for i in range(1, n):
        integral.append(integral[-1] + 0.5 * (temps_c[i] + temps_c[i - 1]) * (dts[i] - dts[i - 1]))
    solved = _least_squares(dts, integral, ys)
    if solved is None:
        return None
    c0, a, b = solved
    c = c0 + y0
    current = c + a * dts[-1] + b * integral[-1]
    if b > 0:
        # Growth away from an equilibrium is not how a surface under a steady exposure
        # behaves (it always relaxes): keep only the present rate, as a straight line.
        a, b = a + b * current, 0.0
    horizon_temp = _solve(current, a, b, horizon_s)
    if not (math.isfinite(current) and math.isfinite(horizon_temp)):
        return None
    return Forecast(
        current_temp_c=current,
        horizon_s=horizon_s,
        horizon_temp_c=horizon_temp,
        floor_crossing_in_s=_crossing(current, a, b, floor_temp_c, horizon_s),
        relax_rate_per_s=b,
        equilibrium_temp_c=-a / b if b < 0 else None,
    )


def _least_squares(
    x1: list[float], x2: list[float], y: list[float]
) -> tuple[float, float, float] | None:
    """Least squares for y = c + a x1 + b x2 by the normal equations on centred data."""
    n = len(y)
    m1, m2, my = sum(x1) / n, sum(x2) / n, sum(y) / n
    s11 = s12 = s22 = s1y = s2y = 0.0
    for u, v, w in zip(x1, x2, y, strict=True):
        du, dv, dw = u - m1, v - m2, w - my
        s11 += du * du
        s12 += du * dv
        s22 += dv * dv
        s1y += du * dw
        s2y += dv * dw
    if s11 <= 0.0:
        return None
    det = s11 * s22 - s12 * s12
    if det <= _COLLINEAR * s11 * s22:
        # The integral is proportional to time (a flat series): no relaxation to fit, so
        # the straight line through the readings (b = 0).
        a = s1y / s11
        return my - a * m1, a, 0.0
    a = (s1y * s22 - s2y * s12) / det
    b = (s2y * s11 - s1y * s12) / det
    return my - a * m1 - b * m2, a, b


def _solve(temp0_c: float, a: float, b: float, elapsed_s: float) -> float:
    if abs(b) < _LINEAR_B_PER_S:
        return temp0_c + (a + b * temp0_c) * elapsed_s
    equilibrium = -a / b
    return equilibrium + (temp0_c - equilibrium) * math.exp(b * elapsed_s)


def _crossing(temp0_c: float, a: float, b: float, floor_c: float, horizon_s: float) -> float | None:
    if temp0_c <= floor_c:
        return 0.0
    if abs(b) < _LINEAR_B_PER_S:
        slope = a + b * temp0_c
        if slope >= 0:
            return None
        time = (floor_c - temp0_c) / slope
    else:
        equilibrium = -a / b
        ratio = (floor_c - equilibrium) / (temp0_c - equilibrium)
        if ratio <= 0:
            return None
        time = math.log(ratio) / b
    return time if 0 <= time <= horizon_s else None
