"""Rewarming after cryotherapy in people: the knee in the hour after the chamber and the water.

Costello 2014 imaged the knee every 10 min for an hour after -110 C whole-body cryotherapy and
after 8 C water immersion (both 4 min). The chamber cools only the skin; the water, with a
heat transfer about fifty times larger, draws heat from deeper, so the knee stays colder
after the water once the skin has rewarmed: the crossover the study reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cryoderm.physics.results import SimulationResult
from validation import model as m
from validation.outcome import Check, Outcome, Plan, Plot, line, ordering, outcome_for, shown

TARGET = "costello-2014-knee-rewarming"


def plan_costello_rewarming() -> Plan:
    t = m.target(TARGET)
    p = t["model"]
    after_s = 3600.0
    tissue = m.limb_tissue(p["fat_mm"])
    chambers = tuple(
        m.build(
            tissue,
            [m.convective(p["gas_temp_c"], h, p["duration_s"]), m.ambient(after_s)],
            sample_every_s=30.0,
            title=f"{TARGET} chamber h {h:g}",
        )
        for h in p["chamber_w_m2k"]
    )
    water = m.build(
        tissue,
        [m.convective(p["water_temp_c"], p["water_w_m2k"], p["duration_s"]), m.ambient(after_s)],
        sample_every_s=30.0,
        title=f"{TARGET} water",
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        *chamber_runs, water_run = results
        start = float(water_run.probes["surface"][0])
        times = [p["duration_s"] + 60.0 * minutes for minutes in p["after_min"]]
        wet = [m.value_at(water_run, "surface", time) for time in times]
        checks: list[Check] = []
        crossover = []
        for h, run in zip(p["chamber_w_m2k"], chamber_runs, strict=True):
            dry = [m.value_at(run, "surface", time) for time in times]
            crossover.append(all(w < d for w, d in zip(wet, dry, strict=True)))
            for minutes, d, w in zip(p["after_min"], dry, wet, strict=True):
                checks.append(
                    shown(
                        f"{minutes:g} min after: knee after the chamber (h {h:g}) minus after "
                        "the water",
                        d - w,
                        None,
                        "K",
                    )
                )
            checks.append(
                shown(
                    f"chamber h {h:g}: knee 60 min after, below its start by",
                    start - dry[-1],
                    None,
                    "K",
                )
            )
        checks.append(
            shown("water: knee 60 min after, below its start by", start - wet[-1], None, "K")
        )
        checks.append(
            ordering(
                "from 10 to 60 min after, the knee is colder after the water than after the "
                "chamber (at the fitted and the a-priori chamber h)",
                all(crossover),
            )
        )
        checks.append(
            ordering(
                "60 min after either treatment the knee is still below its start",
                all(
                    m.value_at(run, "surface", times[-1]) < start
                    for run in (*chamber_runs, water_run)
                ),
            )
        )
        lines = tuple(
            line(name, (np.asarray(run.time_s) - p["duration_s"]) / 60.0, run.probes["surface"])
            for name, run in (
                *(
                    (f"chamber -110 C, h {h:g}", run)
                    for h, run in zip(p["chamber_w_m2k"], chamber_runs, strict=True)
                ),
                ("water 8 C", water_run),
            )
        )
        plot = Plot("minutes after the treatment", "knee skin (C)", lines=lines)
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], (*chambers, water), evaluate)


PLANS = (plan_costello_rewarming,)
