"""One comparison per measured target of data/measurements.toml.

Each ``plan_*`` function reads its target, returns the cases to simulate and a function that
turns their results into an :class:`~validation.outcome.Outcome`. The runner simulates the
cases of every plan in one ``simulate_many`` call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics import jets
from cryoderm.physics.case import Case, Freezing
from cryoderm.physics.exposures import cold_air_heat_transfer_w_m2k, ln2_jet
from cryoderm.physics.results import SimulationResult
from validation import (
    applicators,
    devices,
    frostnip,
    hands,
    packs,
    rewarming,
    skinfold,
    vasomotor,
)
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

# --------------------------------------------------------------------------- section 2


def plan_hodges() -> Plan:
    t = m.target("hodges-2007-local-cooling")
    p = t["model"]
    case = m.clamped_cooling(p, t["id"])

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        (result,) = results
        ratio = m.dermal_perfusion_ratio(case, result)
        check = within(
            "dermal perfusion ratio after 30 min at 28 C",
            float(ratio[-1]),
            t["value"],
            t["tolerance"],
            "1",
        )
        plot = Plot(
            "time (min)",
            "perfusion / baseline",
            lines=(line("model, dermis mean", result.time_s / 60.0, ratio),),
            points=(
                Point(
                    "Hodges 2007 (42-46 %)", p["duration_s"] / 60.0, t["value"], 0.0, t["spread"]
                ),
            ),
        )
        return outcome_for(t, [check], plot=plot)

    return Plan(t["id"], (case,), evaluate)


def plan_khoshnevis_dose() -> Plan:
    t = m.target("khoshnevis-2018-dose-response")
    p = t["model"]
    cases = tuple(
        m.build(
            m.limb_tissue(p["fat_mm"]),
            [m.convective(temp, p["clamp_w_m2k"], p["duration_s"])],
            initial=m.clamp_initial(p["hold_temp_c"], p["clamp_w_m2k"]),
            sample_every_s=60.0,
            full_field=True,
            title=f"{t['id']} {temp} C",
        )
        for temp in p["skin_temps_c"]
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        ratios = [
            float(m.dermal_perfusion_ratio(c, r)[-1]) for c, r in zip(cases, results, strict=True)
        ]
        by_temp = dict(zip(p["skin_temps_c"], ratios, strict=True))
        checks = [
            shown(f"perfusion ratio after 1 h at {temp} C", ratio, None, "1")
            for temp, ratio in by_temp.items()
        ]
        checks.append(
            ordering(
                "depression at 16.6 and 19.8 C exceeds that at 27.3 C",
                by_temp[16.6] < by_temp[27.3] and by_temp[19.8] < by_temp[27.3],
            )
        )
        checks.append(
            ordering(
                "depression grows monotonically as the held temperature falls",
                bool(np.all(np.diff(ratios) > 0)),
            )
        )
        plot = Plot(
            "held skin temperature (C)",
            "perfusion / baseline after 1 h",
            lines=(line("model", np.array(p["skin_temps_c"]), np.array(ratios)),),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], cases, evaluate)


def plan_khoshnevis_persistence() -> Plan:
    t = m.target("khoshnevis-2016-persistence")
    p = t["model"]
    case = m.build(
        m.limb_tissue(p["fat_mm"]),
        [
            m.convective(p["cool_temp_c"], p["clamp_w_m2k"], p["cool_s"]),
            m.ambient(p["rewarm_s"], p["room_temp_c"], p["room_w_m2k"]),
        ],
        initial=m.clamp_initial(p["hold_temp_c"], p["clamp_w_m2k"]),
        sample_every_s=60.0,
        full_field=True,
        title=t["id"],
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        (result,) = results
        ratio = m.dermal_perfusion_ratio(case, result)
        cool = p["cool_s"]
        start = float(result.probes["surface"][0])
        cold = m.value_at(result, "surface", cool)
        at60 = m.value_at(result, "surface", cool + 3600.0)
        recovered = (at60 - cold) / (start - cold)
        r60 = float(np.interp(cool + 3600.0, result.time_s, ratio))
        r120 = float(np.interp(cool + 7200.0, result.time_s, ratio))
        checks = [
            shown("perfusion ratio 60 min into rewarming", r60, None, "1"),
            shown("perfusion ratio 120 min into rewarming", r120, None, "1"),
            shown("fraction of the surface drop recovered at 60 min", recovered, None, "1"),
            ordering(
                "at 60 min of rewarming perfusion < 0.8 while the surface has recovered > 60 % of its drop",
                r60 < 0.8 and recovered > 0.6,
            ),
            ordering("perfusion still below baseline at 120 min", r120 < 1.0),
        ]
        plot = Plot(
            "time (min)",
            "perfusion / baseline; surface (C) / 34",
            lines=(
                line("model perfusion ratio (dermis)", result.time_s / 60.0, ratio),
                line(
                    "model surface temperature / 34 C",
                    result.time_s / 60.0,
                    np.asarray(result.probes["surface"]) / 34.0,
                ),
            ),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], (case,), evaluate)


def plan_calf_pad() -> Plan:
    t = m.target("pmc5681365-calf-pad")
    p = t["model"]
    cases = tuple(
        m.build(
            m.limb_tissue(p["fat_mm"]),
            [m.convective(p["pad_temp_c"], h, p["duration_s"])],
            initial=m.clamp_initial(p["hold_temp_c"], 1000.0),
            sample_every_s=60.0,
            full_field=True,
            title=f"{t['id']} h {h}",
        )
        for h in p["pad_w_m2k"]
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        ends = np.array([float(r.probes["surface"][-1]) for r in results])
        ratios = [
            float(m.dermal_perfusion_ratio(c, r)[-1]) for c, r in zip(cases, results, strict=True)
        ]
        hs = np.array(p["pad_w_m2k"])
        # surface temperature falls with h: interpolate h on the reversed (increasing) arrays
        h_fit = m.conductance_for(t["value"], hs, ends)
        checks = [
            shown(f"surface after 30 min, pad h {h:g} W/m2K", end, t["value"], "C")
            for h, end in zip(hs, ends, strict=True)
        ]
        checks.append(shown("pad conductance that reproduces 18.5 C", h_fit, None, "W/m2K"))
        checks.append(
            ordering(
                "%CVC falls under the pad (perfusion ratio < 0.5 at every pad conductance)",
                max(ratios) < 0.5,
            )
        )
        plot = Plot(
            "pad conductance (W/m2K)",
            "surface after 30 min (C)",
            lines=(line("model", hs, ends),),
            hlines=(("measured 18.5 C", t["value"]),),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


def plan_ducharme() -> Plan:
    t = m.target("ducharme-1991-effective-conductivity")
    p = t["model"]
    tissue = m.limb_tissue(p["fat_mm"])
    site = m.measurements()["site"]["limb"]
    depth = site["epidermis"]["thickness_mm"] + site["dermis"]["thickness_mm"] + p["fat_mm"]
    case = m.build(
        tissue,
        [m.convective(p["water_temp_c"], p["water_w_m2k"], p["duration_s"])],
        sample_every_s=600.0,
        probes=(("surface", 0.0), ("fat-muscle", depth)),
        title=t["id"],
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        (result,) = results
        surface = np.asarray(result.probes["surface"])
        deep = np.asarray(result.probes["fat-muscle"])
        flux = p["water_w_m2k"] * (surface - p["water_temp_c"])
        k_eff = flux * depth * 1e-3 / (deep - surface)
        check = within(
            "effective k of skin + fat after 3 h in 15 C water",
            float(k_eff[-1]),
            t["value"],
            t["tolerance"],
            "W/m/K",
        )
        plot = Plot(
            "time (min)",
            "effective k skin+fat (W/m/K)",
            lines=(line("model", result.time_s[1:] / 60.0, k_eff[1:]),),
            points=(
                Point(
                    "Ducharme & Tikuisis 1991, 15 C",
                    p["duration_s"] / 60.0,
                    t["value"],
                    0.0,
                    t["spread"],
                ),
            ),
        )
        return outcome_for(t, [check], plot=plot)

    return Plan(t["id"], (case,), evaluate)


def plan_hohenauer() -> Plan:
    t = m.target("hohenauer-2019-reactive-hyperaemia")
    p = t["model"]
    after = 1200.0
    tissue = m.limb_tissue(p["fat_mm"])
    chamber = m.build(
        tissue,
        [
            m.convective(-60.0, p["chamber_w_m2k"], 30.0),
            m.convective(-135.0, p["chamber_w_m2k"], 120.0),
            m.ambient(after, p["room_temp_c"], p["room_w_m2k"]),
        ],
        sample_every_s=10.0,
        full_field=True,
        title=f"{t['id']} chamber",
    )
    water = m.build(
        tissue,
        [
            m.convective(10.0, p["water_w_m2k"], 600.0),
            m.ambient(after, p["room_temp_c"], p["room_w_m2k"]),
        ],
        sample_every_s=10.0,
        full_field=True,
        title=f"{t['id']} water",
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        checks = []
        lines = []
        for name, case, result, end in (
            ("chamber", chamber, results[0], 150.0),
            ("10 C water", water, results[1], 600.0),
        ):
            ratio = m.dermal_perfusion_ratio(case, result)
            checks.append(
                shown(
                    f"{name}: perfusion ratio right after",
                    float(np.interp(end, result.time_s, ratio)),
                    None,
                    "1",
                )
            )
            checks.append(
                shown(
                    f"{name}: perfusion ratio 20 min after",
                    float(np.interp(end + after, result.time_s, ratio)),
                    None,
                    "1",
                )
            )
            lines.append(line(f"model, {name}", (result.time_s - end) / 60.0, ratio))
        plot = Plot(
            "time after the exposure (min)",
            "perfusion / baseline",
            lines=tuple(lines),
            hlines=(("baseline", 1.0),),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], (chamber, water), evaluate)


# --------------------------------------------------------------------------- the face in cold air


def plan_osczevski() -> Plan:
    t = m.target("osczevski-1994-cheek-resistance")
    p = t["model"]
    runs = [(air, h) for air in p["air_temps_c"] for h in p["h_w_m2k"]]
    cases = tuple(
        m.build(
            m.zone_tissue("cheek"),
            [m.convective(air, h, p["duration_s"])],
            sample_every_s=30.0,
            title=f"{t['id']} {air} C h {h}",
        )
        for air, h in runs
    )
    low, high = p["band_c"]

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        lines = []
        in_band: list[float] = []
        room: list[float] = []
        core = cases[0].tissue.core_temp_c
        for (air, h), result in zip(runs, results, strict=True):
            surface = np.asarray(result.probes["surface"])[1:]
            resistance = (core - surface) / (h * (surface - air))
            lines.append(line(f"{air:g} C, h {h:g}", surface, resistance))
            in_band.extend(resistance[(surface >= low) & (surface <= high)].tolist())
            loss = result.metrics["initial_surface_heat_loss_w_m2"]
            if loss:
                room.append((core - float(result.probes["surface"][0])) / loss)
        peak = max(in_band) if in_band else float("nan")
        checks = [
            shown(
                f"largest tissue resistance at skin {low:g}-{high:g} C", peak, t["value"], "m2K/W"
            ),
            shown("tissue resistance in room air (start)", room[0], None, "m2K/W"),
            ordering(
                "resistance rises as the skin cools: at 10-15 C it exceeds the room-air value",
                peak > room[0],
            ),
            ordering(
                f"calibration kept: peak resistance at 10-15 C >= {p['calibrated_floor_m2k_w']:g} (0.032 with a 6 mm deep boundary)",
                peak >= p["calibrated_floor_m2k_w"],
            ),
        ]
        plot = Plot(
            "cheek skin temperature (C)",
            "tissue resistance (m2K/W)",
            lines=tuple(lines),
            points=(
                Point(
                    "Osczevski 1994: maximum",
                    (low + high) / 2,
                    t["value"],
                    (high - low) / 2,
                    t["spread"],
                ),
            ),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], cases, evaluate)


def plan_gavhed() -> Plan:
    t = m.target("gavhed-2000-face-wind")
    p = t["model"]
    runs = [(zone, speed) for zone in p["zones"] for speed in p["speeds_m_s"]]
    cases = tuple(
        m.build(
            m.zone_tissue(zone),
            [m.cold_air(p["air_temp_c"], speed, p["duration_s"])],
            sample_every_s=30.0,
            title=f"{t['id']} {zone} {speed} m/s",
        )
        for zone, speed in runs
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        end = {run: float(r.probes["surface"][-1]) for run, r in zip(runs, results, strict=True)}
        fastest = max(p["speeds_m_s"])
        checks: list[Check] = [
            within(
                f"nose after 30 min at {fastest:g} m/s",
                end[("nose", fastest)],
                t["value"],
                t["tolerance"],
                "C",
            )
        ]
        for zone in p["zones"]:
            temps = [end[(zone, s)] for s in p["speeds_m_s"]]
            checks.append(shown(f"{zone} after 30 min at 0 / 1 / 5 m/s", temps[-1], None, "C"))
            checks.append(
                ordering(
                    f"{zone}: colder with more wind ({' > '.join(f'{v:.1f}' for v in temps)} C)",
                    bool(np.all(np.diff(temps) < 0)),
                )
            )
        coldest = min(end[(zone, fastest)] for zone in p["zones"])
        checks.append(
            ordering(
                "at 5 m/s the coldest facial site is below the 10 C pain threshold", coldest < 10.0
            )
        )
        lines = tuple(
            line(f"{zone} {speed:g} m/s", r.time_s / 60.0, np.asarray(r.probes["surface"]))
            for (zone, speed), r in zip(runs, results, strict=True)
        )
        plot = Plot(
            "time (min)",
            "skin temperature (C)",
            lines=lines,
            points=(
                Point(
                    "Gavhed 2000: nose, 5 m/s", p["duration_s"] / 60.0, t["value"], 0.0, t["spread"]
                ),
            ),
        )
        h5 = cold_air_heat_transfer_w_m2k(fastest)
        notes = [
            t["limitation"],
            f"Convective h at {fastest:g} m/s from the engine's facial correlation: {h5:.1f} W/m2K plus radiation.",
        ]
        return outcome_for(t, checks, notes, plot)

    return Plan(t["id"], cases, evaluate)


def plan_leblanc() -> Plan:
    t = m.target("leblanc-1976-face-ranking")
    p = t["model"]
    cases = tuple(
        m.build(
            m.zone_tissue(zone),
            [m.cold_air(p["air_temp_c"], p["speed_m_s"], p["duration_s"])],
            sample_every_s=10.0,
            title=f"{t['id']} {zone}",
        )
        for zone in p["zones"]
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        drops = {
            zone: m.drop(r, p["duration_s"]) for zone, r in zip(p["zones"], results, strict=True)
        }
        checks = [
            shown(f"{zone}: drop after 5 min", drop, None, "K") for zone, drop in drops.items()
        ]
        ranking = " > ".join(sorted(drops, key=lambda z: drops[z]))
        checks.append(
            shown(
                f"model ranking (fastest first): {ranking}; reported: cheek > nose > forehead",
                None,
                None,
                "",
            )
        )
        lines = tuple(
            line(zone, r.time_s / 60.0, np.asarray(r.probes["surface"]))
            for zone, r in zip(p["zones"], results, strict=True)
        )
        return outcome_for(
            t, checks, [t["limitation"]], Plot("time (min)", "skin temperature (C)", lines=lines)
        )

    return Plan(t["id"], cases, evaluate)


# --------------------------------------------------------------------------- devices on limbs


def plan_radecka() -> Plan:
    t = m.target("radecka-2021-knee-3min")
    p = t["model"]
    tissue = m.limb_tissue(p["fat_mm"])
    room = load_table("exposures")["room_air"]
    duration = p["duration_s"]
    duties = (0.05, 0.1, 0.2, 0.5, 1.0)
    period = p["sweep_period_s"]
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
                }
            ],
            sample_every_s=1.0,
            title=f"{t['id']} ln2 {duty}",
        )
        for duty in duties
    ]
    air_phase = m.cold_air(p["cold_air_temp_c"], p["cold_air_speed_m_s"], 1.0)
    air = [
        m.build(
            tissue,
            m.swept(air_phase, period, duty * period, duration, room),
            sample_every_s=1.0,
            title=f"{t['id']} air {duty}",
        )
        for duty in duties
    ]
    ice = m.build(
        tissue,
        [
            {
                "modality": "contact",
                "applicator": "ice",
                "applicator_temp_c": p["ice_temp_c"],
                "duration_s": duration,
            }
        ],
        sample_every_s=1.0,
        title=f"{t['id']} ice",
    )
    crushed = m.build(
        tissue,
        [
            {
                "modality": "contact",
                "applicator": "crushed-ice-pack",
                "applicator_temp_c": p["ice_temp_c"],
                "duration_s": duration,
            }
        ],
        sample_every_s=1.0,
        title=f"{t['id']} crushed-ice-pack",
    )
    cases = (*ln2, *air, ice, crushed)

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        n = len(duties)
        ln2_drop = np.array([m.drop(r, duration) for r in results[:n]])
        air_drop = np.array([m.drop(r, duration) for r in results[n : 2 * n]])
        ice_drop = m.drop(results[-2], duration)
        crushed_drop = m.drop(results[-1], duration)
        values, spreads = t["values"], t["spreads"]

        def duty_for(drops: np.ndarray, measured: float) -> float | None:
            if not drops.min() <= measured <= drops.max():
                return None
            return float(np.interp(measured, drops[::-1], np.array(duties)[::-1]))

        gas, h = ln2_jet(p["ln2_distance_cm"])
        checks = [
            shown(
                f"LN2 vapour (engine default at {p['ln2_distance_cm']:g} cm: {gas:.0f} C, h {h:.0f}), duty 0.1",
                float(ln2_drop[1]),
                values["ln2-vapour"],
                "K",
            ),
            shown("LN2 vapour, stationary", float(ln2_drop[-1]), values["ln2-vapour"], "K"),
            shown(
                "LN2 duty cycle that matches the measured drop",
                duty_for(ln2_drop, values["ln2-vapour"]),
                None,
                "1",
            ),
            shown(
                f"cold air {p['cold_air_temp_c']:g} C {p['cold_air_speed_m_s']:g} m/s, duty 0.1",
                float(air_drop[1]),
                values["cold-air"],
                "K",
            ),
            shown("cold air, stationary", float(air_drop[-1]), values["cold-air"], "K"),
            shown(
                "cold-air duty cycle that matches the measured drop",
                duty_for(air_drop, values["cold-air"]),
                None,
                "1",
            ),
            shown(
                "ice bag (engine 'ice' at 0 C: melting ice since the contact rework; "
                "-19.5 K when it was 0 C water)",
                ice_drop,
                values["contact"],
                "K",
            ),
            shown(
                "ice bag as the engine's crushed-ice-pack (calibrated 50 W/m2K)",
                crushed_drop,
                values["contact"],
                "K",
            ),
            ordering(
                "LN2 vapour cools more than cold air at every matched duty cycle",
                bool(np.all(ln2_drop < air_drop)),
            ),
        ]
        duty_ln2, duty_air = (
            duty_for(ln2_drop, values["ln2-vapour"]),
            duty_for(air_drop, values["cold-air"]),
        )
        checks.append(
            ordering(
                "one duty cycle (within 0.1) matches both devices' measured drops",
                duty_ln2 is not None and duty_air is not None and abs(duty_ln2 - duty_air) <= 0.1,
            )
        )
        plot = Plot(
            "duty cycle (fraction of time under the jet)",
            "knee skin drop after 3 min (K)",
            lines=(
                line("model LN2 vapour", np.array(duties), ln2_drop),
                line("model cold air", np.array(duties), air_drop),
            ),
            hlines=(
                (
                    f"measured LN2 {values['ln2-vapour']} +/- {spreads['ln2-vapour']}",
                    values["ln2-vapour"],
                ),
                (
                    f"measured cold air {values['cold-air']} +/- {spreads['cold-air']}",
                    values["cold-air"],
                ),
                (f"measured ice bag {values['contact']}; model {ice_drop:.1f}", values["contact"]),
            ),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


def _wbc_variants(p: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(label, h, fat) of the central chamber case and its bounding variants."""
    fat = p["fat_mm"]
    variants = [
        ("central", p["h_w_m2k"], fat),
        ("h low", p["h_low_w_m2k"], fat),
        ("h high", p["h_high_w_m2k"], fat),
    ]
    if "fat_mm_low" in p:
        variants += [
            ("fat thin", p["h_w_m2k"], p["fat_mm_low"]),
            ("fat thick", p["h_w_m2k"], p["fat_mm_high"]),
        ]
    return variants


