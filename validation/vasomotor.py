"""Local-cold vasoconstriction on forearm data that did not calibrate the general law."""

from __future__ import annotations

from collections.abc import Sequence

from cryoderm.physics.case import Perfusion
from cryoderm.physics.perfusion import resolve
from cryoderm.physics.results import SimulationResult
from validation import model as m
from validation.outcome import Outcome, Plan, Plot, Point, line, outcome_for, shown, within


def plan_local_cooling_29c() -> Plan:
    t = m.target("local-cooling-29c-controls")
    p = t["model"]
    case = m.clamped_cooling(p, t["id"])

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        (result,) = results
        ratio = m.dermal_perfusion_ratio(case, result)
        forehead = resolve(Perfusion(model="local-cold"), "forehead").factor(p["cool_temp_c"])
        checks = [
            within(
                "dermal perfusion ratio after 30 min at 29 C (general law)",
                float(ratio[-1]),
                t["value"],
                t["tolerance"],
                "1",
            ),
            shown(
                "forehead law at 29 C against the bretylium-blocked sites it was derived from",
                forehead,
                sum(p["blocked_values"]) / len(p["blocked_values"]),
                "1",
            ),
        ]
        plot = Plot(
            "time (min)",
            "perfusion / baseline",
            lines=(line("model, dermis mean", result.time_s / 60.0, ratio),),
            points=(
                Point("Hodges 2007b control", p["duration_s"] / 60.0, 0.61, 0.0, 0.04),
                Point("Pergola 1993 control", p["duration_s"] / 60.0, 0.57, 0.0, 0.08),
            ),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], (case,), evaluate)


PLANS = (plan_local_cooling_29c,)
