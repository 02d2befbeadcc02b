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
from cryoderm.physics.results import SimulationResult
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


PLANS = (plan_ducharme_frostnip,)
