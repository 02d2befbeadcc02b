"""Frostnip of the bare face in cold wind: the model's freeze-risk time against observed times.

The engine's freeze-risk time is the first moment any tissue reaches the equilibrium freezing
point (-0.55 C), with freezing on and local-cold perfusion: exactly what the planner and the
guard use. It is compared with the times to frostnip of subjects facing the wind in a
refrigerated wind tunnel (Ducharme 2005).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from cryoderm.physics.case import Case
from cryoderm.physics.intervals import varied_cases
from cryoderm.physics.results import SimulationResult
from cryoderm.physics.spreads import vary
from validation import model as m
from validation.outcome import (
    Check,
    Outcome,
    Plan,
    Plot,
    Point,
    line,
    ordering,
    outcome_for,
    shown,
    within_factor,
)

KM_H = 1.0 / 3.6
#: The spread that scales the forced-convection coefficient (data/spreads.toml).
HEAT = "cold_air_heat_transfer"


def _wind_case(zone: str, air_temp_c: float, wind_km_h: float, duration_s: float) -> Case:
    case = m.build(
        m.zone_tissue(zone),
        [m.cold_air(air_temp_c, wind_km_h * KM_H, duration_s)],
        sample_every_s=5.0,
    )
    return dataclasses.replace(case, freezing=dataclasses.replace(case.freezing, enabled=True))


def _minutes(result: SimulationResult) -> float | None:
    time = result.safety.get("freeze_risk_time_s")
    return None if time is None else float(time) / 60.0


def plan_ducharme_frostnip() -> Plan:
    t = m.target("ducharme-2005-frostnip-wind")
    p = t["model"]
    duration = p["duration_s"]
    zones = p["zones"]
    windy: list[dict[str, Any]] = p["conditions"]
    calm = [{**c, "wind_km_h": 0.0} for c in p["still_air"]]
    runs = [(zone, c) for zone in zones for c in (*windy, *p["no_frostnip"], *calm)]
    cases = tuple(_wind_case(zone, c["air_temp_c"], c["wind_km_h"], duration) for zone, c in runs)

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        times = {
            (zone, c["air_temp_c"], c["wind_km_h"]): _minutes(r)
            for (zone, c), r in zip(runs, results, strict=True)
        }
        checks: list[Check] = []
        for zone in zones:
            ratios = []
            for c in windy:
                model = times[(zone, c["air_temp_c"], c["wind_km_h"])]
                label = (
                    f"{zone}, {c['air_temp_c']:g} C, {c['wind_km_h']:g} km/h "
                    f"({c['incidence']:.0%} froze): minutes to freeze risk"
                )
                checks.append(shown(label, model, c["observed_min"], "min"))
                if c["incidence"] == 1.0 and model is not None:
                    ratios.append(model / c["observed_min"])
            mean_ratio = math.exp(float(np.mean(np.log(ratios)))) if ratios else math.inf
            claim = within_factor if zone == zones[0] else None
            label = f"{zone}: geometric mean of model/observed where every subject froze"
            if claim is not None:
                checks.append(claim(label, mean_ratio, 1.0, t["tolerance"], "ratio"))
            else:
                checks.append(shown(label, mean_ratio, 1.0, "ratio"))
            for c in p["no_frostnip"]:
                model = times[(zone, c["air_temp_c"], c["wind_km_h"])]
                checks.append(
                    ordering(
                        f"{zone}: no freeze risk at {c['air_temp_c']:g} C, {c['wind_km_h']:g} km/h "
                        "within 45 min (none observed)",
                        model is None,
                    )
                )
            for c in calm:
                model = times[(zone, c["air_temp_c"], 0.0)]
                checks.append(
                    shown(
                        f"{zone}: still air {c['air_temp_c']:g} C ({c['incidence']:.0%} froze): "
                        "minutes to freeze risk",
                        model,
                        None,
                        "min",
                    )
                )
            by_temp = sorted({c["air_temp_c"] for c in windy})
            by_wind = sorted({c["wind_km_h"] for c in windy})

            def at(temp: float, wind: float, zone: str = zone) -> float:
                value = times[(zone, temp, wind)]
                return math.inf if value is None else value

            checks.append(
                ordering(
                    f"{zone}: the freeze-risk time shortens with colder air at each wind speed",
                    all(
                        at(a, w) <= at(b, w)
                        for w in by_wind
                        for a, b in itertools.pairwise(by_temp)
                    ),
                )
            )
            checks.append(
                ordering(
                    f"{zone}: the freeze-risk time shortens with more wind at each temperature",
                    all(at(temp, by_wind[1]) <= at(temp, by_wind[0]) for temp in by_temp),
                )
            )
        observed = np.array([c["observed_min"] for c in windy if c["incidence"] == 1.0])
        modelled = np.array(
            [
                np.nan
                if times[(zones[0], c["air_temp_c"], c["wind_km_h"])] is None
                else times[(zones[0], c["air_temp_c"], c["wind_km_h"])]
                for c in windy
                if c["incidence"] == 1.0
            ]
        )
        span = np.array([0.5, 25.0])
        plot = Plot(
            "observed minutes to frostnip (Ducharme 2005)",
            f"model minutes to freeze risk ({zones[0]})",
            lines=(
                line("equal", span, span),
                line("x 1.5", span, span * t["tolerance"]),
                line("/ 1.5", span, span / t["tolerance"]),
            ),
            points=tuple(
                Point(f"{c['air_temp_c']:g} C, {c['wind_km_h']:g} km/h", o, mo)
                for c, o, mo in zip(
                    [c for c in windy if c["incidence"] == 1.0], observed, modelled, strict=True
                )
            ),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


# --------------------------------------------------------------------------- per condition


def _interpolated_factor(
    factors: Sequence[float], times: Sequence[float | None], observed: float
) -> float | None:
    """The heat-transfer factor at which the freeze-risk time equals ``observed`` (log-log
    interpolation; the time falls as the factor grows); None outside the scanned range."""
    pairs = [(f, t) for f, t in zip(factors, times, strict=True) if t is not None]
    if len(pairs) < 2:
        return None
    logs_f = np.log([f for f, _ in pairs])
    logs_t = np.log([t for _, t in pairs])
    target = math.log(observed)
    if not logs_t.min() <= target <= logs_t.max():
        return None
    return float(np.exp(np.interp(target, logs_t[::-1], logs_f[::-1])))


def plan_ducharme_per_condition() -> Plan:
    t = m.target("ducharme-2005-frostnip-per-condition")
    p = t["model"]
    main = m.target("ducharme-2005-frostnip-wind")["model"]
    zone, duration = p["zone"], p["duration_s"]
    every = [c for c in main["conditions"] if c["incidence"] == 1.0]
    scan = [(c, factor) for c in every for factor in p["h_factors"]]
    cases: list[Case] = [
        vary(_wind_case(zone, c["air_temp_c"], c["wind_km_h"], duration), {HEAT: factor})
        for c, factor in scan
    ]
    for c in every:
        case = _wind_case(zone, c["air_temp_c"], c["wind_km_h"], duration)
        # Supercooled tissue releases no latent heat until it nucleates: freezing off.
        cases.append(
            dataclasses.replace(case, freezing=dataclasses.replace(case.freezing, enabled=False))
        )
    people = [
        *main["conditions"],
        *p["population_extra"],
        *({**c, "wind_km_h": 0.0} for c in main["still_air"]),
    ]
    for c in people:
        _, varied = varied_cases(
            _wind_case(zone, c["air_temp_c"], c["wind_km_h"], duration), p["population_samples"]
        )
        cases.extend(varied)
    calm = [(c, speed) for c in main["still_air"] for speed in p["still_air_speeds_m_s"]]
    cases.extend(_wind_case(zone, c["air_temp_c"], speed / KM_H, duration) for c, speed in calm)

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        checks: list[Check] = []
        n_scan = len(scan)
        by_condition: dict[int, list[float | None]] = {}
        for k in range(len(every)):
            rows = results[k * len(p["h_factors"]) : (k + 1) * len(p["h_factors"])]
            by_condition[k] = [_minutes(r) for r in rows]
        for k, c in enumerate(every):
            name = f"{c['air_temp_c']:g} C, {c['wind_km_h']:g} km/h"
            times = by_condition[k]
            nominal = times[p["h_factors"].index(1.0)]
            ratio = None if nominal is None else nominal / c["observed_min"]
            within = ratio is not None and 1 / 1.5 <= ratio <= 1.5
            verdict = "within x1.5" if within else "NOT reproduced"
            checks.append(shown(f"{name}: model/observed ({verdict})", ratio, 1.0, "ratio"))
            checks.append(
                shown(
                    f"{name}: factor on the forced-convection coefficient that reproduces "
                    f"{c['observed_min']:g} min",
                    _interpolated_factor(p["h_factors"], times, c["observed_min"]),
                    1.0,
                    "factor",
                )
            )
            supercooled = results[n_scan + k]
            for level in p["criteria_c"]:
                reached = m.first_time_at_or_below(supercooled, "surface", level)
                checks.append(
                    shown(
                        f"{name}: freezing off, surface at {level:g} C after",
                        None if reached is None else reached / 60.0,
                        c["observed_min"],
                        "min",
                    )
                )
        start = n_scan + len(every)
        samples = p["population_samples"]
        for j, c in enumerate(people):
            rows = results[start + j * samples : start + (j + 1) * samples]
            times = [_minutes(r) for r in rows]
            froze = [x for x in times if x is not None]
            name = f"{c['air_temp_c']:g} C, {c['wind_km_h']:g} km/h"
            checks.append(
                shown(
                    f"{name}: population fraction with a freeze risk within 45 min",
                    len(froze) / len(times),
                    c["incidence"],
                    "1",
                )
            )
            if froze and "observed_min" in c:
                checks.append(
                    shown(
                        f"{name}: population mean minutes of those who freeze",
                        float(np.mean(froze)),
                        c["observed_min"],
                        "min",
                    )
                )
        start_calm = start + len(people) * samples
        for (c, speed), r in zip(calm, results[start_calm:], strict=True):
            checks.append(
                shown(
                    f"{c['air_temp_c']:g} C 'still' air at {speed:g} m/s: minutes to freeze risk "
                    f"({c['incidence']:.0%} froze in still air)",
                    _minutes(r),
                    None,
                    "min",
                )
            )
        observed = [c["observed_min"] for c in every]
        lines = tuple(
            line(
                f"{c['air_temp_c']:g} C, {c['wind_km_h']:g} km/h",
                np.array([f for f, x in zip(p["h_factors"], by_condition[k], strict=True) if x]),
                np.array([x for x in by_condition[k] if x]),
            )
            for k, c in enumerate(every)
        )
        plot = Plot(
            "factor on the facial forced-convection coefficient",
            "model minutes to freeze risk (cheek)",
            lines=lines,
            hlines=tuple(
                (f"observed {c['air_temp_c']:g} C, {c['wind_km_h']:g} km/h", o)
                for c, o in zip(every, observed, strict=True)
            ),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], tuple(cases), evaluate)


PLANS = (plan_ducharme_frostnip, plan_ducharme_per_condition)
