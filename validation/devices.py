"""Cold-gas devices at stated distances, on a tissue phantom (the device assumptions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics.exposures import cold_air_heat_transfer_w_m2k, ln2_jet
from cryoderm.physics.jets import air_temp_at_skin_c, device_nozzle
from cryoderm.physics.jets import heat_transfer_w_m2k as jet_h
from cryoderm.physics.results import SimulationResult
from validation import model as m
from validation.outcome import Check, Outcome, Plan, Plot, Point, line, ordering, outcome_for, shown

#: The room air a nozzle's jet mixes with (data/exposures.toml [room_air]).
ROOM_C = float(load_table("exposures")["room_air"]["temp_c"])


def _phantom() -> dict[str, Any]:
    """The IT'IS skin slab without perfusion or metabolism: a tissue-like inert medium."""
    tissue = m.itis_tissue()
    tissue["layer"] = [
        {**layer, "perfusion_per_s": 0.0, "metabolic_w_m3": 0.0} for layer in tissue["layer"]
    ]
    return tissue


def plan_saakyan_phantom() -> Plan:
    t = m.target("saakyan-2022-phantom-distance")
    p = t["model"]
    cases = tuple(
        m.build(
            _phantom(),
            [
                {
                    "modality": "ln2-vapour",
                    "distance_cm": run["distance_cm"],
                    "sweep_period_s": 1.0,
                    "dwell_s": 1.0,
                    "duration_s": p["duration_s"],
                }
            ],
            initial={"state": "uniform", "temp_c": p["start_c"]},
            perfusion="constant",
            sample_every_s=1.0,
            probes=(("surface", 0.0), ("8 mm", p["depth_mm"])),
            title=f"{t['id']} {run['distance_cm']} cm",
        )
        for run in p["ln2"]
    ) + tuple(
        m.build(
            _phantom(),
            [
                {
                    "modality": "cold-air",
                    "device": p["air_device"],
                    "setting": run["setting"],
                    "nozzle_distance_mm": p["air_distance_mm"],
                    "duration_s": p["duration_s"],
                }
            ],
            initial={"state": "uniform", "temp_c": p["start_c"]},
            perfusion="constant",
            sample_every_s=1.0,
            probes=(("surface", 0.0), ("8 mm", p["depth_mm"])),
            title=f"{t['id']} air setting {run['setting']:g}",
        )
        for run in p["air"]
    )
    n_ln2 = len(p["ln2"])

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        checks: list[Check] = []
        reached = []
        for run, result in zip(p["ln2"], results[:n_ln2], strict=True):
            gas, h = ln2_jet(run["distance_cm"])
            time = m.first_time_at_or_below(result, "surface", p["target_c"])
            minutes = None if time is None else time / 60.0
            reached.append(np.inf if minutes is None else minutes)
            label = f"LN2 {run['distance_cm']:g} cm (engine: {gas:.0f} C, h {h:.0f} W/m2K)"
            checks.append(shown(f"{label}: minutes to 10 C", minutes, run["minutes"], "min"))
            if time is not None:
                checks.append(
                    shown(
                        f"{label}: 8 mm deep then",
                        m.value_at(result, "8 mm", time),
                        run["depth_c"],
                        "C",
                    )
                )
                checks.append(
                    shown(f"{label}: model/measured time", minutes / run["minutes"], None, "ratio")
                )
        air_minutes = []
        for run, result in zip(p["air"], results[n_ln2:], strict=True):
            nozzle = device_nozzle(
                p["air_device"], run["setting"], p["air_distance_mm"], "validation"
            )
            label = (
                f"cold air, {run['flow']} flow, 10 cm ({p['air_device']} setting "
                f"{run['setting']:g}: {air_temp_at_skin_c(nozzle, ROOM_C):.0f} C, "
                f"h {jet_h(nozzle):.0f} W/m2K)"
            )
            time = m.first_time_at_or_below(result, "surface", p["target_c"])
            minutes = None if time is None else time / 60.0
            air_minutes.append(np.inf if minutes is None else minutes)
            checks.append(shown(f"{label}: minutes to 10 C", minutes, run["minutes"], "min"))
            if time is not None:
                checks.append(
                    shown(
                        f"{label}: model/measured time", time / 60.0 / run["minutes"], None, "ratio"
                    )
                )
                checks.append(
                    shown(
                        f"{label}: 8 mm deep then",
                        m.value_at(result, "8 mm", time),
                        run["depth_c"],
                        "C",
                    )
                )
        checks.append(
            ordering(
                "cold air at maximum flow reaches 10 C sooner than at minimum flow",
                air_minutes[0] < air_minutes[1],
            )
        )
        if all(np.isfinite(air_minutes)):
            checks.append(
                shown(
                    "minimum-flow over maximum-flow time (the flow dependence of the jet)",
                    air_minutes[1] / air_minutes[0],
                    p["air"][1]["minutes"] / p["air"][0]["minutes"],
                    "ratio",
                )
            )
        checks.append(
            ordering("LN2 from 10 cm reaches 10 C sooner than from 15 cm", reached[0] < reached[1])
        )
        plot = Plot(
            "time (min)",
            "phantom surface (C)",
            lines=tuple(
                line(
                    f"model LN2 {run['distance_cm']:g} cm",
                    np.asarray(r.time_s) / 60.0,
                    np.asarray(r.probes["surface"]),
                )
                for run, r in zip(p["ln2"], results[:n_ln2], strict=True)
            )
            + tuple(
                line(
                    f"model cold air, {run['flow']} flow, 10 cm",
                    np.asarray(r.time_s) / 60.0,
                    np.asarray(r.probes["surface"]),
                )
                for run, r in zip(p["air"], results[n_ln2:], strict=True)
            ),
            points=tuple(
                Point(f"Saakyan 2022, LN2 {run['distance_cm']:g} cm", run["minutes"], p["target_c"])
                for run in p["ln2"]
            )
            + tuple(
                Point(f"Saakyan 2022, air {run['flow']} flow", run["minutes"], p["target_c"])
                for run in p["air"]
            ),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


def plan_mourot_co2() -> Plan:
    t = m.target("mourot-2007-co2-hand")
    p = t["model"]
    hs = np.array(p["h_w_m2k"])
    cases = tuple(
        m.build(
            m.limb_tissue(p["fat_mm"], p["muscle_mm"]),
            [m.convective(p["gas_temp_c"], h, p["duration_s"])],
            sample_every_s=1.0,
            title=f"{t['id']} h {h:g}",
        )
        for h in hs
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        ends = np.array([m.value_at(r, "surface", p["duration_s"]) for r in results])
        needed = m.conductance_for(t["value"], hs, ends)
        checks: list[Check] = [
            shown(f"h {h:g} W/m2K: skin after 2 min", end, t["value"], "C")
            for h, end in zip(hs, ends, strict=True)
        ]
        checks.append(shown("effective h that gives 7.3 C at 2 min", needed, None, "W/m2K"))
        for speed in (5.0, 10.0, 20.0):
            checks.append(
                shown(
                    f"engine's cold-air correlation at {speed:g} m/s, for comparison",
                    cold_air_heat_transfer_w_m2k(speed),
                    None,
                    "W/m2K",
                )
            )
        for distance in (10.0, 15.0):
            checks.append(
                shown(
                    f"engine's LN2-wand assumption at {distance:g} cm, for comparison",
                    ln2_jet(distance)[1],
                    None,
                    "W/m2K",
                )
            )
        plot = Plot(
            "time (s)",
            "back of the hand, skin (C)",
            lines=tuple(
                line(f"-78 C gas, h {h:g}", np.asarray(r.time_s), np.asarray(r.probes["surface"]))
                for h, r in zip(hs, results, strict=True)
            ),
            points=(Point("Mourot 2007", p["duration_s"], t["value"], 0.0, t["spread"]),),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


PLANS = (plan_saakyan_phantom, plan_mourot_co2)
