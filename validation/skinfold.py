"""A crushed-ice pack on the calf, skin and muscle by skinfold (Dykstra 2009, subject-level data).

The pack is the calibrated one of validation.packs (a 0 C surface behind the crushed-ice
conductance of Kanlayanaphotporn 2005); nothing is fitted to these recordings. The figures
are changes from each side's own start, because the model's steady start is warmer than the
measured calf (the subjects lay for 20 min in the laboratory before the pack).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cryoderm.physics.case import Case
from cryoderm.physics.results import SimulationResult
from validation import model as m
from validation import packs
from validation.outcome import Check, Outcome, Plan, Plot, Point, line, ordering, outcome_for, shown

TARGET = "dykstra-2009-calf-by-skinfold"


def _case(p: dict[str, Any], skinfold_mm: float, pack_w_m2k: float) -> Case:
    # The muscle probe sits 2 cm below half the caliper fold, i.e. 2 cm below skin plus fat.
    depth = skinfold_mm / 2.0 + p["below_half_skinfold_mm"]
    return m.build(
        m.limb_tissue(m.fat_from_skinfold(skinfold_mm)),
        [packs.ice_pack(pack_w_m2k, p["treatment_s"]), m.ambient(p["recovery_s"])],
        sample_every_s=30.0,
        probes=(("surface", 0.0), ("muscle", depth)),
        title=f"{TARGET} skinfold {skinfold_mm:g} mm, {pack_w_m2k:g} W/m2K",
    )


def _changes(result: SimulationResult, probe: str, times_s: Sequence[float]) -> list[float]:
    start = float(result.probes[probe][0])
    return [m.value_at(result, probe, time) - start for time in times_s]


def plan_dykstra_by_skinfold() -> Plan:
    t = m.target(TARGET)
    p = t["model"]
    groups: list[dict[str, Any]] = p["groups"]
    calibrated = packs.pack_w_m2k()
    middle = groups[1]
    cases = (
        *(_case(p, g["skinfold_mm"], calibrated) for g in groups),
        _case(p, middle["skinfold_mm"], p["skin_matching_w_m2k"]),
    )
    # The measured reading at "20 min" is the last 30-s sample of the treatment (19.5 min).
    end = p["treatment_s"] - 30.0
    times = [end, *(p["treatment_s"] + after for after in p["read_after_s"])]
    when = ("at 19.5 min", "10 min after removal", "30 min after removal")

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        checks: list[Check] = []
        muscle_at_end = []
        muscle_keeps_cooling = []
        for g, result in zip(groups, results[: len(groups)], strict=True):
            skin = _changes(result, "surface", times)
            muscle = _changes(result, "muscle", times)
            muscle_at_end.append(muscle[0])
            muscle_keeps_cooling.append(muscle[1] < muscle[0])
            for k, label in enumerate(when):
                checks.append(
                    shown(f"{g['name']}: skin change {label}", skin[k], g["skin_k"][k], "K")
                )
                checks.append(
                    shown(f"{g['name']}: muscle change {label}", muscle[k], g["muscle_k"][k], "K")
                )
            checks.append(
                shown(
                    f"{g['name']}: model/measured muscle change at 19.5 min",
                    muscle[0] / g["muscle_k"][0],
                    None,
                    "ratio",
                )
            )
        matched = results[-1]
        checks.append(
            shown(
                f"{middle['name']} at {p['skin_matching_w_m2k']:g} W/m2K: skin change at 19.5 min",
                _changes(matched, "surface", times)[0],
                middle["skin_k"][0],
                "K",
            )
        )
        checks.append(
            shown(
                f"{middle['name']} at {p['skin_matching_w_m2k']:g} W/m2K: muscle change at 19.5 min",
                _changes(matched, "muscle", times)[0],
                middle["muscle_k"][0],
                "K",
            )
        )
        measured_at_end = [g["muscle_k"][0] for g in groups]
        checks.append(
            ordering(
                "the thicker the skinfold, the less the muscle cools under the pack "
                f"(model {' > '.join(f'{-v:.1f}' for v in muscle_at_end)} K; measured "
                f"{' > '.join(f'{-v:.1f}' for v in measured_at_end)} K)",
                bool(np.all(np.diff(muscle_at_end) > 0)),
            )
        )
        checks.append(
            ordering(
                "in every group the muscle is colder 10 min after removal than at removal "
                "while the skin rewarms (as measured)",
                all(muscle_keeps_cooling),
            )
        )
        lines = []
        points: list[Point] = []
        for g, result in zip(groups, results[: len(groups)], strict=True):
            minutes = np.asarray(result.time_s) / 60.0
            for probe, key in (("surface", "skin_k"), ("muscle", "muscle_k")):
                series = np.asarray(result.probes[probe])
                lines.append(line(f"model {probe}, {g['name']}", minutes, series - series[0]))
                points.extend(
                    Point(
                        f"Dykstra 2009 {probe}, {g['name']}",
                        time / 60.0,
                        value,
                        0.0,
                        spread,
                    )
                    for time, value, spread in zip(
                        times, g[key], g[key.replace("_k", "_sd")], strict=True
                    )
                )
        plot = Plot(
            "time from the pack on (min)",
            "change from the start (K)",
            lines=tuple(lines),
            points=tuple(points),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


PLANS = (plan_dykstra_by_skinfold,)