CHAMBER_H_W_M2K = (5.0, 6.0, 7.0, 8.0, 9.0, 11.0)


def _chamber_cases(t: dict[str, Any], fat_mm: float, after_s: float = 0.0) -> tuple[Case, ...]:
    """The chamber exposure of target ``t`` at every h of CHAMBER_H_W_M2K."""
    p = t["model"]
    cases = []
    for h in CHAMBER_H_W_M2K:
        phases = [m.convective(p["gas_temp_c"], h, p["duration_s"])]
        if after_s:
            phases.append(m.ambient(after_s))
        cases.append(
            m.build(m.limb_tissue(fat_mm), phases, sample_every_s=5.0, title=f"{t['id']} h {h}")
        )
    return tuple(cases)


def _chamber_curves(
    thigh_results: Sequence[SimulationResult],
    knee_results: Sequence[SimulationResult],
    exit_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(thigh exit drop, knee exit temperature) at every h of CHAMBER_H_W_M2K."""
    drops = np.array([m.drop(r, exit_s) for r in thigh_results])
    knees = np.array([float(m.value_at(r, "surface", exit_s)) for r in knee_results])
    return drops, knees


def _joint_chamber_h(
    thigh: dict[str, Any], knee: dict[str, Any], drops: np.ndarray, knees: np.ndarray
) -> float:
    """The one chamber h that best explains both Costello datasets (tolerance-weighted)."""
    grid = np.linspace(CHAMBER_H_W_M2K[0], CHAMBER_H_W_M2K[-1], 601)
    thigh_err = (np.interp(grid, CHAMBER_H_W_M2K, drops) - thigh["value"]) / thigh["tolerance"]
    knee_err = (np.interp(grid, CHAMBER_H_W_M2K, knees) - knee["value"]) / knee["tolerance"]
    return float(grid[np.argmin(thigh_err**2 + knee_err**2)])


def _costello_pair() -> tuple[dict[str, Any], dict[str, Any], tuple[Case, ...]]:
    thigh = m.target("costello-2012-wbc-thigh")
    knee = m.target("costello-2014-wbc-knee")
    cases = (
        *_chamber_cases(thigh, thigh["model"]["fat_mm"]),
        *_chamber_cases(knee, knee["model"]["fat_mm"]),
    )
    return thigh, knee, cases


def plan_costello_thigh() -> Plan:
    t = m.target("costello-2012-wbc-thigh")
    p = t["model"]
    variants = _wbc_variants(p)
    after = 3600.0
    cases = tuple(
        m.build(
            m.limb_tissue(fat),
            [m.convective(p["gas_temp_c"], h, p["duration_s"]), m.ambient(after)],
            sample_every_s=5.0,
            probes=(("surface", 0.0), ("1 cm", 10.0), ("2 cm", 20.0), ("3 cm", 30.0)),
            title=f"{t['id']} {label}",
        )
        for label, h, fat in variants
    )
    _, knee, calibration = _costello_pair()
    nv = len(variants)
    nh = len(CHAMBER_H_W_M2K)

    def evaluate(all_results: Sequence[SimulationResult]) -> Outcome:
        results = all_results[:nv]
        exit_s = p["duration_s"]
        curve, knees = _chamber_curves(all_results[nv : nv + nh], all_results[nv + nh :], exit_s)
        h_fit = _joint_chamber_h(t, knee, curve, knees)
        drops = [m.drop(r, exit_s) for r in results]
        delayed = m.drop(results[0], exit_s + p["image_delay_s"])
        central = results[0]
        checks = [
            shown("chamber h fitted jointly to V9 and V10", h_fit, None, "W/m2K"),
            within(
                "thigh skin drop at exit, fitted chamber h",
                float(np.interp(h_fit, CHAMBER_H_W_M2K, curve)),
                t["value"],
                t["tolerance"],
                "K",
            ),
            shown(
                "thigh skin drop at exit, a-priori h 9 (free convection and radiation, data/measurements.toml)",
                drops[0],
                t["value"],
                "K",
            ),
            shown(
                f"range over h 7-11 W/m2K and fat 4-10 mm: {min(drops):.1f} to {max(drops):.1f}",
                None,
                None,
                "K",
            ),
            shown(
                f"drop with a {p['image_delay_s']:g} s walk-out before the image",
                delayed,
                t["value"],
                "K",
            ),
        ]
        for probe, measured in (("1 cm", -1.6), ("2 cm", -1.2), ("3 cm", -1.6)):
            series = np.asarray(central.probes[probe])
            checks.append(
                shown(
                    f"muscle {probe} below the skin, 60 min after",
                    float(series[-1] - series[0]),
                    measured,
                    "K",
                )
            )
        lines = tuple(
            line(
                f"model {label}",
                r.time_s[r.time_s <= 600] / 60.0,
                np.asarray(r.probes["surface"])[r.time_s <= 600],
            )
            for (label, _, _), r in zip(variants, results, strict=True)
        )
        start = float(central.probes["surface"][0])
        plot = Plot(
            "time (min)",
            "thigh skin temperature (C)",
            lines=lines,
            points=(
                Point(
                    "Costello 2012 (start + measured drop)",
                    exit_s / 60.0,
                    start + t["value"],
                    0.0,
                    t["spread"],
                ),
            ),
        )
        notes = [
            "Muscle drops at 60 min are shown, not claimed: the 1-D slab holds 37 C at 37.6 mm and has no whole-body afterdrop (rectal -0.3 C in the study)."
        ]
        return outcome_for(t, checks, notes, plot)

    return Plan(t["id"], (*cases, *calibration), evaluate)


def plan_costello_knee() -> Plan:
    thigh, t, cases = _costello_pair()
    p = t["model"]
    n = len(CHAMBER_H_W_M2K)

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        knee = results[n:]
        drops, ends = _chamber_curves(results[:n], knee, p["duration_s"])
        h_fit = _joint_chamber_h(thigh, t, drops, ends)
        at_fit = float(np.interp(h_fit, CHAMBER_H_W_M2K, ends))
        a_priori = float(np.interp(p["h_w_m2k"], CHAMBER_H_W_M2K, ends))
        checks = [
            shown("chamber h fitted jointly to V9 and V10", h_fit, None, "W/m2K"),
            within(
                "knee skin right after, fitted chamber h", at_fit, t["value"], t["tolerance"], "C"
            ),
            shown(f"knee skin right after, a-priori h {p['h_w_m2k']:g}", a_priori, t["value"], "C"),
            ordering("does not reach the < 13 C analgesic level (calibrated h)", at_fit > 13.0),
        ]
        lines = tuple(
            line(f"model h {h:g}", r.time_s / 60.0, np.asarray(r.probes["surface"]))
            for h, r in zip(CHAMBER_H_W_M2K, knee, strict=True)
        )
        plot = Plot(
            "time (min)",
            "knee skin temperature (C)",
            lines=lines,
            points=(Point("Costello 2014", p["duration_s"] / 60.0, t["value"], 0.0, t["spread"]),),
            hlines=(("analgesia 13 C", 13.0),),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], cases, evaluate)


def _jet_h_at_reach(h_w_m2k: float) -> list[Check]:
    """The h of each setting of the Cryo 6 class device table (the impinging-jet model,
    physics/jets.py) at the farthest distance where its air is still at the outlet
    temperature (K nozzle diameters, K the jet's temperature decay constant; closer is
    stronger), against the h a -30 C jet needs (h_w_m2k)."""
    name = "cryo-6-class"
    table = jets.device(name)
    diameter = float(table["nozzle_diameter_mm"])
    decay = float(load_table("exposures")["cold_air_jet"]["temperature_decay_constant"]["value"])
    reach = decay * diameter
    return [
        shown(
            f"{name} setting {setting:g} at {reach:g} mm (jet model), against the h needed",
            jets.heat_transfer_w_m2k(jets.device_nozzle(name, setting, reach, "validation")),
            h_w_m2k,
            "W/m2K",
        )
        for setting in table["settings"]
    ]


def plan_gymna() -> Plan:
    t = m.target("gymna-cryoflow-12c")
    p = t["model"]
    cases = tuple(
        m.build(
            m.limb_tissue(p["fat_mm"]),
            [m.convective(p["gas_temp_c"], h, p["duration_s"])],
            sample_every_s=1.0,
            title=f"{t['id']} h {h}",
        )
        for h in p["h_w_m2k"]
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        times = [m.first_time_at_or_below(r, "surface", p["target_c"]) for r in results]
        checks = [
            shown(f"time to {p['target_c']:g} C at h {h:g} W/m2K", tt, t["value"], "s")
            for h, tt in zip(p["h_w_m2k"], times, strict=True)
        ]
        reached = [(h, tt) for h, tt in zip(p["h_w_m2k"], times, strict=True) if tt is not None]
        if len(reached) >= 2:
            hs, ts = zip(*reached, strict=True)
            fit = float(
                np.exp(np.interp(t["value"], np.array(ts)[::-1], np.log(np.array(hs))[::-1]))
            )
            checks.append(shown("jet h that reaches 12 C in 48 s", fit, None, "W/m2K"))
            checks.append(
                shown(
                    "facial-correlation h at 4.4 m/s (case-format example)",
                    cold_air_heat_transfer_w_m2k(4.4),
                    None,
                    "W/m2K",
                )
            )
            checks.extend(_jet_h_at_reach(fit))
        xs = np.array([h for h, _ in reached])
        ys = np.array([tt for _, tt in reached])
        plot = Plot(
            "jet heat transfer (W/m2K)",
            "time to 12 C (s)",
            lines=(line("model, -30 C jet", xs, ys),),
            hlines=(("Gymna: 48 s", t["value"]),),
        )
        return outcome_for(t, checks, [t["limitation"]], plot)

    return Plan(t["id"], cases, evaluate)


# --------------------------------------------------------------------------- contact


def plan_anvari() -> Plan:
    t = m.target("anvari-sapphire-contact")
    p = t["model"]
    rigid = float(
        load_table("exposures")["applicator"]["stainless-steel"]["contact_conductance_w_m2k"]
    )
    conductances = sorted({1000.0, float(t["calibrated_contact_w_m2k"]), rigid})
    runs = [(temp, g) for g in conductances for temp in p["window_temps_c"]]
    cases = tuple(
        m.build(
            m.zone_tissue("cheek"),
            [
                {
                    "modality": "contact",
                    "applicator": "custom",
                    "applicator_temp_c": temp,
                    "conductivity_w_mk": p["conductivity_w_mk"],
                    "density_kg_m3": p["density_kg_m3"],
                    "specific_heat_j_kgk": p["specific_heat_j_kgk"],
                    "thickness_mm": p["thickness_mm"],
                    "contact_conductance_w_m2k": g,
                    "duration_s": p["duration_s"],
                }
            ],
            initial={"state": "uniform", "temp_c": p["skin_temp_c"]},
            sample_every_s=0.02,
            title=f"{t['id']} {temp} C g {g}",
        )
        for temp, g in runs
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        at = {
            run: m.value_at(r, "surface", p["duration_s"])
            for run, r in zip(runs, results, strict=True)
        }
        mid = p["window_temps_c"][1]
        calibrated = t["calibrated_contact_w_m2k"]
        band = [at[(temp, calibrated)] for temp in p["window_temps_c"]]
        low, high = t["value"] - t["spread"], t["value"] + t["spread"]
        checks = [
            within(
                f"surface at 1 s, window {mid:g} C, calibrated conductance {calibrated:g}",
                at[(mid, calibrated)],
                t["value"],
                t["tolerance"],
                "C",
            ),
            ordering(
                f"windows 6-12 C give {band[0]:.1f}-{band[-1]:.1f} C, inside the measured {low:g}-{high:g} C",
                low <= min(band) and max(band) <= high,
            ),
            shown(
                f"surface at 1 s, window {mid:g} C, engine default rigid conductance {rigid:g}",
                at[(mid, rigid)],
                t["value"],
                "C",
            ),
        ]
        for g in conductances:
            band = [at[(temp, g)] for temp in p["window_temps_c"]]
            checks.append(
                shown(
                    f"conductance {g:g} W/m2K: window 6 / 9 / 12 C -> {' / '.join(f'{v:.1f}' for v in band)}",
                    None,
                    None,
                    "C",
                )
            )
        lines = tuple(
            line(f"{temp:g} C, g {g:g}", r.time_s, np.asarray(r.probes["surface"]))
            for (temp, g), r in zip(runs, results, strict=True)
            if temp == mid
        )
        plot = Plot(
            "time (s)",
            "skin surface (C)",
            lines=lines,
            points=(Point("Anvari: 14-19 C at ~1 s", 1.0, t["value"], 0.1, t["spread"]),),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], cases, evaluate)


def plan_belitsky() -> Plan:
    t = m.target("belitsky-1987-ice-types")
    p = t["model"]
    tissue = m.limb_tissue(p["fat_mm"])
    packs = [
        ("wet-ice", "ice", p["ice_temp_c"], p["wet_w_m2k"]),
        ("dry-ice", "ice", p["ice_temp_c"], p["dry_w_m2k"]),
        ("gel", "gel-pack", p["gel_temp_c"], p["gel_w_m2k"]),
    ]
    cases = tuple(
        m.build(
            tissue,
            [
                {
                    "modality": "contact",
                    "applicator": app,
                    "applicator_temp_c": temp,
                    "contact_conductance_w_m2k": g,
                    "duration_s": p["duration_s"],
                }
            ],
            sample_every_s=5.0,
            title=f"{t['id']} {name}",
        )
        for name, app, temp, g in packs
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        drops = {
            name: m.drop(r, p["duration_s"]) for (name, *_), r in zip(packs, results, strict=True)
        }
        checks = [
            shown(f"{name}: drop after 15 min", drop, t["values"][name], "K")
            for name, drop in drops.items()
        ]
        ranking = " > ".join(sorted(drops, key=lambda name: drops[name]))
        checks.append(
            shown(
                f"model ranking (most cooling first): {ranking}; reported: wet-ice > dry-ice > gel",
                None,
                None,
                "",
            )
        )
        lines = tuple(
            line(name, r.time_s / 60.0, np.asarray(r.probes["surface"]))
            for (name, *_), r in zip(packs, results, strict=True)
        )
        start = float(results[0].probes["surface"][0])
        points = tuple(
            Point(f"Belitsky {name} (start + drop)", p["duration_s"] / 60.0, start + v)
            for name, v in t["values"].items()
        )
        return outcome_for(
            t,
            checks,
            [t["limitation"]],
            Plot("time (min)", "calf skin (C)", lines=lines, points=points),
        )

    return Plan(t["id"], cases, evaluate)


def plan_janwantanakul() -> Plan:
    t = m.target("janwantanakul-2009-ice-minimum")
    p = t["model"]
    # The engine's 'ice' mixes its melt water into the bag; 'stays' keeps it as a layer at
    # the skin: both are run, since which one a real pack follows is what the minimum tests.
    runs = [(th, melt) for th in p["thicknesses_mm"] for melt in p["melt_water"]]
    cases = tuple(
        m.build(
            m.limb_tissue(p["fat_mm"]),
            [
                {
                    "modality": "contact",
                    "applicator": "ice",
                    "applicator_temp_c": p["ice_temp_c"],
                    "thickness_mm": th,
                    "melt_water": melt,
                    "duration_s": p["duration_s"],
                }
            ],
            sample_every_s=5.0,
            title=f"{t['id']} {th} mm {melt}",
        )
        for th, melt in runs
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        checks = []
        for (th, melt), r in zip(runs, results, strict=True):
            series = np.asarray(r.probes["surface"])
            k = int(np.argmin(series))
            at_end = k == len(series) - 1
            checks.append(
                shown(
                    f"{th:g} mm pack, melt water {melt}: time of the interface minimum"
                    + (" (still falling at the end)" if at_end else ""),
                    float(r.time_s[k]),
                    t["value"],
                    "s",
                )
            )
            checks.append(
                shown(
                    f"{th:g} mm pack, melt water {melt}: interface minimum",
                    float(series[k]),
                    None,
                    "C",
                )
            )
        lines = tuple(
            line(f"{th:g} mm ice, melt {melt}", r.time_s / 60.0, np.asarray(r.probes["surface"]))
            for (th, melt), r in zip(runs, results, strict=True)
        )
        return outcome_for(
            t, checks, [t["limitation"]], Plot("time (min)", "interface (C)", lines=lines)
        )

    return Plan(t["id"], cases, evaluate)


# --------------------------------------------------------------------------- derived anchors


def plan_contact_interface() -> Plan:
    t = m.target("contact-interface-temperatures")
    p = t["model"]
    cases = tuple(
        m.build(
            m.itis_tissue(),
            [
                {
                    "modality": "contact",
                    "applicator": "custom",
                    "applicator_temp_c": row["temp_c"],
                    "conductivity_w_mk": row["conductivity_w_mk"],
                    "density_kg_m3": row["density_kg_m3"],
                    "specific_heat_j_kgk": row["specific_heat_j_kgk"],
                    "thickness_mm": p["thickness_mm"],
                    "contact_conductance_w_m2k": p["contact_w_m2k"],
                    "duration_s": p["read_s"],
                }
            ],
            initial={"state": "uniform", "temp_c": p["skin_temp_c"]},
            perfusion="constant",
            sample_every_s=p["read_s"] / 10.0,
            title=f"{t['id']} {row['name']}",
        )
        for row in p["cases"]
    )
    # The analytic contact temperature is of two linear bodies: the skin without freezing
    # (left to the engine, skin touched by -18 C metal freezes and holds warmer).
    cases = tuple(dataclasses.replace(case, freezing=Freezing(enabled=False)) for case in cases)

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        checks = [
            within(
                row["name"], float(r.probes["surface"][-1]), row["expected_c"], t["tolerance"], "C"
            )
            for row, r in zip(p["cases"], results, strict=True)
        ]
        expected = np.array([row["expected_c"] for row in p["cases"]])
        modelled = np.array([float(r.probes["surface"][-1]) for r in results])
        plot = Plot(
            "analytic contact temperature (C)",
            "model surface at 0.5 s (C)",
            lines=(line("model", expected, modelled), line("identity", expected, expected)),
        )
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], cases, evaluate)


def plan_exposure_map() -> Plan:
    t = m.target("exposure-map")
    p = t["model"]
    initial = {
        "state": "steady",
        "ambient_temp_c": p["initial_ambient_c"],
        "heat_transfer_w_m2k": p["initial_h_w_m2k"],
    }
    cases = []
    for row in p["rows"]:
        longest = max(row["times_s"])
        duration = 400.0 if min(row["times_s"]) < 0 else 1.2 * longest
        step = 0.01 if longest < 20 else 0.05
        cases.append(
            m.build(
                m.itis_tissue(),
                [m.convective(row["gas_temp_c"], row["h_w_m2k"], duration)],
                initial=initial,
                perfusion="constant",
                sample_every_s=step,
                title=f"{t['id']} {row['gas_temp_c']} C h {row['h_w_m2k']}",
            )
        )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        checks: list[Check] = []
        lines = []
        for row, r in zip(p["rows"], results, strict=True):
            name = f"{row['gas_temp_c']:g} C, h {row['h_w_m2k']:g}"
            modelled = []
            for level, expected in zip(p["levels_c"], row["times_s"], strict=True):
                reached = m.first_time_at_or_below(r, "surface", level)
                if expected < 0:
                    checks.append(ordering(f"{name}: never reaches {level:g} C", reached is None))
                    continue
                assert reached is not None, f"{name} never reached {level} C"
                modelled.append(reached)
                checks.append(
                    within(
                        f"{name}: time to {level:g} C",
                        reached,
                        expected,
                        t["tolerance"] * expected,
                        "s",
                    )
                )
            reached_levels = [
                lv for lv, e in zip(p["levels_c"], row["times_s"], strict=True) if e >= 0
            ]
            lines.append(
                line(name, np.array([e for e in row["times_s"] if e >= 0]), np.array(modelled))
            )
            del reached_levels
        plot = Plot("analytic time (s)", "model time (s)", lines=tuple(lines))
        return outcome_for(t, checks, plot=plot)

    return Plan(t["id"], tuple(cases), evaluate)


def _not_simulated(target_id: str) -> Plan:
    t = m.target(target_id)

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        return outcome_for(t, [shown("not simulated", None, None, "")], [t["limitation"]])

    return Plan(t["id"], (), evaluate)


def plan_tyler() -> Plan:
    return _not_simulated("tyler-2015-civd")


def plan_not_simulated() -> Plan:
    return _not_simulated("not-simulated")


def plan_erdmann() -> Plan:
    t = m.target("erdmann-2023-ln2-spray")
    p = t["model"]
    case = m.build(
        m.zone_tissue("cheek"),
        [
            m.convective(p["spray_temp_c"], p["spray_w_m2k"], p["spray_s"]),
            m.ambient(p["recovery_s"]),
        ],
        sample_every_s=0.1,
        probes=(("surface", 0.0), ("0.5 mm", 0.5)),
        title=t["id"],
    )
    case = dataclasses.replace(case, freezing=dataclasses.replace(case.freezing, enabled=True))

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        (result,) = results
        surface = np.asarray(result.probes["surface"])
        after = result.time_s > p["spray_s"]
        back = result.time_s[after & (surface >= 0.0)]
        checks = [
            shown(
                "surface at the end of the 5 s spray",
                m.value_at(result, "surface", p["spray_s"]),
                t["value"],
                "C",
            ),
            shown(
                "0.5 mm deep at the end of the spray",
                m.value_at(result, "0.5 mm", p["spray_s"]),
                t["value"],
                "C",
            ),
            shown(
                "time after the spray until the surface is back at 0 C",
                float(back[0] - p["spray_s"]) if back.size else None,
                p["recovery_s"],
                "s",
            ),
        ]
        lines = (
            line("surface", result.time_s, surface),
            line("0.5 mm", result.time_s, np.asarray(result.probes["0.5 mm"])),
        )
        points = (
            Point("Erdmann 2023: -60 C at 5 s", p["spray_s"], t["value"]),
            Point("back to 0 C", p["spray_s"] + p["recovery_s"], 0.0),
        )
        return outcome_for(
            t,
            checks,
            [t["limitation"]],
            Plot("time (s)", "temperature (C)", lines=lines, points=points),
        )

    return Plan(t["id"], (case,), evaluate)


def plan_cold_water() -> Plan:
    t = m.target("costello-cold-water-immersion")
    p = t["model"]
    sites = (("thigh", p["thigh_fat_mm"]), ("knee", p["knee_fat_mm"]))
    cases = tuple(
        m.build(
            m.limb_tissue(fat),
            [m.convective(p["water_temp_c"], p["water_w_m2k"], p["duration_s"]), m.ambient(180.0)],
            sample_every_s=5.0,
            title=f"{t['id']} {site}",
        )
        for site, fat in sites
    )

    def evaluate(results: Sequence[SimulationResult]) -> Outcome:
        thigh, knee = results
        exit_s = p["duration_s"]
        checks = []
        for delay in (0.0, 60.0, 120.0):
            checks.append(
                shown(
                    f"thigh drop, {delay:g} s after leaving the water",
                    m.drop(thigh, exit_s + delay),
                    t["value"],
                    "K",
                )
            )
            checks.append(
                shown(
                    f"knee skin, {delay:g} s after leaving the water",
                    m.value_at(knee, "surface", exit_s + delay),
                    p["knee_value_c"],
                    "C",
                )
            )
        lines = tuple(
            line(site, r.time_s / 60.0, np.asarray(r.probes["surface"]))
            for (site, _), r in zip(sites, results, strict=True)
        )
        return outcome_for(
            t,
            checks,
            [t["limitation"]],
            Plot(
                "time (min)",
                "skin (C)",
                lines=lines,
                hlines=(("knee measured 20.5 C", p["knee_value_c"]),),
            ),
        )

    return Plan(t["id"], cases, evaluate)


PLANS: tuple[Callable[[], Plan], ...] = (
    plan_hodges,
    plan_khoshnevis_dose,
    plan_khoshnevis_persistence,
    plan_calf_pad,
    plan_ducharme,
    plan_hohenauer,
    plan_osczevski,
    plan_gavhed,
    plan_leblanc,
    plan_radecka,
    plan_costello_thigh,
    plan_costello_knee,
    plan_gymna,
    plan_anvari,
    plan_belitsky,
    plan_janwantanakul,
    plan_contact_interface,
    plan_exposure_map,
    plan_erdmann,
    plan_cold_water,
    plan_tyler,
    plan_not_simulated,
    *packs.PLANS,
    *skinfold.PLANS,
    *rewarming.PLANS,
    *hands.PLANS,
    *applicators.PLANS,
    *frostnip.PLANS,
    *devices.PLANS,
    *vasomotor.PLANS,
)
