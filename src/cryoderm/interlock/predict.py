"""Forecast of the skin-surface temperature over the next seconds, from recent readings.

Model (a reduced model of the engine, documented in docs/interlock.md): over a window of a
few seconds the surface under a steady exposure relaxes like a first-order system,

    dT/dt = a + b T        (b < 0: T relaxes to T_inf = -a/b with time constant -1/b).

This is what the engine's surface curve looks like locally when the exposure's h and gas
temperature are constant: the Robin problem of physics.md 5.2 (d) has a surface response
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

import numpy as np

# Below this |b| (1/s) the response is treated as a straight line: exp(b t) - 1 ~ b t to
# better than 1 % over a 5 s horizon.
_LINEAR_B_PER_S = 0.004


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
    t = np.asarray(times_s, dtype=float)
    y = np.asarray(temps_c, dtype=float)
    if t.size < 3 or t[-1] - t[0] < 0.2:
        return None
    dt = t - t[0]
    integral = np.concatenate(([0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(t))))
    design = np.column_stack((np.ones_like(dt), dt, integral))
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    c, a, b = (float(v) for v in coef)
    current = c + a * dt[-1] + b * integral[-1]
    if not math.isfinite(current):
        return None
    return Forecast(
        current_temp_c=current,
        horizon_s=horizon_s,
        horizon_temp_c=_solve(current, a, b, horizon_s),
        floor_crossing_in_s=_crossing(current, a, b, floor_temp_c, horizon_s),
        relax_rate_per_s=b,
        equilibrium_temp_c=-a / b if b < 0 else None,
    )


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
