"""Local LN2 vapour and cold air on the back of the hand: the drop and the rewarming
(rheumatoid-hand-ln2-cold-air in data/measurements.toml).

As on the knee (Radecka 2021, validation/comparisons.py), the treatment was a hand-held sweep
whose distance and motion were not reported, so the fraction of time under the jet (the duty
cycle) is inferred from each device's measured drop. The test is that one duty cycle serves
both devices, i.e. the engine's LN2-vapour and cold-air boundary conditions agree with each
other on a second site and study, and that the hand rewarms as fast as measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics.results import SimulationResult
from validation import model as m
from validation.outcome import Check, Outcome, Plan, Plot, Point, line, ordering, outcome_for, shown

TARGET = "rheumatoid-hand-ln2-cold-air"
DEVICES = ("ln2-vapour", "cold-air")


def _matched(duties: np.ndarray, values: np.ndarray, measured: float) -> float | None:
    """The duty cycle at which ``values`` (falling with the duty) equals ``measured``."""
    if not values.min() <= measured <= values.max():
        return None
    return float(np.interp(measured, values[::-1], duties[::-1]))


def plan_rheumatoid_hand() -> Plan:
    t = m.target(TARGET)
    p = t["model"]
    room = load_table("exposures")["room_air"]
    tissue = m.limb_tissue(p["fat_mm"], p["muscle_mm"])
    period, duration = p["sweep_period_s"], p["duration_s"]
    after = m.ambient(p["after_s"], room["temp_c"], room["heat_transfer_w_m2k"])
    ln2 = [
        m.build(
            tissue,
            [
                {
                    "modality": "ln2-vapour",
                    "distance_cm": p["ln2_distance_cm"],
                    "sweep_period_s": period,
                    "dwell_s": duty * period,
                    "duration_s": duration,
                },
                after,
            ],
            sample_every_s=5.0,
            title=f"{TARGET} ln2 {duty}",
        )
        for duty in p["duties"]
    ]
    air_on = m.cold_air(p["cold_air_temp_c"], p["cold_air_speed_m_s"], 1.0)
    air = [
        m.build(
            tissue,
            [*m.swept(air_on, period, duty * period, duration, room), after],
            sample_every_s=5.0,
            title=f"{TARGET} air {duty}",
        )
        for duty in p["duties"]
    ]
    read = duration + p["read_after_s"]
    later = duration + p["recovered_after_s"]

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        n = len(p["duties"])
        duties = np.array(p["duties"])
        runs = {"ln2-vapour": results[:n], "cold-air": results[n:]}
        drops = {name: np.array([m.drop(r, read) for r in rs]) for name, rs in runs.items()}
        residuals = {name: np.array([m.drop(r, later) for r in rs]) for name, rs in runs.items()}
        checks: list[Check] = []
        matched: dict[str, float | None] = {}
        recovered: dict[str, float | None] = {}
        for name in DEVICES:
            duty = _matched(duties, drops[name], p["drops_k"][name])
            matched[name] = duty
            checks.append(shown(f"{name}: duty cycle that matches the drop", duty, None, "1"))
            if duty is None:
                recovered[name] = None
                continue
            drop = float(np.interp(duty, duties, drops[name]))
            residual = float(np.interp(duty, duties, residuals[name]))
            recovered[name] = 1.0 - residual / drop
            checks.append(shown(f"{name}: residual 15 min after, matched duty", residual, 0.0, "K"))
            checks.append(
                shown(
                    f"{name}: fraction of the 1-min drop recovered 15 min after",
                    recovered[name],
                    None,
                    "1",
                )
            )
        checks.append(
            ordering(
                "LN2 vapour cools more than cold air at every duty cycle",
                bool(np.all(drops["ln2-vapour"] < drops["cold-air"])),
            )
        )
        ln2_duty, air_duty = matched["ln2-vapour"], matched["cold-air"]
        checks.append(
            ordering(
                "one duty cycle (within 0.1) matches both devices' drops",
                ln2_duty is not None and air_duty is not None and abs(ln2_duty - air_duty) <= 0.1,
            )
        )
        checks.append(
            ordering(
                f"at the matched duty cycles both devices have recovered at least "
                f"{p['recovered_at_least']:.0%} of the 1-min drop 15 min after (back at baseline)",
                all(v is not None and v >= p["recovered_at_least"] for v in recovered.values()),
            )
        )
        lines = []
        for name in DEVICES:
            duty = matched[name]
            if duty is None:
                continue
            # The run nearest the matched duty cycle, for the plot.
            k = int(np.argmin(np.abs(duties - duty)))
            run = runs[name][k]
            series = np.asarray(run.probes["surface"])
            lines.append(
                line(
                    f"model {name}, duty {duties[k]:g}",
                    (np.asarray(run.time_s) - duration) / 60.0,
                    series - series[0],
                )
            )
        points = (
            *(
                Point(
                    f"measured {name}, 1 min after",
                    p["read_after_s"] / 60.0,
                    p["drops_k"][name],
                    0.0,
                    p["spreads_k"][name],
                )
                for name in DEVICES
            ),
            Point("back at baseline (both)", p["recovered_after_s"] / 60.0, 0.0),
        )
        plot = Plot(
            "minutes after the treatment",
            "change of the hand's skin (K)",
            lines=tuple(lines),
            points=points,
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], (*ln2, *air), evaluate)


PLANS = (plan_rheumatoid_hand,)
