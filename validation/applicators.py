"""The engine's named pack applicators at their defaults against the measured packs
(contact-applicators-vs-packs in data/measurements.toml).

validation/packs.py models a melting pack as a 0 C surface behind a calibrated conductance;
the engine now carries packs as applicators of their own (data/exposures.toml): a finite
slab that melts, with its own contact conductance and melt-water behaviour. This plan runs
them as a user would, by name and with nothing overridden, on the studies' conditions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cryoderm.physics.results import SimulationResult
from validation import model as m
from validation.outcome import Check, Outcome, Plan, Plot, Point, line, outcome_for, shown, within

TARGET = "contact-applicators-vs-packs"


def _fat(run: dict[str, Any]) -> float:
    return m.fat_from_skinfold(run["skinfold_mm"]) if "skinfold_mm" in run else run["fat_mm"]


def plan_applicators() -> Plan:
    t = m.target(TARGET)
    runs: list[dict[str, Any]] = t["model"]["runs"]
    cases = tuple(
        m.build(
            m.limb_tissue(_fat(run)),
            [
                {
                    "modality": "contact",
                    "applicator": run["applicator"],
                    "applicator_temp_c": run["temp_c"],
                    "duration_s": run["at_s"],
                }
            ],
            sample_every_s=10.0,
            title=f"{TARGET} {run['name']}",
        )
        for run in runs
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        checks: list[Check] = []
        lines = []
        points = []
        for run, result in zip(runs, results, strict=True):
            at = run["at_s"]
            if run["kind"] == "drop":
                value, unit = m.drop(result, at), "K"
            else:
                value, unit = m.value_at(result, "surface", at), "C"
            label = f"{run['name']}: {'skin change' if run['kind'] == 'drop' else 'skin'}"
            if run["claimed"]:
                checks.append(within(label, value, run["value"], run["tolerance"], unit))
            else:
                checks.append(shown(f"{label} (not claimed)", value, run["value"], unit))
            series = np.asarray(result.probes["surface"])
            if run["kind"] == "drop":
                series = series - series[0]
            lines.append(line(run["name"], np.asarray(result.time_s) / 60.0, series))
            points.append(Point(run["name"], at / 60.0, run["value"], 0.0, run["spread"]))
        plot = Plot(
            "time (min)",
            "skin (C), or its change (K) where the study gives a drop",
            lines=tuple(lines),
            points=tuple(points),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


PLANS = (plan_applicators,)
