"""Cold packs on limbs: skin and depth by fat thickness (data/measurements.toml, cold packs).

A pack of melting ice holds its face at 0 C while ice remains, so an ice pack is a 0 C surface
behind a pack-to-skin conductance. That conductance is calibrated once, on the skin under a
crushed-ice pack (Kanlayanaphotporn 2005), and every other plan here reads it from that
target: skin readings test it, depth readings are shown between it and perfect contact.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from cryoderm.physics.case import Ln2VapourPhase
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
    within,
)

CALIBRATION = "kanlayanaphotporn-2005-pack-types"


def pack_w_m2k() -> float:
    """The calibrated conductance of a crushed-ice pack on skin (W/m2K)."""
    return float(m.target(CALIBRATION)["calibrated_w_m2k"])


def ice_pack(h_w_m2k: float, duration_s: float) -> dict[str, Any]:
    """A melting-ice pack: its face at 0 C, behind the conductance ``h_w_m2k``."""
    return m.convective(0.0, h_w_m2k, duration_s)


def gel_pack(temp_c: float, h_w_m2k: float, duration_s: float) -> dict[str, Any]:
    """A non-freezing gel pack from a freezer: a finite body without latent heat."""
    return {
        "modality": "contact",
        "applicator": "gel-pack",
        "applicator_temp_c": temp_c,
        "contact_conductance_w_m2k": h_w_m2k,
        "duration_s": duration_s,
    }


def _surface_at(result: SimulationResult, time_s: float) -> float:
    return m.value_at(result, "surface", time_s)


def _minutes(result: SimulationResult) -> np.ndarray:
    return np.asarray(result.time_s) / 60.0


def _surface(result: SimulationResult) -> np.ndarray:
    return np.asarray(result.probes["surface"])


# --------------------------------------------------------------------------- skin readings


def plan_kanlayanaphotporn() -> Plan:
    t = m.target(CALIBRATION)
    p = t["model"]
    duration = p["duration_s"]
    fats = (p["fat_mm"], *p["fat_mm_range"])
    scan = [(fat, h) for fat in fats for h in p["pack_w_m2k"]]
    cases = [
        m.build(m.limb_tissue(fat), [ice_pack(h, duration)], sample_every_s=30.0) for fat, h in scan
    ]
    calibrated = pack_w_m2k()
    cases += [
        m.build(m.limb_tissue(fat), [ice_pack(calibrated, duration)], sample_every_s=30.0)
        for fat in fats
    ]
    cases.append(
        m.build(
            m.limb_tissue(p["fat_mm"]),
            [gel_pack(p["gel_temp_c"], calibrated, duration)],
            sample_every_s=30.0,
        )
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        n = len(scan)
        hs = np.array(p["pack_w_m2k"])
        at_end = np.array([_surface_at(r, duration) for r in results[:n]]).reshape(len(fats), -1)
        fitted = [m.conductance_for(t["value"], hs, row) for row in at_end]
        central, *bounds = (_surface_at(r, duration) for r in results[n : n + len(fats)])
        gel = _surface_at(results[-1], duration)
        checks: list[Check] = [
            shown(
                f"pack conductance that gives 10.2 C (fat {fat:g} mm)",
                value,
                None,
                "W/m2K",
            )
            for fat, value in zip(fats, fitted, strict=True)
        ]
        checks.append(
            within(
                f"ice pack at 20 min, calibrated {calibrated:g} W/m2K, fat {fats[0]:g} mm",
                central,
                t["value"],
                t["tolerance"],
                "C",
            )
        )
        for fat, value in zip(fats[1:], bounds, strict=True):
            checks.append(
                within(
                    f"ice pack at 20 min, calibrated conductance, fat {fat:g} mm",
                    value,
                    t["value"],
                    t["tolerance"],
                    "C",
                )
            )
        checks.append(shown("gel pack from -15 C at 20 min (same bag)", gel, 13.9, "C"))
        checks.append(ordering("the gel pack is warmer than the ice pack at 20 min", gel > central))
        plot = Plot(
            "pack conductance (W/m2K)",
            "skin after 20 min (C)",
            lines=tuple(
                line(f"model, fat {fat:g} mm", hs, row)
                for fat, row in zip(fats, at_end, strict=True)
            ),
            points=(Point("Kanlayanaphotporn 2005, ice pack", calibrated, t["value"], 0, 3.5),),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], tuple(cases), evaluate)


def plan_chesterton() -> Plan:
    t = m.target("chesterton-2002-peas-gel")
    p = t["model"]
    duration = p["duration_s"]
    h = pack_w_m2k()
    fats = (p["fat_mm"], *p["fat_mm_range"])
    cases = [m.build(m.limb_tissue(f), [ice_pack(h, duration)], sample_every_s=30.0) for f in fats]
    cases.append(
        m.build(
            m.limb_tissue(p["fat_mm"]),
            [gel_pack(p["gel_temp_c"], h, duration)],
            sample_every_s=30.0,
        )
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        peas = [_surface_at(r, duration) for r in results[: len(fats)]]
        gel = results[-1]
        gel_20 = _surface_at(gel, duration)
        peas_change = peas[0] - _surface_at(results[0], duration / 2)
        gel_change = gel_20 - _surface_at(gel, duration / 2)
        checks: list[Check] = [
            within(
                f"peas (melting at 0 C, crushed-ice conductance) at 20 min, fat {fat:g} mm",
                value,
                t["value"],
                t["tolerance"],
                "C",
            )
            for fat, value in zip(fats, peas, strict=True)
        ]
        checks += [
            shown("gel pack from -15 C at 20 min", gel_20, p["gel_value_c"], "C"),
            ordering("peas colder than the gel pack at 20 min", peas[0] < gel_20),
            shown("change 10 -> 20 min under peas", peas_change, None, "K"),
            shown("change 10 -> 20 min under the gel pack", gel_change, None, "K"),
            ordering(
                "the gel pack's skin changes less from 10 to 20 min than it cools under peas "
                "(gel: the pack warms; peas: held at 0 C)",
                gel_change > peas_change,
            ),
        ]
        plot = Plot(
            "time (min)",
            "skin under the pack (C)",
            lines=(
                line("model, peas (0 C melting)", _minutes(results[0]), _surface(results[0])),
                line("model, gel pack from -15 C", _minutes(gel), _surface(gel)),
            ),
            points=(
                Point("Chesterton 2002, peas", 20.0, t["value"], 0, t["spread"]),
                Point("Chesterton 2002, gel", 20.0, p["gel_value_c"], 0, p["gel_sd_c"]),
            ),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], tuple(cases), evaluate)


def plan_kennet() -> Plan:
    t = m.target("kennet-2007-ankle-agents")
    p = t["model"]
    duration = p["duration_s"]
    h = pack_w_m2k()
    tissue = m.limb_tissue(p["fat_mm"], p["deep_mm"])
    after = m.ambient(p["image_delay_s"])
    cases = (
        m.build(tissue, [ice_pack(h, duration), after], sample_every_s=10.0),
        m.build(tissue, [gel_pack(p["gel_temp_c"], h, duration), after], sample_every_s=10.0),
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        ice, gel = results
        image = duration + p["image_delay_s"]
        ice_drop, gel_drop = m.drop(ice, image), m.drop(gel, image)
        checks = [
            within(
                "crushed ice: drop at the first image", ice_drop, t["value"], t["tolerance"], "K"
            ),
            shown("gel pack from -15 C: drop at the first image", gel_drop, p["gel_drop_k"], "K"),
            shown(
                "frozen peas (measured; modelled as crushed ice)", ice_drop, p["peas_drop_k"], "K"
            ),
            ordering("crushed ice cools the ankle more than the gel pack", ice_drop < gel_drop),
        ]
        plot = Plot(
            "time (min)",
            "ankle skin (C)",
            lines=(
                line("model, crushed ice", _minutes(ice), _surface(ice)),
                line("model, gel pack", _minutes(gel), _surface(gel)),
            ),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], cases, evaluate)


# --------------------------------------------------------------------------- depth readings


def plan_mars() -> Plan:
    t = m.target("mars-2006-ice-pack-depth")
    p = t["model"]
    duration = p["duration_s"]
    skin = m.skin_mm()
    runs = [
        (fat, h)
        for fat in (p["fat_mm"], *p["fat_mm_range"])
        for h in (pack_w_m2k(), p["perfect_contact_w_m2k"])
    ]
    cases = tuple(
        m.build(
            m.limb_tissue(fat),
            [ice_pack(h, duration)],
            sample_every_s=30.0,
            probes=(
                ("surface", 0.0),
                ("fat", skin + fat / 2.0),
                ("muscle", skin + fat + p["muscle_below_fat_mm"]),
            ),
        )
        for fat, h in runs
    )

    def drops(result: SimulationResult) -> dict[str, float]:
        return {
            probe: m.value_at(result, probe, duration) - float(result.probes[probe][0])
            for probe in ("surface", "fat", "muscle")
        }

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        checks: list[Check] = []
        for (fat, h), result in zip(runs, results, strict=True):
            d = drops(result)
            label = f"fat {fat:g} mm, {h:g} W/m2K"
            if h == pack_w_m2k():
                checks.append(
                    within(f"skin drop, {label}", d["surface"], t["value"], t["tolerance"], "K")
                )
            else:
                checks.append(shown(f"skin drop, {label}", d["surface"], t["value"], "K"))
            checks.append(shown(f"fat drop, {label}", d["fat"], p["subcutaneous_drop_k"], "K"))
            checks.append(
                shown(
                    f"muscle drop 1 cm below the fat, {label}", d["muscle"], p["muscle_drop_k"], "K"
                )
            )
        central = results[0]
        plot = Plot(
            "time (min)",
            "temperature (C)",
            lines=tuple(
                line(
                    f"model {probe} (fat {p['fat_mm']:g} mm, calibrated pack)",
                    _minutes(central),
                    np.asarray(central.probes[probe]),
                )
                for probe in ("surface", "fat", "muscle")
            ),
            points=(
                Point(
                    "Mars 2006: skin",
                    duration / 60,
                    float(central.probes["surface"][0]) + t["value"],
                    0,
                    t["spread"],
                ),
                Point(
                    "Mars 2006: fat",
                    duration / 60,
                    float(central.probes["fat"][0]) + p["subcutaneous_drop_k"],
                    0,
                    p["subcutaneous_sd_k"],
                ),
                Point(
                    "Mars 2006: muscle",
                    duration / 60,
                    float(central.probes["muscle"][0]) + p["muscle_drop_k"],
                    0,
                    p["muscle_sd_k"],
                ),
            ),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


def plan_merrick() -> Plan:
    t = m.target("merrick-2003-phase-change")
    p = t["model"]
    duration = p["duration_s"]
    h = pack_w_m2k()
    fat = p["fat_mm"]
    depth = m.skin_mm() + fat
    probes = (("surface", 0.0), ("1 cm", depth + 10.0), ("2 cm", depth + 20.0))
    cases = (
        m.build(m.limb_tissue(fat), [ice_pack(h, duration)], sample_every_s=30.0, probes=probes),
        m.build(
            m.limb_tissue(fat),
            [gel_pack(p["gel_temp_c"], h, duration)],
            sample_every_s=30.0,
            probes=probes,
        ),
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        ice, gel = results
        lowest = {
            name: (float(np.min(ice.probes[name])), float(np.min(gel.probes[name])))
            for name, _ in probes
        }
        checks: list[Check] = []
        for name, (ice_min, gel_min) in lowest.items():
            checks.append(shown(f"lowest at {name}: ice bag", ice_min, None, "C"))
            checks.append(shown(f"lowest at {name}: gel pack", gel_min, None, "C"))
        gap = {name: gel_min - ice_min for name, (ice_min, gel_min) in lowest.items()}
        checks += [
            ordering("ice bag colder than the gel pack at the skin", gap["surface"] > 0),
            ordering("ice bag colder than the gel pack 1 cm below the fat", gap["1 cm"] > 0),
            ordering("the difference at 2 cm is smaller than at 1 cm", gap["2 cm"] < gap["1 cm"]),
        ]
        plot = Plot(
            "time (min)",
            "temperature (C)",
            lines=tuple(
                line(f"{label} {name}", _minutes(r), np.asarray(r.probes[name]))
                for label, r in (("ice bag", ice), ("gel pack", gel))
                for name, _ in probes
            ),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], cases, evaluate)


def plan_otte() -> Plan:
    t = m.target("otte-2002-ice-bag-by-fat")
    p = t["model"]
    duration = p["duration_s"]
    contacts = (pack_w_m2k(), p["perfect_contact_w_m2k"])
    runs = [(sf, h) for h in contacts for sf in p["skinfolds_mm"]]
    cases = tuple(
        m.build(
            m.limb_tissue(m.fat_from_skinfold(sf), p["muscle_mm"]),
            [ice_pack(h, duration)],
            sample_every_s=30.0,
            probes=(("surface", 0.0), ("muscle", sf / 2.0 + p["below_fat_mm"])),
        )
        for sf, h in runs
    )

    def minutes_to_cool(result: SimulationResult) -> float | None:
        start = float(result.probes["muscle"][0])
        time = m.first_time_at_or_below(result, "muscle", start - p["drop_k"])
        return None if time is None else time / 60.0

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        times = [minutes_to_cool(r) for r in results]
        n = len(p["skinfolds_mm"])
        checks: list[Check] = []
        for index, ((sf, h), value) in enumerate(zip(runs, times, strict=True)):
            measured = t["values"][index % n]
            checks.append(
                shown(
                    f"skinfold {sf:g} mm, {h:g} W/m2K: minutes to cool 7 C", value, measured, "min"
                )
            )
        for h_index, h in enumerate(contacts):
            row = [_never_as_inf(times[h_index * n + k]) for k in range(n)]
            checks.append(
                ordering(
                    f"cooling time grows with the skinfold at {h:g} W/m2K (never counts as longest)",
                    all(later >= sooner for sooner, later in itertools.pairwise(row))
                    and row[0] < row[-1],
                )
            )
        skinfolds = np.array(p["skinfolds_mm"])
        lines = []
        for h_index, h in enumerate(contacts):
            series = np.array([_never_as_inf(times[h_index * n + k]) for k in range(n)])
            shown_rows = np.where(np.isfinite(series), series, p["duration_s"] / 60.0)
            lines.append(
                line(f"model, {h:g} W/m2K (80 = not within 80 min)", skinfolds, shown_rows)
            )
        plot = Plot(
            "skinfold (mm)",
            "minutes for the muscle 1 cm below the fat to cool 7 C",
            lines=tuple(lines),
            points=tuple(
                Point(f"Otte 2002, {sf:g} mm", sf, value, 0, sd)
                for sf, value, sd in zip(skinfolds, t["values"], t["spreads"], strict=True)
            ),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


def _never_as_inf(value: float | None) -> float:
    """A time that never came as +inf, for orderings."""
    return float("inf") if value is None else value


def plan_myrer() -> Plan:
    t = m.target("myrer-2001-ice-pack-by-fat")
    p = t["model"]
    duration, rewarm = p["duration_s"], p["rewarm_s"]
    contacts = (pack_w_m2k(), p["perfect_contact_w_m2k"])
    runs = [(sf, h) for h in contacts for sf in p["skinfolds_mm"]]
    cases = tuple(
        m.build(
            m.limb_tissue(m.fat_from_skinfold(sf), p["muscle_mm"]),
            [ice_pack(h, duration), m.ambient(rewarm)],
            sample_every_s=30.0,
            probes=(("surface", 0.0), ("1 cm", sf / 2.0 + 10.0), ("3 cm", sf / 2.0 + 30.0)),
        )
        for sf, h in runs
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        n = len(p["skinfolds_mm"])
        checks: list[Check] = []
        summary: dict[float, dict[str, list[float]]] = {}
        for index, ((sf, h), r) in enumerate(zip(runs, results, strict=True)):
            k = index % n
            row = summary.setdefault(
                h, {"1 cm": [], "3 cm": [], "rewarm 1 cm": [], "rewarm 3 cm": []}
            )
            for depth, measured, rewarmed in (
                ("1 cm", p["drops_1cm_k"][k], p["rewarm_1cm_k"][k]),
                ("3 cm", p["drops_3cm_k"][k], p["rewarm_3cm_k"][k]),
            ):
                start = float(r.probes[depth][0])
                end = m.value_at(r, depth, duration)
                later = m.value_at(r, depth, duration + rewarm)
                row[depth].append(end - start)
                row[f"rewarm {depth}"].append(later - end)
                checks.append(
                    shown(
                        f"skinfold {sf:g} mm, {h:g} W/m2K: drop at {depth}",
                        end - start,
                        measured,
                        "K",
                    )
                )
                checks.append(
                    shown(
                        f"skinfold {sf:g} mm, {h:g} W/m2K: change in the 30 min after, {depth}",
                        later - end,
                        rewarmed,
                        "K",
                    )
                )
        for h, row in summary.items():
            checks.append(
                ordering(
                    f"{h:g} W/m2K: the 1 cm drop shrinks with the skinfold",
                    bool(np.all(np.diff(row["1 cm"]) > 0)),
                )
            )
            checks.append(
                ordering(
                    f"{h:g} W/m2K: the thinnest group rewarms most at 1 cm",
                    row["rewarm 1 cm"][0] == max(row["rewarm 1 cm"]),
                )
            )
            checks.append(
                ordering(
                    f"{h:g} W/m2K: 3 cm keeps cooling after the pack in every group",
                    all(v < 0 for v in row["rewarm 3 cm"]),
                )
            )
        skinfolds = np.array(p["skinfolds_mm"])
        plot = Plot(
            "skinfold (mm)",
            "drop after 20 min (K)",
            lines=tuple(
                line(f"model {depth}, {h:g} W/m2K", skinfolds, np.array(row[depth]))
                for h, row in summary.items()
                for depth in ("1 cm", "3 cm")
            ),
            points=tuple(
                Point(f"Myrer 2001 {depth}", sf, value)
                for depth, key in (("1 cm", "drops_1cm_k"), ("3 cm", "drops_3cm_k"))
                for sf, value in zip(skinfolds, p[key], strict=True)
            ),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


# --------------------------------------------------------------------------- contact quality


def plan_pushkarev_knee() -> Plan:
    t = m.target("pushkarev-2023-knee-methods")
    p = t["model"]
    tissue = m.limb_tissue(p["fat_mm"])
    bag = [m.build(tissue, [ice_pack(h, p["bag_s"])], sample_every_s=30.0) for h in p["bag_w_m2k"]]
    period = p["sweep_period_s"]
    wands = [
        m.build(
            tissue,
            [
                {
                    "modality": "ln2-vapour",
                    "distance_cm": distance,
                    "sweep_period_s": period,
                    "dwell_s": dwell,
                    "duration_s": p["ln2_s"],
                }
            ],
            sample_every_s=1.0,
        )
        for distance in p["ln2_distances_cm"]
        for dwell in (period, p["duty"] * period)
    ]
    # The engine's own sweep defaults: distance, period and dwell left out of the phase.
    default_sweep = m.build(
        tissue, [{"modality": "ln2-vapour", "duration_s": p["ln2_s"]}], sample_every_s=1.0
    )

    def evaluate(all_results: Sequence[SimulationResult]) -> Outcome:
        *results, swept = all_results
        hs = np.array(p["bag_w_m2k"])
        ends = np.array([_surface_at(r, p["bag_s"]) for r in results[: len(hs)]])
        needed = m.conductance_for(t["value"], hs, ends)
        checks: list[Check] = [
            shown(f"ice-water bag at 20 min, {h:g} W/m2K", end, t["value"], "C")
            for h, end in zip(hs, ends, strict=True)
        ]
        checks.append(shown("bag conductance that gives 6.43 C", needed, None, "W/m2K"))
        checks.append(
            ordering(
                "an ice-water bag needs more conductance than the calibrated crushed-ice pack",
                needed > pack_w_m2k(),
            )
        )
        labels = [
            f"LN2 {d:g} cm, {'stationary' if k == 0 else 'duty 0.23'}"
            for d in p["ln2_distances_cm"]
            for k in range(2)
        ]
        for label, r in zip(labels, results[len(hs) :], strict=True):
            checks.append(
                shown(
                    f"{label}: lowest skin", r.metrics["min_surface_temp_c"], p["ln2_value_c"], "C"
                )
            )
        phase = default_sweep.phases[0]
        assert isinstance(phase, Ln2VapourPhase)
        label = (
            f"LN2, the engine's sweep defaults ({phase.distance_cm:g} cm, period "
            f"{phase.sweep_period_s:g} s, dwell {phase.dwell_s:.2g} s)"
        )
        checks.append(
            shown(
                f"{label}: lowest skin", swept.metrics["min_surface_temp_c"], p["ln2_value_c"], "C"
            )
        )
        checks.append(
            shown(
                f"{label}: skin drop at 3 min (Radecka 2021 measured -10.1 +/- 0.9 K over the "
                "whole knee)",
                m.drop(swept, p["ln2_s"]),
                None,
                "K",
            )
        )
        plot = Plot(
            "ice-water bag conductance (W/m2K)",
            "knee skin after 20 min (C)",
            lines=(line("model", hs, ends),),
            hlines=((f"measured {t['value']} +/- {t['spread']} C", t["value"]),),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], (*bag, *wands, default_sweep), evaluate)


def plan_dykstra() -> Plan:
    t = m.target("dykstra-2009-ice-forms")
    p = t["model"]
    fat = p["fat_mm"]
    probes = (("surface", 0.0), ("2 cm", m.skin_mm() + fat + p["below_fat_mm"]))
    cases = tuple(
        m.build(
            m.limb_tissue(fat), [ice_pack(h, p["duration_s"])], sample_every_s=30.0, probes=probes
        )
        for h in p["pack_w_m2k"]
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        checks = []
        for h, r in zip(p["pack_w_m2k"], results, strict=True):
            checks.append(
                shown(f"{h:g} W/m2K: skin at 20 min", _surface_at(r, p["duration_s"]), None, "C")
            )
            checks.append(
                shown(
                    f"{h:g} W/m2K: 2 cm below the fat, drop at 20 min",
                    m.value_at(r, "2 cm", p["duration_s"]) - float(r.probes["2 cm"][0]),
                    None,
                    "K",
                )
            )
        return outcome_for(t, checks, [t["limitation"]])

    return Plan(t["id"], cases, evaluate)


PLANS = (
    plan_kanlayanaphotporn,
    plan_chesterton,
    plan_kennet,
    plan_mars,
    plan_merrick,
    plan_otte,
    plan_myrer,
    plan_pushkarev_knee,
    plan_dykstra,
)
